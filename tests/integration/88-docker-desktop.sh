#!/usr/bin/env bash
# Docker Desktop's way: gangwayd as a container started by the exact
# `docker run` line `gangway init` prints (--net host, all capabilities
# dropped but NET_ADMIN and NET_RAW, no-new-privileges, read-only root,
# Docker's default seccomp profile), on a real engine in the vm namespace.
# The lab has no registry, so the "gangwayd" image is this system's /usr
# (Debian, with iptables) mounted read-only plus the built gangwayd: the
# same programs systemd/Dockerfile installs. Its configuration is 0600 and
# owned by uid 501, as Docker Desktop's file sharing shows a Mac user's
# file. The host reaches a container; inside, gangwayd holds only the
# capabilities it keeps, with no_new_privs. Names are on by default, so the
# line mounts the engine's socket (here the lab engine's, in its place) and
# the host resolves the container by name.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/gw.sh"

lab_init
lab_up
docker_lab_start
docker_lab_run web0
WEB0=$(docker_lab_ip web0)

lab_check "gangway init writes a pair and the docker run line" bash -c \
	"'$GW_GANGWAY' init -d '$LAB_DIR' -e '$LAB_HOST_IP4' -p 51820 -n 10.200.$LAB_OCTET.0/24 >'$LAB_DIR/init.out'"
HOST_IF=gwh$LAB_OCTET GUEST_IF=gwg$LAB_OCTET
printf '\n[Gangway]\nInterface = %s\nStateDirectory = %s/state\n' "$HOST_IF" "$LAB_DIR" \
	>>"$LAB_DIR/gangway.conf"
printf '\n[Gangway]\nInterface = %s\n' "$GUEST_IF" >>"$LAB_DIR/gangwayd.conf"

# The printed command, continuation lines joined.
RUN=$(sed -n '/^ *docker run /,/[^\\]$/p' "$LAB_DIR/init.out" | sed 's/\\$//' | tr -s ' \n' '  ')
echo "# $RUN"
for want in "--net host" "--cap-drop ALL" "--cap-add NET_ADMIN" "--cap-add NET_RAW" \
	"--cap-add DAC_READ_SEARCH" \
	"--device /dev/net/tun" "--security-opt no-new-privileges" "--read-only" \
	"-v $LAB_DIR/gangwayd.conf:/etc/gangway/gangwayd.conf:ro" \
	"--cap-add NET_BIND_SERVICE -v /var/run/docker.sock:/var/run/docker.sock:ro"; do
	lab_check "the line has $want" grep -qF -- "$want" <<<"$RUN"
done
lab_check "it runs the image named gangwayd" grep -q ' gangwayd *$' <<<"$RUN"

# The stand-in image: the usual top-level links into /usr, nothing else.
root=$LAB_DIR/rootfs
mkdir -p "$root"/{etc,run,tmp,proc,sys,dev,usr}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$root/$d"; done
tar -C "$root" -c . | docker_lab import \
	--change 'ENTRYPOINT ["/gangwayd", "-v"]' \
	--change 'CMD ["-c", "/etc/gangway/gangwayd.conf"]' - gangwayd >/dev/null
# As Docker Desktop's file sharing shows it: the Mac user's uid, mode 0600.
chown 501:20 "$LAB_DIR/gangwayd.conf"
chmod 600 "$LAB_DIR/gangwayd.conf"
read -ra ARGS <<<"${RUN#*docker run }"
ARGS=("${ARGS[@]/#\/var\/run\/docker.sock:/$DOCKER_LAB_SOCK:}")
lab_check "the printed docker run starts gangwayd" docker_lab run \
	-v /usr:/usr:ro -v /etc/ld.so.cache:/etc/ld.so.cache:ro -v "$GW_GANGWAYD:/gangwayd:ro" \
	"${ARGS[@]}"
gw_start_host host host "$LAB_DIR/gangway.conf"
HOST_PID=$GW_PID
dlog() { docker_lab logs gangwayd 2>&1; }
running() { [ "$(docker_lab inspect -f '{{.State.Running}}' gangwayd 2>/dev/null)" = true ]; }
lab_check "the guest container runs" running
lab_check "the host agent hears from it" gw_wait_log "$LAB_DIR/host.log" "Handshake with peer" 15
lab_check "the host routes docker0's network" gw_until 10 bash -c \
	"ip -n $(lab_ns host) route show dev $HOST_IF | grep -q '^$DOCKER_LAB_BRIDGE4 '"
lab_check "the host reaches the container by its address" gw_until 10 lab_exec host ping -c 1 -W 1 "$WEB0"
lab_check "...and its unpublished port" lab_body_is "hello from web0" host "http://$WEB0/"

lab_check "...and its name, web0.gangway.internal, from the guest's DNS server" gw_until 10 \
	bash -c "[[ \$(ip netns exec $(lab_ns host) drill -Q @10.200.$LAB_OCTET.2 web0.gangway.internal) == '$WEB0' ]]"

PID=$(docker_lab inspect -f '{{.State.Pid}}' gangwayd)
status_is() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$PID/status" | { read -r v; ((16#$v == $3)) || { echo "$2 $v"; return 1; }; }; }
for k in CapEff CapPrm; do
	lab_check "gangwayd in the container: $k is CAP_NET_ADMIN + CAP_NET_RAW + CAP_NET_BIND_SERVICE" \
		status_is "$PID" "$k" $(((1 << 12) | (1 << 13) | (1 << 10)))
done
# Without CAP_SETPCAP the bounding set keeps what Docker gave; with
# no_new_privs nothing can gain it back.
lab_check "...CapBnd no more than Docker gave it (with DAC_READ_SEARCH)" \
	status_is "$PID" CapBnd $(((1 << 12) | (1 << 13) | (1 << 10) | (1 << 2)))
lab_check "...NoNewPrivs 1" bash -c "grep -qx 'NoNewPrivs:[[:space:]]*1' /proc/$PID/status"
lab_check "...Seccomp filter on (Docker's profile)" bash -c "grep -qx 'Seccomp:[[:space:]]*2' /proc/$PID/status"
failures() { dlog | grep -Ei 'fail|cannot|warning'; }
lab_check "it logged that it dropped privileges" bash -c "grep -q 'Capabilities now 0x3400, no_new_privs set' <<<\"\$1\"" _ "$(dlog)"
lab_check_fail "...and logged no failure nor warning" failures
dlog | tail -n 20 | sed 's/^/# guest: /'
lab_done
