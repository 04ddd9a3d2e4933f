#!/usr/bin/env bash
# Run every test suite and end with one line "N passed, N failed".
#
# A suite is a unit-test binary (cmocka, TAP output) or a tests/*/ *.sh script (TAP via
# tests/lib.sh). Each "ok" / "not ok" line counts; a suite that dies without saying
# "not ok" counts one failure. Usage: tests/run.sh [PATTERN] — only suites whose
# path contains PATTERN.
set -u
cd "$(dirname "$0")/.." || exit 2

: "${MQTTLS:=$PWD/build/asan/mqttls}"
: "${BUILD:=$PWD/build/asan}"
export MQTTLS BUILD
export MQTTLS_SRC=$PWD
# LeakSanitizer: leaks are failures; the suppressions cover libraries' own one-time caches.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export CMOCKA_MESSAGE_OUTPUT=TAP
export NO_COLOR=1

filter=${1:-}
logs=$BUILD/test-logs
mkdir -p "$logs"
# What the run leaves behind is checked at the end (tests/leftovers.sh): everything it starts
# carries this mark in its environment, and every temporary file goes into a TMPDIR of its own
# (0755: mosquitto, started as root, reads its files there as the user mosquitto).
export MQTTLS_TEST_RUN="run-$$-$(date +%s%N)"
run_tmp=$(mktemp -d /tmp/mqttls-run.XXXXXX) || exit 2
trap 'rm -rf "$run_tmp"' EXIT
chmod 0755 "$run_tmp"
export TMPDIR=$run_tmp
bash tests/leftovers.sh begin "$logs/leftovers"
total_pass=0
total_fail=0
failed_suites=()

run_suite() {
	local name=$1
	shift
	local log="$logs/$(echo "$name" | tr '/' '_').log" rc p f
	if [ -n "$filter" ] && [[ "$name" != *"$filter"* ]]; then
		return
	fi
	# Every suite is bounded: a hang is a failure, not a stuck CI.
	timeout -k 10 900 "$@" >"$log" 2>&1
	rc=$?
	p=$(grep -cE '^ok( |$)' "$log")
	f=$(grep -cE '^not ok( |$)' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc without reporting a failure" >>"$log"
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	if [ "$f" -gt 0 ]; then
		failed_suites+=("$name")
		printf '%-44s %4d passed, %d FAILED\n' "$name" "$p" "$f"
		grep -E '^not ok' "$log" | head -20 | sed 's/^/    /'
		echo "    --- last lines of $log:"
		tail -n 25 "$log" | sed 's/^/    | /'
	else
		printf '%-44s %4d passed\n' "$name" "$p"
	fi
}

for bin in "$BUILD"/tests/unit/test_*; do
	[ -x "$bin" ] || continue
	run_suite "unit/$(basename "$bin")" "$bin"
done
for dir in integration pcap tui fuzz; do
	for script in tests/$dir/*.sh; do
		[ -f "$script" ] || continue
		run_suite "$dir/$(basename "$script" .sh)" bash "$script"
	done
done

# Always, whatever the filter: a suite that leaves a broker running fails the run.
filter='' run_suite "hygiene/leftovers" bash tests/leftovers.sh end "$logs/leftovers"

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
