#!/usr/bin/env bash
# Side-by-side speed, peak memory and agreement of `tpc kernel` against the numpy code a researcher would write
# (bench/kernel_numpy.py, numpy from Debian's python3-numpy at /usr/bin/python3), issue #11 target 1:
#   1. relu NNGP + NTK, N = 2000 inputs in R^100, depth 10, sw2 = 2, sb2 = 0.1, end to end: read the CSV,
#      compute, write a .npz (tpc --output K.npz; numpy np.loadtxt + recursion + np.savez);
#   2. tanh NNGP + NTK, N = 200 inputs in R^10, depth 3, sw2 = 2, sb2 = 0.1, by the same 2-D trapezoidal rule
#      (the spacing tpc chooses for 1e-10, passed to numpy), end to end likewise.
# Runs alternate tpc, numpy, tpc, numpy, ... RUNS times each, every run timed by /usr/bin/time -v (wall time,
# peak RSS); prints the median of each and of the per-pair ratios, and the largest |tpc − numpy| of each matrix.
#
# usage: bench/kernel_vs_numpy.sh [TPC_BINARY]     env: RUNS (5), WORK (a temp dir)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
tpc=${1:-$here/build/tpc}
runs=${RUNS:-5}
work=${WORK:-$(mktemp -d)}
py=/usr/bin/python3
[ -x "$tpc" ] || { echo "error: $tpc not found; build it (cmake --build build --target tpc)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time not found; apt-get install time" >&2; exit 1; }
$py -c 'import numpy' 2>/dev/null || { echo "error: numpy missing at $py; run scripts/install-deps.sh (python3-numpy)" >&2; exit 1; }
mkdir -p "$work"

# inputs: rows of N(0, I) rescaled to |x|^2/d = 1 (relu), and to |x|^2/d in [0.25, 1.44] (tanh)
$py - "$work" <<'PY'
import sys, numpy as np
w = sys.argv[1]
rng = np.random.default_rng(1)
X = rng.standard_normal((2000, 100)); X *= np.sqrt(100) / np.linalg.norm(X, axis=1, keepdims=True)
np.savetxt(f"{w}/x2000.csv", X, delimiter=",", fmt="%.17g")
Y = rng.standard_normal((200, 10)); Y *= np.sqrt(10) / np.linalg.norm(Y, axis=1, keepdims=True) * rng.uniform(0.5, 1.2, (200, 1))
np.savetxt(f"{w}/x200.csv", Y, delimiter=",", fmt="%.17g")
PY

source "$here/bench/time_run.sh"

report() {  # report CASE
  awk -v c="$1" '
    $1 == c "_tpc" { tw[++nt] = $2; tr[nt] = $3 }
    $1 == c "_numpy" { pw[++np] = $2; pr[np] = $3 }
    function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    END {
      for (i = 1; i <= nt && i <= np; i++) ratio[i] = pw[i] / tw[i]
      printf "%s: tpc wall %.3f s, numpy wall %.3f s (medians of %d); numpy/tpc per pair: median %.2fx (min %.2fx); peak RSS tpc %.0f MiB, numpy %.0f MiB\n",
             c, median(tw, nt), median(pw, np), nt, median(ratio, nt), min_r(ratio, nt), median(tr, nt) / 1024, median(pr, np) / 1024
    }
    function min_r(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] < m) m = a[i]; return m }' "$work/times"
}

compare() {  # compare A.npz B.npz
  $py -c 'import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
print("  max |tpc - numpy|: nngp %.2e, ntk %.2e; tpc error estimate (readout): nngp %.1e, ntk %.1e"
      % (abs(a["nngp"] - b["nngp"]).max(), abs(a["ntk"] - b["ntk"]).max(), a["error_nngp"][-1], a["error_ntk"][-1]))' "$1" "$2"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$work/times"
# 1. relu
relu_tpc=("$tpc" kernel --act relu --depth 10 --sw2 2 --sb2 0.1 --inputs "$work/x2000.csv" --output "$work/relu_tpc.npz")
relu_np=($py "$here/bench/kernel_numpy.py" relu "$work/x2000.csv" 10 2 0.1 "$work/relu_numpy.npz")
for ((r = 0; r < runs; r++)); do
  time_run relu_tpc "${relu_tpc[@]}"
  time_run relu_numpy "${relu_np[@]}"
done
report relu
compare "$work/relu_tpc.npz" "$work/relu_numpy.npz"
# 2. tanh: tpc chooses the spacing; numpy uses the same
tanh_tpc=("$tpc" kernel --act tanh --depth 3 --sw2 2 --sb2 0.1 --inputs "$work/x200.csv" --output "$work/tanh_tpc.npz" --format json)
"${tanh_tpc[@]}" > "$work/tanh_first.json"
h=$($py -c 'import json, sys; print(repr(json.load(open(sys.argv[1]))["spacing"]))' "$work/tanh_first.json")
echo "tanh: trapezoidal spacing h = $h (chosen by tpc for 1e-10; numpy uses the same rule)"
tanh_np=($py "$here/bench/kernel_numpy.py" tanh "$work/x200.csv" 3 2 0.1 "$work/tanh_numpy.npz" "$h")
for ((r = 0; r < runs; r++)); do
  time_run tanh_tpc "${tanh_tpc[@]}"
  time_run tanh_numpy "${tanh_np[@]}"
done
report tanh
compare "$work/tanh_tpc.npz" "$work/tanh_numpy.npz"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
