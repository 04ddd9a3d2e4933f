#!/usr/bin/env bash
# mqttls explain as a command: arguments, standard input, --json, honest "unknown", exit statuses.
# (Every code family is covered by tests/unit/test_explain.c.)
. "$(dirname "$0")/../lib.sh"

out=$("$MQTTLS" explain rc=-2)
t_is "rc=-2: exit 0" "$?" "0"
t_like "rc=-2: PubSubClient's connect failed" "$out" 'MQTT_CONNECT_FAILED'
t_like "rc=-2: related findings" "$out" 'related findings: .*TCP_REFUSED'

out=$("$MQTTLS" explain -- -0x2700)
t_like "-0x2700: the three forms" "$out" '-9984 \(Arduino'

out=$("$MQTTLS" explain "Client <unknown> disconnected: Protocol error.")
t_like "mosquitto's TLS line" "$out" 'EPROTO'
out=$("$MQTTLS" explain "Client <unknown> disconnected due to protocol error.")
t_like "mosquitto's MQTT protocol line" "$out" 'TLS ClientHello'

out=$(printf '%s\n' "1795308716: New connection from 127.0.0.1:47044 on port 8883." \
	"1795308716: OpenSSL Error[0]: error:0A000412:SSL routines::sslv3 alert bad certificate" \
	"1795308716: Client <unknown> disconnected: Protocol error." | "$MQTTLS" explain --json -)
t_is "stdin: recognised" "$(printf '%s' "$out" | t_json - 'j["recognised"]')" "true"
t_like "stdin: the alert and the log line" "$(printf '%s' "$out" | t_json - '" ".join(e["family"] for e in j["explanations"])')" 'mosquitto-log.*openssl|openssl.*mosquitto-log'
t_like "stdin: the device reading of alert 42" "$(printf '%s' "$out" | t_json - '[e["detail"] for e in j["explanations"] if e["family"] == "openssl"][0]')" 'CN_MISMATCH'

out=$("$MQTTLS" explain --json 0x801a)
t_like "esp-tls: both numberings" "$(printf '%s' "$out" | t_json - 'j["explanations"][0]["meaning"]')" 'ESP-IDF 5\.x.*ESP-IDF 4\.x'
t_is "a bare number is a guess" "$(printf '%s' "$out" | t_json - 'j["explanations"][0]["guess"]')" "true"

out=$("$MQTTLS" explain "the moon is made of cheese")
t_is "unknown text: exit 1" "$?" "1"
t_like "unknown text: said honestly" "$out" 'does not recognise'
t_exit "nothing to explain: exit 2" 2 "$MQTTLS" explain
t_exit "both stdin and arguments: exit 2" 2 "$MQTTLS" explain - rc=-2
out=$("$MQTTLS" explain $'\033[31mrc=-2\033[0m' --json)
t_unlike "hostile input is escaped in the JSON" "$out" $'\033'

t_done
