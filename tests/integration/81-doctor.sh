#!/usr/bin/env bash
# `gangway doctor` on a running pair: healthy says healthy (exit 0) on both
# sides; each fault injected in turn is named, with exit status 1: no route
# on the host, a route shadowing the container, forwarding off in the VM,
# the guest daemon gone (tunnel down at the far end), the host agent gone,
# and a wrong public key. IPv6: the probe to the container's IPv6 address
# (ICMPv6), and IPv6 forwarding off. The firewall, with Docker 20.10's filter
# chains written by hand in iptables-nft (what the lab's dockerd uses): a
# DROP inserted ahead of the jump to DOCKER-USER (named by the guest's doctor,
# and by the host's status and doctor as gangwayd reports it to the host), a
# jump into Docker's chains ahead of it, and gangway's rule deleted while
# gangwayd cannot put it back.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
gw_pair_up
printf 'StateDirectory = %s/gstate\nBridges = %sb*\n' "$LAB_DIR" "$LAB_RUN" >>"$LAB_DIR/guest.conf"

# IPv6 on the container's bridge and inside the tunnel, as 60-fastpath.sh has it.
NET6=$(lab_subnet6 1)
CIP6=${NET6%/*}2
TH6=$LAB_ULA48:200::1 TG6=$LAB_ULA48:200::2
ip -n "$(lab_ns vm)" addr add "${NET6%/*}1/64" dev "$(lab_bridge_if br0)" nodad
ip -n "$(lab_ns c1)" addr add "$CIP6/64" dev eth0 nodad
ip -n "$(lab_ns c1)" -6 route add default via "${NET6%/*}1"
sed -i -e "s|^Address = $TH/24\$|Address = $TH/24, $TH6/64|" \
	-e "s|^AllowedIPs = $TG/32, $NET\$|AllowedIPs = $TG/32, $TG6/128, $NET, $NET6|" "$LAB_DIR/host.conf"
sed -i -e "s|^Address = $TG/24\$|Address = $TG/24, $TG6/64|" \
	-e "s|^AllowedIPs = $TH/32\$|AllowedIPs = $TH/32, $TH6/128|" "$LAB_DIR/guest.conf"

# gangwayd repairs its firewall rules within a second; to show the doctor a
# deleted one, the test must be able to make that repair fail. gangwayd finds
# iptables-nft-restore in PATH: a wrapper that fails while a flag file exists.
mkdir "$LAB_DIR/bin"
for p in iptables-nft-restore ip6tables-nft-restore; do
	printf '#!/bin/sh\n[ ! -e %q ] || { echo "frozen by the test" >&2; exit 1; }\nexec %q "$@"\n' \
		"$LAB_DIR/fw-frozen" "$(command -v "$p")" >"$LAB_DIR/bin/$p"
	chmod 755 "$LAB_DIR/bin/$p"
done
GW_ENV="PATH=$LAB_DIR/bin:$PATH"
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

# Fault: another route of the host takes the container network (here an
# unreachable one). The agent puts back a route of its own that was only
# deleted, but does not fight one that took its place: it withdraws the
# prefix as shadowed, and the doctor names the refusal.
ip -n "$(lab_ns host)" route replace unreachable "$NET"
lab_check "a host route takes the network: named" \
	names hdoc "no route to $CIP: the guest's prefix $NET is refused (shadowed" "$CIP"
ip -n "$(lab_ns host)" route del unreachable "$NET"
lab_check "that route gone: the prefix is routed again within 5 s, healthy" \
	gw_until 5 healthy hdoc "$CIP"

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

# IPv6: the probe speaks ICMPv6 to an IPv6 container address.
lab_check "IPv6: the host's doctor probes the container by its IPv6 address" \
	gw_until 10 healthy hdoc "$CIP6"
OUT=$(hdoc "$CIP6" || true)
lab_check "...it routes it through the tunnel" has "^ok    This machine routes $CIP6 through the tunnel $HOST_IF (guest prefix $NET6)"
lab_check "...and the container answers the ICMPv6 echo" has "^ok    $CIP6 answers a ping"
lab_check "IPv6: the guest's doctor is healthy too" healthy gdoc "$CIP6"
lab_exec vm sysctl -qw net.ipv6.conf.all.forwarding=0
lab_check "IPv6 forwarding off: the guest's doctor names it" names gdoc "IPv6 forwarding is off" "$CIP6"
lab_check "IPv6 forwarding off: the host's probe stops in the tunnel" names hdoc \
	"probe to $CIP6 went into the tunnel .* but nothing came back" "$CIP6"
lab_exec vm sysctl -qw net.ipv6.conf.all.forwarding=1
lab_check "IPv6 forwarding on: healthy again" gw_until 5 healthy hdoc "$CIP6"

# The firewall. Docker 20.10's filter layout in iptables-nft, by hand: FORWARD
# jumps to DOCKER-USER first, then to Docker's own chains; policy DROP.
ipt() { lab_exec vm iptables-nft "$@"; }
ipt -N DOCKER-USER
ipt -A DOCKER-USER -j RETURN
ipt -N DOCKER-ISOLATION-STAGE-1
ipt -A DOCKER-ISOLATION-STAGE-1 -j RETURN
ipt -A FORWARD -j DOCKER-USER
ipt -A FORWARD -j DOCKER-ISOLATION-STAGE-1
ipt -P FORWARD DROP
fw_ready() {	# (outputs captured first: grep -q would close a pipe early)
	local prom rules
	prom=$("$GW_GANGWAY" status --prometheus --socket "$LAB_DIR/gstate/$GUEST_IF.sock") &&
		rules=$(ipt -S DOCKER-USER) &&
		grep -q 'firewall="iptables-nft"' <<<"$prom" &&
		grep -q -- "-i $GUEST_IF .*gangway:$GUEST_IF" <<<"$rules"
}
lab_check "gangwayd finds Docker's chains and adds its rules" gw_until 10 fw_ready
lab_check "firewall in place: the guest's doctor says healthy" healthy gdoc "$CIP"
OUT=$(gdoc "$CIP" || true)
lab_check "...having checked gangway's rules and their order" has \
	"^ok    Firewall (iptables-nft): gangway's rules for $GUEST_IF are present and in order (IPv4: FORWARD rule 1 jumps to DOCKER-USER"
lab_check "firewall in place: the host reaches the container (policy DROP)" healthy hdoc "$CIP"

# Fault: a user's DROP for the containers' network ahead of the jump to DOCKER-USER.
ipt -I FORWARD 1 -d "$NET" -j DROP
lab_check "a DROP ahead of DOCKER-USER: the guest's doctor names the rule" names gdoc \
	"rule 1 of FORWARD, '-A FORWARD -d $NET -j DROP', comes before the jump to DOCKER-USER" "$CIP"
OUT=$(gdoc "$CIP" || true)
lab_check "...and says how to remove it" has "Fix: delete that rule ('iptables-nft -D FORWARD 1')"
lab_check "...the host's probe stops in the VM" names hdoc "went into the tunnel .* but nothing came back" "$CIP"
# gangwayd tells the host what its check found (FINDINGS): the host's status
# and doctor name the rule and its fix, as the guest's word, and so does a
# restarted host agent.
hstatus() { "$GW_GANGWAY" status -c "$LAB_DIR/host.conf"; }
hstatus_has() { local out; out=$(hstatus) && grep -qF -- "$1" <<<"$out" || { echo "$out"; return 1; }; }
hstatus_lacks() { local out; out=$(hstatus) && ! grep -qF -- "$1" <<<"$out" || { echo "$out"; return 1; }; }
lab_check "...the host's status shows the guest's finding" gw_until 5 hstatus_has \
	"  guest firewall: Firewall (iptables-nft, IPv4): rule 1 of FORWARD, '-A FORWARD -d $NET -j DROP', comes before the jump to DOCKER-USER"
hjson_finding() {
	local out
	out=$("$GW_GANGWAY" status -j -c "$LAB_DIR/host.conf") || return 1
	python3 -c '
import json, sys
f = json.loads(sys.stdin.read())["peers"][0]["guest_firewall"]
print(f)
assert len(f) == 1
assert "'"'"'-A FORWARD -d %s -j DROP'"'"'" % sys.argv[1] in f[0]["finding"]
assert f[0]["fix"].startswith("delete that rule ('"'"'iptables-nft -D FORWARD 1'"'"')")
' "$NET" <<<"$out"
}
lab_check "...in its JSON too" hjson_finding
# A restarted host agent knows nothing of it until the guest tells it again,
# with its answer to the new session.
lab_kill "$HOST_PID"
gw_start_host host host-restarted "$LAB_DIR/host.conf"
HOST_PID=$GW_PID
lab_check "...a restarted host agent learns it again" gw_until 20 hstatus_has \
	"  guest firewall: Firewall (iptables-nft, IPv4): rule 1 of FORWARD, '-A FORWARD -d $NET -j DROP'"
lab_check "...the host's doctor names the rule, as the guest reports it" gw_until 10 names hdoc \
	"The guest reports: Firewall (iptables-nft, IPv4): rule 1 of FORWARD, '-A FORWARD -d $NET -j DROP', comes before the jump to DOCKER-USER" "$CIP"
OUT=$(hdoc "$CIP" || true)
lab_check "...and its fix" has "^      Fix: delete that rule ('iptables-nft -D FORWARD 1')"
lab_check "...still sending the user to the guest's doctor as well" \
	has "Fix: run 'gangway doctor -c /etc/gangway/gangwayd.conf IP' in the VM"
ipt -D FORWARD -d "$NET" -j DROP
lab_check "the DROP removed: healthy again" healthy gdoc "$CIP"
lab_check "...from the host too" healthy hdoc "$CIP"
lab_check "...and the finding is gone from the host's status" gw_until 5 hstatus_lacks "guest firewall:"

# Fault: FORWARD jumps into Docker's chains before DOCKER-USER.
ipt -I FORWARD 1 -j DOCKER-ISOLATION-STAGE-1
lab_check "a jump into Docker's chains first: named" names gdoc \
	"rule 1 of FORWARD, '-A FORWARD -j DOCKER-ISOLATION-STAGE-1', jumps into Docker's chain DOCKER-ISOLATION-STAGE-1 before the jump to DOCKER-USER" "$CIP"
ipt -D FORWARD 1
lab_check "the jump removed: healthy again" healthy gdoc "$CIP"

# A DROP put first in DOCKER-USER itself is gangwayd's to fix: it puts its
# rules back on top, and the doctor then finds them in order.
ipt -I DOCKER-USER 1 -d "$NET" -j DROP
lab_check "a DROP first in DOCKER-USER: gangwayd moves its rules above it" \
	gw_until 5 healthy gdoc "$CIP"
ipt -D DOCKER-USER -d "$NET" -j DROP

# Fault: gangway's rule removed while gangwayd cannot restore it.
touch "$LAB_DIR/fw-frozen"
RULE=$(ipt -S DOCKER-USER | grep -m 1 -- "-i $GUEST_IF .*gangway:$GUEST_IF")
eval "ipt ${RULE/-A /-D }"
lab_check "gangway's rule deleted: the guest's doctor names the missing rule" names gdoc \
	"gangway's rule accepting new connections from $GUEST_IF to the containers is missing" "$CIP"
lab_check "...and gangwayd could not put it back meanwhile" gw_wait_log "$LAB_DIR/guest.log" "frozen by the test" 5
rm "$LAB_DIR/fw-frozen"
lab_check "gangwayd restores it: healthy again" gw_until 40 healthy gdoc "$CIP"
lab_check "...from the host too" healthy hdoc "$CIP"

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
