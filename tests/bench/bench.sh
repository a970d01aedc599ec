#!/usr/bin/env bash
# bench.sh - tunnel throughput, packet rate and latency: plain routing,
# gangway and wireguard-go side by side in one lab
#
#   tests/bench/bench.sh [--smoke] [--seconds N] [--out FILE] [--wggo PATH]
#                        [--only plain,gangway,gangway-plain,wggo]
#
# One lab (tests/lib/lab.sh): the "host" namespace reaches container c1
# behind the "vm" namespace over one veth pair. The same measurements run
# for each setup in turn, always from the host namespace to c1 (iperf3
# server in c1):
#   plain          the host routes c1's subnet straight to the vm (no
#                  tunnel): what the veth and the kernel can do at best
#   gangway        gangway up (host) and gangwayd (vm), default settings
#   gangway-plain  the same with GANGWAY_PKTIO=plain (one syscall per
#                  packet, no offloads): the fallback
#   wggo           wireguard-go at both ends, configured with wg(8)
# Measurements: one TCP stream host -> c1 and c1 -> host (iperf3 -R),
# 64-byte UDP payloads host -> c1 as fast as iperf3 sends them (packets
# per second that arrive), and the mean ping round trip host -> c1 on an
# idle tunnel ("added" = minus plain routing's). The resident set of both
# tunnel processes is sampled during the TCP runs (maximum).
#
# The table is printed and written to --out (default $BUILD/bench/results.txt).
# --smoke: 2-second runs of plain and gangway only, and it fails unless every
# number is there and non-zero (make check runs it).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/lab.sh
. tests/lib/gw.sh

SECS=10
SMOKE=0
OUT=''
WGGO=''
ONLY=''
while [[ $# -gt 0 ]]; do
	case $1 in
	--smoke) SMOKE=1 SECS=2 ;;
	--seconds) SECS=$2; shift ;;
	--out) OUT=$2; shift ;;
	--wggo) WGGO=$2; shift ;;
	--only) ONLY=$2; shift ;;
	*) echo "usage: $0 [--smoke] [--seconds N] [--out FILE] [--wggo PATH] [--only LIST]" >&2
	   exit 2 ;;
	esac
	shift
done
BDIR=$(lab_build_dir)
[[ -n $OUT ]] || OUT=$BDIR/bench/results.txt
if [[ -z $WGGO ]]; then
	if [[ -x $BDIR/bench/wggo/usr/bin/wireguard-go ]]; then
		WGGO=$BDIR/bench/wggo/usr/bin/wireguard-go
	elif command -v wireguard-go >/dev/null; then
		WGGO=$(command -v wireguard-go)
	fi
fi
if [[ -z $ONLY ]]; then
	if ((SMOKE)); then
		ONLY=plain,gangway
	else
		ONLY=plain,gangway,gangway-plain
		[[ -n $WGGO ]] && ONLY+=,wggo
	fi
fi
IFS=, read -r -a SETUPS <<<"$ONLY"
for t in iperf3 jq ping; do
	command -v "$t" >/dev/null || { echo "bench: $t is missing (make deps)" >&2; exit 1; }
done

lab_init
lab_up
gw_pair_up
HNS=$(lab_ns host)
VNS=$(lab_ns vm)
lab_bg c1 "$LAB_DIR/iperf3.log" iperf3 -s >/dev/null
lab_retry 5 bash -c "ip netns exec $(lab_ns c1) ss -ltn | grep -q ':5201 '"

declare -A R	# R[setup.metric]

log() { printf '# %s\n' "$*" >&2; }

# Maximum VmRSS (KiB) of the pids in $RSS_PIDS while the load runs.
rss_sampler()
{
	local out=$1 p v
	shift
	while :; do
		for p in "$@"; do
			v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
			[[ -n $v ]] && echo "$p $v"
		done
		sleep 0.2
	done >"$out"
}

rss_max()
{
	awk -v p="$2" '$1 == p && $2 > m {m = $2} END {print m + 0}' "$1"
}

# iperf3 client in the host namespace; prints one number.
iperf()
{
	local json=$LAB_DIR/iperf.json tries=0

	# The server takes a moment to accept the next test after one ends.
	while ! ip netns exec "$HNS" iperf3 -c "$CIP" -J -t "$SECS" "$@" >"$json" 2>&1; do
		((++tries < 5)) || { cat "$json" >&2; return 1; }
		sleep 1
	done
	jq -r '.end.sum_received.bits_per_second // empty' "$json" 2>/dev/null | head -1
}

measure()	# SETUP [PID...]
{
	local s=$1 j sp p rss
	shift

	lab_retry 10 ip netns exec "$HNS" ping -c 1 -W 1 "$CIP" >/dev/null ||
		{ log "$s: no route to the container"; return 1; }
	if (($#)); then
		rss_sampler "$LAB_DIR/rss.$s" "$@" &
		sp=$!
	fi
	R[$s.tcp_up]=$(iperf)
	R[$s.tcp_down]=$(iperf -R)
	if [[ -n ${sp:-} ]]; then
		kill "$sp"
		wait "$sp" 2>/dev/null || true
		R[$s.rss]=0
		for p in "$@"; do
			rss=$(rss_max "$LAB_DIR/rss.$s" "$p")
			((rss > R[$s.rss])) && R[$s.rss]=$rss
		done
	fi
	sleep 0.5
	ip netns exec "$HNS" iperf3 -c "$CIP" -J -t "$SECS" -u -l 64 -b 0 >"$LAB_DIR/udp.json" 2>&1 || true
	# received = sent - lost, as the server reports it
	R[$s.udp_pps]=$(jq -r --argjson t "$SECS" \
		'.end.sum | if .packets then ((.packets - .lost_packets) / .seconds) else empty end' \
		"$LAB_DIR/udp.json" 2>/dev/null || true)
	sleep 0.5
	R[$s.rtt]=$(ip netns exec "$HNS" ping -q -c "$((SECS * 100))" -i 0.01 "$CIP" |
		awk -F/ '/^rtt|^round-trip/ {print $5 * 1000}')
	log "$s: tcp up ${R[$s.tcp_up]} down ${R[$s.tcp_down]} bit/s, udp ${R[$s.udp_pps]} pkt/s," \
	    "rtt ${R[$s.rtt]} us, rss ${R[$s.rss]:-?} KiB"
}

setup_plain()
{
	ip -n "$HNS" route replace "$NET" via "$LAB_VM_IP4"
	measure plain
	ip -n "$HNS" route del "$NET" via "$LAB_VM_IP4"
}

setup_gangway()	# NAME [ENV]
{
	local name=$1 hp gp
	GW_ENV=${2:-}
	gw_pair_start
	hp=$HOST_PID gp=$GUEST_PID
	measure "$name" "$hp" "$gp"
	R[$name.mode]=$(grep -o 'packet I/O [a-z-]*' "$LAB_DIR/guest.log" | head -1 || true)
	lab_kill "$hp"
	lab_kill "$gp"
	GW_ENV=
	# the next run appends to the same logs
	mv "$LAB_DIR/host.log" "$LAB_DIR/host.$name.log"
	mv "$LAB_DIR/guest.log" "$LAB_DIR/guest.$name.log"
}

setup_wggo()
{
	local hif=wgh$LAB_OCTET gif=wgg$LAB_OCTET hp gp

	for n in host vm; do
		local ifn=$hif
		[[ $n == vm ]] && ifn=$gif
		lab_bg "$n" "$LAB_DIR/wggo-$n.log" env WG_PROCESS_FOREGROUND=1 \
			"$WGGO" -f "$ifn" >/dev/null
		[[ $n == host ]] && hp=$LAB_BG_PID || gp=$LAB_BG_PID
		lab_retry 10 test -S "/var/run/wireguard/$ifn.sock"
	done
	ip -n "$HNS" addr add "$TH/24" dev "$hif"
	ip -n "$HNS" link set "$hif" up
	ip -n "$VNS" addr add "$TG/24" dev "$gif"
	ip -n "$VNS" link set "$gif" up
	gw_wg host set "$hif" private-key "$LAB_DIR/host.key" listen-port 51830 \
		peer "$(cat "$LAB_DIR/guest.pub")" allowed-ips "$TG/32,$NET"
	gw_wg vm set "$gif" private-key "$LAB_DIR/guest.key" listen-port 51831 \
		peer "$(cat "$LAB_DIR/host.pub")" allowed-ips "$TH/32" \
		endpoint "$LAB_HOST_IP4:51830" persistent-keepalive 25
	ip -n "$HNS" route add "$NET" dev "$hif"
	gw_wait_handshake host "$hif" 15
	measure wggo "$hp" "$gp"
	lab_kill "$hp"
	lab_kill "$gp"
}

for s in "${SETUPS[@]}"; do
	case $s in
	plain) setup_plain ;;
	gangway) setup_gangway gangway ;;
	gangway-plain) setup_gangway gangway-plain GANGWAY_PKTIO=plain ;;
	wggo) [[ -n $WGGO ]] && setup_wggo ;;
	*) echo "bench: unknown setup $s" >&2; exit 2 ;;
	esac
done

# ---- the table
gbit() { awk -v v="${1:-0}" 'BEGIN { printf "%.2f Gbit/s", v / 1e9 }'; }
kpps() { awk -v v="${1:-0}" 'BEGIN { printf "%.0f kpkt/s", v / 1e3 }'; }
usec() { awk -v v="${1:-0}" 'BEGIN { printf "%.0f us", v }'; }
mib() { awk -v v="${1:-0}" 'BEGIN { printf "%.1f MiB", v / 1024 }'; }
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }

has() { [[ " ${SETUPS[*]} " == *" $1 "* && -n ${R[$1.tcp_up]:-} ]]; }
cols=()
for s in plain gangway gangway-plain wggo; do has "$s" && cols+=("$s"); done
ref=''
has wggo && ref=wggo
# added latency: a setup's round trip minus plain routing's
for s in "${cols[@]}"; do
	if has plain && [[ $s != plain ]]; then
		R[$s.added]=$(awk -v a="${R[$s.rtt]}" -v b="${R[plain.rtt]}" 'BEGIN { print a - b }')
	fi
done

table()
{
	local m s line
	printf '%-22s' "measurement"
	for s in "${cols[@]}"; do printf ' %16s' "$s"; done
	[[ -n $ref ]] && printf ' %16s' "gangway/wggo"
	printf '\n'
	for m in tcp_up tcp_down udp_pps rtt added rss; do
		case $m in
		tcp_up) line="TCP host->container"; fmt=gbit ;;
		tcp_down) line="TCP container->host"; fmt=gbit ;;
		udp_pps) line="UDP 64 B received"; fmt=kpps ;;
		rtt) line="ping round trip"; fmt=usec ;;
		added) line="latency added"; fmt=usec ;;
		rss) line="max RSS (either end)"; fmt=mib ;;
		esac
		printf '%-22s' "$line"
		for s in "${cols[@]}"; do
			if [[ -n ${R[$s.$m]:-} ]]; then
				printf ' %16s' "$($fmt "${R[$s.$m]}")"
			else
				printf ' %16s' "-"
			fi
		done
		if [[ -n $ref ]]; then
			case $m in
			added|rtt|rss) printf ' %16s' "$(ratio "${R[gangway.$m]:-0}" "${R[wggo.$m]:-0}")" ;;
			*) printf ' %16s' "$(ratio "${R[gangway.$m]:-0}" "${R[wggo.$m]:-0}")" ;;
			esac
		fi
		printf '\n'
	done
}

mkdir -p "$(dirname "$OUT")"
{
	echo "gangway bench $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, kernel $(uname -r)," \
	     "${SECS}s per measurement"
	[[ -n $WGGO ]] && has wggo && echo "wireguard-go: $("$WGGO" --version | head -1)"
	[[ -n ${R[gangway.mode]:-} ]] && echo "gangway: ${R[gangway.mode]}"
	echo
	table
} | tee "$OUT"

if ((SMOKE)); then
	for s in "${cols[@]}"; do
		for m in tcp_up tcp_down udp_pps rtt; do
			awk -v v="${R[$s.$m]:-0}" 'BEGIN { exit !(v > 0) }' ||
				{ echo "bench smoke: $s $m missing or zero" >&2; exit 1; }
		done
	done
	lab_check "the smoke run produced every number" true
	lab_done
fi
