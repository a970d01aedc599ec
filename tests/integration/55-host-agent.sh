#!/usr/bin/env bash
# The host agent with gangway's guest (bridges named like Docker's, no
# engine): `gangway init` makes a working pair; routes follow the guest's
# networks; a host route that a guest prefix would shadow is reported and
# left alone; kill -9 and restart restores routes without duplicates; a
# guest silent for WithdrawAfter loses its routes and gets them back;
# SIGSTOP/SIGCONT of either side heals by itself.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
N1=$(lab_subnet4 1) N2=$(lab_subnet4 2) N3=$(lab_subnet4 3)
lab_bridge_add docker0 "$N1"
lab_container_add c1 docker0 "${N1%.0/24}.2"
C1=${N1%.0/24}.2

lab_check "gangway init writes a pair" "$GW_GANGWAY" init -d "$LAB_DIR" -e "$LAB_HOST_IP4" -p 51820 \
	-n "10.200.$LAB_OCTET.0/24"
lab_check_fail "gangway init refuses to overwrite" "$GW_GANGWAY" init -d "$LAB_DIR"
lab_check "the guest's peer key is the host's public key" bash -c \
	"[ \"\$(sed -n 's/^PrivateKey = //p' $LAB_DIR/gangway.conf | $GW_GANGWAY pubkey)\" = \"\$(sed -n 's/^PublicKey = //p' $LAB_DIR/gangwayd.conf)\" ]"
lab_check "both files are mode 0600" bash -c "[ \$(stat -c %a $LAB_DIR/gangway.conf $LAB_DIR/gangwayd.conf | sort -u) = 600 ]"
HOST_IF=gwh$LAB_OCTET GUEST_IF=gwg$LAB_OCTET
printf '\n[Gangway]\nInterface = %s\nStateDirectory = %s/state\nWithdrawAfter = 15\n' \
	"$HOST_IF" "$LAB_DIR" >>"$LAB_DIR/gangway.conf"
# The lab's bridges are named <run>b<N>: the guest watches those.
printf '\n[Gangway]\nInterface = %s\nStateDirectory = %s/gstate\nBridges = %sb*\n' \
	"$GUEST_IF" "$LAB_DIR" "$LAB_RUN" >>"$LAB_DIR/gangwayd.conf"
gw_start_host host host "$LAB_DIR/gangway.conf"
HOST_PID=$GW_PID
gw_start_guest vm guest "$LAB_DIR/gangwayd.conf"
GUEST_PID=$GW_PID

hroutes() { ip -n "$(lab_ns host)" route show dev "$HOST_IF" proto static; }
has_route() { hroutes | grep -q "^$1 "; }
no_route() { ! has_route "$1"; }
lab_check "the host routes docker0's network" gw_until 10 has_route "$N1"
lab_check "the host reaches the container" lab_exec host ping -c 2 -i 0.2 -W 2 "$C1"
lab_bridge_add br-new "$N2"
lab_check "a new bridge's network is routed within 2 s" gw_until 2 has_route "$N2"
ip -n "$(lab_ns vm)" link del "$(lab_bridge_if br-new)"
lab_check "a deleted bridge's route goes within 2 s" gw_until 2 no_route "$N2"

# A host route inside a guest prefix: reported, not touched, not shadowed.
SUB=${N3%.0/24}.0/25
ip -n "$(lab_ns host)" route add "$SUB" via "$LAB_VM_IP4"
lab_bridge_add br-lan "$N3"
lab_check "the host reports the overlap" gw_wait_log "$LAB_DIR/host.log" "overlaps the host's route $SUB" 5
lab_check "the guest hears why" gw_wait_log "$LAB_DIR/guest.log" "shadowed by a host route" 5
lab_check_fail "no route for the shadowing prefix was installed" has_route "$N3"
lab_check "the host's own route is untouched" bash -c "ip -n $(lab_ns host) route show $SUB | grep -q 'via $LAB_VM_IP4'"

# kill -9 of the host agent: its device and routes die with it; a restart
# dials the guest (remembered endpoint) and gets the routes back, once.
kill -9 "$HOST_PID"
lab_retry 5 bash -c "! ip -n $(lab_ns host) link show $HOST_IF 2>/dev/null" || true
gw_start_host host host2 "$LAB_DIR/gangway.conf"
HOST_PID=$GW_PID
lab_check "after kill -9 and restart, routes are back within 5 s" gw_until 5 has_route "$N1"
lab_check "...exactly once" bash -c "[ \$(ip -n $(lab_ns host) route show dev $HOST_IF proto static | grep -c '^$N1 ') -eq 1 ]"
lab_check "...and the container answers" gw_until 5 lab_exec host ping -c 1 -W 1 "$C1"

# The guest stops for 40 s: after WithdrawAfter (15 s) its routes go;
# when it continues, they come back and traffic resumes by itself.
kill -STOP "$GUEST_PID"
lab_check "a silent guest's routes are withdrawn after WithdrawAfter" gw_until 25 no_route "$N1"
sleep 20
kill -CONT "$GUEST_PID"
lab_check "after SIGCONT of the guest, the route is back within 10 s" gw_until 10 has_route "$N1"
lab_check "...and traffic flows" gw_until 10 lab_exec host ping -c 1 -W 1 "$C1"

# The host agent stops for 40 s (a sleeping laptop).
kill -STOP "$HOST_PID"
sleep 40
kill -CONT "$HOST_PID"
lab_check "after SIGCONT of the host agent, traffic resumes within 15 s" \
	gw_until 15 lab_exec host ping -c 1 -W 1 "$C1"
lab_check "both daemons run" kill -0 "$HOST_PID" "$GUEST_PID"
lab_done
