#!/usr/bin/env bash
# NAT between host and VM: the guest reaches the host through a router
# namespace that masquerades with a 2 s UDP conntrack timeout. When the
# mapping expires (the path is cut for longer than the timeout) and when the
# guest's public source port changes (new masquerade port range), traffic
# from the host to the container resumes by itself once the guest's next
# keepalive arrives (PersistentKeepalive = 1 here), and the host follows
# the guest's new endpoint.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"
. "$(dirname "$0")/../lib/fault.sh"

lab_init
lab_up
fault_pair_up_ka

# host (10.206.X.1) -- (10.206.X.2) nat (10.207.X.1) -- (10.207.X.2) vm
lab_ns_add nat
H=$(lab_ns host) N=$(lab_ns nat) V=$(lab_ns vm)
ip link add name "$LAB_RUN-n1" netns "$H" type veth peer name toh netns "$N"
ip link add name "$LAB_RUN-n2" netns "$V" type veth peer name tov netns "$N"
ip -n "$H" addr add "10.206.$LAB_OCTET.1/24" dev "$LAB_RUN-n1"
ip -n "$N" addr add "10.206.$LAB_OCTET.2/24" dev toh
ip -n "$N" addr add "10.207.$LAB_OCTET.1/24" dev tov
ip -n "$V" addr add "10.207.$LAB_OCTET.2/24" dev "$LAB_RUN-n2"
ip -n "$H" link set "$LAB_RUN-n1" up
ip -n "$V" link set "$LAB_RUN-n2" up
ip -n "$N" link set toh up
ip -n "$N" link set tov up
ip -n "$V" route add "10.206.$LAB_OCTET.0/24" via "10.207.$LAB_OCTET.1"
ip netns exec "$N" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$N" nft -f - <<NFT
table ip gwnat {
	chain post {
		type nat hook postrouting priority 100;
		oifname "toh" masquerade
	}
	chain cut {	# ahead of conntrack, so a cut does not refresh the mapping
		type filter hook prerouting priority -300;
	}
}
NFT
# Now that conntrack is in use in the nat namespace, shorten its timeouts.
ip netns exec "$N" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=2 \
	net.netfilter.nf_conntrack_udp_timeout_stream=2
sed -i "s/^Endpoint = .*/Endpoint = 10.206.$LAB_OCTET.1:51820/" "$LAB_DIR/guest.conf"

gw_pair_start
fault_baseline "$HOST_PID" "$GUEST_PID"
endpoint() { fault_status host "$LAB_DIR/host.conf" | jq -r '.peers[0].endpoint'; }
lab_check "tunnel works through the NAT" lab_exec host ping -c 2 -i 0.2 -W 2 "$CIP"
EP0=$(endpoint)
echo "# host sees the guest at $EP0"
lab_check "the host sees the guest at the NAT's address" \
	test "${EP0%:*}" = "10.206.$LAB_OCTET.2"

cut_path()	# SECS: drop everything reaching the nat for SECS seconds
{
	ip netns exec "$N" nft add rule ip gwnat cut meta l4proto udp drop
	sleep "$1"
	ip netns exec "$N" nft flush chain ip gwnat cut
}

# 1. The mapping expires (path cut for 2x the timeout).
cut_path 4
lab_check "no mapping left after the cut" \
	bash -c "[ \$(ip netns exec $N conntrack -L -p udp 2>/dev/null | wc -l) -eq 0 ]"
T0=$SECONDS
lab_check "traffic resumes within 10 s after the mapping expired" \
	gw_until 10 lab_exec host ping -c 1 -W 1 "$CIP"
echo "# resumed after $((SECONDS - T0)) s"

# 2. The guest's public source port changes.
ip netns exec "$N" nft flush chain ip gwnat post
ip netns exec "$N" nft add rule ip gwnat post oifname toh meta l4proto udp masquerade to :40000-40999
cut_path 4
T0=$SECONDS
lab_check "traffic resumes within 10 s after the source port changed" \
	gw_until 10 lab_exec host ping -c 1 -W 1 "$CIP"
echo "# resumed after $((SECONDS - T0)) s"
EP1=$(endpoint)
echo "# host now sees the guest at $EP1"
lab_check "the host follows the guest's new port (4xxxx)" \
	bash -c "p=${EP1##*:}; [ \$p -ge 40000 ] && [ \$p -le 40999 ]"
lab_check "a transfer through the new mapping is intact" \
	gw_transfer host c1 "$CIP" 5001 10
fault_stable 4 4096 "$HOST_PID" "$GUEST_PID"
lab_done
