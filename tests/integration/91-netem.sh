#!/usr/bin/env bash
# Lossy link: with 2% loss, 5% reordering, 1% duplication and 0.5%
# corruption on both ends of the VM's uplink (nftables + htb: this kernel
# has no sch_netem; see tests/lib/fault.sh), a 50 MiB TCP transfer through the tunnel arrives
# intact, the corrupted datagrams are counted as bad-tag/bad-size drops, and
# both daemons keep their fd count and memory.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"
. "$(dirname "$0")/../lib/fault.sh"

lab_init
lab_up
gw_pair_up
gw_pair_start
lab_check "tunnel works" lab_exec host ping -c 2 -i 0.2 -W 2 "$CIP"
fault_baseline "$HOST_PID" "$GUEST_PID"
before=$(fault_drops host "$LAB_DIR/host.conf" bad-tag bad-size)

# Both directions of the uplink: the vm's egress carries the guest's
# datagrams, the host's egress the host agent's.
for ns in vm host; do
	if [ $ns = vm ]; then dev=$LAB_VM_IF; else dev=$LAB_HOST_IF; fi
	fault_impair $ns "$dev" 2 1 5 5
done
lab_check "50 MiB host -> container intact over the faulty link" \
	gw_transfer host c1 "$CIP" 5001 50
lab_check "50 MiB container -> host intact over the faulty link" \
	gw_transfer c1 host "$TH" 5002 50
after_h=$(fault_drops host "$LAB_DIR/host.conf" bad-tag bad-size)
after_g=$(fault_drops vm "$LAB_DIR/guest.conf" bad-tag bad-size)
echo "# host bad-tag+bad-size drops: $before -> $after_h; guest: $after_g"
fault_status host "$LAB_DIR/host.conf" | jq -c '.peers[0].drops' || true
lab_check "the host counted corrupted datagrams (bad-tag/bad-size > 0)" \
	test "$after_h" -gt "$before"
lab_check "the guest counted corrupted datagrams (bad-tag/bad-size > 0)" \
	test "$after_g" -gt 0
lab_check "the duplicated datagrams were counted as replays" \
	test "$(fault_drops host "$LAB_DIR/host.conf" replay)" -gt 0
for ns in vm host; do
	if [ $ns = vm ]; then dev=$LAB_VM_IF; else dev=$LAB_HOST_IF; fi
	lab_check "$ns: some datagrams went the slow way (reordered)" \
		test "$(fault_reordered $ns "$dev")" -gt 100
	fault_unimpair $ns "$dev"
done
lab_check "tunnel works on the clean link" lab_exec host ping -c 3 -i 0.2 -W 2 "$CIP"
# Bounds: a few transient fds (control socket clients), 8 MiB of heap/page
# growth for queues touched by the load.
fault_stable 4 8192 "$HOST_PID" "$GUEST_PID"
lab_done
