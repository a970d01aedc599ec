#!/usr/bin/env bash
# gangway's host agent against wireguard-go + wg(8) as the guest end:
# handshake, ping, and 100 MiB each way by TCP with SHA-256 compared.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
gw_pair_up	# the host's half of it is used; wireguard-go is the guest
# wireguard-go's socket (/var/run/wireguard/IF.sock) is not per namespace:
# the interface is named by the lab, so two runs never share it.
WGIF=wgo$LAB_OCTET

# Host end: gangway up, which routes the guest's allowed IPs to its device.
lab_check "gangway up accepts its configuration" "$GW_GANGWAY" up --check -c "$LAB_DIR/host.conf"
gw_start_host host host "$LAB_DIR/host.conf"
HOST_PID=$GW_PID
lab_check "gangway up routes the container subnet to its device" \
	lab_retry 5 bash -c "ip -n $(lab_ns host) route show $NET | grep -q 'dev $HOST_IF'"

# Guest end: stock wireguard-go dials the host.
gw_wggo_up vm "$WGIF" "$TG/24"
gw_wg vm set "$WGIF" private-key "$LAB_DIR/guest.key" \
	peer "$(cat "$LAB_DIR/host.pub")" endpoint "$LAB_HOST_IP4:51820" \
	allowed-ips "$TH/32" persistent-keepalive 25

lab_check "handshake completes (wg show on the guest end)" gw_wait_handshake vm "$WGIF" 15
lab_check "host pings the container through the tunnel" \
	lab_exec host ping -c 3 -i 0.2 -W 2 "$CIP"
lab_check "100 MiB host -> container, checksums equal" gw_transfer host c1 "$CIP" 5001 100
lab_check "100 MiB container -> host, checksums equal" gw_transfer c1 host "$TH" 5002 100
lab_check "gangway up is still running" kill -0 "$HOST_PID"
lab_kill "$HOST_PID" TERM
lab_check_fail "the route is gone after SIGTERM" \
	bash -c "ip -n $(lab_ns host) route show $NET | grep -q $HOST_IF"
lab_check_fail "the tunnel device is gone after SIGTERM" ip -n "$(lab_ns host)" link show "$HOST_IF"
lab_done
