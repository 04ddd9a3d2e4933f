#!/usr/bin/env bash
# Run the explain fuzz harness briefly over its seed corpus (a smoke run; longer runs by hand:
#   build/fuzz/tests/fuzz/fuzz_explain tests/fuzz/corpus/explain -max_total_time=600).
. "$(dirname "$0")/../lib.sh"
fz=${FUZZ_BUILD:-$MQTTLS_SRC/build/fuzz}/tests/fuzz/fuzz_explain
if [ ! -x "$fz" ]; then
	t_skip "fuzz_explain is not built (make fuzz)"
	t_done
	exit 0
fi
work=$T_TMP/corpus
mkdir -p "$work"
cp "$MQTTLS_SRC"/tests/fuzz/corpus/explain/* "$work"/
if out=$("$fz" "$work" -max_total_time=10 -max_len=4096 -timeout=5 2>&1); then
	t_pass "fuzz_explain ran 10 s without a crash"
else
	t_fail "fuzz_explain found a crash" "$(printf '%s' "$out" | tail -30)"
fi
t_done
