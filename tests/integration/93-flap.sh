#!/usr/bin/env bash
# Flaps: the VM uplink goes down and up, the VM's uplink address changes,
# the container bridge is deleted and recreated, the host's route to the
# container network is deleted. After each, traffic from the host to the
# container heals by itself within a stated time (10 s; 3 s for the
# deleted route, which the host agent puts back), with no duplicate routes,
# and both daemons keep their fd count and memory.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"
. "$(dirname "$0")/../lib/fault.sh"

lab_init
lab_up
fault_init_pair
gw_start_host host host "$LAB_DIR/gangway.conf"
HOST_PID=$GW_PID
gw_start_guest vm guest "$LAB_DIR/gangwayd.conf"
GUEST_PID=$GW_PID

H=$(lab_ns host) V=$(lab_ns vm)
hroutes() { ip -n "$H" route show dev "$HOST_IF" proto static; }
has_route() { hroutes | grep -q "^$1 "; }
no_route() { ! has_route "$1"; }
reach() { lab_exec host ping -c 1 -W 1 "$C1" >/dev/null; }
once() { lab_check "...with exactly one route to $N1" bash -c "[ \$(ip -n $H route show dev $HOST_IF proto static | grep -c '^$N1 ') -eq 1 ]"; }
healed()	# WHAT SECS
{
	local t0=$SECONDS
	lab_check "$1: traffic heals within $2 s" gw_until "$2" reach
	echo "# $1: healed after $((SECONDS - t0)) s"
}
lab_check "the host routes the container network" gw_until 10 has_route "$N1"
lab_check "the host reaches the container" gw_until 5 reach
fault_baseline "$HOST_PID" "$GUEST_PID"

# 1. Link flap of the VM uplink (3 s down).
ip -n "$V" link set "$LAB_VM_IF" down
sleep 3
lab_check_fail "no traffic while the uplink is down" reach
ip -n "$V" link set "$LAB_VM_IF" up
healed "uplink flap" 10
once

# 2. The VM's uplink address changes: the guest's datagrams come from a new
# source, the host follows (roaming).
ip -n "$V" addr del "$LAB_VM_IP4/24" dev "$LAB_VM_IF"
NEWIP=${LAB_VM_IP4%.*}.77
ip -n "$V" addr add "$NEWIP/24" dev "$LAB_VM_IF"
healed "uplink address change" 10
lab_check "the host now sees the guest at $NEWIP" \
	bash -c "ip netns exec $H $GW_GANGWAY status -j -c $LAB_DIR/gangway.conf | jq -r '.peers[0].endpoint' | grep -q '^$NEWIP:'"
once

# 3. The bridge is deleted (route withdrawn) and recreated (route back).
BR=$(lab_bridge_if docker0)
CV=$(lab_container_if c1)
ip -n "$V" link del "$BR"
lab_check "the deleted bridge's route is withdrawn within 5 s" gw_until 5 no_route "$N1"
ip -n "$V" link add name "$BR" type bridge
ip -n "$V" addr add "${N1%.0/24}.1/24" dev "$BR"
ip -n "$V" link set "$BR" up
ip -n "$V" link set "$CV" master "$BR" up
lab_check "the recreated bridge's route is back within 5 s" gw_until 5 has_route "$N1"
healed "bridge recreated" 10
once

# 4. Someone deletes the host's route. The host agent checks its routes
# once a second and puts a missing one back.
ip -n "$H" route del "$N1" dev "$HOST_IF"
T0=$SECONDS
lab_check "the deleted host route is restored within 3 s" gw_until 3 has_route "$N1"
lab_check "the host agent says it restored the route" \
	grep -q "Route to $N1 through $HOST_IF was removed by someone else: restored" "$LAB_DIR/host.log"
echo "# route restored after $((SECONDS - T0)) s"
healed "host route deleted" 5
once

lab_check "a transfer after all flaps is intact" gw_transfer host c1 "$C1" 5001 10
fault_stable 4 4096 "$HOST_PID" "$GUEST_PID"
lab_done
