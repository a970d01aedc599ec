#!/usr/bin/env bash
# An endpoint given by name, looked up without blocking the daemon: the vm's
# name server (tests/lib/slowdns.py, the vm namespace's resolv.conf) holds
# each query until the test releases it. While a lookup hangs, the guest's
# event loop goes on: `gangway status` answers at once, and (after a reload
# to a new name) pings through the running session are not disturbed. Once
# the name resolves, the guest dials at once and the tunnel comes up; the
# name is looked up again when the host stops answering.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
# shortened timers, so that a handshake timeout (phase 3) comes in seconds
gw_use_test_hooks
export GW_ENV="GANGWAY_TEST_TIMERS=rekey_after_time=2,reject_after_time=30,rekey_timeout=1,keepalive_timeout=1,rekey_attempt_time=4"

VMNS=$(lab_ns vm)
ETC=/etc/netns/$VMNS
mkdir -p "$ETC"
lab_ledger dir "$ETC"
lab_on_cleanup rm -rf "$ETC"
# ip netns exec mounts this over /etc/resolv.conf for everything in the vm
printf 'nameserver 127.0.0.1\noptions timeout:30 attempts:1 ndots:1\n' >"$ETC/resolv.conf"
DNS=$LAB_DIR/dns
mkdir "$DNS"
lab_bg vm "$LAB_DIR/slowdns.log" /usr/bin/python3 "$(dirname "$0")/../lib/slowdns.py" "$DNS" >/dev/null
lab_check "the vm's name server runs" lab_retry 10 test -e "$DNS/ready"

gw_pair_up
sed -i "s/^Endpoint = .*/Endpoint = gwhost.test:51820/" "$LAB_DIR/guest.conf"

queried()	# NAME: the name server has seen a query for NAME
{
	grep -q "^$1 " "$DNS/queries" 2>/dev/null
}
queries()	# NAME: how many queries for NAME (A) so far
{
	grep -c "^$1 1\$" "$DNS/queries" 2>/dev/null || true
}
status_prompt()	# PATTERN: `gangway status` in the vm answers within 3 s, matching
{
	local out
	out=$(timeout 3 ip netns exec "$VMNS" "$GW_GANGWAY" status -c "$LAB_DIR/guest.conf") || {
		echo "no answer from the guest's control socket within 3 s"
		return 1
	}
	grep -q -- "$1" <<<"$out" || { echo "$out"; return 1; }
}

# Phase 1: the guest starts while its only endpoint's name does not resolve.
gw_start_host host host "$LAB_DIR/host.conf"
HOST_PID=$GW_PID
gw_start_guest vm guest "$LAB_DIR/guest.conf"
GUEST_PID=$GW_PID
lab_check "the guest looks gwhost.test up" lab_retry 10 queried gwhost.test
for i in 1 2 3; do
	lab_check "status answers while the lookup hangs ($i)" status_prompt "endpoint: (none)"
	sleep 0.5
done
lab_check "  ... which it still does (no answer given)" test ! -e "$DNS/answer-gwhost.test"
lab_check "  ... and no handshake has happened" \
	bash -c "! grep -q 'Handshake with peer' '$LAB_DIR/host.log'"
echo "$LAB_HOST_IP4" >"$DNS/answer-gwhost.test"
lab_check "once the name resolves, the guest takes the address" \
	gw_wait_log "$LAB_DIR/guest.log" "endpoint gwhost.test is $LAB_HOST_IP4:51820" 10
lab_check "  ... and the tunnel comes up" gw_wait_log "$LAB_DIR/host.log" "Handshake with peer" 10
lab_check "  ... the host reaches the container through it" lab_retry 15 lab_ping host "$CIP"
lab_check "status shows the endpoint" status_prompt "endpoint: $LAB_HOST_IP4:51820"

# Phase 2: a reload to a name that hangs; the session runs on meanwhile.
sed -i "s/^Endpoint = .*/Endpoint = gwhost2.test:51820/" "$LAB_DIR/guest.conf"
kill -HUP "$GUEST_PID"
lab_check "after a reload the guest looks gwhost2.test up" lab_retry 10 queried gwhost2.test
lab_bg host "$LAB_DIR/ping2.log" ping -c 30 -i 0.1 -W 1 "$CIP" >/dev/null
PING_PID=$LAB_BG_PID
lab_check "status answers while that lookup hangs" status_prompt "endpoint: $LAB_HOST_IP4:51820"
wait "$PING_PID" || true
cat "$LAB_DIR/ping2.log" | tail -2
lab_check "  ... and 30 pings through the session meanwhile are all answered" \
	grep -q ' 30 received, 0% packet loss' "$LAB_DIR/ping2.log"
lab_check "  ... the lookup was still hanging all along" test ! -e "$DNS/answer-gwhost2.test"
echo "$LAB_HOST_IP4" >"$DNS/answer-gwhost2.test"
lab_check "once it resolves, the guest takes the address" \
	gw_wait_log "$LAB_DIR/guest.log" "endpoint gwhost2.test is $LAB_HOST_IP4:51820" 10

# Phase 3: the host stops answering: the guest looks the name up again.
N=$(queries gwhost2.test)
kill -STOP "$HOST_PID"
lab_check "with the host silent, the guest gives up a handshake" \
	gw_wait_log "$LAB_DIR/guest.log" "did not answer the handshake" 30
lab_check "  ... and looks the name up again" \
	lab_retry 10 bash -c "[ \$(grep -c '^gwhost2.test 1\$' '$DNS/queries') -gt $N ]"
kill -CONT "$HOST_PID"
lab_check "the host back, the tunnel heals" lab_retry 20 lab_ping host "$CIP"
lab_check "both daemons still run" kill -0 "$HOST_PID" "$GUEST_PID"
lab_done
