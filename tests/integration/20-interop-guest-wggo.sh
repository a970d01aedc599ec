#!/usr/bin/env bash
# gangway's guest daemon against wireguard-go + wg(8) as the host end:
# handshake, ping, and 100 MiB each way by TCP with SHA-256 compared.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
NET=$(lab_subnet4 1)
lab_bridge_add br0 "$NET"
CIP=${NET%.0/24}.2
lab_container_add c1 br0 "$CIP"

gw_keypair host
gw_keypair guest
TH=10.200.$LAB_OCTET.1 TG=10.200.$LAB_OCTET.2

# Host end: stock wireguard-go, configured with wg(8).
gw_wggo_up host wg0 "$TH/24"
gw_wg host set wg0 private-key "$LAB_DIR/host.key" listen-port 51820 \
	peer "$(cat "$LAB_DIR/guest.pub")" allowed-ips "$TG/32,$NET"
ip -n "$(lab_ns host)" route add "$NET" dev wg0

# Guest end: gangwayd dials the host.
gw_conf "$LAB_DIR/guest.conf" <<CONF
[Interface]
PrivateKey = $(cat "$LAB_DIR/guest.key")
Address = $TG/24

[Peer]
PublicKey = $(cat "$LAB_DIR/host.pub")
Endpoint = $LAB_HOST_IP4:51820
AllowedIPs = $TH/32
PersistentKeepalive = 25

[Gangway]
Interface = gwt$LAB_OCTET
CONF
lab_check "gangwayd accepts its configuration" "$GW_GANGWAYD" --check -c "$LAB_DIR/guest.conf"
gw_start_guest vm guest "$LAB_DIR/guest.conf"

lab_check "handshake completes (wg show on the host end)" gw_wait_handshake host wg0 15
lab_check "host pings the container through the tunnel" \
	lab_exec host ping -c 3 -i 0.2 -W 2 "$CIP"
lab_check "host pings the guest's tunnel address" lab_exec host ping -c 2 -i 0.2 -W 2 "$TG"
lab_check "100 MiB host -> container, checksums equal" gw_transfer host c1 "$CIP" 5001 100
lab_check "100 MiB container -> host, checksums equal" gw_transfer c1 host "$TH" 5002 100
lab_check "wg(8) counted the transfer" bash -c \
	"ip netns exec $(lab_ns host) wg show wg0 transfer | awk '{ if (\$2 > 100000000 && \$3 > 100000000) ok=1 } END { exit !ok }'"
lab_check "gangwayd is still running" kill -0 "$GW_PID"
lab_check "gangwayd logged the handshake" grep -q "Handshake with peer" "$LAB_DIR/guest.log"
lab_kill "$GW_PID" TERM
lab_check_fail "the tunnel device is gone after SIGTERM" ip -n "$(lab_ns vm)" link show "gwt$LAB_OCTET"
lab_done
