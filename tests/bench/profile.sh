#!/usr/bin/env bash
# profile.sh - where gangway's time goes while one TCP stream crosses the tunnel
#
#   tests/bench/profile.sh [--seconds N] [--reverse] [--plain] [--out DIR]
#
# Builds the bench's lab (host agent, guest daemon, container c1 with an
# iperf3 server), sends one TCP stream host -> c1 (--reverse: c1 -> host)
# and records both daemons with perf (DWARF call graphs). Prints, for
# each, the share of its samples under the functions that make up the
# data path, and leaves perf.host.data and perf.guest.data in --out
# (default $BUILD/bench) for `perf report -i`. --plain profiles the
# fallback (GANGWAY_PKTIO=plain) instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/lab.sh
. tests/lib/gw.sh

SECS=8
REV=()
MODE=''
OUTDIR=''
while [[ $# -gt 0 ]]; do
	case $1 in
	--seconds) SECS=$2; shift ;;
	--reverse) REV=(-R) ;;
	--plain) MODE=plain ;;
	--out) OUTDIR=$2; shift ;;
	*) echo "usage: $0 [--seconds N] [--reverse] [--plain] [--out DIR]" >&2; exit 2 ;;
	esac
	shift
done
command -v perf >/dev/null || { echo "profile: perf is missing (linux-perf)" >&2; exit 1; }
[[ -n $OUTDIR ]] || OUTDIR=$(lab_build_dir)/bench
mkdir -p "$OUTDIR"

lab_init
lab_up
gw_pair_up
GW_ENV=${MODE:+GANGWAY_PKTIO=$MODE}
gw_pair_start
lab_bg c1 "$LAB_DIR/iperf3.log" iperf3 -s >/dev/null
lab_retry 5 bash -c "ip netns exec $(lab_ns c1) ss -ltn | grep -q ':5201 '"
lab_retry 10 ip netns exec "$(lab_ns host)" ping -c 1 -W 1 "$CIP" >/dev/null

rec=()
for who in host guest; do
	pid=$HOST_PID
	[[ $who == guest ]] && pid=$GUEST_PID
	perf record -q --call-graph dwarf,16384 -F 1999 -p "$pid" -o "$OUTDIR/perf.$who.data" \
		-- sleep $((SECS - 2)) >/dev/null 2>&1 &
	rec+=($!)
done
ip netns exec "$(lab_ns host)" iperf3 -c "$CIP" -t "$SECS" "${REV[@]}" -J >"$LAB_DIR/iperf.json"
for p in "${rec[@]}"; do
	while kill -0 "$p" 2>/dev/null; do sleep 0.2; done
done
echo "TCP $(jq -r '.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100' "$LAB_DIR/iperf.json") Gbit/s" \
	"${REV[*]:+container -> host}${REV[*]:-host -> container}, $(grep -o 'packet I/O .*' "$LAB_DIR/host.log")"

# Share of each daemon's samples spent under these functions (callees included).
FUNCS='tunnel_on_tun|tunnel_on_udp|wg_device_tx|wg_device_rx|crypto_aead_seal96|crypto_aead_open96|EVP_EncryptUpdate|EVP_DecryptUpdate|EVP_CipherInit_ex|EVP_EncryptFinal_ex|EVP_DecryptFinal_ex|EVP_CIPHER_CTX_ctrl|gso_split_next|gso_merge_add|gso_merge_flush|csum_partial|pktio_fast_tun_read_batch|pktio_fast_udp_recv_batch|pktio_send_all|pktio_tun_writev|__GI___libc_read|__GI___writev|__GI___sendmmsg|__recvmmsg|epoll_wait|tunnel_schedule|read|write|sendto|recvfrom|pktio_plain_tun_read|pktio_plain_tun_write|pktio_plain_udp_send|pktio_plain_udp_recv'
for who in host guest; do
	echo
	echo "== $who: share of samples under each function (self + callees)"
	perf report -i "$OUTDIR/perf.$who.data" --children --stdio --sort symbol -g none 2>/dev/null |
		awk -v re="^($FUNCS)\$" '$1 ~ /%$/ && $3 == "[.]" {
			name = $4; for (i = 5; i <= NF; i++) if ($i != "-") name = name " " $i
			sub(/ \(inlined\)$/, "", name)
			if (name ~ re && !seen[name]++) printf "  %7s  %s\n", $1, name }'
	echo "  (kernel share: $(perf report -i "$OUTDIR/perf.$who.data" --no-children --stdio \
		--sort dso -g none 2>/dev/null | awk '/kernel/ {print $1}'))"
done
