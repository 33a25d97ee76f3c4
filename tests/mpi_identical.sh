#!/bin/sh
# ctest mpi_identical: `mpirun -np 2` gives byte for byte the output of one process (limits/distributed.h)
# for `tpc run` (5 seeds: blocks of 3 and 2), `tpc limit` (5 Monte Carlo replicas: blocks of 3 and 2),
# `tpc compare` (2 widths × 3 seeds, and its limit's 8 replicas) and `tpc kernel` (the columns of 9 inputs dealt
# over the processes: the in-place relu route and the tanh quadrature route, every layer), and a failure on one
# rank is reported once, with exit status 1.
# usage: mpi_identical.sh TPC MPIEXEC SOURCE_DIR WORK_DIR
set -eu
tpc=$1 mpiexec=$2 src=$3 work=$4
mkdir -p "$work"
mpi() { "$mpiexec" --allow-run-as-root --oversubscribe -np "$@"; }
same() {  # same NAME CMD...: one process vs two
  name=$1
  shift
  "$tpc" "$@" > "$work/$name.1" 2>&1
  mpi 2 "$tpc" "$@" > "$work/$name.2" 2>&1
  if cmp "$work/$name.1" "$work/$name.2"; then echo "ok: $name identical over 1 and 2 processes"
  else echo "FAIL: $name differs between 1 and 2 processes:"; diff "$work/$name.1" "$work/$name.2" | head -20; exit 1; fi
}
same run run "$src/examples/mup_tanh.tp" -n 96 -s 5 --threads 1 --format json
same limit limit "$src/examples/mup_tanh.tp" --particles 256 --replicas 5 --threads 1 --format json
same compare compare "$src/examples/mup_tanh.tp" --widths 64,128 --seeds 3 --threads 2 --format json
x='1,0,0.5;0.3,-1,2;-0.7,0.2,0.1;1.5,1.5,-0.4;0,0.9,-1.1;0.4,0.4,0.4;-2,0.1,0.3;0.6,-0.8,1;1,1,1'
same kernel_relu kernel --act relu --depth 3 --sw2 2 --sb2 0.1 --x "$x" --all-layers --format json
same kernel_tanh kernel --act tanh --depth 2 --sw2 1.5 --sb2 0.1 --x "$x" --all-layers --format json
# The replicas are split, not repeated: rank 0 (the one that prints) runs 3 of the 5.
mpi 2 "$tpc" limit "$src/examples/mup_tanh.tp" --particles 256 --replicas 5 --threads 1 --progress \
  > /dev/null 2> "$work/limit.progress"
if tr '\r' '\n' < "$work/limit.progress" | grep -q "replica 3/3" && ! grep -q "/5" "$work/limit.progress"; then
  echo "ok: limit replicas split over the processes"
else echo "FAIL: rank 0 did not run a block of 3 of the 5 replicas:"; cat "$work/limit.progress"; exit 1; fi
printf 'input x ~ N(0, 1)\nmatrix W ~ N(0, 1/n)\ng = W x\noutput q = avg(log(g))\n' > "$work/nan.tp"
status=0
mpi 2 "$tpc" run "$work/nan.tp" -n 32 -s 4 > "$work/nan.out" 2>&1 || status=$?
count=$(grep -c "became NaN or infinite" "$work/nan.out" || true)
if [ "$status" -ne 0 ] && [ "$count" -eq 1 ]; then echo "ok: a NaN is reported once, exit status $status"
else echo "FAIL: NaN run: exit status $status, $count reports:"; cat "$work/nan.out"; exit 1; fi
