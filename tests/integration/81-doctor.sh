#!/usr/bin/env bash
# `gangway doctor` on a running pair: healthy says healthy (exit 0) on both
# sides; each fault injected in turn is named, with exit status 1: no route
# on the host, a route shadowing the container, forwarding off in the VM,
# the guest daemon gone (tunnel down at the far end), the host agent gone,
# and a wrong public key.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
gw_pair_up
printf 'StateDirectory = %s/gstate\nBridges = %sb*\n' "$LAB_DIR" "$LAB_RUN" >>"$LAB_DIR/guest.conf"
gw_pair_start
lab_check "the host reaches the container" gw_until 10 lab_exec host ping -c 1 -W 1 "$CIP"

# doctor SIDE PATTERN [IP]: exits 1 and prints PATTERN (a FAIL line).
hdoc() { lab_exec host "$GW_GANGWAY" doctor -c "$LAB_DIR/host.conf" "$@"; }
gdoc() { lab_exec vm "$GW_GANGWAY" doctor -c "$LAB_DIR/guest.conf" "$@"; }
names() {
	local side=$1 pat=$2 out rc=0
	shift 2
	out=$("$side" "$@") || rc=$?
	echo "$out"
	[ "$rc" = 1 ] || { echo "exit status $rc, want 1"; return 1; }
	grep -q -- "^FAIL  .*$pat" <<<"$out" || { echo "no FAIL line matching '$pat'"; return 1; }
}
healthy() {
	local out rc=0
	out=$("$@") || rc=$?
	echo "$out"
	[ "$rc" = 0 ] && grep -q '^Healthy' <<<"$out" && ! grep -q '^FAIL' <<<"$out"
}

lab_check "healthy lab: host doctor says healthy" healthy hdoc "$CIP"
OUT=$(hdoc "$CIP" || true)
has() { grep -q -- "$1" <<<"$OUT" || { echo "$OUT"; return 1; }; }
lab_check "...it checked the handshake" has "^ok    The handshake with peer $(cat "$LAB_DIR/guest.pub") is"
lab_check "...the route, and which guest prefix holds the container" \
	has "^ok    This machine routes $CIP through the tunnel $HOST_IF (guest prefix $NET)"
lab_check "...and probed the container" has "^ok    $CIP answers a ping"
lab_check "healthy lab: guest doctor says healthy" healthy gdoc "$CIP"
lab_check "doctor without an IP checks the tunnel only" healthy hdoc

# Fault: the host's route to the container network removed.
ip -n "$(lab_ns host)" route del "$NET" dev "$HOST_IF"
lab_check "no route on the host: named" names hdoc "no route to $CIP.*route was removed" "$CIP"
ip -n "$(lab_ns host)" route add "$NET" dev "$HOST_IF" proto static
lab_check "route restored: healthy again" healthy hdoc "$CIP"

# Fault: a more specific route of the host takes the container elsewhere.
ip -n "$(lab_ns host)" route add "$CIP/32" via "$LAB_VM_IP4"
lab_check "a shadowing route: named" names hdoc "leaves through $LAB_HOST_IF, not the tunnel $HOST_IF" "$CIP"
ip -n "$(lab_ns host)" route del "$CIP/32"

# Fault: forwarding off in the VM.
lab_exec vm sysctl -qw net.ipv4.ip_forward=0
lab_check "forwarding off: the guest's doctor names it" names gdoc "IPv4 forwarding is off" "$CIP"
lab_check "forwarding off: the host's probe stops in the tunnel" names hdoc \
	"went into the tunnel .* but nothing came back" "$CIP"
lab_exec vm sysctl -qw net.ipv4.ip_forward=1
lab_check "forwarding on: healthy again" healthy hdoc "$CIP"

# Fault: the guest daemon gone.
lab_kill "$GUEST_PID"
lab_check "guest daemon down: the host's doctor says the far end is down" names hdoc \
	"nothing came back: the far end of the tunnel is down" "$CIP"
lab_check "guest daemon down: the guest's doctor says the tunnel is down" names gdoc \
	"The tunnel is down: no daemon answers"
# Fault: the host agent gone.
lab_kill "$HOST_PID"
lab_check "host agent down: named" names hdoc "The tunnel is down: no daemon answers" "$CIP"

# Fault: the guest knows the host by a wrong public key.
"$GW_GANGWAY" genkey | "$GW_GANGWAY" pubkey >"$LAB_DIR/wrong.pub"
sed "s|^PublicKey = .*|PublicKey = $(cat "$LAB_DIR/wrong.pub")|" "$LAB_DIR/guest.conf" >"$LAB_DIR/guest-wrong.conf"
chmod 600 "$LAB_DIR/guest-wrong.conf"
gw_start_host host host2 "$LAB_DIR/host.conf"
HOST_PID=$GW_PID
gw_start_guest vm guest2 "$LAB_DIR/guest-wrong.conf"
GUEST_PID=$GW_PID
gw_wait_log "$LAB_DIR/guest2.log" "running" 10 || true
# Wait until the host has seen (and dropped) an initiation.
lab_check "the host drops initiations for the wrong key" gw_until 10 bash -c \
	"'$GW_GANGWAY' status --prometheus -c '$LAB_DIR/host.conf' | grep -qE 'reason=\"bad-mac1\"\} [1-9]'"
lab_check "wrong key: named" names hdoc "No handshake with peer" "$CIP"
OUT=$(hdoc "$CIP" || true)
lab_check "...with the cause" has "the peer's \[Peer\] PublicKey is wrong"
lab_check "...and the key to use" has "our public key is $(cat "$LAB_DIR/host.pub")"
lab_check "both daemons still run" kill -0 "$HOST_PID" "$GUEST_PID"
lab_done
