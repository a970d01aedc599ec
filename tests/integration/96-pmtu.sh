#!/usr/bin/env bash
# Path MTU below the tunnel's: the uplink carries at most 1300 bytes while
# the tunnel device has MTU 1420, so full-size tunnel packets (1420 + 60)
# cannot cross unfragmented. TCP through the tunnel must still complete, both ways
# (MSS clamping or path MTU discovery), and the daemons stay healthy.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"
. "$(dirname "$0")/../lib/fault.sh"

lab_init
lab_up
gw_pair_up
gw_pair_start
H=$(lab_ns host) V=$(lab_ns vm)
lab_check "tunnel works" lab_exec host ping -c 2 -i 0.2 -W 2 "$CIP"
lab_check "the tunnel MTU is 1420 on both sides" bash -c \
	"ip -n $H link show $HOST_IF | grep -q 'mtu 1420' && ip -n $V link show $GUEST_IF | grep -q 'mtu 1420'"
fault_baseline "$HOST_PID" "$GUEST_PID"
ip -n "$H" link set "$LAB_HOST_IF" mtu 1300
ip -n "$V" link set "$LAB_VM_IF" mtu 1300
lab_check "the uplink now refuses a full-size tunnel datagram (1480 with DF)" \
	bash -c "! ip netns exec $H ping -c 1 -W 1 -M do -s 1452 $LAB_VM_IP4 >/dev/null 2>&1"
lab_check "a full-size tunnel packet still crosses (the datagram is fragmented)" \
	lab_exec host ping -c 2 -i 0.2 -W 2 -M do -s 1392 "$CIP"
lab_check "small packets still do" lab_exec host ping -c 2 -i 0.2 -W 2 "$CIP"
T0=$SECONDS
lab_check "20 MiB host -> container over TCP complete intact" \
	gw_transfer host c1 "$CIP" 5001 20
lab_check "20 MiB container -> host over TCP complete intact" \
	gw_transfer c1 host "$TH" 5002 20
echo "# both transfers took $((SECONDS - T0)) s"
fault_stable 4 4096 "$HOST_PID" "$GUEST_PID"
lab_done
