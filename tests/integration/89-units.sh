#!/usr/bin/env bash
# The shipped systemd units, checked as far as this machine allows without
# systemd as PID 1 (the VM lab runs them under a real systemd):
#   - systemd-analyze verify passes for both, ExecStart= pointing at the build;
#   - every path the unit's namespace needs (ReadWritePaths= and the like,
#     without '-') exists on a stock system: the API file systems, plus what
#     the package's tmpfiles.d entry creates at boot;
#   - a missing configuration fails the start visibly (AssertPathExists=);
#     Docker is an ordering (After=), never a dependency that would start it;
#   - each daemon runs under its unit's own sandbox (tests/tools/
#     unit-sandbox.sh: a stock /run, ProtectSystem=strict, ReadWritePaths=,
#     the capability bounding set, no_new_privs, the SystemCallFilter=), with
#     Docker's rules in iptables-legacy (the lock from the tmpfiles.d entry)
#     and in iptables-nft (no lock anywhere): both start and route, as an
#     unprivileged user (User=, a user made for the test, standing in for
#     the package's "gangway") with only their capabilities, no_new_privs
#     and their own seccomp filter; the iptables programs they run as that
#     user write their rules;
#   - ControlGroup under that exact system call filter: the socket is made
#     0660 with the group, its directory searchable by the group, and a
#     member's `gangway status -i IFNAME` answers without the configuration.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
cd "$LAB_REPO"
UNITS=${GANGWAY_UNIT_DIR:-$LAB_REPO/systemd}
TMPFILES=$UNITS/gangway.tmpfiles
SANDBOX=$LAB_REPO/tests/tools/unit-sandbox.sh
SYSFILTER=$GW_BUILD/tests/sysfilter
export UNIT_SANDBOX_DIR=$LAB_DIR

value() { awk -v k="$2" '/^\[/ { s = $0 } index($0, k "=") == 1 { print substr($0, length(k) + 2) }' "$1"; }

# -------------------------------------------------------------- static
# A stock system: an empty root as boot leaves it (tmpfiles.d applied).
STOCK=$LAB_DIR/stock
mkdir -p "$STOCK"
[[ ! -f $TMPFILES ]] || systemd-tmpfiles --root="$STOCK" --create "$TMPFILES" >/dev/null 2>&1 || true
needed_paths_exist()	# UNITFILE
{
	local k p bad=0
	for k in ReadWritePaths ReadOnlyPaths InaccessiblePaths ExecPaths NoExecPaths \
		BindPaths BindReadOnlyPaths; do
		for p in $(value "$1" "$k"); do
			[[ $p != -* ]] || continue
			p=${p#+}
			p=${p%%:*}
			case $p in
			/proc/*|/sys/*|/dev/*) [[ -e $p ]] && continue ;;
			*) [[ -e $STOCK$p ]] && continue ;;
			esac
			echo "$k=$p is not there on a stock system: the namespace setup fails (226/NAMESPACE)"
			bad=1
		done
	done
	return $bad
}

mkdir -p "$LAB_DIR/units" "$LAB_DIR/man/man5" "$LAB_DIR/man/man8"
ln -s "$LAB_REPO"/docs/man/*.5 "$LAB_DIR/man/man5/"
ln -s "$LAB_REPO"/docs/man/*.8 "$LAB_DIR/man/man8/"
for u in gangwayd gangway; do
	f=$UNITS/$u.service
	sed -e "s|^ExecStart=/usr/local/sbin/gangwayd|ExecStart=$GW_GANGWAYD|" \
		-e "s|^ExecStart=/usr/local/bin/gangway|ExecStart=$GW_GANGWAY|" "$f" >"$LAB_DIR/units/$u.service"
	lab_check "$u.service: systemd-analyze verify" \
		env MANPATH="$LAB_DIR/man" systemd-analyze verify "$LAB_DIR/units/$u.service"
	lab_check "$u.service: every path its namespace needs exists on a stock system" \
		needed_paths_exist "$f"
	lab_check "$u.service: a missing configuration fails the start (AssertPathExists)" \
		grep -qx "AssertPathExists=/etc/gangway/$u.conf" "$f"
	lab_check_fail "$u.service: no silent skip (ConditionPathExists)" grep -q '^ConditionPathExists=' "$f"
	lab_check_fail "$u.service: never starts Docker (Wants/Requires/BindsTo)" \
		grep -Eq '^(Wants|Requires|Requisite|BindsTo|PartOf)=.*docker' "$f"
done
lab_check "gangwayd.service: ordered after docker.service when both start" \
	grep -Eq '^After=.*docker\.service' "$UNITS/gangwayd.service"
lab_check "the tmpfiles.d entry creates the xtables lock, 0600 root" \
	bash -c "[ \"\$(stat -c '%a %u %g' $STOCK/run/xtables.lock)\" = '600 0 0' ]"

# -------------------------------------------------------------- sandboxed runs
# The daemons' user, and a control group, made for this run.
RUNAS=u${LAB_RUN#gw} CTLGRP=c${LAB_RUN#gw}
useradd --system --user-group --no-create-home --home-dir /nonexistent \
	--shell /usr/sbin/nologin "$RUNAS"
lab_on_cleanup userdel "$RUNAS"
groupadd --system "$CTLGRP"
lab_on_cleanup groupdel "$CTLGRP"
RUNAS_UID=$(id -u "$RUNAS")
CTLGID=$(getent group "$CTLGRP" | cut -d: -f3)

lab_up
gw_pair_up
# The host agent's files go to its RuntimeDirectory, as under the unit.
sed -i '/^StateDirectory/d' "$LAB_DIR/host.conf"
# The lab's bridges stand for Docker's: the firewall opens them.
printf 'Bridges = %s\nControlGroup = %s\n' "${LAB_RUN}b*" "$CTLGRP" >>"$LAB_DIR/guest.conf"
# The host's [Gangway] section comes before its [Peer]: the key goes there.
sed -i "s/^\[Gangway\]\$/[Gangway]\nUser = $RUNAS/" "$LAB_DIR/host.conf"

ipt_flavour()	# legacy|nft: give the vm a DOCKER-USER chain of that flavour only
{
	local f
	for f in legacy nft; do
		lab_exec vm "iptables-$f" -w -F DOCKER-USER 2>/dev/null || true
		lab_exec vm "iptables-$f" -w -X DOCKER-USER 2>/dev/null || true
	done
	lab_exec vm "iptables-$1" -w -N DOCKER-USER
}

sandboxed()	# NS LOG UNIT [--tmpfiles FILE] -- PROGRAM ARGS...
{
	local ns=$1 log=$2 unit=$3
	shift 3
	lab_bg "$ns" "$log" "$SANDBOX" "$LAB_DIR/units/$unit.service" --sysfilter "$SYSFILTER" "$@" >/dev/null
	GW_PID=$LAB_BG_PID
}
status_of()	# PID IFNAME: gangway status through the daemon's own /run
{
	"$GW_GANGWAY" status -s "/proc/$1/root/run/gangway/$2.sock"
}
field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
NET_ADMIN=$((1 << 12)) NET_RAW=$((1 << 13)) NET_BIND_SERVICE=$((1 << 10))
# The guest serves container names (on by default) on DNS port 53.
GUEST_CAPS=$((NET_ADMIN | NET_RAW | NET_BIND_SERVICE))
confined()	# PID UID CAPMASK AMBIENT: that uid, only CAPMASK, no_new_privs, seccomp
{
	local k v ok=0
	grep -q "^Uid:[[:space:]]*$2[[:space:]]*$2[[:space:]]*$2[[:space:]]*$2\$" "/proc/$1/status" ||
		{ grep '^Uid:' "/proc/$1/status"; ok=1; }
	for k in CapEff CapPrm CapBnd; do
		v=$(field "$1" "$k")
		((16#$v == $3)) || { echo "$k is $v, want $(printf '%016x' "$3")"; ok=1; }
	done
	v=$(field "$1" CapAmb)
	((16#$v == $4)) || { echo "CapAmb is $v, want $(printf '%016x' "$4")"; ok=1; }
	[[ $(field "$1" NoNewPrivs) == 1 ]] || { echo "NoNewPrivs $(field "$1" NoNewPrivs)"; ok=1; }
	[[ $(field "$1" Seccomp) == 2 ]] || { echo "Seccomp $(field "$1" Seccomp)"; ok=1; }
	return $ok
}

run_flavour()	# legacy|nft TMPFILES-ARGS...
{
	local fl=$1 hp gp
	shift
	ipt_flavour "$fl"
	sandboxed host "$LAB_DIR/host-$fl.log" gangway -- "$GW_GANGWAY" up -v -c "$LAB_DIR/host.conf"
	hp=$GW_PID
	sandboxed vm "$LAB_DIR/guest-$fl.log" gangwayd "$@" -- "$GW_GANGWAYD" -v -c "$LAB_DIR/guest.conf"
	gp=$GW_PID
	lab_check "$fl: the host agent comes up under gangway.service's sandbox" \
		gw_wait_log "$LAB_DIR/host-$fl.log" "Handshake with peer" 20
	lab_check "$fl: the guest daemon runs under gangwayd.service's sandbox" \
		gw_wait_log "$LAB_DIR/guest-$fl.log" "running" 10
	lab_check "$fl: ...with firewall mechanism iptables-$fl" \
		gw_wait_log "$LAB_DIR/guest-$fl.log" "Firewall mechanism: iptables-$fl" 10
	lab_check "$fl: ...its rules written by iptables-$fl" \
		gw_wait_log "$LAB_DIR/guest-$fl.log" "Firewall: .* [1-9][0-9]* rules (iptables-$fl" 10
	lab_check "$fl: ...and there, in DOCKER-USER" \
		bash -c "ip netns exec $LAB_VM_NS iptables-$fl -w -S DOCKER-USER 2>/dev/null | grep -q gangway:"
	lab_check_fail "$fl: ...no firewall error" grep -Eq "Fatal|Firewall check failed|lock" \
		"$LAB_DIR/guest-$fl.log"
	lab_check "$fl: the host reaches the container through the tunnel" \
		gw_until 10 lab_exec host ping -c 1 -W 1 "$CIP"
	if [[ $fl == nft ]]; then
		lab_check "$fl: guest: user $GUEST_USER by default, only CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE (ambient too), NoNewPrivs 1, Seccomp 2" \
			confined "$gp" "$GUEST_UID" $GUEST_CAPS $GUEST_CAPS
		guser=$GUEST_USER
		# Names are on: the group of the engine's socket (docker) stays, so
		# the unprivileged guest still reads the engine's containers.
		lab_check "$fl: guest: ...in the docker group too, for container names" \
			bash -c "grep '^Groups:' /proc/$gp/status | grep -qw \$(getent group docker | cut -d: -f3)"
	else
		lab_check "$fl: guest: root by default, only CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE, NoNewPrivs 1, Seccomp 2" \
			confined "$gp" 0 $GUEST_CAPS 0
		guser=root
	fi
	lab_check "$fl: host: user $RUNAS, only CAP_NET_ADMIN (ambient too), NoNewPrivs 1, Seccomp 2" \
		confined "$hp" "$RUNAS_UID" $NET_ADMIN $NET_ADMIN
	lab_check "$fl: ControlGroup under the unit's filter: the socket 0660, group $CTLGRP" \
		bash -c "[ \"\$(stat -c '%a %G' /proc/$gp/root/run/gangway/$GUEST_IF.sock)\" = '660 $CTLGRP' ]"
	lab_check "$fl: ...its directory the user's, searchable by the group (0710)" \
		bash -c "[ \"\$(stat -c '%a %U %G' /proc/$gp/root/run/gangway)\" = '710 $guser $CTLGRP' ]"
	lab_check_fail "$fl: ...no error about the control socket" \
		grep -q "Failed to open the control socket" "$LAB_DIR/guest-$fl.log"
	# A member of ControlGroup (not the owner, not root) cannot read the
	# 0600 configuration; -i finds the socket without it.
	lab_check "$fl: a ControlGroup member's gangway status -i IFNAME answers" \
		nsenter -m -t "$gp" -- setpriv --reuid=65534 --regid="$CTLGID" --clear-groups \
		"$GW_GANGWAY" status -i "$GUEST_IF"
	lab_check_fail "$fl: ...where reading the configuration is refused to it" \
		nsenter -m -t "$gp" -- setpriv --reuid=65534 --regid="$CTLGID" --clear-groups \
		"$GW_GANGWAY" status -c "$LAB_DIR/guest.conf"
	lab_check "$fl: gangway status answers from the guest's runtime directory" \
		status_of "$gp" "$GUEST_IF"
	lab_check "$fl: gangway status answers from the host's runtime directory" \
		status_of "$hp" "$HOST_IF"
	lab_kill "$gp"
	lab_kill "$hp"
	lab_check_fail "$fl: the guest stopped cleanly" grep -q "Failed\|error" "$LAB_DIR/guest-$fl.log"
	lab_check "$fl: ...removing its rules (as $guser, by iptables-$fl)" \
		bash -c "! ip netns exec $LAB_VM_NS iptables-$fl -w -S DOCKER-USER 2>/dev/null | grep -q gangway:"
}

# iptables-legacy: the lock is the one boot's tmpfiles.d created.
if [[ -f $TMPFILES ]]; then
	run_flavour legacy --tmpfiles "$TMPFILES"
else
	run_flavour legacy
fi
# iptables-nft: nothing creates the lock, and nothing needs it. With no
# User = the guest runs as the gangway user the package creates (it stays
# root only where iptables-legacy may be in play, as in the run above:
# that lists its tables from a file only root may read).
if ! id gangway >/dev/null 2>&1; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin gangway
	lab_on_cleanup userdel gangway
fi
GUEST_USER=gangway GUEST_UID=$(id -u gangway)
run_flavour nft
lab_check "the nft run had no /run/xtables.lock (a stock /run)" \
	bash -c "! grep -q xtables.lock $LAB_DIR/guest-nft.log"
lab_done
