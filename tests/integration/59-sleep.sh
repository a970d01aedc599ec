#!/usr/bin/env bash
# A laptop's sleep: the host agent and the VM stop together (the clock
# goes on: CLOCK_BOOTTIME counts suspend, as macOS's continuous clock
# does), for longer than WithdrawAfter. On resume the agent must not take
# the VM's silence meanwhile for a guest gone: no withdrawal, no flap,
# traffic at once. A guest silent while the host runs is still withdrawn.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
N1=$(lab_subnet4 1)
lab_bridge_add docker0 "$N1"
lab_container_add c1 docker0 "${N1%.0/24}.2"
C1=${N1%.0/24}.2
WITHDRAW=5

"$GW_GANGWAY" init -d "$LAB_DIR" -e "$LAB_HOST_IP4" -p 51820 -n "10.200.$LAB_OCTET.0/24" >/dev/null
HOST_IF=gwh$LAB_OCTET GUEST_IF=gwg$LAB_OCTET
printf '\n[Gangway]\nInterface = %s\nStateDirectory = %s/state\nWithdrawAfter = %s\n' \
	"$HOST_IF" "$LAB_DIR" "$WITHDRAW" >>"$LAB_DIR/gangway.conf"
printf '\n[Gangway]\nInterface = %s\nStateDirectory = %s/gstate\nBridges = %sb*\n' \
	"$GUEST_IF" "$LAB_DIR" "$LAB_RUN" >>"$LAB_DIR/gangwayd.conf"
# A keepalive every second: an idle tunnel is not a silent guest here.
sed -i 's/^PersistentKeepalive = .*/PersistentKeepalive = 1/' "$LAB_DIR/gangwayd.conf"
gw_start_host host host "$LAB_DIR/gangway.conf"
HOST_PID=$GW_PID
gw_start_guest vm guest "$LAB_DIR/gangwayd.conf"
GUEST_PID=$GW_PID

has_route() { ip -n "$(lab_ns host)" route show dev "$HOST_IF" proto static | grep -q "^$1 "; }
no_route() { ! has_route "$1"; }
withdrawals() { grep -c 'withdrawing' "$LAB_DIR/host.log" || true; }
lab_check "the host routes the guest's network" gw_until 10 has_route "$N1"
lab_check "the host reaches the container" gw_until 5 lab_ping host "$C1"

# Both stop for twice WithdrawAfter, as in a sleep, then go on.
before=$(withdrawals)
kill -STOP "$HOST_PID" "$GUEST_PID"
sleep $((2 * WITHDRAW))
kill -CONT "$GUEST_PID" "$HOST_PID"
lab_check "on resume the agent says it slept" \
	gw_wait_log "$LAB_DIR/host.log" "Resumed after [0-9]* s asleep" 5
lab_check "...the route is still there" has_route "$N1"
lab_check "...and traffic flows at once" gw_until 3 lab_ping host "$C1"
lab_check "...with no withdrawal meanwhile" bash -c "[[ \$(grep -c withdrawing '$LAB_DIR/host.log' || true) == $before ]]"

# The guest alone is silent while the host runs: that is a guest gone.
kill -STOP "$GUEST_PID"
lab_check "a guest silent while the host runs is withdrawn after WithdrawAfter" \
	gw_until $((WITHDRAW + 5)) no_route "$N1"
kill -CONT "$GUEST_PID"
lab_check "it comes back when the guest does, before its 30 s refresh" gw_until 10 has_route "$N1"
lab_done
