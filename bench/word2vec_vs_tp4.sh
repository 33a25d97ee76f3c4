#!/usr/bin/env bash
# Side-by-side speed and memory of `tpc word2vec train` against TP4's own word2vec.c (Yang & Hu,
# github.com/edwardjhu/TP4, Word2Vec/src/word2vec.c), on the same corpus and machine, same hyperparameters
# (CBOW, window 8, 25 negatives, sample 1e-4, min-count 5, lr 0.05, wd 0.001):
#   1. width 256, 2 threads (target: >= 2x TP4's words/s);
#   2. the µP limit (TP4: -oh 1 -size 2(|V|+1); tpc: --width inf, rows of length |V|) on a smaller corpus
#      (target: >= 4x words/s with <= half the peak memory).
# Nothing is downloaded: pass a checkout of TP4. TP4's code is built here with its own flags
# (-O3 -march=native -funroll-loops). Each command is timed with /usr/bin/time -v (wall time, peak RSS),
# alternating tpc and TP4 RUNS times; words/s = corpus words × epochs / wall time (both include reading
# the corpus and writing the vectors, in binary).
#
# usage: bench/word2vec_vs_tp4.sh TP4_CHECKOUT [CORPUS] [TPC_BINARY]
#   env: RUNS (3), EPOCHS (1), WORDS_256 (all), WORDS_LIMIT (300000), THREADS (2), WORK (a temp dir)
set -euo pipefail

tp4=${1:?usage: $0 TP4_CHECKOUT [CORPUS] [TPC_BINARY]}
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${2:-$here/data/word2vec/corpus.txt}
tpc=${3:-$here/build/tpc}
runs=${RUNS:-3}
epochs=${EPOCHS:-1}
threads=${THREADS:-2}
words_limit=${WORDS_LIMIT:-300000}
work=${WORK:-$(mktemp -d)}
src=$tp4/Word2Vec/src/word2vec.c
[ -f "$src" ] || { echo "error: $src not found; pass a checkout of github.com/edwardjhu/TP4" >&2; exit 1; }
[ -f "$corpus" ] || { echo "error: corpus $corpus not found; run scripts/setup.sh or pass CORPUS" >&2; exit 1; }
[ -x "$tpc" ] || { echo "error: $tpc not found; build it (cmake --build build --target tpc)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time not found; apt-get install time" >&2; exit 1; }

mkdir -p "$work"
gcc "$src" -o "$work/tp4_word2vec" -lm -pthread -O3 -march=native -Wall -funroll-loops -Wno-unused-result 2>"$work/tp4_build.log" ||
  { cat "$work/tp4_build.log" >&2; exit 1; }

# corpora: the whole corpus (or its first WORDS_256 words) and a small one for the limit (|V|^2 rows)
first_words() { awk -v n="$1" '{ for (i = 1; i <= NF; i++) { if (c++ >= n) exit; printf "%s ", $i } } END { print "" }' "$corpus"; }
first_words "${WORDS_256:-999999999999}" > "$work/corpus_256.txt"
first_words "$words_limit" > "$work/corpus_limit.txt"
count_words() { wc -w < "$1"; }
vocab_size() { awk '{ for (i = 1; i <= NF; i++) c[$i]++ } END { for (w in c) if (c[w] >= 5) v++; print v }' "$1"; }

common_tp4="-window 8 -negative 25 -sample 1e-4 -min-count 5 -alpha 0.05 -wd 0.001 -binary 1 -iter $epochs -threads $threads"
common_tpc="--window 8 --negatives 25 --sample 1e-4 --min-count 5 --lr 0.05 --weight-decay 0.001 --binary --epochs $epochs --threads $threads --quiet"

source "$here/bench/time_run.sh"

report() {  # report MODE WORDS
  awk -v mode="$1" -v words="$2" -v epochs="$epochs" '
    $1 == mode "_tpc" { tw[++nt] = $2; tr[nt] = $3 }
    $1 == mode "_tp4" { pw[++np] = $2; pr[np] = $3 }
    function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    END {
      for (i = 1; i <= nt; i++) ratio[i] = pw[i] / tw[i]
      mt = median(tw, nt); mp = median(pw, np); mrt = median(tr, nt); mrp = median(pr, np); mr = median(ratio, nt)
      printf "%-6s tpc: %.2f s, %.0f words/s, peak RSS %.0f MiB | TP4: %.2f s, %.0f words/s, peak RSS %.0f MiB | speed-up (median of pairs) %.2fx, memory ratio %.2f\n",
             mode, mt, words * epochs / mt, mrt / 1024, mp, words * epochs / mp, mrp / 1024, mr, mrt / mrp
    }' "$work/times"
}

: > "$work/times"
w256=$(count_words "$work/corpus_256.txt")
wlim=$(count_words "$work/corpus_limit.txt")
vlim=$(vocab_size "$work/corpus_limit.txt")
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); $threads threads; $epochs epoch(s); $runs runs each, alternating"
echo "width 256: $w256 words; limit: $wlim words, |V| = $vlim (TP4 -size $((2 * (vlim + 1))), tpc rows of length $vlim)"
for ((r = 0; r < runs; r++)); do
  time_run w256_tpc "$tpc" word2vec train --corpus "$work/corpus_256.txt" --width 256 $common_tpc --output "$work/tpc256.bin"
  time_run w256_tp4 "$work/tp4_word2vec" -train "$work/corpus_256.txt" -size 256 $common_tp4 -output "$work/tp4_256.bin"
done
for ((r = 0; r < runs; r++)); do
  time_run limit_tpc "$tpc" word2vec train --corpus "$work/corpus_limit.txt" --width inf $common_tpc --output "$work/tpc_inf.bin"
  time_run limit_tp4 "$work/tp4_word2vec" -train "$work/corpus_limit.txt" -size $((2 * (vlim + 1))) -oh 1 $common_tp4 -output "$work/tp4_inf.bin"
done
report w256 "$w256"
report limit "$wlim"
echo "raw timings (label, wall s, peak RSS KiB): $work/times"
