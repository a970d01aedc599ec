#!/usr/bin/env bash
# Valgrind: the host agent and the guest daemon run under memcheck
# (--error-exitcode=1, definite leaks are errors) through a handshake,
# pings, a short transfer each way and `gangway status`, then stop on
# SIGTERM; both valgrind runs must exit 0 with an empty error summary.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

command -v valgrind >/dev/null || { echo "valgrind is missing (tests/deps.sh installs it)"; exit 1; }
lab_init
lab_up
gw_pair_up
VG="valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --track-fds=no --quiet"
# The daemons drop privileges and set no_new_privs; valgrind copes with
# both. Timers are scaled by nothing: valgrind is slow, so waits are long.
lab_bg host "$LAB_DIR/host.log" $VG --log-file="$LAB_DIR/vg-host.txt" \
	"$GW_GANGWAY" up -v -c "$LAB_DIR/host.conf" >/dev/null
HOST_PID=$LAB_BG_PID
lab_bg vm "$LAB_DIR/guest.log" $VG --log-file="$LAB_DIR/vg-guest.txt" \
	"$GW_GANGWAYD" -v -c "$LAB_DIR/guest.conf" >/dev/null
GUEST_PID=$LAB_BG_PID
lab_check "handshake under valgrind within 60 s" gw_wait_log "$LAB_DIR/host.log" "Handshake with peer" 60
lab_check "pings through the tunnel" gw_until 30 lab_exec host ping -c 3 -i 0.2 -W 3 "$CIP"
lab_check "2 MiB host -> container intact" gw_transfer host c1 "$CIP" 5001 2
lab_check "2 MiB container -> host intact" gw_transfer c1 host "$TH" 5002 2
lab_check "status answers" bash -c "ip netns exec $(lab_ns host) $GW_GANGWAY status -j -c $LAB_DIR/host.conf | jq -e '.peers[0].handshakes >= 1' >/dev/null"
# SIGTERM, then valgrind's exit status (wait works only in this shell).
for side in host guest; do
	if [ $side = host ]; then pid=$HOST_PID; else pid=$GUEST_PID; fi
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	echo "# valgrind ($side) exited with $rc"
	lab_check "$side under valgrind: exit status 0 after SIGTERM" test "$rc" -eq 0
done
for side in host guest; do
	echo "# valgrind log ($side):"
	sed 's/^/#   /' "$LAB_DIR/vg-$side.txt"
	lab_check "no valgrind errors reported for the $side" \
		bash -c "! grep -q 'ERROR SUMMARY: [1-9]\\|definitely lost: [1-9]\\|Invalid \\|uninitialised' '$LAB_DIR/vg-$side.txt'"
done
lab_check "both daemons said they stopped" bash -c \
	"grep -q 'stopping' '$LAB_DIR/host.log' && grep -q 'stopping' '$LAB_DIR/guest.log'"
lab_done
