#!/usr/bin/env bash
# The VM lab (tests/vm/lib.sh), one boot of a real Debian 12 Docker VM under
# QEMU, reached only through QEMU's user-mode NAT:
# - install as the README says: the .deb (built here by `make deb`), the
#   guest half of `gangway init` at /etc/gangway/gangwayd.conf,
#   `systemctl enable --now gangwayd`, on the stock guest (iptables-nft,
#   where nothing creates /run/xtables.lock), and a start again with the
#   lock the package made removed; the daemon under the shipped
#   unit has the uid, capabilities, NoNewPrivs, seccomp mode and control
#   socket the docs give; `systemd-analyze security` scores it as the
#   README says; its tunnel device, nftables table and iptables rules exist;
# - the host (gangway up beside QEMU) reaches a container on docker0 and
#   one on a user network; a network and a container created afterwards
#   within 3 s of the container's start;
# - the doctor: a DROP inserted in the VM's FORWARD chain is named with its
#   fix by the guest's doctor; the host's doctor sees the probe go into
#   the tunnel and nothing come back, sends the user to the guest's, and
#   names the rule and its fix as gangwayd reported them to the host;
# - the Linux kernel's WireGuard (wg0 in a namespace of the guest,
#   configured with wg(8)) as a second peer of `gangway up`: handshake,
#   ping and HTTP both ways;
# - iptables-legacy: Docker stopped, the alternatives switched, no xtables
#   lock: the unit starts before Docker, its rules are in the legacy tables
#   once Docker's chains exist, the host reaches a new container and the
#   old ones (restart policy);
# - no configuration: the start fails and `systemctl status` names the file;
# - gangway.service too, installed as the README tells a Linux host: it
#   starts under the real systemd, and runs as the gangway user with
#   CAP_NET_ADMIN alone, NoNewPrivs and seccomp, its TUN device made, its
#   exposure the README's.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../vm/lib.sh"

# What the README and docs/debugging.md say about gangwayd under its unit;
# when they change, change these.
WANT_USER=gangway                       # the daemon's user (the .deb creates it; iptables-nft)
# its effective capabilities, exactly: container names are on, DNS on port 53
WANT_CAPS="CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE"
WANT_NNP=1                              # NoNewPrivileges
WANT_SECCOMP=2                          # a SystemCallFilter (seccomp filter mode)
WANT_SOCK="600 root root"               # /run/gangway/gangway0.sock: mode owner group
WANT_EXPOSURE=$(grep -o 'rates both units [0-9.]*[0-9]' README.md | awk '{print $4}')

T_START=$SECONDS
lab_init
vm_init

# The kernel WireGuard peer's keys, known to the host agent from the start.
(umask 077; "$VM_GANGWAY" genkey >"$VM_SHARE/wg.key")
WGPUB=$("$VM_GANGWAY" pubkey <"$VM_SHARE/wg.key")
HOSTPUB=$(sed -n 's/^PrivateKey = //p' "$VM_CONF/gangway.conf" | "$VM_GANGWAY" pubkey)
cat >>"$VM_CONF/gangway.conf" <<EOF

# the Linux kernel's WireGuard, in a namespace of the VM
[Peer]
PublicKey = $WGPUB
AllowedIPs = 10.33.0.3/32

[Gangway]
StateDirectory = $LAB_DIR/state
EOF
vm_host_up
vm_boot
lab_check "dockerd answers in the guest, lab image imported" vm_wait_docker
lab_log "dockerd answered ${VM_BOOT_SECS}+$((SECONDS - VM_T0 - VM_BOOT_SECS))s after QEMU started"

# ---------------------------------------------------------------- the unit
lab_check "stock guest: iptables is iptables-nft and /run/xtables.lock does not exist" \
	vm_run 'update-alternatives --query iptables | grep -x "Value: /usr/sbin/iptables-nft" &&
		! test -e /run/xtables.lock'
t0=$SECONDS
lab_check "the README's install: the .deb offline, the config, systemctl enable --now gangwayd" \
	vm_install_deb
lab_log "install + start took $((SECONDS - t0))s"
lab_check "gangwayd.service is active" \
	vm_run 'systemctl is-active gangwayd || { journalctl -u gangwayd --no-pager | tail -n 30; exit 1; }'
# The package's tmpfiles.d entry made the lock on install; iptables-nft
# never uses it, and the unit must not need it.
lab_check "iptables-nft: gangwayd starts again with /run/xtables.lock removed, and nothing makes it" \
	vm_run 'systemctl stop gangwayd && rm -f /run/xtables.lock && systemctl start gangwayd &&
		systemctl is-active gangwayd && ! test -e /run/xtables.lock ||
		{ journalctl -u gangwayd --no-pager | tail -n 30; exit 1; }'

# The daemon's process status, read in the guest.
STATUS=$(vm_run 'pid=$(systemctl show -p MainPID --value gangwayd)
grep -E "^(Uid|Gid|CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):" /proc/$pid/status
echo "WantUid: $(id -u '"$WANT_USER"')"
stat -c "Sock: %a %U %G" /run/gangway/gangway0.sock' || true)
lab_log "gangwayd's status under the unit:"
printf '%s\n' "$STATUS" | sed 's/^/#   /'
field() { awk -v k="$1:" '$1 == k {print $2; exit}' <<<"$STATUS"; }

want_capmask()
{
	local c n m=0

	for c in $WANT_CAPS; do
		n=$(awk -v c="$c" '$1 == "#define" && $2 == c {print $3}' /usr/include/linux/capability.h)
		[[ -n $n ]] || { echo "unknown capability $c" >&2; return 1; }
		m=$((m | 1 << n))
	done
	printf '%016x\n' "$m"
}
lab_check "uid is $WANT_USER's" vm_is Uid "$(field Uid)" "$(field WantUid)"
lab_check "effective capabilities are exactly $WANT_CAPS" vm_is CapEff "$(field CapEff)" "$(want_capmask)"
lab_check "permitted capabilities are no more" vm_is CapPrm "$(field CapPrm)" "$(want_capmask)"
lab_check "NoNewPrivs is $WANT_NNP" vm_is NoNewPrivs "$(field NoNewPrivs)" "$WANT_NNP"
lab_check "Seccomp is $WANT_SECCOMP" vm_is Seccomp "$(field Seccomp)" "$WANT_SECCOMP"
lab_check "control socket is $WANT_SOCK" vm_is Sock "$(sed -n 's/^Sock: //p' <<<"$STATUS")" "$WANT_SOCK"

SEC=$(vm_run 'systemd-analyze security gangwayd --no-pager' || true)
lab_log "systemd-analyze security gangwayd:"
printf '%s\n' "$SEC" | grep -E '^(✗|→)' | sed 's/^/#   /' || true
EXPOSURE=$(grep -o 'Overall exposure level for gangwayd.service: [0-9.]*' <<<"$SEC" | awk '{print $NF}')
lab_log "exposure $EXPOSURE (README: $WANT_EXPOSURE)"
lab_check "systemd-analyze security rates gangwayd as the README says" \
	vm_is exposure "${EXPOSURE:-none}" "${WANT_EXPOSURE:-no number in README}"

# The sandbox leaves netlink, nftables and the TUN device working.
lab_check "under the unit: gangway0 is a TUN device" vm_run 'ip -d link show gangway0 | grep -qw tun'
lab_check "under the unit: nftables table inet gangway" vm_run 'nft list table inet gangway'
lab_check "under the unit: gangway's iptables-nft rules in DOCKER-USER" \
	vm_run 'iptables-nft -S DOCKER-USER | grep -- "gangway:gangway0"'

# ---------------------------------------------------------------- reaching containers

C1=$(vm_httpd c1 | awk '{print $1}')
vm_run 'docker network create --subnet 172.18.0.0/16 net1 >/dev/null'
C2=$(vm_httpd c2 --network net1 | awk '{print $1}')
lab_log "c1 on docker0 at $C1, c2 on net1 at $C2"
lab_check "the host reaches c1 on docker0 by its IP" vm_until 30 vm_body_is "hello from c1" "$C1"
lab_check "the host reaches c2 on a user network by its IP" vm_until 10 vm_body_is "hello from c2" "$C2"
# The unprivileged daemon still reads the engine (the docker group kept).
lab_check "gangwayd, as $WANT_USER, names both containers (the engine's socket)" \
	vm_until 10 vm_run 'gangway status -j | grep -Eq "\"containers\": [2-9]"'

vm_run 'docker network create --subnet 172.19.0.0/16 net2 >/dev/null'
C3=$(vm_httpd c3 --network net2 | awk '{print $1}')
t0=$(date +%s%N)
ok=0
for ((i = 0; i < 30; i++)); do
	vm_body_is "hello from c3" "$C3" 1 >/dev/null 2>&1 && { ok=1; break; }
	(($(date +%s%N) - t0 > 3000000000)) && break
	sleep 0.1
done
ms=$((($(date +%s%N) - t0) / 1000000))
lab_log "c3 on the new network net2 ($C3): reachable after ${ms} ms"
lab_check "a network and container created afterwards: reachable within 3 s" \
	test "$ok" = 1 -a "$ms" -le 3000

# ---------------------------------------------------------------- kernel WireGuard
# Before the doctor: the host's doctor checks every peer's handshake.
lab_check "kernel WireGuard in the guest: wg0 in a namespace, configured with wg(8)" \
	vm_run "set -e
modprobe wireguard
ip netns add wgt
ip link add wg0 type wireguard
wg set wg0 private-key /lab/wg.key peer $HOSTPUB endpoint 10.0.2.2:51820 \
	allowed-ips 10.33.0.1/32 persistent-keepalive 5
ip link set wg0 netns wgt
ip -n wgt link set lo up
ip -n wgt addr add 10.33.0.3/24 dev wg0
ip -n wgt link set wg0 up
mkdir -p /tmp/wgwww && echo hello from kernel wg >/tmp/wgwww/index.html
ip netns exec wgt setsid busybox httpd -p 10.33.0.3:8080 -h /tmp/wgwww </dev/null >/dev/null 2>&1"
mkdir -p "$LAB_DIR/www" && echo "hello from the host" >"$LAB_DIR/www/index.html"
lab_bg host "$LAB_DIR/httpd.log" busybox httpd -f -p 10.33.0.1:8081 -h "$LAB_DIR/www" >/dev/null
lab_check "kernel WireGuard: the guest pings the host through gangway up" \
	vm_run 'for i in $(seq 20); do ip netns exec wgt busybox ping -c 1 -W 1 10.33.0.1 && exit 0; done; exit 1'
lab_check "kernel WireGuard: handshake seen by wg(8)" \
	vm_run 'ip netns exec wgt wg show wg0 latest-handshakes | awk "\$2 > 0 {ok=1} END {exit !ok}"'
lab_check "kernel WireGuard: the host pings the guest's wg0" \
	vm_until 10 lab_exec host busybox ping -c 1 -W 1 10.33.0.3
lab_check "kernel WireGuard: the host fetches from the guest's wg0" \
	vm_until 5 vm_body_is "hello from kernel wg" 10.33.0.3:8080
lab_check "kernel WireGuard: the guest fetches from the host" \
	vm_run 'ip netns exec wgt timeout 5 busybox wget -q -O - http://10.33.0.1:8081/ | grep -x "hello from the host"'
lab_check "gangwayd's tunnel is undisturbed: the host reaches c1" vm_body_is "hello from c1" "$C1"

# ---------------------------------------------------------------- the doctor
gdoc() { vm_run "gangway doctor -c /etc/gangway/gangwayd.conf $1"; }
hdoc() { lab_exec host "$VM_GANGWAY" doctor -c "$VM_CONF/gangway.conf" "$1"; }
names()	# SIDE PATTERN IP: exit status 1 and a FAIL line matching PATTERN
{
	local out rc=0
	out=$("$1" "$3") || rc=$?
	echo "$out"
	[[ $rc == 1 ]] || { echo "exit status $rc, want 1"; return 1; }
	grep -q -- "^FAIL  .*$2" <<<"$out" || { echo "no FAIL line matching '$2'"; return 1; }
}
healthy() { local out; out=$("$1" "$2") && grep -q '^Healthy' <<<"$out" || { echo "$out"; return 1; }; }

lab_check "the host's doctor: healthy for c2" healthy hdoc "$C2"
vm_run 'iptables -I FORWARD 1 -d 172.18.0.0/16 -j DROP'
lab_check "a DROP in the VM: the guest's doctor names the rule" names gdoc \
	"rule 1 of FORWARD, '-A FORWARD -d 172.18.0.0/16 -j DROP', comes before the jump to DOCKER-USER" "$C2"
OUT=$(gdoc "$C2" || true)
has() { grep -qF -- "$1" <<<"$OUT" || { echo "$OUT"; return 1; }; }
lab_check "...and its fix" has "Fix: delete that rule ('iptables-nft -D FORWARD 1')"
lab_check "...the host's doctor: into the tunnel, nothing came back" names hdoc \
	"went into the tunnel .* but nothing came back" "$C2"
OUT=$(hdoc "$C2" || true)
lab_check "...and sends the user to the guest's doctor, which names the rule" \
	has "Fix: run 'gangway doctor -c /etc/gangway/gangwayd.conf IP' in the VM"
# (one output for both: another peer's packet during the probe turns
# "nothing came back" into "something came back", which names them too)
hdoc_reports() {
	local out rc=0
	out=$(hdoc "$C2") || rc=$?
	[[ $rc == 1 ]] &&
		grep -q -- "^FAIL  The guest reports: Firewall (iptables-nft, IPv4): rule 1 of FORWARD, '-A FORWARD -d 172.18.0.0/16 -j DROP', comes before the jump to DOCKER-USER" <<<"$out" &&
		grep -qF -- "Fix: delete that rule ('iptables-nft -D FORWARD 1')" <<<"$out" ||
		{ echo "$out"; return 1; }
}
lab_check "...and names the rule itself and its fix, as gangwayd reports them to the host" \
	vm_until 10 hdoc_reports
vm_run 'iptables -D FORWARD -d 172.18.0.0/16 -j DROP'
lab_check "the DROP removed: the host reaches c2 again" vm_until 5 vm_body_is "hello from c2" "$C2"

# ---------------------------------------------------------------- iptables-legacy
# As a system whose iptables is iptables-legacy from the start: Docker and
# gangwayd stopped, the alternatives switched, the nftables rules gone (as
# after a boot), no xtables lock. gangwayd starts first, then Docker, whose
# chains it must find when they appear (After=docker.service only orders
# the two when both start together).
lab_check "iptables-legacy: Docker and gangwayd stopped, alternatives switched, no lock" \
	vm_run 'systemctl stop gangwayd docker.socket docker >/dev/null &&
		update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null &&
		update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >/dev/null &&
		nft flush ruleset && rm -f /run/xtables.lock'
lab_check "iptables-legacy: gangwayd starts before Docker, without the lock" \
	vm_run 'systemctl start gangwayd && systemctl is-active gangwayd ||
		{ journalctl -u gangwayd --no-pager | tail -n 30; exit 1; }'
lab_log "/run/xtables.lock: $(vm_run 'ls -l /run/xtables.lock 2>&1')"
t0=$SECONDS
lab_check "iptables-legacy: dockerd answers again" \
	vm_run -t 240 'systemctl start docker && docker info >/dev/null'
lab_log "dockerd answered after $((SECONDS - t0))s"
lab_check "iptables-legacy: gangway's rules in the legacy DOCKER-USER chain" \
	vm_run 'for i in $(seq 100); do iptables-legacy -S DOCKER-USER 2>/dev/null | grep -q gangway:gangway0 && exit 0; sleep 0.2; done
		iptables-legacy -S; journalctl -u gangwayd --no-pager | tail -n 20; exit 1'
lab_check "iptables-legacy: gangwayd is still active" vm_run 'systemctl is-active gangwayd'
C4=$(vm_httpd c4 | awk '{print $1}')
lab_check "iptables-legacy: the host reaches a new container on docker0 ($C4)" \
	vm_until 30 vm_body_is "hello from c4" "$C4"
lab_check "iptables-legacy: c2 (restart policy) is back and reachable" \
	vm_until 30 vm_body_is "hello from c2" "$C2"

# ---------------------------------------------------------------- no configuration
# A start without the configuration fails where the user looks, rather
# than being skipped in silence (AssertPathExists=, not a condition).
lab_check "no configuration: systemctl start gangwayd fails" \
	vm_run 'systemctl stop gangwayd && mv /etc/gangway/gangwayd.conf /etc/gangway/gangwayd.conf.away &&
		! systemctl start gangwayd'
lab_check "...and systemctl status says which file is missing" \
	vm_run 'systemctl status gangwayd --no-pager 2>&1 | grep "AssertPathExists=/etc/gangway/gangwayd.conf was not met"'
lab_check "the configuration back: gangwayd starts" \
	vm_run 'mv /etc/gangway/gangwayd.conf.away /etc/gangway/gangwayd.conf && systemctl start gangwayd'
lab_check "...and the host reaches c2 again" vm_until 30 vm_body_is "hello from c2" "$C2"

# ---------------------------------------------------------------- gangway.service
# The host agent's unit under the same real systemd (a Linux host is a
# stock systemd system too), installed as the README tells a Linux host:
# a pair of its own, on an interface and subnet beside gangwayd's.
"$VM_GANGWAY" init -d "$LAB_DIR/conf2" -e 10.0.2.2 >"$LAB_DIR/init2.log" 2>&1
sed -e 's|^Address = 10\.33\.0\.1/24$|Address = 10.34.0.1/24|' -e 's|^ListenPort = 51820$|ListenPort = 51830|' \
	-e 's|^AllowedIPs = 10\.33\.0\.2/32$|AllowedIPs = 10.34.0.2/32|' \
	"$LAB_DIR/conf2/gangway.conf" >"$VM_SHARE/gangway.conf"
printf '\n[Gangway]\nInterface = gangway1\n' >>"$VM_SHARE/gangway.conf"
lab_check "gangway.service: a host configuration of its own (10.34.0.1, port 51830, gangway1)" \
	grep -qx 'Address = 10.34.0.1/24' "$VM_SHARE/gangway.conf"
lab_check "gangway.service: the README's install for a Linux host, then active" \
	vm_run 'install -D -m 600 /lab/gangway.conf /etc/gangway/gangway.conf && systemctl enable --now gangway &&
		systemctl is-active gangway || { journalctl -u gangway --no-pager | tail -n 30; exit 1; }'
HSTATUS=$(vm_run 'pid=$(systemctl show -p MainPID --value gangway)
grep -E "^(Uid|CapEff|CapPrm|NoNewPrivs|Seccomp):" /proc/$pid/status
echo "WantUid: $(id -u gangway)"' || true)
lab_log "gangway up's status under gangway.service:"
printf '%s\n' "$HSTATUS" | sed 's/^/#   /'
hfield() { awk -v k="$1:" '$1 == k {print $2; exit}' <<<"$HSTATUS"; }
lab_check "gangway.service: uid is gangway's" vm_is Uid "$(hfield Uid)" "$(hfield WantUid)"
lab_check "gangway.service: effective capabilities are exactly CAP_NET_ADMIN" \
	vm_is CapEff "$(hfield CapEff)" "$(WANT_CAPS=CAP_NET_ADMIN want_capmask)"
lab_check "gangway.service: permitted capabilities are no more" \
	vm_is CapPrm "$(hfield CapPrm)" "$(WANT_CAPS=CAP_NET_ADMIN want_capmask)"
lab_check "gangway.service: NoNewPrivs is $WANT_NNP" vm_is NoNewPrivs "$(hfield NoNewPrivs)" "$WANT_NNP"
lab_check "gangway.service: Seccomp is $WANT_SECCOMP" vm_is Seccomp "$(hfield Seccomp)" "$WANT_SECCOMP"
lab_check "gangway.service: gangway1 is a TUN device" vm_run 'ip -d link show gangway1 | grep -qw tun'
lab_check "gangway.service: gangway status -i gangway1 answers" vm_run 'gangway status -i gangway1'
HEXPOSURE=$(vm_run 'systemd-analyze security gangway --no-pager' |
	grep -o 'Overall exposure level for gangway.service: [0-9.]*' | awk '{print $NF}' || true)
lab_log "gangway.service exposure ${HEXPOSURE:-none} (README: $WANT_EXPOSURE)"
lab_check "systemd-analyze security rates gangway as the README says" \
	vm_is exposure "${HEXPOSURE:-none}" "${WANT_EXPOSURE:-no number in README}"
lab_check "gangway.service stops" vm_run 'systemctl disable --now gangway && ! ip link show gangway1 2>/dev/null'
lab_check "gangwayd's tunnel is undisturbed: the host reaches c2" vm_until 10 vm_body_is "hello from c2" "$C2"

vm_shutdown
lab_log "the test took $((SECONDS - T_START))s, the first boot ${VM_BOOT_SECS}s"
lab_done
