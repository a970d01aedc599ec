#!/usr/bin/env bash
# gangway against itself: one host agent serving two guest daemons in two
# VMs, each with its own container network.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
gw_pair_up
gw_vm_add vm2 1 c2
gw_keypair guest2
TG2=10.200.$LAB_OCTET.3
# The host's config gains a second peer.
gw_conf_peer "$LAB_DIR/host.conf" guest2 "$TG2/32, $GW_VM_NET"
gw_guest_conf guest2 "$TG2/24" "gwg2$LAB_OCTET" "$GW_VM_HOST_IP:51820" "$TH/32"
lab_check "host config with two peers is valid" "$GW_GANGWAY" up --check -c "$LAB_DIR/host.conf"
gw_pair_start
gw_start_guest vm2 guest2 "$LAB_DIR/guest2.conf"
lab_check "both guests completed a handshake" \
	lab_retry 15 bash -c "[ \$(grep -c 'Handshake with peer' '$LAB_DIR/host.log') -ge 2 ]"
lab_check "host pings container 1 (guest 1)" lab_exec host ping -c 3 -i 0.2 -W 2 "$CIP"
lab_check "host pings container 2 (guest 2)" lab_exec host ping -c 3 -i 0.2 -W 2 "$GW_VM_CIP"
lab_check "20 MiB host -> container 1" gw_transfer host c1 "$CIP" 5001 20
lab_check "20 MiB host -> container 2" gw_transfer host c2 "$GW_VM_CIP" 5002 20
lab_check "20 MiB container 2 -> host" gw_transfer c2 host "$TH" 5003 20
lab_check "routes for both container networks point at the tunnel" bash -c \
	"ip -n $(lab_ns host) route show $NET | grep -q $HOST_IF && ip -n $(lab_ns host) route show $GW_VM_NET | grep -q $HOST_IF"
lab_check "all three daemons still run" kill -0 "$HOST_PID" "$GUEST_PID" "$GW_PID"
lab_done
