#!/usr/bin/env bash
# bench-dns.sh - container-name queries per second and their latency: through
# the tunnel to gangwayd, next to a local resolver answering the same
# question on loopback, in one lab (not a test: numbers only)
#
#   tests/bench/bench-dns.sh [COUNT]
#
# One lab with a real Docker engine in "vm" and one container, "web":
#   tunnel    from the host namespace, through gangway up and the tunnel, to
#             gangwayd's DNS server on the guest's tunnel address
#   in-vm     the same server asked from inside the vm namespace: gangwayd's
#             answering alone, without the tunnel
#   ldnsd     ldnsd (ldnsutils, NLnet Labs' example server, also ldns) on the
#             host namespace's loopback, answering web.gangway.internal from
#             a zone file: what a local resolver costs on this machine
# Each is asked COUNT (100000) A queries for web.gangway.internal twice:
# 32 outstanding at a time (throughput) and one at a time (latency).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/lab.sh
. tests/lib/docker.sh
. tests/lib/gw.sh
COUNT=${1:-100000}
BENCH=$(lab_build_dir)/tests/bench_dns
[[ -x $BENCH ]] || { echo "bench-dns: build $BENCH first (make bench-dns)" >&2; exit 1; }
command -v ldnsd >/dev/null || { echo "bench-dns: ldnsd missing (ldnsutils)" >&2; exit 1; }

lab_init
lab_up
docker_lab_start
docker_lab_run web
IPW=$(docker_lab_ip web)
gw_keypair host
gw_keypair guest
TH=10.200.$LAB_OCTET.1 TG=10.200.$LAB_OCTET.2
gw_host_conf host "$TH/24" "gwh$LAB_OCTET"
gw_conf_peer "$LAB_DIR/host.conf" guest "$TG/32"
gw_guest_conf guest "$TG/24" "gwg$LAB_OCTET" "$LAB_HOST_IP4:51820" "$TH/32"
printf 'StateDirectory = %s\nDockerSocket = %s\nLogLevel = warning\n' "$LAB_DIR/gstate" \
	"$DOCKER_LAB_SOCK" >>"$LAB_DIR/guest.conf"
gw_start_host host host "$LAB_DIR/host.conf"
gw_start_guest vm guest "$LAB_DIR/guest.conf"
gw_until 20 bash -c "[[ \$(ip netns exec $(lab_ns host) drill -Q @$TG web.gangway.internal) == $IPW ]]" ||
	{ echo "bench-dns: web.gangway.internal does not resolve through the tunnel" >&2; exit 1; }

printf '$ORIGIN gangway.internal.\n$TTL 5\n@ IN SOA ns hostmaster 1 3600 600 86400 5\nweb IN A %s\n' \
	"$IPW" >"$LAB_DIR/zone"
lab_bg host "$LAB_DIR/ldnsd.log" ldnsd 127.0.0.1 5353 gangway.internal "$LAB_DIR/zone" >/dev/null
gw_until 5 bash -c "ip netns exec $(lab_ns host) drill -Q -p 5353 @127.0.0.1 web.gangway.internal | grep -q ."

run() {	# label ns addr port window
	printf '%-8s window %-3s %s\n' "$1" "$5" \
		"$(ip netns exec "$(lab_ns "$2")" "$BENCH" "$3" "$4" web.gangway.internal "$COUNT" "$5")"
}
echo "# $COUNT A queries for web.gangway.internal each; $(nproc) CPUs"
for w in 32 1; do
	run tunnel host "$TG" 53 "$w"
	run in-vm vm "$TG" 53 "$w"
	run ldnsd host 127.0.0.1 5353 "$w"
done
