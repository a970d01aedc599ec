#!/usr/bin/env bash
# Nothing but the two daemons speaks for them, with a real Docker engine in
# the vm namespace: a container sends forged ADVERTISEs (the old format,
# which the host once took as the guest's word, and the current one with a
# made-up tag) to the host agent's control address, masqueraded to the
# guest's tunnel address on the way; the host's routes do not change and
# the guest's `gangway status` counts the drops (control-from-device). An
# unprivileged process on the host sends forged SYNCs and ACKs (every
# plausible generation, each remapping docker0's network) to the guest's
# control address; the guest's rules do not change, the host counts the
# drops, and the tunnel goes on working.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
vmx() { ip netns exec "$(lab_ns vm)" "$@"; }
ruleset() {	# the vm's whole ruleset, counters stripped
	{ vmx iptables-save; vmx ip6tables-save; vmx nft list ruleset; } 2>/dev/null |
		sed -e 's/\[[0-9]*:[0-9]*\]//g' -e 's/packets [0-9]* bytes [0-9]*//g' -e '/^#/d'
}

docker_lab_start
docker_lab_run web0
IP0=$(docker_lab_ip web0 bridge)
CPID=$(docker_lab inspect -f '{{.State.Pid}}' web0)

gw_keypair host
gw_keypair guest
TH=10.200.$LAB_OCTET.1 TG=10.200.$LAB_OCTET.2
HOST_IF=gwh$LAB_OCTET GUEST_IF=gwg$LAB_OCTET
# The host has a second address, which the guest allows as a whole subnet:
# its daemon takes control messages there too.
TH2=10.199.$LAB_OCTET.1
gw_host_conf host "$TH/24, $TH2/24" "$HOST_IF"
gw_conf_peer "$LAB_DIR/host.conf" guest "$TG/32"
gw_guest_conf guest "$TG/24, ${TH2%.1}.2/24" "$GUEST_IF" "$LAB_HOST_IP4:51820" \
	"$TH/32, ${TH2%.1}.0/24"
echo "StateDirectory = $LAB_DIR/gstate" >>"$LAB_DIR/guest.conf"
gw_start_host host host "$LAB_DIR/host.conf"
HOST_PID=$GW_PID
gw_start_guest vm guest "$LAB_DIR/guest.conf"
GUEST_PID=$GW_PID

hroutes() { ip -n "$(lab_ns host)" route show dev "$HOST_IF" | sort; }
hroute() { ip -n "$(lab_ns host)" route show "$1" | grep -q "dev $HOST_IF"; }
fetch() { lab_exec host wget -q -T 2 -O - "http://$IP0/" | grep -q "hello from web0"; }
lab_check "the host routes docker0's network" gw_until 10 hroute "$DOCKER_LAB_BRIDGE4"
lab_check "the host fetches web0" gw_until 5 fetch
lab_check "the guest's advertisement is acknowledged" \
	gw_wait_log "$LAB_DIR/guest.log" "The host acknowledged" 5

# drops REASON SOCKET-ARGS...: the count of one drop reason, device and peers
drops() {
	local reason=$1
	shift
	"$GW_GANGWAY" status -j "$@" | python3 -c '
import json, sys
s = json.load(sys.stdin)
n = s["device_drops"].get(sys.argv[1], 0)
n += sum(p["drops"].get(sys.argv[1], 0) for p in s["peers"])
print(n)' "$reason"
}
gdrops() { drops "$1" --socket "$LAB_DIR/gstate/$GUEST_IF.sock"; }
hdrops() { drops "$1" -c "$LAB_DIR/host.conf"; }
counted() { local n; n=$("$1" "$2") && echo "$2: $n" && ((n >= 1)); }	# FN REASON
none() { local n; n=$("$1" "$2") && echo "$2: $n" && ((n == 0)); }

# The forger: control messages as an attacker would build them.
cat >"$LAB_DIR/forge.py" <<'PY'
import ipaddress, os, socket, struct, sys, time

def entry(p):
    n = ipaddress.ip_network(p)
    return struct.pack("BB", 4 if n.version == 4 else 6, n.prefixlen) + n.network_address.packed

def old(t, seq, body=b"", n=0):		# the format before authentication
    return b"GWY1" + struct.pack(">BBHI", t, 0, n, seq) + body

def new(t, seq, body=b"", n=0):		# today's, with a made-up tag
    return (b"GWY2" + struct.pack(">BBHI", t, 0, n, seq) + os.urandom(32) + body +
            os.urandom(16))

dst, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:	# the daemons' own source port, too
    s.bind(("", 51899))
except OSError:
    pass
for rnd in range(3):
    if mode == "advertise":		# replace the guest's set with one prefix
        for seq in (1, 2, 3, 1000 + rnd):
            for make in (old, new):
                s.sendto(make(1, seq, entry(sys.argv[3]), 1), (dst, 51899))
    else:	# SYNC, then ACKs of every likely generation remapping PREFIX to MAPPED
        body = b"\x04" + entry(sys.argv[3]) + entry(sys.argv[4])
        for make in (old, new):
            s.sendto(make(3, 0), (dst, 51899))
            for seq in range(1, 41):
                s.sendto(make(2, seq, body, 1), (dst, 51899))
    time.sleep(0.3)
PY

# 1. A container forges the guest's advertisement.
FORGED=10.201.$LAB_OCTET.0/24
ROUTES=$(hroutes)
nsenter --net="/proc/$CPID/ns/net" python3 "$LAB_DIR/forge.py" "$TH" advertise "$FORGED"
lab_check "the container's forgeries reached the guest's tunnel device and were dropped there" \
	gw_until 5 counted gdrops control-from-device
sleep 1
lab_check_fail "the forged prefix is not routed on the host" hroute "$FORGED"
lab_check "the host's routes did not change" diff <(echo "$ROUTES") <(hroutes)
lab_check "the host still routes docker0's network" hroute "$DOCKER_LAB_BRIDGE4"
echo "# guest drops: control-from-device $(gdrops control-from-device)"

# ...and to the host's other address, inside a subnet of the guest's AllowedIPs.
before=$(gdrops control-from-device)
more() { local n; n=$(gdrops control-from-device) && echo "now $n" && ((n > before)); }
nsenter --net="/proc/$CPID/ns/net" python3 "$LAB_DIR/forge.py" "$TH2" advertise "$FORGED"
lab_check "forgeries to any address a peer's AllowedIPs hold are dropped at the device too" \
	gw_until 5 more
lab_check "...and none reached the host's control path" none hdrops control-auth

# 2. An unprivileged host process forges SYNCs and ACKs to the guest.
BITS=${DOCKER_LAB_BRIDGE4#*/}
MAPPED=10.202.0.0/$BITS
RULES=$(ruleset)
lab_check "the forger runs as nobody" lab_exec host setpriv --reuid=nobody --regid=nogroup \
	--clear-groups /usr/bin/python3 -c 'import os; assert os.getuid() != 0 and os.geteuid() != 0'
lab_exec host setpriv --reuid=nobody --regid=nogroup --clear-groups \
	/usr/bin/python3 - "$TG" ack "$DOCKER_LAB_BRIDGE4" "$MAPPED" <"$LAB_DIR/forge.py"
lab_check "the forgeries were dropped at the host's tunnel device" \
	gw_until 5 counted hdrops control-from-device
sleep 2
lab_check "the guest's rules did not change" diff <(echo "$RULES") <(ruleset)
lab_check "the guest translates nothing for the host" \
	bash -c "! '$GW_GANGWAY' status --socket '$LAB_DIR/gstate/$GUEST_IF.sock' | grep -q '10\.202\.'"
lab_check_fail "the guest logged no remap" grep -q "The host reaches" "$LAB_DIR/guest.log"
echo "# host drops: control-from-device $(hdrops control-from-device)"

# The daemons' own messages still pass: a new network is routed.
docker_lab_network_create net1
NET1=$(docker_lab network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' net1)
lab_check "a new network is still routed within 5 s" gw_until 5 hroute "$NET1"
lab_check "and web0 is still reachable" fetch
lab_check "no message was refused for its tag on the guest" none gdrops control-auth
lab_check "...nor on the host" none hdrops control-auth
lab_check "both daemons run" kill -0 "$HOST_PID" "$GUEST_PID"
lab_done
