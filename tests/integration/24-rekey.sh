#!/usr/bin/env bash
# Rekey under traffic: with the protocol timers shortened (a setting only
# the test build of the programs has), a long run of traffic crosses many
# rekeys without losing the session or a single ping, and TCP transfers
# stay intact. The production programs ignore that setting.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
gw_pair_up
export GW_ENV="GANGWAY_TEST_TIMERS=rekey_after_time=2,reject_after_time=5,rekey_timeout=1,keepalive_timeout=1,rekey_attempt_time=4"

# The production programs do not contain the hook, and a guest started with
# the variable set runs with the whitepaper's timers.
for p in "$GW_GANGWAYD" "$GW_GANGWAY"; do
	lab_check "$(basename "$p") (production) does not know GANGWAY_TEST_TIMERS" \
		bash -c "[ \$(strings '$p' | grep -c GANGWAY_TEST_TIMERS) = 0 ]"
done
gw_start_guest vm guest-prod "$LAB_DIR/guest.conf"
lab_check "the production guest starts with GANGWAY_TEST_TIMERS set" \
	gw_wait_log "$LAB_DIR/guest-prod.log" "Added peer" 10
lab_check "  ... and ignores it" bash -c "! grep -q 'test timers' '$LAB_DIR/guest-prod.log'"
lab_kill "$GW_PID"

gw_use_test_hooks
gw_pair_start
lab_check "the test build uses the shortened timers" \
	bash -c "grep -q 'Using test timers' '$LAB_DIR/guest.log' && grep -q 'Using test timers' '$LAB_DIR/host.log'"

# Phase 1: 12 s of pings every 20 ms, alone on the path: every rekey
# in that time must be invisible to them.
lab_check "600 pings across rekeys, none lost" \
	bash -c "ip netns exec $(lab_ns host) ping -q -c 600 -i 0.02 -W 2 $CIP | tee '$LAB_DIR/ping.log' | grep -q ' 600 received, 0% packet loss'"
tail -2 "$LAB_DIR/ping.log"
# Phase 2: TCP transfers across further rekeys.
for i in 1 2 3 4 5 6; do
	lab_check "transfer $i (30 MiB, container -> host) intact across rekeys" \
		gw_transfer c1 host "$TH" $((5000 + i)) 30
	sleep 1
done
N=$(grep -c "Handshake with peer" "$LAB_DIR/guest.log" || true)
echo "# handshakes seen by the guest: $N"
lab_check "at least 8 rekeys happened" test "$N" -ge 8
lab_check "no session expired while traffic flowed" \
	bash -c "! grep -q 'expired' '$LAB_DIR/guest.log' '$LAB_DIR/host.log'"
lab_check "both daemons still run" kill -0 "$HOST_PID" "$GUEST_PID"
lab_done
