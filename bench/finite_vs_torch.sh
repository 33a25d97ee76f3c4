#!/usr/bin/env bash
# Side-by-side speed of finite-width training, `tpc run examples/mup_tanh.tp` (the unrolled training program
# on the finite-width executor) against the same training in PyTorch (bench/finite_torch_peer.py: CPU,
# float64, torch.set_num_threads(2), autograd, the same µP scaling, learning rate, data and steps).
#   1. exact check: at width CHECK_WIDTH, tpc writes its sampled initial weights (--save-init) and the peer
#      trains from them; the largest |difference| of the 24 outputs over all seeds is printed (rounding: ~1e-15);
#   2. per width: the two programs alternated RUNS times, each with SEEDS seeds and 2 threads, timed with
#      /usr/bin/time -v (wall time, peak RSS); printed: medians and the median of the per-pair ratios
#      torch/tpc (> 1: tpc faster), and the largest |mean_tpc − mean_torch| over the outputs in units of the
#      combined standard error (the RNGs differ, so the means agree statistically, not bitwise).
#
# usage: bench/finite_vs_torch.sh [TPC_BINARY]
#   env: WIDTHS ("1024 2048 4096 8192 16384"), SEEDS (4), RUNS (3), CHECK_WIDTH (128), WORK (a temp dir)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
tpc=${1:-$here/build/tpc}
widths=${WIDTHS:-1024 2048 4096 8192 16384}
seeds=${SEEDS:-4}
runs=${RUNS:-3}
check_width=${CHECK_WIDTH:-128}
work=${WORK:-$(mktemp -d)}
peer=$here/bench/finite_torch_peer.py
script=$here/examples/mup_tanh.tp
py=/usr/bin/python3  # Debian's python3-torch and python3-numpy live here (scripts/install-deps.sh)
[ -x "$tpc" ] || { echo "error: $tpc not found; build it (cmake --build build --target tpc)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time not found; apt-get install time" >&2; exit 1; }
"$py" -c 'import torch, numpy' 2>/dev/null ||
  { echo "error: $py cannot import torch and numpy; apt-get install python3-torch python3-numpy" >&2; exit 1; }
mkdir -p "$work"

# compare A.json B.json MODE: MODE exact → largest |difference| per seed; stat → largest |Δmean| / s.e.
compare() {
  "$py" - "$1" "$2" "$3" <<'EOF'
import json, math, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
outs_b = {o["name"]: o["per_seed"] for o in b["outputs"]}
if sys.argv[3] == "exact":
    print("%.3g" % max(abs(x - y) for o in a["outputs"] for x, y in zip(o["per_seed"], outs_b[o["name"]])))
else:
    def mean_se(xs):
        m = sum(xs) / len(xs)
        return m, math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1) / len(xs))
    z = 0.0
    for o in a["outputs"]:
        (ma, sa), (mb, sb) = mean_se(o["per_seed"]), mean_se(outs_b[o["name"]])
        if sa > 0 or sb > 0:
            z = max(z, abs(ma - mb) / math.hypot(sa, sb))
    print("%.2f" % z)
EOF
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tpc: $tpc; torch: $("$py" -c 'import torch; print(torch.__version__)'); seeds $seeds, runs $runs"

# 1. the exact check through shared initial weights
mkdir -p "$work/init"
"$tpc" run "$script" -n "$check_width" -s "$seeds" --threads 2 --save-init "$work/init" --format json > "$work/check_tpc.json"
"$py" "$peer" --width "$check_width" --seeds "$seeds" --init "$work/init" > "$work/check_torch.json"
rm -rf "$work/init"
echo "exact check at n = $check_width, same initial weights: largest |f_tpc - f_torch| over $((24 * seeds)) outputs = $(compare "$work/check_tpc.json" "$work/check_torch.json" exact)"

# time_run LABEL OUT CMD...: appends "LABEL wall_seconds max_rss_kib" to $work/times
time_run() {
  local label=$1 out=$2
  shift 2
  /usr/bin/time -v -o "$work/time.txt" "$@" > "$out" 2> "$work/stderr.txt" || { echo "error: $label failed:" >&2; tail "$work/stderr.txt" >&2; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$work/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  echo "$label $wall $rss" >> "$work/times"
}

# 2. alternated timings per width
printf '%-7s %12s %12s %14s %12s %12s %18s\n' width tpc_wall_s torch_wall_s torch/tpc_wall tpc_MiB torch_MiB "|dmean|/s.e.max"
for n in $widths; do
  : > "$work/times"
  for ((r = 0; r < runs; r++)); do
    time_run tpc "$work/tpc_$n.json" "$tpc" run "$script" -n "$n" -s "$seeds" --threads 2 --format json
    time_run torch "$work/torch_$n.json" "$py" "$peer" --width "$n" --seeds "$seeds" --threads 2
  done
  z=$(compare "$work/tpc_$n.json" "$work/torch_$n.json" stat)
  awk -v n="$n" -v z="$z" '
    function median(a, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                        return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
    $1 == "tpc" { tw[++nt] = $2; tr[nt] = $3 }
    $1 == "torch" { pw[++np] = $2; pr[np] = $3 }
    END { for (i = 1; i <= nt; i++) q[i] = pw[i] / tw[i]
          printf "%-7s %12.2f %12.2f %14.2f %12.0f %12.0f %18s\n", n, median(tw, nt), median(pw, np), median(q, nt),
                 median(tr, nt) / 1024, median(pr, np) / 1024, z }' "$work/times"
done
