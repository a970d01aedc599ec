#!/usr/bin/env bash
# tests/vm/demo.sh - gangway on a real Docker VM (make vm-demo, root)
#
# Boots the VM lab's Debian 12 guest under QEMU in a namespace of its own,
# installs gangwayd there as the README tells a colima/lima user (the .deb,
# the guest half of `gangway init`, systemctl enable --now gangwayd), starts
# two containers, runs `gangway up` beside QEMU and shows the host reaching
# the containers by their own addresses through QEMU's user-mode NAT.
# Exits 0 only if every request succeeded; removes everything it created.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/lib.sh"

say() { printf '\n== %s\n' "$*"; }
fail=0

lab_init
say "guest image and package"
vm_init
echo "image:   $VM_IMAGE"
echo "package: $VM_DEB"
printf '\n[Gangway]\nStateDirectory = %s/state\n' "$LAB_DIR" >>"$VM_CONF/gangway.conf"

say "booting Debian 12 under QEMU (user-mode network: the guest is 10.0.2.15, the host 10.0.2.2)"
vm_boot
echo "booted in ${VM_BOOT_SECS}s"
vm_wait_docker
vm_run 'docker version --format "dockerd {{.Server.Version}}"; uname -sr'

say "in the VM: the README's install (the .deb, the configuration, systemctl enable --now gangwayd)"
vm_install_deb
vm_run 'systemctl --no-pager status gangwayd | head -n 5'

say "in the VM: two containers, on docker0 and on a user network"
vm_run 'docker network create --subnet 172.18.0.0/16 web >/dev/null
for n in app:bridge db:web; do
	docker run -d --name ${n%%:*} --network ${n#*:} lab:busybox \
		sh -c "echo hello from ${n%%:*} >/www/index.html && exec httpd -f -p 80 -h /www" >/dev/null
done
docker ps --format "{{.Names}}\t{{.Networks}}"'
IPS=$(vm_run 'docker inspect -f "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}" app db')

say "on the host: gangway up"
vm_host_up
for ip in $IPS; do
	lab_retry 30 bash -c "ip -n $VM_NS route get $ip 2>/dev/null | grep -q gangway0" || true
done
lab_exec host ip route show

say "on the host: fetching from each container by its IP"
for ip in $IPS; do
	if body=$(lab_retry 30 vm_http "http://$ip/"); then
		echo "http://$ip/ -> $body"
	else
		echo "http://$ip/ -> FAILED"
		fail=1
	fi
done
lab_exec host "$VM_GANGWAY" status -c "$VM_CONF/gangway.conf" || fail=1

vm_shutdown
say "demo $([[ $fail == 0 ]] && echo succeeded || echo FAILED)"
exit "$fail"
