#!/usr/bin/env bash
# Peer restart: kill -9 the host end in the middle of a transfer and start
# it again; the session comes back within 10 s and the transfer completes
# intact.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
gw_pair_up
gw_pair_start
lab_check "tunnel works" lab_exec host ping -c 2 -i 0.2 -W 2 "$CIP"
lab_check "the host wrote down the guest's endpoint" \
	grep -q "$LAB_VM_IP4:51821" "$LAB_DIR/state/$HOST_IF.endpoints"

# Slow the uplink so the transfer is still running when the host dies.
ip netns exec "$(lab_ns vm)" tc qdisc add dev "$LAB_VM_IF" root tbf rate 100mbit burst 64kb latency 100ms
gw_transfer c1 host "$TH" 5001 80 >"$LAB_DIR/xfer.log" 2>&1 &
XFER=$!
sleep 2
kill -9 "$HOST_PID"
lab_check "the killed host end took its device with it" \
	lab_retry 5 bash -c "! ip -n $(lab_ns host) link show $HOST_IF 2>/dev/null"
T0=$SECONDS
gw_start_host host host2 "$LAB_DIR/host.conf"
HOST_PID=$GW_PID
lab_check "traffic resumes within 10 s of the restart" \
	gw_until 10 lab_exec host ping -c 1 -W 1 "$CIP"
echo "# resumed after $((SECONDS - T0)) s"
rc=0
wait "$XFER" || rc=$?
cat "$LAB_DIR/xfer.log"
lab_check "the transfer across the restart completed intact" test "$rc" -eq 0
lab_check "both daemons run" kill -0 "$HOST_PID" "$GUEST_PID"
lab_done
