# fw.sh - the firewall tests' lab: a tunnel stand-in and fw_apply (bash library)
#
# Source after lab.sh (and docker.sh when a real engine is used), after
# lab_init + lab_up.  The tunnel is simulated by a veth pair: its vm end is
# named like a tunnel interface, so the rules under test match it exactly as
# they would match the real one.
#
#   host ns                                  vm ns
#   $LAB_RUN-tun  10.201.X.1/24  <-veth->    gwtunX  10.201.X.2/24
#                 ULA:201::1/64                      ULA:201::2/64
#
# Functions:
#   fw_tun_up                 the veth pair; sets FW_TUN FW_SRC4 FW_SRC6
#                             (host addresses = --source) FW_VM4 FW_VM6
#   fw_route SUBNET           host routes SUBNET (IPv4 or IPv6) into the tunnel
#   fw_bridge_arg IF          "IF=ADDR/LEN[,ADDR/LEN]" of IF's global addresses
#                             in vm (ip -j addr), for fw_apply --bridge
#   fw_start [ARGS...]        start fw_apply in vm with --tun and both
#                             --source (unless ARGS has --source, or
#                             FW_NOSRC=1); waits for "ready"; sets FW_PID FW_LOG
#   fw_stop                   TERM it and wait (a clean stop)
#   fw_kill9                  SIGKILL it (a crash)
#   fw_repairs                how many "repaired" lines its log has
#   fw_mechanism              the mechanism it reported
#   fw_snapshot FILE          iptables-save, ip6tables-save (both flavours) and
#                             nft list ruleset of vm, counters and dates
#                             stripped, into FILE
#   fw_count_ours             rules with our comment in vm (iptables-save of
#                             both flavours and families, plus nftables rules
#                             outside our table)
#   fw_count_tables           number of "table inet gangway" in vm
#   fw_within SECS CMD...     CMD must succeed within SECS seconds; prints
#                             how long it took ("in 0.6 s")
#   fw_url ADDR [PATH]        http URL (brackets for IPv6)
#   fw_peer NS URL            the client address a container's CGI saw
#   fw_web NAME [RUN-OPTS...] docker_lab_run NAME: httpd with the page "hello
#                             from NAME" and cgi-bin/peer (REMOTE_ADDR)
#   fw_capture NS IF FILE FILTER
#                             tcpdump into FILE until fw_capture_stop
#   fw_syn_mss FILE FLAGS     the MSS option of the TCP packets in FILE whose
#                             flags are exactly FLAGS ("S" or "S.")
#   fw_legacy_dockerd         make docker_lab_start run dockerd with
#                             iptables-legacy first in its PATH (a wrapper in
#                             $LAB_DIR; the system's alternatives stay as
#                             they are)

FW_APPLY=$(lab_build_dir)/tests/fw_apply

fw_tun_up()
{
	local h=$LAB_HOST_NS v=$LAB_VM_NS x=$LAB_OCTET

	FW_TUN=gwtun$x
	FW_HOST_IF=$LAB_RUN-tun
	FW_SRC4=10.201.$x.1
	FW_VM4=10.201.$x.2
	FW_SRC6=$LAB_ULA48:201::1
	FW_VM6=$LAB_ULA48:201::2
	ip link add name "$FW_HOST_IF" netns "$h" type veth peer name "$FW_TUN" netns "$v"
	ip -n "$h" addr add "$FW_SRC4/24" dev "$FW_HOST_IF"
	ip -n "$h" addr add "$FW_SRC6/64" dev "$FW_HOST_IF" nodad
	ip -n "$v" addr add "$FW_VM4/24" dev "$FW_TUN"
	ip -n "$v" addr add "$FW_VM6/64" dev "$FW_TUN" nodad
	ip -n "$h" link set "$FW_HOST_IF" up
	ip -n "$v" link set "$FW_TUN" up
}

fw_route()
{
	if [[ $1 == *:* ]]; then
		ip -n "$LAB_HOST_NS" -6 route replace "$1" via "$FW_VM6"
	else
		ip -n "$LAB_HOST_NS" route replace "$1" via "$FW_VM4"
	fi
}

fw_bridge_arg()
{
	local addrs

	addrs=$(ip -n "$LAB_VM_NS" -j addr show dev "$1" |
		jq -r '[.[].addr_info[] | select(.scope == "global") | "\(.local)/\(.prefixlen)"] | join(",")')
	[[ -n $addrs ]] || { lab_err "fw_bridge_arg: $1 has no global address"; return 1; }
	printf '%s=%s\n' "$1" "$addrs"
}

fw_start()
{
	local args=(--tun "$FW_TUN") a has_src=0

	for a; do [[ $a == --source ]] && has_src=1; done
	((has_src)) || [[ ${FW_NOSRC:-0} == 1 ]] ||
		args+=(--source "$FW_SRC4/32" --source "$FW_SRC6/128")
	FW_RUNS=$(( ${FW_RUNS:-0} + 1 ))
	FW_LOG=$LAB_DIR/fw_apply.$FW_RUNS.log
	lab_bg vm "$FW_LOG" "$FW_APPLY" "${args[@]}" "$@" >/dev/null
	FW_PID=$LAB_BG_PID
	lab_retry 10 grep -q '^ready ' "$FW_LOG" ||
		{ lab_err "fw_apply did not get ready:"; cat "$FW_LOG" >&2; return 1; }
}

fw_stop()
{
	[[ -n ${FW_PID:-} ]] || return 0
	lab_kill "$FW_PID" TERM 10
	FW_PID=
	grep -q '^stopped' "$FW_LOG" || { lab_err "fw_apply did not stop cleanly"; return 1; }
}

fw_kill9()
{
	[[ -n ${FW_PID:-} ]] || return 0
	# (bash would report the kill when it reaps the job)
	{ lab_kill "$FW_PID" KILL 5; } 2>/dev/null
	FW_PID=
}

fw_repairs() { grep -c '^repaired' "$FW_LOG" || true; }
fw_mechanism() { sed -n 's/^ready mechanism=\([a-z-]*\) .*/\1/p' "$FW_LOG"; }

fw_snapshot()
{
	local f

	{
		for f in iptables-nft-save ip6tables-nft-save iptables-legacy-save ip6tables-legacy-save; do
			echo "## $f"
			lab_exec vm "$f" 2>/dev/null | grep -v '^#' || true
		done
		echo "## nft"
		lab_exec vm nft list ruleset 2>/dev/null
	} | sed -e 's/\[[0-9]*:[0-9]*\]/[0:0]/' -e 's/counter packets [0-9]* bytes [0-9]*/counter/' >"$1"
}

fw_count_ours()
{
	local f n=0 c

	for f in iptables-nft-save ip6tables-nft-save iptables-legacy-save ip6tables-legacy-save; do
		c=$(lab_exec vm "$f" 2>/dev/null | grep -c -- "--comment \"gangway:$FW_TUN\"" || true)
		n=$((n + c))
	done
	c=$(lab_exec vm nft list ruleset 2>/dev/null |
		awk '/^table inet gangway/ { skip = 1 } /^}/ { skip = 0 } !skip' |
		grep -c "comment \"gangway:$FW_TUN\"" || true)
	echo $((n + c))
}

fw_count_tables()
{
	lab_exec vm nft list tables 2>/dev/null | grep -c '^table inet gangway$' || true
}

fw_within()
{
	local secs=$1 t0 t1
	shift

	t0=$(date +%s%N)
	while :; do
		if "$@" >/dev/null 2>&1; then
			t1=$(date +%s%N)
			printf 'in %d.%d s\n' $(( (t1 - t0) / 1000000000 )) $(( (t1 - t0) / 100000000 % 10 ))
			return 0
		fi
		t1=$(date +%s%N)
		(( t1 - t0 < secs * 1000000000 )) || break
		sleep 0.1
	done
	echo "not within $secs s"
	return 1
}

# URL of PATH on ADDR (IPv6 in brackets).
fw_url()
{
	if [[ $1 == *:* ]]; then
		printf 'http://[%s]%s\n' "$1" "${2:-/}"
	else
		printf 'http://%s%s\n' "$1" "${2:-/}"
	fi
}

fw_peer()
{
	local p

	p=$(lab_http "$1" "$2" 3) || return 1
	# busybox httpd listens on IPv6: IPv4 peers come as [::ffff:a.b.c.d].
	p=${p#[}
	p=${p%]}
	printf '%s\n' "${p#::ffff:}"
}

fw_web()
{
	local name=$1
	shift

	# The CGI prints the address the container saw the client come from.
	docker_lab_run "$name" "$@" -- sh -c "mkdir -p /www/cgi-bin &&
		printf '#!/bin/sh\\necho Content-type: text/plain\\necho\\necho \$REMOTE_ADDR\\n' >/www/cgi-bin/peer &&
		chmod 755 /www/cgi-bin/peer && echo 'hello from $name' >/www/index.html &&
		exec httpd -f -p 80 -h /www"
}

fw_capture()
{
	# --immediate-mode: packets reach the file at once, not per
	# 1 s block, so stopping right after the traffic loses none.
	lab_bg "$1" "$3.log" tcpdump --immediate-mode -U -n -i "$2" -w "$3" "$4" >/dev/null
	FW_CAP_PID=$LAB_BG_PID
	lab_retry 5 grep -q "listening on" "$3.log"
}

fw_capture_stop()
{
	[[ -n ${FW_CAP_PID:-} ]] || return 0
	lab_kill "$FW_CAP_PID" INT 5
	FW_CAP_PID=
}

fw_syn_mss()
{
	tcpdump -n -r "$1" 2>/dev/null |
		sed -n "s/.*Flags \[$2\],.*mss \([0-9]*\).*/\1/p" | sort -u
}

fw_legacy_dockerd()
{
	local bin=$LAB_DIR/legacy-bin t

	mkdir -p "$bin"
	for t in iptables ip6tables iptables-save ip6tables-save iptables-restore ip6tables-restore; do
		ln -sf "/usr/sbin/${t/tables/tables-legacy}" "$bin/$t"
	done
	[[ -x /usr/sbin/iptables-legacy && -x /usr/sbin/ip6tables-legacy ]] ||
		{ lab_err "iptables-legacy missing (package iptables)"; return 1; }
	cat >"$bin/dockerd" <<EOF
#!/bin/sh
# dockerd with iptables-legacy first in its PATH.
PATH=$bin:\$PATH
export PATH
exec /usr/sbin/dockerd "\$@"
EOF
	chmod 755 "$bin/dockerd"
	# shellcheck disable=SC2034  # docker.sh starts $DOCKERD
	DOCKERD=$bin/dockerd
}
