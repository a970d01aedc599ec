#!/usr/bin/env bash
# tests/vm/image.sh - build and cache the VM lab's guest: a Debian 12 Docker VM
#
#   tests/vm/image.sh          build it unless the cache holds it; print its directory
#   tests/vm/image.sh --dir    only print the directory it would be in
#
# The guest holds what a user's Docker VM holds (Debian's kernel, systemd,
# iptables/nftables, docker.io) plus what gangway's .deb depends on, so that
# the package installs offline, wireguard-tools and busybox-static for the
# tests, and a small agent that runs command files from the 9p share.
# gangway itself is never in the image: each boot carries the .deb in.
#
# Built with debootstrap from Debian's mirror, then made into an ext4 image
# with mkfs.ext4 -d (no loop device). The kernel is kept both as Debian's
# bzImage and, when its xz payload can be found, as the uncompressed ELF
# vmlinux, which QEMU boots through the PVH entry several seconds faster
# under TCG. The result lives in $VM_CACHE/img-HASH, HASH being the hash of
# this file (which holds every input): built in a temporary directory and
# renamed into place at the end, so an interrupted build leaves nothing that
# looks finished and a second run finds the first one's.
#
# Environment: VM_CACHE (default /var/cache/gangway-vm), VM_MIRROR (default
# http://deb.debian.org/debian).
set -euo pipefail

VM_CACHE=${VM_CACHE:-/var/cache/gangway-vm}
VM_MIRROR=${VM_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
HASH=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
OUT=$VM_CACHE/img-$HASH

# The guest's packages. The second line is gangway's .deb's Depends
# (Makefile, DEB_DEPENDS): kept in the image so it installs with no network.
PKGS="systemd-sysv udev kmod linux-image-amd64 initramfs-tools zstd iproute2 iptables nftables docker.io
passwd libnl-3-200 libnl-route-3-200 libmnl0 libnftnl11 libpcap0.8 libssl3 libseccomp2
libcurl4 libjson-c5 libldns3 libsystemd0
busybox-static wireguard-tools procps"

if [[ ${1:-} == --dir ]]; then
	echo "$OUT"
	exit 0
fi
if [[ -s $OUT/stamp ]]; then
	echo "$OUT"
	exit 0
fi
[[ $(id -u) == 0 ]] || { echo "vm-image: needs root" >&2; exit 1; }
# Standard output is the image's folder alone: what the tools print of the
# build (mkfs "Creating regular file ...") goes to standard error.
exec 3>&1 1>&2
for t in debootstrap mkfs.ext4 xz; do
	command -v "$t" >/dev/null ||
		{ echo "vm-image: $t missing (tests/deps.sh installs it)" >&2; exit 1; }
done

mkdir -p "$VM_CACHE"
TMP=$(mktemp -d "$VM_CACHE/tmp.XXXXXX")
# debootstrap mounts /proc and /sys in the root: never remove through them.
cleanup()
{
	awk -v r="$TMP/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r |
		while read -r m; do umount -l "$m"; done
	rm -rf --one-file-system "$TMP"
}
trap cleanup EXIT
ROOT=$TMP/root
t0=$SECONDS

echo "vm-image: debootstrap $SUITE from $VM_MIRROR" >&2
debootstrap --variant=minbase --include="$(echo $PKGS | tr ' ' ',')" \
	"$SUITE" "$ROOT" "$VM_MIRROR" >"$TMP/debootstrap.log" 2>&1 ||
	{ tail -n 30 "$TMP/debootstrap.log" >&2; exit 1; }

# The network of QEMU's user mode: static, as the quickest to come up.
mkdir -p "$ROOT/etc/systemd/network"
cat >"$ROOT/etc/systemd/network/10-lab.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
DNS=10.0.2.3
EOF
echo gangway-vm >"$ROOT/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 gangway-vm\n' >"$ROOT/etc/hosts"
echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >"$ROOT/etc/fstab"
echo 'lab /lab 9p trans=virtio,version=9p2000.L,msize=262144,noauto 0 0' \
	>>"$ROOT/etc/fstab"
mkdir -p "$ROOT/lab"
printf '9p\n9pnet_virtio\n' >"$ROOT/etc/modules-load.d/lab.conf"

# The agent: runs each command file QEMU's 9p share brings in (cmd/N.sh),
# output to N.out, exit status to N.rc (written last, by rename), in the
# order of their names; N.run marks one as taken, so that a command that
# reboots the VM is not run again after the boot. It announces each boot in
# boots/ with its boot id.
cat >"$ROOT/usr/local/sbin/lab-agent" <<'EOF'
#!/bin/bash
# lab-agent - run the VM lab's command files from the 9p share at /lab
set -u
D=/lab
until mountpoint -q "$D"; do mount "$D" 2>/dev/null || sleep 0.2; done
mkdir -p "$D/cmd" "$D/boots"
read -r boot </proc/sys/kernel/random/boot_id
echo "$(cut -d' ' -f1 /proc/uptime)" >"$D/boots/$boot"
while :; do
	for f in "$D"/cmd/*.sh; do
		[ -e "$f" ] || continue
		b=${f%.sh}
		[ -e "$b.run" ] && continue
		: >"$b.run"
		bash "$f" >"$b.out" 2>&1 </dev/null
		echo $? >"$b.rc.tmp"
		mv "$b.rc.tmp" "$b.rc"
	done
	sleep 0.1
done
EOF
chmod 755 "$ROOT/usr/local/sbin/lab-agent"
cat >"$ROOT/etc/systemd/system/lab-agent.service" <<'EOF'
[Unit]
Description=VM lab agent (command files from the 9p share)
DefaultDependencies=no
After=local-fs.target systemd-modules-load.service

[Service]
ExecStart=/usr/local/sbin/lab-agent
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
EOF

# Units enabled and masked straight by symlink: no systemctl in a chroot.
W=$ROOT/etc/systemd/system
mkdir -p "$W/multi-user.target.wants" "$W/sysinit.target.wants"
ln -sf ../lab-agent.service "$W/multi-user.target.wants/lab-agent.service"
ln -sf /lib/systemd/system/systemd-networkd.service \
	"$W/multi-user.target.wants/systemd-networkd.service"
# Nothing that would spend the boot's time on what a test does not use.
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
	fstrim.timer systemd-timesyncd.service getty@tty1.service; do
	ln -sf /dev/null "$W/$u"
done
echo 'root:lab' | chroot "$ROOT" chpasswd

# A small initrd: only what mounts a virtio disk.
echo MODULES=list >"$ROOT/etc/initramfs-tools/conf.d/lab"
printf 'virtio_pci\nvirtio_blk\next4\ncrc32c_generic\n' >"$ROOT/etc/initramfs-tools/modules"
kver=$(basename "$(ls -d "$ROOT"/lib/modules/* | sort -V | tail -n 1)")
chroot "$ROOT" update-initramfs -c -k "$kver" >"$TMP/initramfs.log" 2>&1 ||
	chroot "$ROOT" update-initramfs -u -k "$kver" >>"$TMP/initramfs.log" 2>&1 ||
	{ tail -n 20 "$TMP/initramfs.log" >&2; exit 1; }
cp "$ROOT/boot/vmlinuz-$kver" "$TMP/vmlinuz"
cp "$ROOT/boot/initrd.img-$kver" "$TMP/initrd.img"

# The uncompressed kernel: the xz stream inside the bzImage, decompressed.
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$TMP/vmlinuz" | head -n 1 | cut -d: -f1 || true)
if [[ -n $off ]]; then
	tail -c +$((off + 1)) "$TMP/vmlinuz" | xz -dc >"$TMP/vmlinux" 2>/dev/null || true
	if [[ $(head -c 4 "$TMP/vmlinux" | od -An -tx1 | tr -d ' ') != 7f454c46 ]]; then
		rm -f "$TMP/vmlinux"
	fi
fi

rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*_Packages
mkfs.ext4 -q -F -L root -d "$ROOT" "$TMP/root.img" 4G
rm -rf "$ROOT" "$TMP/debootstrap.log"

{
	echo "built $(date -u +%FT%TZ) in $((SECONDS - t0)) s"
	echo "suite $SUITE mirror $VM_MIRROR kernel $kver"
	echo "packages $(echo $PKGS)"
	[[ -e $TMP/vmlinux ]] && echo "vmlinux uncompressed" || echo "vmlinux none (bzImage only)"
} >"$TMP/stamp"
mv -T "$TMP" "$OUT" 2>/dev/null || [[ -s $OUT/stamp ]]
echo "vm-image: $OUT ($((SECONDS - t0)) s)" >&2
echo "$OUT" >&3
