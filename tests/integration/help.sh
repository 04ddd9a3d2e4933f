#!/usr/bin/env bash
# --help for the program and every command and subcommand is complete and true: each option a
# command's source accepts is in its --help, each option its --help names is accepted (it does not
# get "unknown option"), and every help exits 0 on stdout.
. "$(dirname "$0")/../lib.sh"
src=${MQTTLS_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}

# The options a source file accepts: string literals that are exactly an option ("--json", "-w").
# target.c's lists of mosquitto_pub/sub options that are accepted and ignored count as accepted
# but need not be listed one by one.
opts_in() {
	"$T_PY" - "$@" <<'PY'
import re, sys
out = set()
for path in sys.argv[1:]:
    text = open(path).read()
    if path.endswith("target.c"):
        # Only what the TARGET parser acts on; the ignored lists are covered by one sentence.
        text = re.sub(r"ignored_flags\[\] = \{.*?\};", "", text, flags=re.S)
        text = re.sub(r"ignored_with_value\[\] = \{.*?\};", "", text, flags=re.S)
        text = re.sub(r"const char target_usage\[\] =.*?;\n", "", text, flags=re.S)
    text = re.sub(r"const char usage_\w+\[\] =.*?;\n", "", text, flags=re.S)
    text = re.sub(r"static const char \w+_usage\w*\[\] =.*?;\n", "", text, flags=re.S)
    for m in re.finditer(r'"(--?[a-zA-Z][-a-zA-Z0-9]*)"', text):
        out.add(m.group(1))
print("\n".join(sorted(out)))
PY
}

# The options a help text names.
opts_named() {
	grep -oE -- '(^|[^-a-zA-Z0-9_/])--?[a-zA-Z][-a-zA-Z0-9]*' "$1" | sed -E 's/^[^-]*//' | sort -u
}

documented() { grep -qE -- "(^|[^-a-zA-Z0-9])$2([^-a-zA-Z0-9]|$)" "$1"; }

"$MQTTLS" --help >"$T_TMP/top.txt" 2>"$T_TMP/top.err"
t_is "mqttls --help: exit 0, on stdout" "$?:$(wc -c <"$T_TMP/top.err")" "0:0"
for o in --help --version; do
	documented "$T_TMP/top.txt" "$o" && t_pass "mqttls --help names $o" || t_fail "mqttls --help names $o"
done
t_is "mqttls help COMMAND is COMMAND --help" "$("$MQTTLS" help capture)" "$("$MQTTLS" capture --help)"
t_is "mqttls -? is --help" "$("$MQTTLS" -?)" "$(cat "$T_TMP/top.txt")"

for c in tui diagnose inspect lint-conf capture certs lab mitm device explain; do
	"$MQTTLS" "$c" --help >"$T_TMP/$c.txt" 2>"$T_TMP/$c.err"
	rc=$?
	t_is "$c --help: exit 0" "$rc" 0
	t_is "$c --help: nothing on stderr (the mitm banner aside)" "$(grep -vc '^INSECURE LAB MITM - ' "$T_TMP/$c.err")" 0
	files=("$src/src/cli/cmd-$c.c")
	case $c in tui | diagnose | inspect | device) files+=("$src/src/core/target.c") ;; esac
	# Every option the source accepts is in the help.
	missing=()
	for o in $(opts_in "${files[@]}"); do
		documented "$T_TMP/$c.txt" "$o" || missing+=("$o")
	done
	t_is "$c --help documents every option it accepts" "${missing[*]}" ""
	# Every option the help names is accepted by the command, or by the ones it refers to.
	known=$(opts_in "$src"/src/cli/cmd-*.c "$src/src/core/target.c"; grep -oE '"--?[a-zA-Z][-a-zA-Z0-9]*"' "$src/src/core/target.c" | tr -d '"'; printf '%s\n' --help --version)
	unknown=()
	for o in $(opts_named "$T_TMP/$c.txt"); do
		grep -qxF -- "$o" <<<"$known" || unknown+=("$o")
	done
	t_is "$c --help names no option that does not exist" "${unknown[*]}" ""
done

# Subcommands: each has its own --help (certs) or the command's (lab), exit 0.
for s in init server device broken show export-esp32; do
	out=$("$MQTTLS" certs "$s" --help)
	t_is "certs $s --help: exit 0" "$?" 0
	t_like "certs $s --help: its usage" "$out" "^usage: mqttls certs $s"
done
# Each certs subcommand's help names exactly the options it accepts.
for s in init:--dir,--rsa,--san,--days,--force server:--dir,--rsa,--san,--days,--force device:--dir,--rsa,--days,--force \
	broken:--dir,--rsa,--san,--days,--force,--list show:--json,--host export-esp32:--arduino,--esp-idf,--name; do
	name=${s%%:*}
	"$MQTTLS" certs "$name" --help >"$T_TMP/certs-$name.txt"
	missing=()
	for o in ${s#*:}; do :; done
	IFS=, read -ra want <<<"${s#*:}"
	for o in "${want[@]}"; do documented "$T_TMP/certs-$name.txt" "$o" || missing+=("$o"); done
	t_is "certs $name --help documents ${s#*:}" "${missing[*]}" ""
	# And an option of another subcommand is refused here, as the help says.
	for o in --json --list --arduino; do
		[[ ",${s#*:}," == *",$o,"* ]] && continue
		"$MQTTLS" certs "$name" x "$o" >/dev/null 2>&1
		[ $? -eq 2 ] || t_fail "certs $name refuses $o (not in its help)"
	done
done
t_pass "certs subcommands refuse the options their help does not name"
for s in list start status hint check reset stop sketch; do
	out=$("$MQTTLS" lab "$s" --help)
	t_is "lab $s --help: exit 0" "$?" 0
	t_like "lab $s --help: names it" "$out" "mqttls lab $s"
done

# A help request wins over anything else on the line, and never runs the command.
out=$("$MQTTLS" diagnose -h 192.0.2.1 -p 1 --help 2>&1)
t_like "diagnose ... --help prints help, connects nowhere" "$out" '^usage: mqttls diagnose'
out=$("$MQTTLS" -h 192.0.2.1 -p 1 --help 2>&1)
t_like "mqttls -h ... --help (a pasted line) prints diagnose's help" "$out" '^usage: mqttls diagnose'
out=$("$MQTTLS" explain -- --help 2>&1)
t_like "explain -- --help explains the text '--help'" "$out" 'does not recognise anything in "--help"'
out=$("$MQTTLS" mitm --listen 0.0.0.0:1 --help 2>/dev/null)
t_like "mitm ... --help prints help, binds nothing" "$out" '^usage: mqttls mitm'
t_done
