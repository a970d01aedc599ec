#!/usr/bin/env bash
# The guest tells the host where its DNS server is (NAMES, an authenticated
# control message), and the host believes it only as far as its policy
# allows. resolved is stood in for by tests/tools/fake_resolved on a private
# bus, which logs every call it gets.
#
# 1. Before the guest speaks, the host's resolver follows the configuration
#    (the single addresses of the peer's AllowedIPs); gangwayd's
#    announcement then moves it to the addresses gangwayd serves on.
# 2. gangwayd restarted with Names = off: the host takes the link back.
# 3. A compromised guest: the guest's key in wireguard-go, and control
#    messages made with the real keys. It names the host's LAN address,
#    the LAN's other machine, the host's own tunnel address, another
#    peer's address, an address inside its AllowedIPs that the host
#    reaches through another interface, and its own address under another
#    domain: each is refused and logged once, and the resolver is not
#    touched. Its own address is believed; the LAN address after that
#    changes nothing; names off takes the link back.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

command -v dbus-daemon >/dev/null || { echo "SKIP: dbus-daemon missing"; exit 77; }
command -v wireguard-go >/dev/null || { echo "SKIP: wireguard-go missing"; exit 77; }
python3 -c 'import cryptography' 2>/dev/null || { echo "SKIP: python3-cryptography missing"; exit 77; }
lab_init
lab_up

gw_fake_resolved_up

# The host has a second network of its own (a "LAN" on a veth pair), one
# address of which the guest's AllowedIPs hold as well.
O=$LAB_OCTET
OWNLAN=10.197.$O.0/24 INLAN=10.197.$O.53 OTHER=10.196.$O.3
ip -n "$(lab_ns host)" link add "lan$O" type veth peer name "lanp$O"
ip -n "$(lab_ns host)" addr add "10.197.$O.1/24" dev "lan$O"
ip -n "$(lab_ns host)" link set "lanp$O" up
ip -n "$(lab_ns host)" link set "lan$O" up

gw_keypair host
gw_keypair guest
gw_keypair other
TH=10.200.$O.1 TG=10.200.$O.2 TH6=$LAB_ULA48:f0::1 TG6=$LAB_ULA48:f0::2
HOST_IF=gwh$O GUEST_IF=gwg$O EVIL_IF=ev$O
gw_host_conf host "$TH/24, $TH6/64" "$HOST_IF"
gw_conf_peer "$LAB_DIR/host.conf" guest "$INLAN/32, $TG/32, $TG6/128"
gw_conf_peer "$LAB_DIR/host.conf" other "${OTHER%.3}.0/24"
gw_guest_conf guest "$TG/24, $TG6/64" "$GUEST_IF" "$LAB_HOST_IP4:51820" "$TH/32, $TH6/128"
printf 'StateDirectory = %s\nDockerSocket = %s/no-engine.sock\n' "$LAB_DIR/gstate" "$LAB_DIR" \
	>>"$LAB_DIR/guest.conf"

GW_ENV="DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS" gw_start_host host host "$LAB_DIR/host.conf"
HOST_PID=$GW_PID
gw_until 10 ip -n "$(lab_ns host)" link show "$HOST_IF" >/dev/null 2>&1
IFI=$(ip -n "$(lab_ns host)" -j link show "$HOST_IF" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["ifindex"])')
RLOG=$LAB_DIR/resolved.log

# dns FIELD: the guest's DNS server in the host's status JSON
dns() {
	"$GW_GANGWAY" status -j -c "$LAB_DIR/host.conf" | python3 -c '
import json, sys
key = open(sys.argv[2]).read().strip()
for p in json.load(sys.stdin)["peers"]:
    if p["public_key"] == key:
        d = p["dns"]
        v = d[sys.argv[1]] if d else None
        print(",".join(v) if isinstance(v, list) else json.dumps(v))' "$1" "$LAB_DIR/guest.pub"
}
dns_is() { local v; v=$(dns "$1") && echo "$1: $v" && [[ $v == "$2" ]]; }
calls() { grep -c "$1" "$RLOG" || true; }
refusals() { grep -c "refused: .*$1" "$LAB_DIR/host.log" || true; }

# 1. The configuration first, then what gangwayd announces.
lab_check "before the guest speaks, the resolver follows the peer's AllowedIPs" gw_until 10 \
	grep -qx "SetLinkDNS $IFI 2 $INLAN 2 $TG" "$RLOG"
lab_check "...and status says where that came from" dns_is source '"AllowedIPs"'
gw_start_guest vm guest "$LAB_DIR/guest.conf"
GUEST_PID=$GW_PID
lab_check "gangwayd's announcement moves the resolver to the addresses it serves on" \
	gw_until 15 grep -qx "SetLinkDNS $IFI 2 $TG 10 $TG6" "$RLOG"
lab_check "status: announced by the guest" dns_is source '"announced"'
lab_check "status: its addresses" dns_is addresses "$TG,$TG6"
lab_check "status: its domain" dns_is domain '"gangway.internal"'
lab_check "status: in use" dns_is in_use true
lab_check "status: nothing refused" dns_is refused null
lab_check "the text status shows the guest's DNS server" bash -c \
	"'$GW_GANGWAY' status -c '$LAB_DIR/host.conf' | grep -qF '  dns: $TG, $TG6 for gangway.internal (announced by the guest, in use)'"
lab_check "...and how the names resolve" bash -c \
	"'$GW_GANGWAY' status -c '$LAB_DIR/host.conf' | grep -qF 'names: *.gangway.internal -> $TG (systemd-resolved)'"
lab_check_fail "nothing was reverted" grep -q RevertLink "$RLOG"

# 2. Names off: the host takes the link back.
lab_kill "$GUEST_PID" TERM
echo "Names = off" >>"$LAB_DIR/guest.conf"
gw_start_guest vm guest2 "$LAB_DIR/guest.conf"
GUEST_PID=$GW_PID
lab_check "a guest whose names are off has the link reverted" gw_until 15 \
	grep -qx "RevertLink $IFI" "$RLOG"
lab_check "status: off" dns_is source '"off"'
lab_check "status: not in use" dns_is in_use false
lab_check "the host says no guest serves the names" \
	gw_wait_log "$LAB_DIR/host.log" "no guest serves \*.gangway.internal" 5
lab_kill "$GUEST_PID" TERM
lab_until_gone() { ! ip -n "$(lab_ns vm)" link show "$GUEST_IF" >/dev/null 2>&1; }
gw_until 10 lab_until_gone

# 3. A compromised guest: wireguard-go with the guest's key, and control
# messages made with the keys the daemons derive (docs/protocol.md).
gw_wggo_up vm "$EVIL_IF" "$TG/24"
gw_wg vm set "$EVIL_IF" private-key "$LAB_DIR/guest.key" \
	peer "$(cat "$LAB_DIR/host.pub")" endpoint "$LAB_HOST_IP4:51820" allowed-ips "$TH/32" \
	persistent-keepalive 1
cat >"$LAB_DIR/names.py" <<'PY'
import base64, hashlib, hmac, os, socket, struct, sys, ipaddress
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives import serialization

def kdf1(ck, data):
    t0 = hmac.new(ck, data, hashlib.blake2s).digest()
    return hmac.new(t0, b"\x01", hashlib.blake2s).digest()

def key(sender_pub):
    ck = hashlib.blake2s(b"gangway control messages v2").digest()
    return kdf1(ck, dh + bytes(32) + sender_pub)

def tag(k, m):
    return hashlib.blake2s(m, key=k, digest_size=16).digest()

def names(life, nonce, echo, ctr, addrs, domain):
    body = b""
    for a in addrs:
        ip = ipaddress.ip_address(a)
        body += struct.pack("BB", 4 if ip.version == 4 else 6, ip.max_prefixlen) + ip.packed
    body += struct.pack("B", len(domain)) + domain.encode()
    m = b"GWY2" + struct.pack(">BBHIQQQQ", 5, 0, len(addrs), 0, life, nonce, echo, ctr) + body
    return m + tag(tx, m)

priv = X25519PrivateKey.from_private_bytes(base64.b64decode(open(sys.argv[1]).read()))
host_pub = base64.b64decode(open(sys.argv[2]).read())
own_pub = priv.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)
dh = priv.exchange(X25519PublicKey.from_public_bytes(host_pub))
tx, rx = key(own_pub), key(host_pub)
src, dst, claim = sys.argv[3], sys.argv[4], sys.argv[5]
addrs, domain = (claim.split()[0].split(","), claim.split()[1]) if claim != "off" else ([], "")

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 51899))
s.settimeout(1)
life, nonce = struct.unpack(">QQ", os.urandom(16))
life, nonce = life | 1, nonce | 1
echo, ctr = 0, 0
# A new life is answered with a HELLO carrying the host's new challenge;
# the next message echoes it and counts.
for attempt in range(20):
    ctr += 1
    s.sendto(names(life, nonce, echo, ctr, addrs, domain), (dst, 51899))
    try:
        m, _ = s.recvfrom(2048)
    except socket.timeout:
        if echo:
            sys.exit(0)		# fresh, and nothing to answer: accepted
        continue
    if len(m) < 60 or m[:4] != b"GWY2" or tag(rx, m[:-16]) != m[-16:]:
        continue
    echo = struct.unpack(">Q", m[20:28])[0]
sys.exit("the host never took a fresh message")
PY
claim() { lab_exec vm python3 "$LAB_DIR/names.py" "$LAB_DIR/guest.key" "$LAB_DIR/host.pub" \
	"$TG" "$TH" "$1"; }
BEFORE=$(calls SetLinkDNS) REVERTS=$(calls RevertLink)
unchanged() {
	local n r
	n=$(calls SetLinkDNS) r=$(calls RevertLink)
	echo "SetLinkDNS calls: $n (were $BEFORE), RevertLink: $r (were $REVERTS)"
	((n == BEFORE && r == REVERTS))
}
refused_once() {	# CLAIM PATTERN: claimed twice, refused and logged once
	claim "$1" && claim "$1" && sleep 0.5 &&
		gw_wait_log "$LAB_DIR/host.log" "refused: .*$2" 5 &&
		{ local n; n=$(refusals "$2"); echo "logged $n time(s)"; ((n == 1)); }
}
lab_check "the host's LAN address: refused, logged once" \
	refused_once "$LAB_HOST_IP4 gangway.internal" "$LAB_HOST_IP4/32 is outside the peer's AllowedIPs"
lab_check "the LAN's other machine: refused, logged once" \
	refused_once "$LAB_VM_IP4 gangway.internal" "$LAB_VM_IP4/32 is outside the peer's AllowedIPs"
lab_check "the host's own tunnel address: refused, logged once" \
	refused_once "$TH gangway.internal" "$TH/32 is outside the peer's AllowedIPs"
lab_check "another peer's address: refused, logged once" \
	refused_once "$OTHER gangway.internal" "$OTHER/32 is outside the peer's AllowedIPs"
lab_check "inside its AllowedIPs but a network of the host's: refused, logged once" \
	refused_once "$INLAN gangway.internal" "overlaps the host's route $OWNLAN dev lan$O"
lab_check "its own address under another domain: refused, logged once" \
	refused_once "$TG evil.example" "the domain evil.example is not this host's"
lab_check "the resolver was not touched by any of it" unchanged
lab_check "status says why the last claim was refused" bash -c \
	"'$GW_GANGWAY' status -c '$LAB_DIR/host.conf' | grep -qF 'dns refused: the domain evil.example'"
lab_check "the compromised guest's messages all verified" bash -c \
	"! grep -q 'control-auth' <('$GW_GANGWAY' status -c '$LAB_DIR/host.conf')"

lab_check "its own tunnel address is believed" claim "$TG gangway.internal"
lab_check "...and the resolver sends the names there" gw_until 5 \
	grep -qx "SetLinkDNS $IFI 2 $TG" "$RLOG"
lab_check "status: its address, in use" dns_is addresses "$TG"
BEFORE=$(calls SetLinkDNS) REVERTS=$(calls RevertLink)
lab_check "pointing it at the LAN now is refused" claim "$LAB_HOST_IP4 gangway.internal"
sleep 1
lab_check "...and the resolver keeps the guest's own address" unchanged
lab_check "...as status says" dns_is addresses "$TG"
lab_check "names off from it" claim off
lab_check "...takes the link back" gw_until 5 bash -c "(( \$(grep -c RevertLink '$RLOG') > $REVERTS ))"
lab_check "status: off" dns_is source '"off"'
lab_check "the host agent still runs" kill -0 "$HOST_PID"
lab_done
