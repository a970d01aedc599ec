#!/usr/bin/env bash
# gangway's guest daemon against wireguard-go + wg(8) as the host end:
# handshake, ping, and 100 MiB each way by TCP with SHA-256 compared.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
gw_pair_up	# the guest's half of it is used; wireguard-go is the host
# wireguard-go's socket (/var/run/wireguard/IF.sock) is not per namespace:
# the interface is named by the lab, so two runs never share it.
WGIF=wgo$LAB_OCTET

# Host end: stock wireguard-go, configured with wg(8).
gw_wggo_up host "$WGIF" "$TH/24"
gw_wg host set "$WGIF" private-key "$LAB_DIR/host.key" listen-port 51820 \
	peer "$(cat "$LAB_DIR/guest.pub")" allowed-ips "$TG/32,$NET"
ip -n "$(lab_ns host)" route add "$NET" dev "$WGIF"

# Guest end: gangwayd dials the host.
lab_check "gangwayd accepts its configuration" "$GW_GANGWAYD" --check -c "$LAB_DIR/guest.conf"
gw_start_guest vm guest "$LAB_DIR/guest.conf"

lab_check "handshake completes (wg show on the host end)" gw_wait_handshake host "$WGIF" 15
lab_check "host pings the container through the tunnel" \
	lab_exec host ping -c 3 -i 0.2 -W 2 "$CIP"
lab_check "host pings the guest's tunnel address" lab_exec host ping -c 2 -i 0.2 -W 2 "$TG"
lab_check "100 MiB host -> container, checksums equal" gw_transfer host c1 "$CIP" 5001 100
lab_check "100 MiB container -> host, checksums equal" gw_transfer c1 host "$TH" 5002 100
lab_check "wg(8) counted the transfer" bash -c \
	"ip netns exec $(lab_ns host) wg show $WGIF transfer | awk '{ if (\$2 > 100000000 && \$3 > 100000000) ok=1 } END { exit !ok }'"
lab_check "gangwayd is still running" kill -0 "$GW_PID"
lab_check "gangwayd logged the handshake" grep -q "Handshake with peer" "$LAB_DIR/guest.log"
lab_kill "$GW_PID" TERM
lab_check_fail "the tunnel device is gone after SIGTERM" ip -n "$(lab_ns vm)" link show "$GUEST_IF"
lab_done
