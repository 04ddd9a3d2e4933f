#!/usr/bin/env bash
# A broker whose certificate carries terminal escape sequences in its subject and its SANs
# (a title change, a colour, a screen clear, a right-to-left override): the TUI shows them as
# escaped text and the terminal is untouched — no title change, no cleared screen.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../tui-lib.sh"

pki=$(t_pki) || exit 1
dir=$T_TMP/hostile
mkdir -p "$dir"
esc=$(printf '\033')
bel=$(printf '\007')
rlo=$(printf '\342\200\256')   # U+202E RIGHT-TO-LEFT OVERRIDE
cat >"$dir/h.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
string_mask = utf8only
utf8 = yes
[dn]
CN = evil${esc}]2;PWNED${bel}${esc}[31mred${rlo}gpj.exe
O = hostile${esc}[2J
[ext]
subjectAltName = DNS:localhost,DNS:x${esc}[2Jy.example,DNS:t${esc}]2;PWNED${bel}.example
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = serverAuth
EOF
if ! openssl ecparam -name prime256v1 -genkey -noout -out "$dir/h.key" 2>"$dir/err" ||
	! openssl req -new -key "$dir/h.key" -config "$dir/h.cnf" -out "$dir/h.csr" 2>>"$dir/err" ||
	! openssl x509 -req -in "$dir/h.csr" -CA "$pki/intermediate.crt" -CAkey "$pki/intermediate.key" -CAcreateserial \
		-days 30 -extfile "$dir/h.cnf" -extensions ext -out "$dir/h.crt" 2>>"$dir/err"; then
	t_fail "openssl makes the hostile certificate" "$(cat "$dir/err")"
	t_done
	exit 1
fi
cat "$dir/h.crt" "$pki/intermediate.crt" >"$dir/h-fullchain.crt"
t_pki_perms "$dir"
chmod 0644 "$dir"/*.crt
port=$(t_free_port)
t_broker hostile "$port" "listener $port 127.0.0.1
allow_anonymous true
cafile $pki/ca.crt
certfile $dir/h-fullchain.crt
keyfile $dir/h.key" || exit 1

for size in 80x24 120x40; do
	tui_start "${size%x*}" "${size#*x}" tui -h localhost -p "$port" --cafile "$pki/ca.crt"
	title_before=$(tui_flag pane_title)
	tui_wait 'all stages passed|failed in' 30 >/dev/null
	tui_keys 3
	tui_wait 'Chain from' 10 >/dev/null
	screen=$(tui_cap)
	t_like "$size: a hostile DNS SAN is shown escaped" "$screen" 'DNS:x\\x1B\[2Jy\.example'
	t_like "$size: a title-changing SAN is shown escaped" "$screen" 'DNS:t\\x1B\]2;PWNED\\x07\.example'
	t_like "$size: the hostile CN is shown escaped" "$screen" 'CN +evil\\x1B\]2;PWNED\\x07\\x1B\[31mred\?gpj\.exe'
	t_like "$size: the subject too" "$screen" 'Subject +.*evil'
	t_like "$size: the real SAN is still marked as the match" "$screen" 'DNS:localhost ◀ matches localhost'
	t_is "$size: the pane title is untouched" "$(tui_flag pane_title)" "$title_before"
	t_like "$size: the screen was not cleared (tab bar intact)" "$(echo "$screen" | sed -n 2p)" '1 Connect +2 Diagnose'
	raw=$(tui_tmux capture-pane -e -p -t t)
	t_unlike "$size: no OSC sequence reached the terminal" "$raw" $'\e\\]'
	t_unlike "$size: no right-to-left override on screen" "$screen" "$rlo"
	tui_quit >/dev/null || t_fail "$size: q quits"
	t_tui_restored "$size"
	t_tui_clean "$size"
done

t_done
