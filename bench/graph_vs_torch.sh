#!/bin/sh
# Side by side: tpc's finite-width graph trainer (bench/bench_graph_train.cpp, the no-singular-values case)
# against the PyTorch peer bench/graph_block_torch.py — the same µP Transformer block at width 2048, two
# runs of 3 Adam steps with the per-step measurement, float64, one thread each.
# Needs Debian's python3-torch (scripts/bench-deps.sh); run from the repository root after
# building the `benches` target in build/. bench/graph_block_same.py checks that both compute the same thing. Prints the timing of each, then the ratio measured by the
# alternating timer given as $1 (or /usr/bin/time for each command once when none is given).
set -eu
WIDTH=${WIDTH:-2048}
TPC="build/bench/bench_graph_train --benchmark_filter=BM_train_block_no_singular_values/${WIDTH}"
TORCH="/usr/bin/python3 bench/graph_block_torch.py ${WIDTH} 2 1"
if [ $# -ge 1 ]; then
  # a pair takes about 40 s of CPU (tpc 8 s, PyTorch 30 s): 3 pairs and a warm-up need more than 100 s
  "$1" -n 3 --timeout 900 --vs "$TORCH" -- $TPC
else
  /usr/bin/time -f "tpc:   %e s wall, %M KiB" $TPC > /dev/null
  /usr/bin/time -f "torch: %e s wall, %M KiB" $TORCH > /dev/null
fi
