#!/usr/bin/env bash
# Help texts and version flags say what the programs do.
#
#   1. -V prints the version whatever other options come with it, as the
#      help says, for gangwayd and gangway up
#   2. gangway reload --help names every key a reload refuses to change:
#      each one is changed in a running daemon's file, the reload is
#      refused, and the help text lists it
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/lab.sh
. tests/lib/gw.sh

lab_init
trap lab_cleanup EXIT
V=$(sed -n 's/^VERSION[[:space:]]*:= *//p' Makefile)
lab_check "gangwayd -v -V prints the version" bash -c "[[ \$('$GW_GANGWAYD' -v -V) == 'gangwayd $V' ]]"
lab_check "gangwayd -V -c FILE prints the version" bash -c \
	"[[ \$('$GW_GANGWAYD' -V -c /nonexistent) == 'gangwayd $V' ]]"
lab_check "gangway up -v --version prints the version" bash -c \
	"[[ \$('$GW_GANGWAY' up -v --version) == 'gangway $V' ]]"

help=$("$GW_GANGWAY" reload --help | tr -s ' \n' '  ')
lab_ns_add h
gw_keypair host
gw_keypair other
IF=gwc$LAB_OCTET
gw_host_conf host 10.202.0.1/24 "$IF"
cp "$LAB_DIR/host.conf" "$LAB_DIR/orig.conf"
gw_start_host h host "$LAB_DIR/host.conf"
lab_check "the agent runs" gw_wait_log "$LAB_DIR/host.log" "running" 10
SOCK=$LAB_DIR/state/$IF.sock
# Each key, and a line that changes it in [Interface] or [Gangway].
declare -A change=(
	[PrivateKey]="s|^PrivateKey = .*|PrivateKey = $(cat "$LAB_DIR/other.key")|"
	[ListenPort]="s|^ListenPort = .*|ListenPort = 51821|"
	[MTU]="s|^\\[Interface\\]|[Interface]\\nMTU = 1300|"
	[Interface]="s|^Interface = .*|Interface = gwx$LAB_OCTET|"
	[PacketIO]="s|^\\[Gangway\\]|[Gangway]\\nPacketIO = plain|"
	[CryptoWorkers]="s|^\\[Gangway\\]|[Gangway]\\nCryptoWorkers = 1|"
)
for key in "${!change[@]}"; do
	sed -e "${change[$key]}" "$LAB_DIR/orig.conf" >"$LAB_DIR/host.conf"
	lab_check "changing $key: the reload is refused as restart-only" bash -c \
		"! '$GW_GANGWAY' reload --socket '$SOCK' >'$LAB_DIR/r.out' 2>&1 &&
		 grep -q 'change only on restart' '$LAB_DIR/r.out'"
	lab_check "gangway reload --help names $key" grep -q "\\b$key\\b" <<<"$help"
done
cp "$LAB_DIR/orig.conf" "$LAB_DIR/host.conf"
lab_check "the unchanged file reloads" "$GW_GANGWAY" reload --socket "$SOCK"
lab_done
