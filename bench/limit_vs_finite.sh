#!/usr/bin/env bash
# Cost of the Monte Carlo infinite-width limit against finite-width training at EQUAL ACCURACY (issue #11 target 3):
#   limit:  tpc limit SCRIPT --route monte_carlo --particles P (8 replicas of P scrambled Sobol points, jackknifed)
#   finite: tpc run SCRIPT --width 256 --seeds S, S chosen so that the largest standard error of the mean over all
#           outputs (every f_t at every point) reaches the limit's largest printed standard error.
# Both use all cores (--threads 0). Pilots (untimed) fix P's accuracy and S: a finite run with PILOT seeds gives
# the per-seed standard deviation sd of every output; S = ceil(max(sd / se_limit)^2). The two commands are then
# timed alternately (limit, finite, limit, finite, ...) RUNS times each with /usr/bin/time; the script prints
# the medians, the pairwise ratios and their median: cost ratio = finite time / limit time at equal s.e.
#
# usage: bench/limit_vs_finite.sh [SCRIPT] [TPC_BINARY]
#   env: PARTICLES (1024), WIDTH (256), PILOT (400 seeds), RUNS (5)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
script=${1:-$here/examples/mup_tanh.tp}
tpc=${2:-$here/build/tpc}
particles=${PARTICLES:-1024}
width=${WIDTH:-256}
pilot=${PILOT:-400}
runs=${RUNS:-5}
py=/usr/bin/python3
[ -x "$tpc" ] || { echo "error: $tpc not found; build it (cmake --build build --target tpc)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time not found; apt-get install time" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

limit_cmd=("$tpc" limit "$script" --route monte_carlo --particles "$particles" --format json)
"${limit_cmd[@]}" > "$work/limit.json"
"$tpc" run "$script" --width "$width" --seeds "$pilot" --seed-base 100000 --format json > "$work/pilot.json"
seeds=$("$py" - "$work/limit.json" "$work/pilot.json" <<'PY'
import json, math, sys
lim = json.load(open(sys.argv[1]))
pil = json.load(open(sys.argv[2]))
se_lim = max(e["error"] for row in lim["f"] for e in row)
ratio = 0.0
for o in pil["outputs"]:
    xs = o["per_seed"]
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
    ratio = max(ratio, sd / se_lim)
print(max(2, math.ceil(ratio * ratio)))
PY
)
finite_cmd=("$tpc" run "$script" --width "$width" --seeds "$seeds" --format json)

: > "$work/times"
for ((r = 0; r < runs; ++r)); do
  /usr/bin/time -f "limit %e %U %S %M" -a -o "$work/times" "${limit_cmd[@]}" > "$work/limit_run.json"
  /usr/bin/time -f "finite %e %U %S %M" -a -o "$work/times" "${finite_cmd[@]}" > "$work/finite_run.json"
done

"$py" - "$work" "$particles" "$width" "$seeds" "$script" <<'PY'
import json, math, statistics, sys
work, particles, width, seeds, script = sys.argv[1:6]
rows = [l.split() for l in open(f"{work}/times") if l.split() and l.split()[0] in ("limit", "finite")]
lim = [r for r in rows if r[0] == "limit"]
fin = [r for r in rows if r[0] == "finite"]
def cpu(r): return float(r[2]) + float(r[3])
lj = json.load(open(f"{work}/limit_run.json"))
fj = json.load(open(f"{work}/finite_run.json"))
se_lim = max(e["error"] for row in lj["f"] for e in row)
se_fin = 0.0
for o in fj["outputs"]:
    xs = o["per_seed"]; m = sum(xs) / len(xs)
    se_fin = max(se_fin, math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1) / len(xs)))
print(f"script {script}; {len(lj['f'][0])} points x {len(lj['f'])} steps = {sum(len(r) for r in lj['f'])} outputs")
print(f"limit : tpc limit --route monte_carlo --particles {particles} (8 replicas)   largest s.e. {se_lim:.3g}")
print(f"finite: tpc run --width {width} --seeds {seeds}                        largest s.e. {se_fin:.3g}")
for name, rs in (("limit", lim), ("finite", fin)):
    print(f"{name:6s} median wall {statistics.median(float(r[1]) for r in rs):.3f} s, cpu {statistics.median(cpu(r) for r in rs):.3f} s, "
          f"peak RSS {statistics.median(int(r[4]) for r in rs) / 1024:.0f} MiB  ({len(rs)} runs)")
wall = [float(f[1]) / float(l[1]) for l, f in zip(lim, fin)]
cpur = [cpu(f) / cpu(l) for l, f in zip(lim, fin)]
# Equal accuracy: scale each side's cost to s.e. = the limit's (cost ∝ s.e.^-2 for the finite seeds).
adj = (se_fin / se_lim) ** 2
print(f"finite/limit cost at equal accuracy: wall {statistics.median(wall) * adj:.1f}x, cpu {statistics.median(cpur) * adj:.1f}x "
      f"(pairwise medians; pairs wall {' '.join(f'{w:.1f}' for w in wall)}; s.e. adjustment x{adj:.2f})")
PY
