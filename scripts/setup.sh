#!/usr/bin/env bash
# One command for a fresh machine: install dependencies, build tpc (Release), install the data of the two
# applications (Word2Vec corpus and analogy questions; the Omniglot-format MAML dataset), run the embedded demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --bench
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
bash scripts/data-word2vec.sh
bash scripts/data-maml.sh
./build/tpc demo
