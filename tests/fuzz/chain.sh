#!/usr/bin/env bash
# fuzz_chain for a bounded number of runs, seeded with certificates, keys and chains that
# mqttls makes now (so the corpus never expires), then every one of them replayed once.
. "$(dirname "$0")/../lib.sh"

bin=${FUZZ_BUILD:-$MQTTLS_SRC/build/fuzz}/tests/fuzz/fuzz_chain
if [ ! -x "$bin" ]; then
	t_fail "fuzz_chain is built (make fuzz)"
	t_done
	exit 1
fi
corpus=$T_TMP/corpus
mkdir -p "$corpus"
pki=$(t_pki) || t_fail "certs init for the seed corpus"
"$MQTTLS" certs broken all --dir "$pki" >/dev/null 2>&1
cp "$pki"/*.crt "$pki"/ca.key "$corpus"/
openssl x509 -in "$pki/ca.crt" -outform der -out "$corpus/ca.der"
printf 'subject=x\n-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n' >"$corpus/damaged.pem"
t_ok "fuzz_chain: 20000 runs without a crash or leak" \
	"$bin" -runs=20000 -max_len=8192 -rss_limit_mb=1024 "$corpus"
t_done
