#!/usr/bin/env bash
# Installs what the side-by-side benchmark scripts in bench/ need beyond scripts/install-deps.sh: Debian's
# numpy and PyTorch for /usr/bin/python3 (bench/graph_vs_torch.sh). Idempotent.
set -euo pipefail
packages=(python3-numpy python3-torch)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "bench-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "bench-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}"
