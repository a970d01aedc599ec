#!/usr/bin/env bash
# Silence to strangers: thousands of random, truncated, oversized and
# forged-mac1 datagrams at each end draw zero bytes in reply (a capture on
# the sender proves it) and do not disturb a running transfer; captured data
# packets replayed later are not delivered a second time. Neither daemon
# keeps anything of the attack: fd count and RSS stay near what they were
# after start.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"
. "$(dirname "$0")/../lib/fault.sh"

SPRAY=$GW_BUILD/tests/udpspray
lab_init
lab_up
gw_pair_up
gw_attacker_up
gw_pair_start
lab_check "tunnel works before the attack" lab_exec host ping -c 2 -i 0.2 -W 2 "$CIP"
fault_baseline "$HOST_PID" "$GUEST_PID"

# Everything that reaches the attacker is a reply.
gw_capture att eth0 "$LAB_DIR/att.pcap" "udp"
ATT_CAP=$GW_CAP_PID
gw_transfer host c1 "$CIP" 5001 200 >"$LAB_DIR/xfer.log" 2>&1 &
XFER=$!
for mode in random truncated oversized initiation response cookie data all; do
	lab_check "spray $mode at the host end" lab_exec att "$SPRAY" "$LAB_HOST_IP4" 51820 "$mode" 2000
	lab_check "spray $mode at the guest end" lab_exec att "$SPRAY" "$LAB_VM_IP4" 51821 "$mode" 2000
done
rc=0
wait "$XFER" || rc=$?
cat "$LAB_DIR/xfer.log"
lab_check "the transfer during the attack completed intact" test "$rc" -eq 0
sleep 1
lab_kill "$ATT_CAP" INT
lab_check "the attacker's capture saw the attack itself (it was live)" \
	bash -c "[ \$(tcpdump -n -r '$LAB_DIR/att.pcap' 'udp and src host $GW_ATT_IP' 2>/dev/null | wc -l) -ge 10000 ]"
lab_check "zero datagrams came back to the attacker" \
	bash -c "[ \$(tcpdump -n -r '$LAB_DIR/att.pcap' 'udp and dst host $GW_ATT_IP' 2>/dev/null | wc -l) -eq 0 ]"
lab_check "both daemons survived" kill -0 "$HOST_PID" "$GUEST_PID"
# Bounds as for the fault tests: a few transient fds (control socket
# clients), 4 MiB for the buffers and queues the transfer touched (about
# 1 MiB is seen, with and without ASan).
fault_stable 4 4096 "$HOST_PID" "$GUEST_PID"

# Replay: record the encrypted pings towards the guest, then resend them.
gw_capture host "$LAB_HOST_IF" "$LAB_DIR/uplink.pcap" "udp and dst port 51821"
UP_CAP=$GW_CAP_PID
lab_check "40 pings through the tunnel" lab_exec host ping -c 40 -i 0.05 -W 2 "$CIP"
sleep 1
lab_kill "$UP_CAP" INT
lab_check "the capture holds the encrypted pings" \
	bash -c "[ \$(tcpdump -n -r '$LAB_DIR/uplink.pcap' 2>/dev/null | wc -l) -ge 20 ]"
gw_capture vm "$GUEST_IF" "$LAB_DIR/tun.pcap" ""
TUN_CAP=$GW_CAP_PID
gw_capture att eth0 "$LAB_DIR/att2.pcap" "udp"
ATT_CAP=$GW_CAP_PID
lab_check "replay the captured datagrams at the guest" \
	lab_exec att "$SPRAY" "$LAB_VM_IP4" 51821 replay "$LAB_DIR/uplink.pcap"
lab_check "replay them from the host's own address too" \
	lab_exec host "$SPRAY" "$LAB_VM_IP4" 51821 replay "$LAB_DIR/uplink.pcap"
sleep 1
lab_kill "$TUN_CAP" INT
lab_kill "$ATT_CAP" INT
lab_check "no replayed packet reached the guest's tunnel device" \
	bash -c "[ \$(tcpdump -n -r '$LAB_DIR/tun.pcap' 2>/dev/null | wc -l) -eq 0 ]"
lab_check "the attacker's second capture was live" \
	bash -c "[ \$(tcpdump -n -r '$LAB_DIR/att2.pcap' 'src host $GW_ATT_IP' 2>/dev/null | wc -l) -ge 20 ]"
lab_check "no reply to the replay" bash -c "[ \$(tcpdump -n -r '$LAB_DIR/att2.pcap' 'dst host $GW_ATT_IP' 2>/dev/null | wc -l) -eq 0 ]"
lab_check "the tunnel still works after the replay (endpoint not hijacked)" \
	lab_exec host ping -c 3 -i 0.2 -W 2 "$CIP"
fault_stable 4 4096 "$HOST_PID" "$GUEST_PID"
lab_done
