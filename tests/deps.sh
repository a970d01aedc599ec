#!/bin/sh
# tests/deps.sh - install every Debian package the build, tests and demo use.
# Idempotent: installs only what is missing.
set -eu

PKGS="build-essential pkg-config clang llvm libclang-rt-14-dev cppcheck clang-tidy
libnl-3-dev libnl-route-3-dev libmnl-dev libnftnl-dev libpcap-dev libssl-dev
libcmocka-dev libsodium-dev libseccomp-dev
libcurl4-openssl-dev libjson-c-dev libldns-dev libsystemd-dev ldnsutils dbus-daemon
iproute2 iptables nftables iputils-ping procps psmisc kmod util-linux
wireguard-go wireguard-tools iperf3 tcpdump netcat-openbsd python3 python3-cryptography
docker.io busybox-static valgrind jq file conntrack curl gnuplot-nox
qemu-system-x86 qemu-utils debootstrap xz-utils"

# make macos-check fetches a cross compiler from the npm registry: npm
# comes from Debian only where no Node.js installation provides it.
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$missing (run as root to install)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
