# Shared by the side-by-side benchmark scripts of bench/ (sourced; needs $work, a writable directory).
# time_run LABEL CMD...: appends "LABEL wall_seconds max_rss_kib" to $work/times
time_run() {
  local label=$1
  shift
  /usr/bin/time -v -o "$work/time.txt" "$@" > "$work/$label.out" 2>&1 || { echo "error: $label failed:" >&2; tail "$work/$label.out" >&2; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$work/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
  echo "$label $wall $rss" >> "$work/times"
}
