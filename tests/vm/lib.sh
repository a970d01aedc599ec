# lib.sh - the VM lab: a Debian 12 Docker VM under QEMU (bash library, after lab.sh)
#
# The VM is what a user's Docker VM is: its own kernel, systemd and dockerd,
# reached only through the hypervisor's user-mode NAT. QEMU runs in a
# network namespace of the run's own (lab name "host", loopback only), so
# the guest (10.0.2.15) reaches that namespace's loopback as 10.0.2.2, over
# UDP too, the way Docker Desktop's VM reaches the Mac as
# host.docker.internal; the host agent runs in the same namespace. The disk
# is the cached image of tests/vm/image.sh, booted with snapshot=on: every
# QEMU process starts from the clean image, while a reboot inside one
# process keeps what the guest wrote (a VM powered off and on again).
#
# Files go in and out through a 9p share ($VM_SHARE, /lab in the guest).
# The guest's lab-agent runs each command file dropped in cmd/ and writes
# its output and exit status next to it; vm_run is the host's side of that.
# QEMU's monitor (QMP) pauses, resumes and stops the whole VM.
#
# Functions:
#   vm_init             image (built if missing), namespace "host", share;
#                       QEMU, the namespace and the share go with lab cleanup
#   vm_boot             start QEMU and wait (VM_BOOT_TIMEOUT, 240 s) for the
#                       agent to announce the boot; sets VM_PID,
#                       VM_BOOT_SECS and VM_T0 ($SECONDS at QEMU's start)
#   vm_run [-t SECS] SCRIPT
#                       run SCRIPT (bash) in the guest as root, print its
#                       output, return its exit status (SECS: 120)
#   vm_reboot           `systemctl reboot` in the guest (QEMU resets and keeps
#                       the disk's changes), without waiting
#   vm_poweroff         `systemctl poweroff` in the guest; QEMU stays, stopped
#                       (-no-shutdown), until vm_power_on
#   vm_power_on         boot a powered-off VM again (QMP system_reset, which
#                       leaves it in "prelaunch", then cont)
#   vm_wait_reboot SECS wait for a boot other than the last one seen
#   vm_qmp CMD          one QMP command (stop, cont, quit, system_reset, ...),
#                       print the reply
#   vm_state_is STATE   QEMU's run state (query-status) is STATE
#   vm_shutdown         quit QEMU (QMP, then by PID)
#   vm_install_deb      install $VM_DEB and the guest half of `gangway init`
#                       with the README's own commands (vm_readme_install),
#                       run in the share, which holds build/gangway_*.deb
#                       and gangwayd.conf: apt-get install the package,
#                       the config to /etc/gangway/gangwayd.conf,
#                       systemctl enable --now gangwayd
#   vm_host_up          `gangway up` with the host half in the namespace;
#                       sets VM_HOST_PID
#   vm_wait_docker      wait until dockerd in the guest answers, import the
#                       busybox image (lab:busybox) built from busybox-static
#   vm_http URL [SECS]  fetch URL from the host namespace
#
# Variables: VM_IMAGE (directory of the image), VM_SHARE, VM_DEB (the .deb,
# built by vm_init with `make deb` on this side: the guest is the same
# Debian 12, so it is the package the README has a user build in the VM),
# VM_CONF (gangway init's directory), VM_NS (the namespace's name).
# Environment: VM_MEM (MiB, 1024), VM_CPUS (2), VM_BOOT_TIMEOUT.

VM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_MEM=${VM_MEM:-1024}
VM_CPUS=${VM_CPUS:-2}
VM_BOOT_TIMEOUT=${VM_BOOT_TIMEOUT:-240}
VM_GANGWAY=$(lab_build_dir)/gangway

vm_init()
{
	local b

	b=$(lab_build_dir)
	for t in qemu-system-x86_64 debootstrap mkfs.ext4; do
		command -v "$t" >/dev/null ||
			{ lab_err "$t missing (tests/deps.sh installs it)"; return 1; }
	done
	VM_IMAGE=$("$VM_LIB_DIR/image.sh") || { lab_err "no guest image"; return 1; }
	# The package of this tree's build, as `make deb` makes it.
	make -s --no-print-directory -C "$LAB_REPO" BUILD="$b" deb >"$LAB_DIR/deb.log" 2>&1 ||
		{ cat "$LAB_DIR/deb.log" >&2; return 1; }
	VM_DEB=$(ls "$b"/gangway_*_"$(dpkg --print-architecture)".deb 2>/dev/null | tail -n 1)
	[[ -s $VM_DEB ]] || { lab_err "no .deb in $b (make deb)"; return 1; }
	VM_SHARE=$LAB_DIR/share
	mkdir -p "$VM_SHARE/cmd" "$VM_SHARE/boots"
	chmod 755 "$LAB_DIR" "$VM_SHARE"
	# Where the README's commands look for it: ./build, beside gangwayd.conf.
	mkdir -p "$VM_SHARE/build"
	cp "$VM_DEB" "$VM_SHARE/build/"
	lab_ns_add host
	VM_NS=$(lab_ns host)
	VM_CONF=$LAB_DIR/conf
	mkdir -p "$VM_CONF"
	"$VM_GANGWAY" init -d "$VM_CONF" -e 10.0.2.2 >"$LAB_DIR/init.log" 2>&1 ||
		{ cat "$LAB_DIR/init.log" >&2; return 1; }
	cp "$VM_CONF/gangwayd.conf" "$VM_SHARE/gangwayd.conf"
}

# How the kernel is booted: the uncompressed one when the image has it.
_vm_kernel()
{
	if [[ -s $VM_IMAGE/vmlinux ]]; then
		echo "$VM_IMAGE/vmlinux"
	else
		echo "$VM_IMAGE/vmlinuz"
	fi
}

vm_boot()
{
	local accel=tcg cpu=max t0=$SECONDS i n

	# KVM only where the CPU really offers it (a nested guest may not).
	if [[ -w /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
		accel=kvm cpu=host
	fi
	n=$(ls "$VM_SHARE/boots" | wc -l)
	VM_QMP=$LAB_DIR/qmp.sock
	rm -f "$VM_QMP"
	lab_bg host "$LAB_DIR/qemu.log" qemu-system-x86_64 \
		-machine q35,accel=$accel -cpu $cpu -smp "$VM_CPUS" -m "$VM_MEM" \
		-nodefaults -display none -no-user-config \
		-serial "file:$LAB_DIR/console.log" \
		-kernel "$(_vm_kernel)" -initrd "$VM_IMAGE/initrd.img" \
		-append "root=/dev/vda rw console=ttyS0 quiet apparmor=0 panic=-1 systemd.show_status=1" \
		-drive "file=$VM_IMAGE/root.img,format=raw,if=virtio,snapshot=on,cache=unsafe" \
		-netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
		-virtfs "local,path=$VM_SHARE,mount_tag=lab,security_model=none" \
		-qmp "unix:$VM_QMP,server=on,wait=off" -no-shutdown >/dev/null
	VM_PID=$LAB_BG_PID
	VM_T0=$t0
	for ((i = 0; i < VM_BOOT_TIMEOUT * 5; i++)); do
		(($(ls "$VM_SHARE/boots" | wc -l) > n)) && break
		_lab_alive "$VM_PID" || { lab_err "qemu exited"; tail -n 20 "$LAB_DIR/qemu.log" >&2; return 1; }
		sleep 0.2
	done
	if (($(ls "$VM_SHARE/boots" | wc -l) <= n)); then
		lab_err "no boot within ${VM_BOOT_TIMEOUT}s; console:"
		tail -n 30 "$LAB_DIR/console.log" >&2
		return 1
	fi
	VM_BOOT_SECS=$((SECONDS - t0))
	VM_BOOTS=$(ls "$VM_SHARE/boots" | wc -l)
	lab_log "VM booted (agent up) in ${VM_BOOT_SECS}s, $accel"
}

# Wait for the agent to announce one more boot than vm_boot saw (a reboot).
vm_wait_reboot()
{
	local secs=$1 i

	for ((i = 0; i < secs * 5; i++)); do
		(($(ls "$VM_SHARE/boots" | wc -l) > VM_BOOTS)) && break
		sleep 0.2
	done
	(($(ls "$VM_SHARE/boots" | wc -l) > VM_BOOTS)) || { lab_err "no new boot within ${secs}s"; return 1; }
	VM_BOOTS=$(ls "$VM_SHARE/boots" | wc -l)
}

vm_run()
{
	local secs=120 f i rc

	if [[ $1 == -t ]]; then
		secs=$2
		shift 2
	fi
	# Named by the clock: vm_run may run in a subshell (lab_check), where
	# a counter would not advance for the next call.
	f=$VM_SHARE/cmd/$(date +%s%N)$BASHPID
	printf '%s\n' "$1" >"$f.tmp"
	mv "$f.tmp" "$f.sh"
	for ((i = 0; i < secs * 10; i++)); do
		[[ -e $f.rc ]] && break
		sleep 0.1
	done
	if [[ ! -e $f.rc ]]; then
		echo "vm_run: no result within ${secs}s for: $1"
		return 124
	fi
	cat "$f.out"
	rc=$(cat "$f.rc")
	return "$rc"
}

vm_reboot()
{
	vm_run -t 30 'setsid sh -c "sleep 0.5; systemctl reboot" </dev/null >/dev/null 2>&1 &'
}

vm_poweroff()
{
	vm_run -t 30 'setsid sh -c "sleep 0.5; systemctl poweroff" </dev/null >/dev/null 2>&1 &'
}

vm_power_on()
{
	vm_qmp system_reset && vm_qmp cont
}

vm_qmp()
{
	python3 - "$VM_QMP" "$1" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
f = s.makefile("rw")
def reply():
    while True:
        m = json.loads(f.readline())
        if "event" not in m:
            return m
f.readline()  # greeting
f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n"); f.flush()
reply()
f.write(json.dumps({"execute": sys.argv[2]}) + "\n"); f.flush()
r = reply()
print(json.dumps(r))
sys.exit(0 if "return" in r else 1)
EOF
}

# QEMU's run state (running, paused, shutdown, ...) must be STATE.
vm_state_is()
{
	local st
	st=$(vm_qmp query-status | python3 -c 'import json,sys; print(json.load(sys.stdin)["return"]["status"])')
	[[ $st == "$1" ]] || { echo "VM state is $st, want $1"; return 1; }
}

vm_shutdown()
{
	[[ -n ${VM_PID:-} ]] || return 0
	vm_qmp quit >/dev/null 2>&1 || true
	lab_kill "$VM_PID" TERM 10 || true
	VM_PID=
}

# The README's install lines for a colima/lima/systemd VM, read from the
# README itself (its first sh block after "**colima, lima"): of each
# command joined by &&, the ones that name gangway (the package, the
# configuration, the unit); the build steps before them are this side's
# `make deb`. sudo is dropped (the agent runs as root). One per line.
vm_readme_install()
{
	awk '/^\*\*colima, lima/ { want = 1 } want && /^```sh/ { inblock = 1; next }
		inblock && /^```/ { exit }
		inblock { line = line $0; if (sub(/\\$/, "", line)) next; print line; line = "" }' \
		"$LAB_REPO/README.md" |
		awk -F' && ' '{ for (i = 1; i <= NF; i++) if ($i ~ /gangway/) print $i }' |
		sed -e 's/^ *//' -e 's/^sudo //'
}

vm_install_deb()
{
	local cmds

	cmds=$(vm_readme_install)
	grep -q '^apt-get install .*\./build/gangway_\*\.deb$' <<<"$cmds" &&
		grep -q 'systemctl enable --now gangwayd$' <<<"$cmds" ||
		{ echo "no install commands found in README.md:"; echo "$cmds"; return 1; }
	printf '%s\n' "$cmds" | sed 's/^/README: /'
	vm_run -t 300 "set -e
cd /lab
$cmds"
}

vm_host_up()
{
	lab_bg host "$LAB_DIR/host.log" env ${VM_HOST_ENV:-} "$VM_GANGWAY" up -v \
		-c "$VM_CONF/gangway.conf" >/dev/null
	VM_HOST_PID=$LAB_BG_PID
}

vm_wait_docker()
{
	vm_run -t 180 'for i in $(seq 600); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
docker info >/dev/null || { systemctl status docker --no-pager; exit 1; }
docker image inspect lab:busybox >/dev/null 2>&1 && exit 0
d=$(mktemp -d)
mkdir -p $d/bin $d/www $d/tmp
cp /bin/busybox $d/bin/busybox
for a in sh httpd wget ping nc sleep cat echo ls; do ln -s busybox $d/bin/$a; done
tar -C $d -cf /tmp/bb.tar .
docker import /tmp/bb.tar lab:busybox >/dev/null'
}

vm_http()
{
	lab_exec host timeout "${2:-3}" busybox wget -q -O - "$1"
}

# vm_is WHAT GOT WANT: equal, or say what differs.
vm_is() { [[ $2 == "$3" ]] || { echo "$1 is '$2', want '$3'"; return 1; }; }
# vm_body_is WANT ADDR [SECS]: the host fetches http://ADDR/ and gets WANT.
vm_body_is() { local got; got=$(vm_http "http://$2/" "${3:-3}") || true; vm_is body "$got" "$1"; }
# vm_until SECS CMD...: retry quietly, then once more showing its output.
vm_until() { local secs=$1; shift; lab_retry "$secs" "$@" >/dev/null 2>&1 || "$@"; }

# vm_httpd NAME [DOCKER-RUN-OPTS...]: an HTTP container that restarts with
# the engine, saying "hello from NAME"; prints its addresses.
vm_httpd()
{
	local name=$1
	shift
	vm_run "docker run -d --init --name $name --restart=always $* lab:busybox \
		sh -c 'echo hello from $name >/www/index.html && exec httpd -f -p 80 -h /www' >/dev/null &&
	docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' $name"
}
