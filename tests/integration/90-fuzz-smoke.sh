#!/usr/bin/env bash
# Every libFuzzer harness, built by `make fuzz`, runs for a short while from
# its seed corpus (tests/fuzz/seeds/<name>) and must find nothing: eight
# harnesses at FUZZ_SECONDS (15) each. A longer run is tests/fuzz/long.sh,
# documented in docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${FUZZ_SECONDS:-15}
make -s fuzz >/dev/null
fail=0
# One run per harness source: a binary missing is a failure, and nothing
# else in build-fuzz/ (the compiler's .d files) is taken for a harness.
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	name=${name#fuzz_}
	h=build-fuzz/fuzz_$name
	if [ ! -x "$h" ]; then
		echo "not ok - fuzz_$name was not built"
		fail=1
		continue
	fi
	corpus=build-fuzz/corpus-$name
	mkdir -p "$corpus"
	seeds=tests/fuzz/seeds/$name
	[ -d "$seeds" ] || seeds=
	echo "# fuzz_$name for ${SECS}s"
	if "$h" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="build-fuzz/$name-" "$corpus" $seeds >"build-fuzz/$name.log" 2>&1; then
		echo "ok - fuzz_$name: $(grep -o 'Done [0-9]* runs' "build-fuzz/$name.log" | tail -1)"
	else
		echo "not ok - fuzz_$name found a problem:"
		grep -E "ERROR|SUMMARY|Test unit written" "build-fuzz/$name.log" | head -20
		fail=1
	fi
done
exit $fail
