#!/usr/bin/env bash
# IPv6 container networks need an IPv6 address on the tunnel at both ends:
# without one the host sends from another interface's address, which the
# guest drops. The agent says so once, however many IPv6 networks come;
# with the addresses configured it says nothing and IPv6 works.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
N4=$(lab_subnet4 1) N6=$(lab_subnet6 1) M4=$(lab_subnet4 2) M6=$(lab_subnet6 2)
lab_bridge_add docker0 "$N4" "$N6"
C6=${N6%/*}2
lab_container_add c1 docker0 "${N4%.0/24}.2" "$C6"

gw_keypair host
gw_keypair guest
TH=10.200.$LAB_OCTET.1 TG=10.200.$LAB_OCTET.2
T6H=fd00:33:$LAB_OCTET::1 T6G=fd00:33:$LAB_OCTET::2
HOST_IF=gwh$LAB_OCTET GUEST_IF=gwg$LAB_OCTET
start_pair()	# HOST_ADDRS GUEST_ADDRS HOST_ALLOWED_FOR_GUEST GUEST_ALLOWED_FOR_HOST
{
	gw_host_conf host "$1" "$HOST_IF"
	gw_conf_peer "$LAB_DIR/host.conf" guest "$3"
	gw_guest_conf guest "$2" "$GUEST_IF" "$LAB_HOST_IP4:51820" "$4" 51821
	printf 'Bridges = %sb*\n' "$LAB_RUN" >>"$LAB_DIR/guest.conf"
	gw_pair_start
}
has_route() { ip -n "$(lab_ns host)" -6 route show dev "$HOST_IF" | grep -q "^$1 "; }
warnings() { grep -c 'has no IPv6 Address' "$LAB_DIR/host.log" || true; }

start_pair "$TH/24" "$TG/24" "$TG/32" "$TH/32"
lab_check "the IPv6 network is routed" gw_until 10 has_route "$N6"
lab_check "the agent says the tunnel has no IPv6 address" \
	gw_wait_log "$LAB_DIR/host.log" "IPv6 network .* has no IPv6 Address" 5
lab_bridge_add br1 "$M4" "$M6"
lab_check "a second IPv6 network is routed" gw_until 10 has_route "$M6"
lab_check "...and the warning is not repeated" bash -c "[[ \$(grep -c 'has no IPv6 Address' '$LAB_DIR/host.log') == 1 ]]"
lab_kill "$HOST_PID"
lab_kill "$GUEST_PID"

start_pair "$TH/24, $T6H/64" "$TG/24, $T6G/128" "$TG/32, $T6G/128" "$TH/32, $T6H/128"
lab_check "with IPv6 addresses at both ends the network is routed" gw_until 10 has_route "$N6"
lab_check "...the host reaches the container over IPv6" gw_until 10 lab_ping host "$C6"
lab_check "...and nothing is said about it" bash -c "[[ \$(grep -c 'has no IPv6 Address' '$LAB_DIR/host.log' || true) == 0 ]]"
lab_done
