#!/usr/bin/env bash
# The host's resolver for container names: gangway up sets the guest's DNS
# server and the routing-only domain ~gangway.internal on its tunnel link
# through systemd-resolved's D-Bus API, takes the link out of the default
# route, shows it in gangway status, and reverts the link when it stops.
# resolved is stood in for by tests/tools/fake_resolved on a private bus
# (DBUS_SYSTEM_BUS_ADDRESS), which logs every call it gets. Without
# resolved on the bus, gangway up says what to configure instead.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

command -v dbus-daemon >/dev/null || { echo "SKIP: dbus-daemon missing"; exit 77; }
lab_init
lab_up

gw_fake_resolved_up

gw_keypair host
gw_keypair guest
TH=10.200.$LAB_OCTET.1 TG=10.200.$LAB_OCTET.2 TH6=$LAB_ULA48:f0::1 TG6=$LAB_ULA48:f0::2
HOST_IF=gwh$LAB_OCTET GUEST_IF=gwg$LAB_OCTET
gw_host_conf host "$TH/24, $TH6/64" "$HOST_IF"
gw_conf_peer "$LAB_DIR/host.conf" guest "$TG/32, $TG6/128"
gw_guest_conf guest "$TG/24, $TG6/64" "$GUEST_IF" "$LAB_HOST_IP4:51820" "$TH/32, $TH6/128"
printf 'StateDirectory = %s\nDockerSocket = %s/no-engine.sock\n' "$LAB_DIR/gstate" "$LAB_DIR" \
	>>"$LAB_DIR/guest.conf"
GW_ENV="DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS" gw_start_host host host "$LAB_DIR/host.conf"
HOST_PID=$GW_PID
gw_start_guest vm guest "$LAB_DIR/guest.conf"

gw_until 10 ip -n "$(lab_ns host)" link show "$HOST_IF" >/dev/null 2>&1
IFI=$(ip -n "$(lab_ns host)" -j link show "$HOST_IF" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["ifindex"])')
lab_check "the link gets the guest's DNS addresses, both families" gw_until 10 \
	grep -qx "SetLinkDNS $IFI 2 $TG 10 $TG6" "$LAB_DIR/resolved.log"
lab_check "...and the routing-only domain gangway.internal" \
	grep -qx "SetLinkDomains $IFI gangway.internal 1" "$LAB_DIR/resolved.log"
lab_check "...and is not a default route for other names" \
	grep -qx "SetLinkDefaultRoute $IFI 0" "$LAB_DIR/resolved.log"
lab_check "gangway status says how the names resolve" bash -c \
	"'$GW_GANGWAY' status -c '$LAB_DIR/host.conf' | grep -qF 'names: *.gangway.internal -> $TG (systemd-resolved)'"
lab_check_fail "nothing was reverted yet" grep -q RevertLink "$LAB_DIR/resolved.log"
lab_kill "$HOST_PID" TERM
lab_check "a clean stop reverts the link" grep -qx "RevertLink $IFI" "$LAB_DIR/resolved.log"

# No resolved on the bus: nothing is changed, and the log says what to add.
lab_kill "$FAKE_RESOLVED_PID" TERM
GW_ENV="DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS" gw_start_host host host2 "$LAB_DIR/host.conf"
lab_check "without resolved, gangway up says it is not running" \
	gw_wait_log "$LAB_DIR/host2.log" "systemd-resolved is not running" 10
lab_check "...and exactly what to configure" \
	grep -qF "resolvectl dns $HOST_IF $TG; resolvectl domain $HOST_IF ~gangway.internal" "$LAB_DIR/host2.log"
lab_check "...and the tunnel still comes up" gw_wait_log "$LAB_DIR/host2.log" "Handshake with peer" 15
lab_done
