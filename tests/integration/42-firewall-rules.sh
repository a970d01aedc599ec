#!/usr/bin/env bash
# Integration: the firewall module without a Docker engine.
#
# A lab bridge with one namespace "container" serving HTTP stands for a
# Docker network; the tunnel is a veth whose vm end is named like one.
#
# Part 1 simulates Docker 29's nftables backend as moby writes it: table
# ip docker-bridges with the raw-PREROUTING drops of direct access ("DROP
# DIRECT ACCESS" per container, "SUBNET DROP EXTERNAL" per network) and a
# filter-FORWARD with policy drop whose per-bridge chain accepts the
# bridge-accept-fwmark ("ALLOW FW MARK") before "UNPUBLISHED PORT DROP".
# It shows: Docker drops the host; a mark alone (Docker's documented way)
# still dies in Docker's raw drop; gangway without a mark opens nothing;
# gangway with --fwmark gets through, SNATed, and keeps working when the
# engine rewrites its table, after a crash and restart (no duplicates), and
# leaves the ruleset as it found it.
#
# Part 2: no sources opens nothing; the MSS clamp; bad arguments, unknown
# bridges and missing iptables programs give errors, never a crash.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/lab.sh
. tests/lib/fw.sh

MARK=0x10

lab_init
lab_up
fw_tun_up
NET=$(lab_subnet4 1)
lab_bridge_add br0 "$NET"
BR=$(lab_bridge_if br0)
GW=${NET%.0/24}.1
CIP=${NET%.0/24}.2
lab_container_add c1 br0 "$CIP"
mkdir -p "$LAB_DIR/www/cgi-bin"
echo "hello from c1" >"$LAB_DIR/www/index.html"
# shellcheck disable=SC2016  # $REMOTE_ADDR is for the CGI, not for us
printf '#!/bin/sh\necho Content-type: text/plain\necho\necho "$REMOTE_ADDR"\n' \
	>"$LAB_DIR/www/cgi-bin/peer"
chmod 755 "$LAB_DIR/www/cgi-bin/peer"
lab_bg c1 "$LAB_DIR/httpd.log" busybox httpd -f -p 80 -h "$LAB_DIR/www" >/dev/null
fw_route "$NET"
BRARG=$(fw_bridge_arg "$BR")
lab_log "run $LAB_RUN: tunnel $FW_TUN, bridge $BR $NET, container $CIP"

docker29_table()
{
	# The structure and rule text of moby's nftabler (network.go,
	# endpoint.go), for one bridge with one container.
	cat <<EOF
table ip docker-bridges {
	map filter-forward-in-jumps {
		type ifname : verdict
		elements = { "$BR" : jump filter-forward-in__$BR }
	}
	map filter-forward-out-jumps {
		type ifname : verdict
		elements = { "$BR" : jump filter-forward-out__$BR }
	}
	chain filter-FORWARD {
		type filter hook forward priority filter; policy drop;
		oifname vmap @filter-forward-in-jumps
		iifname vmap @filter-forward-out-jumps
	}
	chain raw-PREROUTING {
		type filter hook prerouting priority raw; policy accept;
		ip daddr $NET iifname != { "$BR", "lo" } counter drop comment "SUBNET DROP EXTERNAL"
		ip daddr $CIP iifname != { "$BR" } counter drop comment "DROP DIRECT ACCESS"
	}
	chain filter-forward-in__$BR {
		ct state established,related counter accept
		meta mark & $MARK == $MARK counter accept comment "ALLOW FW MARK"
		iifname "$BR" counter accept comment "ICC"
		counter drop comment "UNPUBLISHED PORT DROP"
	}
	chain filter-forward-out__$BR {
		ct state established,related counter accept
		counter accept comment "OUTGOING"
	}
}
EOF
}

reach() { lab_body_is "hello from c1" host "http://$CIP/" 2; }
# The negative: one second is plenty in the lab, where pages take milliseconds.
noreach() { lab_body_is "hello from c1" host "http://$CIP/" 1; }
peer_is() { local got; got=$(fw_peer host "http://$CIP/cgi-bin/peer") || return 1
	[[ $got == "$1" ]] || { echo "container saw $got, want $1"; return 1; }; }
ours_first()
{
	local first
	first=$(lab_exec vm nft list chain ip docker-bridges raw-PREROUTING |
		grep -v -e 'type filter' -e '^table' -e 'chain ' -e '}' | head -n 1)
	[[ $first == *accept*"comment \"gangway:$FW_TUN\""* ]] ||
		{ echo "first rule: $first"; return 1; }
}
count_is() { local n; n=$("$2"); [[ $n == "$1" ]] || { echo "$2: $n, want $1"; return 1; }; }
snapshot_same()
{
	fw_snapshot "$LAB_DIR/after"
	diff -u "$LAB_DIR/before" "$LAB_DIR/after"
}
log_has() { grep -q -- "$1" "$FW_LOG" || { echo "not in $FW_LOG: $1"; cat "$FW_LOG"; return 1; }; }

echo "# part 1: Docker 29's nftables backend, simulated"
docker29_table >"$LAB_DIR/docker29.nft"
lab_exec vm nft -f "$LAB_DIR/docker29.nft"
fw_snapshot "$LAB_DIR/before"
lab_check "vm reaches c1 directly (the lab works)" lab_body_is "hello from c1" vm "http://$CIP/"
lab_check_fail "Docker's rules drop host -> c1" noreach

# Docker's documentation: set the mark before its chains. It is not
# enough: the raw drop of direct access does not look at the mark.
lab_exec vm nft -f - <<EOF
table inet marktest {
	chain pre {
		type filter hook prerouting priority -301; policy accept;
		iifname "$FW_TUN" meta mark set meta mark | $MARK
	}
}
EOF
lab_check_fail "a mark alone still dies in Docker's raw drop" noreach
lab_exec vm nft delete table inet marktest

fw_start --mode nftables --bridge "$BRARG"
lab_check "without --fwmark: mechanism nftables" count_is nftables fw_mechanism
lab_check "without --fwmark: the log says a mark is needed" log_has "firewall mark"
lab_check_fail "without --fwmark: host still cannot reach c1" noreach
lab_check "without --fwmark: no rule of ours in Docker's table" count_is 0 fw_count_ours
fw_stop

fw_start --mode nftables --fwmark "$MARK" --bridge "$BRARG"
lab_check "with --fwmark: host fetches c1's page" lab_retry 2 reach
lab_check "with --fwmark: host pings c1" lab_ping host "$CIP"
lab_check "SNAT: c1 sees the bridge's gateway $GW" peer_is "$GW"
lab_check "our accept is first in Docker's raw-PREROUTING" ours_first
lab_check "one rule of ours in Docker's table" count_is 1 fw_count_ours
mark_chain()
{
	local c
	c=$(lab_exec vm nft list chain inet gangway prerouting)
	if ! grep -Eq 'type filter hook prerouting priority (-301|raw - 1);' <<<"$c" ||
	   ! grep -q "iifname \"$FW_TUN\" ip saddr $FW_SRC4 ip daddr $NET meta mark set meta mark | 0x00000010" <<<"$c"; then
		echo "$c"
		return 1
	fi
}
lab_check "the mark is set before Docker's raw chain (priority -301)" mark_chain

# The engine restarts: it deletes its table and writes it again.
lab_exec vm nft delete table ip docker-bridges
lab_exec vm nft -f "$LAB_DIR/docker29.nft"
lab_check "Docker rewrote its table: reachable again $(fw_within 2 reach || true)" reach
lab_check "... by a repair (fw_apply printed 'repaired')" lab_retry 2 bash -c "grep -q '^repaired' $FW_LOG"
lab_check "... and our accept is first again" ours_first
lab_exec vm nft delete table inet gangway
lab_check "our table deleted: back $(fw_within 2 bash -c "ip netns exec $LAB_VM_NS nft list table inet gangway" || true)" \
	lab_exec vm nft list table inet gangway
lab_check "... and reachable" lab_retry 2 reach
lab_check "... with SNAT" peer_is "$GW"
fw_stop

fw_start --fwmark "$MARK" --bridge "$BRARG"
lab_check "auto mode finds the nftables backend" count_is nftables fw_mechanism
lab_check "auto mode: host fetches c1's page" lab_retry 2 reach
fw_kill9
lab_check "killed with -9: its rules stay (one in Docker's table)" count_is 1 fw_count_ours
fw_start --fwmark "$MARK" --bridge "$BRARG"
lab_check "restarted: the log reports the leftovers it removed" log_has "earlier run left"
lab_check "restarted: still one rule of ours in Docker's table" count_is 1 fw_count_ours
lab_check "restarted: one table inet gangway" count_is 1 fw_count_tables
lab_check "restarted: host fetches c1's page" lab_retry 2 reach
fw_stop
lab_check "after a clean stop the ruleset is as before (diff)" snapshot_same
lab_check_fail "after a clean stop host cannot reach c1" noreach

echo "# part 2: no sources, MSS clamp, bad input"
FW_NOSRC=1 fw_start --mode nftables --fwmark "$MARK" --bridge "$BRARG"
lab_check "no sources: the log says nothing is opened" log_has "opens nothing"
lab_check_fail "no sources: host cannot reach c1" noreach
lab_check "no sources: no rule of ours in Docker's table" count_is 0 fw_count_ours
lab_check_fail "no sources: no SNAT or mark rule in our table" \
	bash -c "ip netns exec $LAB_VM_NS nft list table inet gangway | grep -E 'snat|mark set'"
fw_stop

# Without Docker's table the path is open; the tunnel's MTU is 1300 on
# the vm side, 1500 on the host side (a host that got its MTU wrong).
lab_exec vm nft delete table ip docker-bridges
ip -n "$LAB_VM_NS" link set "$FW_TUN" mtu 1300
mss_seen() # EXPECT-SYN EXPECT-SYNACK
{
	local syn ack
	fw_capture vm "$BR" "$LAB_DIR/br.pcap" "tcp port 80 and tcp[tcpflags] & tcp-syn != 0"
	local vm_cap=$FW_CAP_PID
	fw_capture host "$FW_HOST_IF" "$LAB_DIR/tun.pcap" "tcp port 80 and tcp[tcpflags] & tcp-syn != 0"
	reach >/dev/null || { echo "no page"; return 1; }
	sleep 0.3
	fw_capture_stop
	FW_CAP_PID=$vm_cap fw_capture_stop
	syn=$(fw_syn_mss "$LAB_DIR/br.pcap" S)
	ack=$(fw_syn_mss "$LAB_DIR/tun.pcap" S.)
	echo "SYN at the container: mss $syn; SYN-ACK at the host: mss $ack"
	[[ $syn == "$1" && $ack == "$2" ]]
}
lab_check "no gangway: MSS 1460 both ways (the control)" mss_seen 1460 1460
fw_start --mtu 1300 --bridge "$BRARG"
lab_check "mechanism none without Docker" count_is none fw_mechanism
lab_check "MSS clamp: SYN in 1260 (--mtu 1300), SYN-ACK out 1260 (route MTU)" mss_seen 1260 1260
fw_stop
ip -n "$LAB_VM_NS" link set "$FW_TUN" mtu 1500

exit_is() # WANT CMD...
{
	local want=$1 rc=0
	shift
	lab_exec vm "$@" >"$LAB_DIR/bad.out" 2>&1 || rc=$?
	[[ $rc == "$want" ]] || { echo "exit $rc, want $want"; cat "$LAB_DIR/bad.out"; return 1; }
}
lab_check "no arguments: usage, exit 2" exit_is 2 "$FW_APPLY"
lab_check "bad --source: exit 2" exit_is 2 "$FW_APPLY" --tun "$FW_TUN" --source 10.0.0.300/32
lab_check "bad --bridge (no '='): exit 2" exit_is 2 "$FW_APPLY" --tun "$FW_TUN" --bridge "$BR"
lab_check "bad --bridge address: exit 2" exit_is 2 "$FW_APPLY" --tun "$FW_TUN" --bridge "$BR=nonsense"
lab_check "bad --mode: exit 2" exit_is 2 "$FW_APPLY" --tun "$FW_TUN" --mode bogus
lab_check "bad --fwmark: exit 2" exit_is 2 "$FW_APPLY" --tun "$FW_TUN" --fwmark 0xz
lab_check "a tunnel name iptables cannot take: EINVAL, exit 1" \
	exit_is 1 "$FW_APPLY" --tun 'tun+' --source "$FW_SRC4/32"
lab_check "... and it says why" grep -q "Invalid argument" "$LAB_DIR/bad.out"
lab_check "iptables programs missing: exit 1" \
	exit_is 1 env PATH=/nonexistent "$FW_APPLY" --tun "$FW_TUN" --source "$FW_SRC4/32" \
	--mode iptables-nft --bridge "$BRARG"
lab_check "... with a clear error (ENOENT)" \
	bash -c "grep -q 'iptables-nft-save/-restore are not installed' $LAB_DIR/bad.out &&
		grep -q 'No such file or directory' $LAB_DIR/bad.out"
fw_start --bridge "nosuch$LAB_OCTET=10.99.$LAB_OCTET.1/24" --bridge 'br+x=10.98.0.1/24' \
	--bridge "$BRARG"
lab_check "unknown and unusable bridge names: runs" kill -0 "$FW_PID"
lab_check "... and opens what it can: SNAT for nosuch$LAB_OCTET and $BR, none for br+x" \
	bash -c "ip netns exec $LAB_VM_NS nft list chain inet gangway postrouting | grep -c snat | grep -qx 2"
fw_stop
lab_check "... and stops cleanly" log_has "^stopped"
lab_check "nothing of ours is left" count_is 0 fw_count_ours
lab_check "no table inet gangway is left" count_is 0 fw_count_tables
lab_done
