#!/usr/bin/env bash
# Every libFuzzer harness (built by "make fuzz"): replay its corpus (tests/fuzz/corpus/<harness>/,
# seeded from real captures; every crash ever found is kept there), then fuzz it briefly.
# Bounded: FUZZ_SECONDS per harness (default 10). New units go to a temporary directory,
# never into the repository's corpus.
. "$(dirname "$0")/../lib.sh"

src=${MQTTLS_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
fuzz_build=${FUZZ_BUILD:-$src/build/fuzz}
secs=${FUZZ_SECONDS:-10}
# The harnesses are built with ASan; leaks found while fuzzing are real failures too.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1

found=0
for bin in "$fuzz_build"/tests/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	found=1
	corpus=$src/tests/fuzz/corpus/$name
	if [ -d "$corpus" ] && [ -n "$(ls -A "$corpus")" ]; then
		t_ok "$name replays its corpus ($(ls "$corpus" | wc -l) inputs)" \
			"$bin" -runs=0 -rss_limit_mb=2048 "$corpus"
	else
		t_skip "$name has no seed corpus in tests/fuzz/corpus/$name yet"
		corpus=
	fi
	work=$T_TMP/$name
	mkdir -p "$work"
	t_ok "$name survives ${secs}s of fuzzing" \
		"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-artifact_prefix="$T_TMP/$name-" "$work" ${corpus:+"$corpus"}
	for crash in "$T_TMP/$name"-*; do
		[ -e "$crash" ] && echo "# kept nothing: crash input was $crash ($(xxd -p "$crash" | head -c 200))"
	done
done
[ "$found" = 1 ] || t_fail "fuzz harnesses are built (make fuzz) in $fuzz_build"
t_done
