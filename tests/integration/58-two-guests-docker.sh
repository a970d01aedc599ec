#!/usr/bin/env bash
# Two guests, one of them with a real Docker engine: no guest can take what
# another holds. Guest A (the engine in the vm namespace) creates a Docker
# network on guest B's container network and advertises it as any network
# of its own; the host refuses it as a conflict, B's allowed IPs and route
# stay B's and its container answers through the tunnel. When A removes
# the network (its withdrawal), nothing of B's goes with it.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
docker_lab_start
gw_vm_add vm2 1 c2
H=$(lab_ns host)

gw_keypair host
gw_keypair guest
gw_keypair guest2
TH=10.200.$LAB_OCTET.1 TG=10.200.$LAB_OCTET.2 TG2=10.200.$LAB_OCTET.3
HOST_IF=gwh$LAB_OCTET GUEST_IF=gwg$LAB_OCTET
# A's container networks are learnt; B's network is configured for it.
gw_host_conf host "$TH/24" "$HOST_IF"
gw_conf_peer "$LAB_DIR/host.conf" guest "$TG/32"
gw_conf_peer "$LAB_DIR/host.conf" guest2 "$TG2/32, $GW_VM_NET"
gw_guest_conf guest "$TG/24" "$GUEST_IF" "$LAB_HOST_IP4:51820" "$TH/32"
gw_guest_conf guest2 "$TG2/24" "gwg2$LAB_OCTET" "$GW_VM_HOST_IP:51820" "$TH/32"
gw_start_host host host "$LAB_DIR/host.conf"
HOST_PID=$GW_PID
gw_start_guest vm guest "$LAB_DIR/guest.conf"
GUEST_PID=$GW_PID
gw_start_guest vm2 guest2 "$LAB_DIR/guest2.conf"
GUEST2_PID=$GW_PID

hroute() { ip -n "$H" route show "$1" | grep -q "dev $HOST_IF"; }
st() { "$GW_GANGWAY" status -c "$LAB_DIR/host.conf"; }
refused() { st | grep -qxF "  prefix $1 refused ($2)"; }
pingb() { lab_exec host ping -c 2 -i 0.2 -W 2 "$GW_VM_CIP"; }
# the state of PREFIX among the host's prefixes of PEER (a key file's name), or none
pstate() {
	"$GW_GANGWAY" status --json -c "$LAB_DIR/host.conf" | python3 -c '
import json, sys
s = json.load(sys.stdin)
key, p = sys.argv[1], sys.argv[2]
print(next((x["state"] for peer in s["peers"] if peer["public_key"] == key
            for x in peer["prefixes"] if x["prefix"] == p), "none"))
' "$(cat "$LAB_DIR/$1.pub")" "$2"
}
is() { local got; got=$(pstate "$1" "$2") && echo "$1 $2: $got" && [ "$got" = "$3" ]; }

lab_check "both guests completed a handshake" \
	gw_until 15 bash -c "[ \$(grep -c 'Handshake with peer' '$LAB_DIR/host.log') -ge 2 ]"
lab_check "guest A's docker0 network is learnt" gw_until 10 hroute "$DOCKER_LAB_BRIDGE4"
lab_check "guest B's container answers through the tunnel" gw_until 10 pingb

# Guest A: a Docker network on B's container network.
docker_lab_network_create steal --subnet "$GW_VM_NET"
lab_check "A's Docker network on B's network is refused as a conflict" \
	gw_until 5 refused "$GW_VM_NET" conflict
lab_check "the guest hears why" gw_wait_log "$LAB_DIR/guest.log" \
	"The host did not route $GW_VM_NET: conflict" 5
lab_check "...and not installed for A" is guest "$GW_VM_NET" refused
lab_check "B's container still answers" pingb
lab_check "...through the tunnel" hroute "$GW_VM_NET"

# Guest A withdraws it.
docker_lab network rm steal >/dev/null
lab_check "A's withdrawal is seen" gw_until 5 bash -c "! st | grep -qF '$GW_VM_NET refused'"
sleep 1
lab_check "A holds nothing of it" is guest "$GW_VM_NET" none
lab_check "B's route through the tunnel stays" hroute "$GW_VM_NET"
lab_check "...and its container answers" pingb
lab_check_fail "the host withdrew no route of B's" \
	grep -qF "Route to $GW_VM_NET withdrawn" "$LAB_DIR/host.log"
lab_check "A's docker0 network is still routed" hroute "$DOCKER_LAB_BRIDGE4"
lab_check "all three daemons run" kill -0 "$HOST_PID" "$GUEST_PID" "$GUEST2_PID"
lab_done
