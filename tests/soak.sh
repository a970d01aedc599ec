#!/usr/bin/env bash
# soak.sh - gangway under traffic and periodic faults for DURATION seconds
#
#   tests/soak.sh [DURATION [SAMPLE]]      (make soak DURATION=...)
#
# A host agent and a guest daemon in a pair lab carry TCP transfers (4 MiB,
# SHA-256 checked, one after the other, both directions in turn) while a
# fault is injected every 15 s, in turn: link impairment on (loss 2%,
# duplication 1%, corruption 0.5%, reordering 5%) / off, kill -9 and
# restart of the host agent, a 3 s uplink flap, kill -9 and restart of the
# guest daemon. Every SAMPLE seconds (default 10) the RSS and fd count of
# both daemons are written to a table, printed at the end with the
# transfer tally. Fails if a daemon is dead at the end, a transfer arrived
# corrupted, or the last sample's fd count is above the first's by more
# than 4.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/lab.sh
. tests/lib/gw.sh
. tests/lib/fault.sh

DURATION=${1:-${DURATION:-120}}
SAMPLE=${2:-${SAMPLE:-10}}
FAULT_EVERY=15
lab_init
lab_up
fault_pair_up_ka
gw_pair_start
lab_check "tunnel works" gw_until 10 lab_exec host ping -c 1 -W 1 "$CIP"
TABLE=$LAB_DIR/soak.table
TALLY=$LAB_DIR/soak.tally
: >"$TALLY"

# Traffic: transfers back to back until told to stop. A transfer cut by a
# fault may fail (counted); one that completes must be intact, which
# gw_transfer's checksum comparison and nc's exit status tell apart only
# roughly, so a size match with a checksum mismatch is what counts as
# corrupt.
traffic()
{
	local i=0 port out
	while [ ! -e "$LAB_DIR/stop" ]; do
		i=$((i + 1))
		port=$((6000 + i % 2000))
		if ((i % 2)); then
			out=$(gw_transfer host c1 "$CIP" "$port" 4 2>&1) && echo ok >>"$TALLY" && continue
		else
			out=$(gw_transfer c1 host "$TH" "$port" 4 2>&1) && echo ok >>"$TALLY" && continue
		fi
		if echo "$out" | grep -q "received 4194304 bytes"; then
			echo corrupt >>"$TALLY"
			echo "$out" >>"$LAB_DIR/soak.corrupt"
		else
			echo cut >>"$TALLY"
		fi
		sleep 0.5
	done
}
traffic >"$LAB_DIR/traffic.log" 2>&1 &
TRAFFIC=$!
lab_record_pid "$TRAFFIC"

sample()
{
	printf '%6d  %8s %5s %5s  %8s %5s %5s  %4d %4d %4d  %s\n' "$((SECONDS - T0))" \
		"$HOST_PID" "$(fault_fds "$HOST_PID")" "$(fault_rss "$HOST_PID" || echo -)" \
		"$GUEST_PID" "$(fault_fds "$GUEST_PID")" "$(fault_rss "$GUEST_PID" || echo -)" \
		"$(grep -c '^ok' "$TALLY" || true)" "$(grep -c '^cut' "$TALLY" || true)" \
		"$(grep -c '^corrupt' "$TALLY" || true)" "${LAST_FAULT:--}" >>"$TABLE"
}
printf '%6s  %8s %5s %5s  %8s %5s %5s  %4s %4s %4s  %s\n' t/s host-pid fds rssKiB \
	guest-pid fds rssKiB ok cut bad "last fault" >"$TABLE"

fault_n=0
inject()
{
	local H V
	H=$(lab_ns host) V=$(lab_ns vm)
	case $((fault_n % 6)) in
	0) fault_impair vm "$LAB_VM_IF" 2 1 5 5 2>/dev/null
	   fault_impair host "$LAB_HOST_IF" 2 1 5 5 2>/dev/null
	   LAST_FAULT="impair on" ;;
	1) fault_unimpair vm "$LAB_VM_IF"
	   fault_unimpair host "$LAB_HOST_IF"
	   LAST_FAULT="impair off" ;;
	2) kill -9 "$HOST_PID"; lab_kill "$HOST_PID" KILL 5 || true
	   gw_start_host host "host-$fault_n" "$LAB_DIR/host.conf"; HOST_PID=$GW_PID
	   LAST_FAULT="host kill -9" ;;
	3) ip -n "$V" link set "$LAB_VM_IF" down; sleep 3; ip -n "$V" link set "$LAB_VM_IF" up
	   LAST_FAULT="uplink flap" ;;
	4) kill -9 "$GUEST_PID"; lab_kill "$GUEST_PID" KILL 5 || true
	   gw_start_guest vm "guest-$fault_n" "$LAB_DIR/guest.conf"; GUEST_PID=$GW_PID
	   LAST_FAULT="guest kill -9" ;;
	5) LAST_FAULT="(quiet)" ;;
	esac
	fault_n=$((fault_n + 1))
}

T0=$SECONDS
next_sample=0 next_fault=$FAULT_EVERY
while ((SECONDS - T0 < DURATION)); do
	now=$((SECONDS - T0))
	if ((now >= next_fault)); then
		inject
		next_fault=$((next_fault + FAULT_EVERY))
	fi
	if ((now >= next_sample)); then
		sample
		next_sample=$((next_sample + SAMPLE))
	fi
	sleep 1
done
fault_unimpair vm "$LAB_VM_IF"
fault_unimpair host "$LAB_HOST_IF"
touch "$LAB_DIR/stop"
lab_check "traffic stops" lab_retry 150 bash -c "! kill -0 $TRAFFIC 2>/dev/null"
sample
echo "# soak: ${DURATION}s, faults every ${FAULT_EVERY}s, samples every ${SAMPLE}s"
cat "$TABLE"
lab_check "the host agent is alive" kill -0 "$HOST_PID"
lab_check "the guest daemon is alive" kill -0 "$GUEST_PID"
lab_check "traffic works at the end" gw_until 20 lab_exec host ping -c 1 -W 1 "$CIP"
lab_check "transfers completed" test "$(grep -c '^ok' "$TALLY" || true)" -gt 0
lab_check "no transfer arrived corrupted" test "$(grep -c '^corrupt' "$TALLY" || true)" -eq 0
fd_first=$(awk 'NR == 2 {print $3 + $6}' "$TABLE")
fd_last=$(awk 'END {print $3 + $6}' "$TABLE")
lab_check "fd count (both daemons) $fd_last <= first $fd_first + 4" test "$fd_last" -le $((fd_first + 4))
lab_done
