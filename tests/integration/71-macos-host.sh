#!/usr/bin/env bash
# Integration: what the macOS host agent's job and decisions ask of the
# agent, checked here where the agent also runs.
#
#   1. systemd/gangway.up.plist is a well-formed property list; the job is
#      Interactive (launchd throttles Background jobs), names the
#      configuration where the macOS build looks by default, and runs the
#      agent with --wait-config
#   2. --wait-config: with a broken configuration the agent logs the error
#      once and keeps waiting (launchd would restart it at once, forever);
#      when the file changes it exits 1, to be restarted into the new one
#   3. without --wait-config a broken configuration still exits 1 at once
#   4. a static AllowedIPs = 0.0.0.0/0 is not silently dropped (on a Mac,
#      where the default route exists, the add failed without a word):
#      the agent says why it does not route it, and routes the rest
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/lab.sh
. tests/lib/gw.sh

B=$(lab_build_dir)
lab_init
trap lab_cleanup EXIT

PLIST=systemd/gangway.up.plist
plist_get()	# KEY: the value, JSON-encoded
{
	python3 -c 'import json, plistlib, sys
print(json.dumps(plistlib.load(open(sys.argv[1], "rb"))[sys.argv[2]]))' "$PLIST" "$1"
}
lab_check "the plist parses" plist_get Label
lab_check "ProcessType is Interactive" bash -c "[[ \$(python3 -c 'import plistlib
print(plistlib.load(open(\"$PLIST\", \"rb\"))[\"ProcessType\"])') == Interactive ]]"
args=$(plist_get ProgramArguments)
lab_check "the job runs gangway up with --wait-config" \
	bash -c "[[ '$args' == *'\"up\"'* && '$args' == *'\"--wait-config\"'* ]]"
# What the macOS build's CONFIG_HOST_PATH expands to, as one JSON string.
want=$(printf '#include "config.h"\nGW_PATH CONFIG_HOST_PATH\n' |
	cpp -P -D__APPLE__ -D_GNU_SOURCE -Iinclude | sed -n 's/^GW_PATH //p' | tr -d '" ')
want="\"$want\""
lab_check "the job's -c is the macOS build's default configuration" \
	bash -c "[[ -n '$want' && '$args' == *'$want'* ]]"

conf=$LAB_DIR/gangway.conf
printf '[Interface]\nPrivateKey = not-a-key\n' >"$conf"
log=$LAB_DIR/wait.log
"$B/gangway" up -c "$conf" --wait-config </dev/null >"$log" 2>&1 &
pid=$!
lab_record_pid "$pid"
lab_check "the error is logged, then it waits" \
	lab_retry 10 grep -q "Waiting for $conf to change" "$log"
lab_check "it is still running while the file is unchanged" kill -0 "$pid"
lab_check "the error was logged once" bash -c "[[ \$(grep -c PrivateKey '$log') == 1 ]]"
echo "# the file is edited" >>"$conf"
exited()
{
	! kill -0 "$pid" 2>/dev/null
}
lab_check "an edit ends the wait" lab_retry 10 exited
rc=0
wait "$pid" || rc=$?
lab_check "and it exits 1" test "$rc" = 1

rc=0
timeout 10 "$B/gangway" up -c "$conf" >/dev/null 2>&1 || rc=$?
lab_check "without --wait-config it exits 1 at once" test "$rc" = 1

lab_ns_add h
ip -n "$(lab_ns h)" link set lo up
gw_keypair host
gw_keypair peer
IF=gwd$LAB_OCTET
gw_host_conf host 10.201.0.1/24 "$IF"
gw_conf_peer "$LAB_DIR/host.conf" peer "0.0.0.0/0, 10.77.0.0/16"
gw_start_host h host "$LAB_DIR/host.conf"
lab_check "the default route is refused with a reason" \
	gw_wait_log "$LAB_DIR/host.log" "AllowedIPs = 0.0.0.0/0 is not routed" 10
routed() { ip -n "$(lab_ns h)" route show dev "$IF" | grep -q "^$1"; }
lab_check "the other static prefix is routed" lab_retry 5 routed 10.77.0.0/16
lab_check_fail "no default route through the tunnel" routed default
lab_done
