#!/usr/bin/env bash
# A reload that removes and adds peers: the host agent is known to keep
# per-guest state, which must follow the configuration and never outlive
# the peer it belongs to. A removed guest's learnt routes are withdrawn, a
# peer added in its place starts with nothing, and the guest left in the
# configuration keeps its routes. Listed in tests/asan.list: the engine
# frees removed peers, so any stale reference shows up there.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
gw_pair_up
gw_vm_add vm2 1 c2
gw_keypair guest2
gw_keypair guest3
TG2=10.200.$LAB_OCTET.3 TG3=10.200.$LAB_OCTET.4
# Only the tunnel addresses are static: the container networks are learnt.
host_conf() {	# peers...
	gw_host_conf host "$TH/24" "$HOST_IF"
	printf 'WithdrawAfter = 600\n' >>"$LAB_DIR/host.conf"
	for p in "$@"; do
		case $p in
		guest) gw_conf_peer "$LAB_DIR/host.conf" guest "$TG/32" ;;
		guest2) gw_conf_peer "$LAB_DIR/host.conf" guest2 "$TG2/32" ;;
		guest3) gw_conf_peer "$LAB_DIR/host.conf" guest3 "$TG3/32" ;;
		esac
	done
}
host_conf guest guest2
gw_guest_conf guest2 "$TG2/24" "gwg2$LAB_OCTET" "$GW_VM_HOST_IP:51820" "$TH/32"
# The guests advertise the lab's bridges (named <run>b<N>); vm2 gets one.
printf 'Bridges = %sb*\n' "$LAB_RUN" | tee -a "$LAB_DIR/guest.conf" >>"$LAB_DIR/guest2.conf"
NET2=$(lab_subnet4 7)
ip -n "$(lab_ns vm2)" link add name "${LAB_RUN}b99" type bridge
ip -n "$(lab_ns vm2)" addr add "${NET2%.0/24}.1/24" dev "${LAB_RUN}b99"
ip -n "$(lab_ns vm2)" link set "${LAB_RUN}b99" up
gw_pair_start
gw_start_guest vm2 guest2 "$LAB_DIR/guest2.conf"
has_route() { ip -n "$(lab_ns host)" route show dev "$HOST_IF" proto static | grep -q "^$1 "; }
no_route() { ! has_route "$1"; }
lab_check "guest 1's network is learnt" gw_until 15 has_route "$NET"
lab_check "guest 2's network is learnt" gw_until 15 has_route "$NET2"

# Reload: guest 2 goes, guest 3 (never started) comes.
host_conf guest guest3
kill -HUP "$HOST_PID"
lab_check "the reload is applied" gw_wait_log "$LAB_DIR/host.log" "Configuration reloaded: 2 peer" 10
lab_check "the removed guest's route is withdrawn" gw_until 5 no_route "$NET2"
lab_check "the kept guest's route stays" has_route "$NET"
sleep 2	# a few ticks of the host agent over the changed peer set
lab_check "the new peer inherits no prefix" bash -c \
	"! '$GW_GANGWAY' status -c '$LAB_DIR/host.conf' | grep -F '${NET2%/*}'"
lab_check "the kept guest's container still answers" lab_exec host ping -c 2 -i 0.2 -W 2 "$CIP"

# Again, the other way round and with all three, then back to one.
host_conf guest guest2 guest3
kill -HUP "$HOST_PID"
lab_check "the second reload is applied" gw_wait_log "$LAB_DIR/host.log" "Configuration reloaded: 3 peer" 10
host_conf guest
kill -HUP "$HOST_PID"
lab_check "the third reload is applied" gw_wait_log "$LAB_DIR/host.log" "Configuration reloaded: 1 peer" 10
sleep 2
lab_check "guest 2's network is not routed" no_route "$NET2"
lab_check "guest 1 keeps its route through every reload" has_route "$NET"
lab_check "the host agent still runs" kill -0 "$HOST_PID"
lab_check "status still answers" "$GW_GANGWAY" status -c "$LAB_DIR/host.conf"
lab_done
