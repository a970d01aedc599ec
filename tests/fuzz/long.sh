#!/usr/bin/env bash
# long.sh - every libFuzzer harness for MINUTES each, one at a time, and a table
#
#   tests/fuzz/long.sh [MINUTES [OUTDIR]]     defaults: 10, build-fuzz/long
#
# Builds the harnesses (make fuzz; NO_BUILD=1 skips that), then runs each
# build-fuzz/fuzz_* alone (one process, one job: the machine's other cores
# stay free) with -max_total_time, from its own corpus OUTDIR/corpus-NAME
# plus the seeds in tests/fuzz/seeds/NAME. Logs are OUTDIR/NAME.log, what
# a harness finds is OUTDIR/NAME-crash-* (or leak-, timeout-, oom-), and
# the table (also in OUTDIR/summary.txt) gives per harness the minutes, the
# executions and exec/s (libFuzzer's -print_final_stats), the corpus
# (units/bytes), the coverage (edges) and what was found. libFuzzer stops
# at the first finding: a harness that found one ran for less than its
# minutes. FUZZ_ARGS adds libFuzzer options (e.g. -max_len=70000);
# HARNESSES="gso netlink" runs only those. Exit status 1 if anything was
# found. Run it under nice on a shared machine:
#
#   nice -n 19 tests/fuzz/long.sh 10 /tmp/fuzz-long
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
MINUTES=${1:-10}
OUT=${2:-build-fuzz/long}
case $MINUTES in '' | 0 | *[!0-9]*) echo "long.sh: MINUTES must be a whole number above 0" >&2; exit 2 ;; esac
# libFuzzer takes 0 as "no limit"; SECS (whole seconds) overrides MINUTES for a quick try
SECS=${SECS:-$((MINUTES * 60))}
mkdir -p "$OUT"
if [ -z "${NO_BUILD:-}" ]; then
	make -s fuzz >"$OUT/build.log" 2>&1 || { echo "long.sh: make fuzz failed, see $OUT/build.log" >&2; exit 2; }
fi
if [ -n "${HARNESSES:-}" ]; then
	list=$(for n in $HARNESSES; do echo "build-fuzz/fuzz_$n"; done)
else
	list=$(for h in build-fuzz/fuzz_*; do [ -x "$h" ] && [ -f "$h" ] && echo "$h"; done)
fi
[ -n "$list" ] || { echo "long.sh: no harnesses in build-fuzz/" >&2; exit 2; }

# the last value of "key: N" (or "key N") in a log
stat() {
	grep -o "$2[: ]*[0-9/a-zA-Z]*" "$1" | tail -1 | sed "s/^$2[: ]*//"
}

summary=$OUT/summary.txt
fmt="%-10s %7s %12s %8s %16s %7s  %s\n"
# shellcheck disable=SC2059
printf "$fmt" harness minutes executions exec/s corpus cov found | tee "$summary"
found_any=0
for h in $list; do
	name=${h#build-fuzz/fuzz_}
	log=$OUT/$name.log
	corpus=$OUT/corpus-$name
	seeds=tests/fuzz/seeds/$name
	[ -d "$seeds" ] || seeds=
	mkdir -p "$corpus"
	rm -f "$OUT/$name"-crash-* "$OUT/$name"-leak-* "$OUT/$name"-timeout-* "$OUT/$name"-oom-*
	start=$(date +%s)
	# shellcheck disable=SC2086
	"$h" -max_total_time="$SECS" -timeout=25 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$OUT/$name-" ${FUZZ_ARGS:-} \
		"$corpus" $seeds >"$log" 2>&1
	rc=$?
	mins=$(awk -v s="$(($(date +%s) - start))" 'BEGIN { printf "%.1f", s / 60 }')
	execs=$(stat "$log" "stat::number_of_executed_units")
	rate=$(stat "$log" "stat::average_exec_per_sec")
	corp=$(stat "$log" "corp")
	cov=$(stat "$log" "cov")
	artifacts=$(ls "$OUT/$name"-crash-* "$OUT/$name"-leak-* "$OUT/$name"-timeout-* \
		"$OUT/$name"-oom-* 2>/dev/null)
	if [ -n "$artifacts" ] || [ "$rc" -ne 0 ]; then
		found_any=1
		what=$(grep -m1 -E "^SUMMARY: " "$log" | sed 's/^SUMMARY: //')
		found="${what:-exit $rc}: ${artifacts:-no artifact}"
	else
		found=none
	fi
	# shellcheck disable=SC2059
	printf "$fmt" "$name" "$mins" "${execs:-?}" "${rate:-?}" "${corp:-?}" "${cov:-?}" \
		"$found" | tee -a "$summary"
done
exit $found_any
