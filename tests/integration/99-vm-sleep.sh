#!/usr/bin/env bash
# The VM lab (tests/vm/lib.sh): what only a whole VM can show.
# - Sleep: QEMU's monitor stops the VM (its clock stands still, as a
#   laptop's VM during sleep) and the host agent is frozen (SIGSTOP), for
#   longer than Reject-After-Time (180 s, the real timers: the installed
#   package has no other). After `cont` and SIGCONT, the containers are
#   reachable again within 10 s, with nothing done by hand.
# - Resource Saver / VM restart: the guest powers off, QEMU keeps the disk
#   and boots it again (system_reset). The containers (restart policy) and
#   gangwayd (enabled unit) come back and are reachable, with nothing done
#   on the host; `ip monitor route` on the host meanwhile shows whether its
#   routes to them flapped.
set -euo pipefail
. "$(dirname "$0")/../lib/lab.sh"
. "$(dirname "$0")/../vm/lib.sh"

SLEEP_SECS=${VM_SLEEP_SECS:-190}	# > Reject-After-Time

T_START=$SECONDS
lab_init
vm_init
printf '\n[Gangway]\nStateDirectory = %s/state\n' "$LAB_DIR" >>"$VM_CONF/gangway.conf"
vm_host_up
vm_boot
lab_check "dockerd answers in the guest" vm_wait_docker
lab_check "gangwayd installed and started as the README says" vm_install_deb

# Seconds (with ms) until both containers answer, or fail after SECS.
both_back()
{
	local secs=$1 t0 ms
	t0=$(date +%s%N)
	while :; do
		vm_body_is "hello from c1" "$C1" 1 >/dev/null 2>&1 &&
			vm_body_is "hello from c2" "$C2" 1 >/dev/null 2>&1 && break
		(($(date +%s%N) - t0 > secs * 1000000000)) && { echo "not back within ${secs}s"; return 1; }
		sleep 0.1
	done
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "back after ${ms} ms" | tee "$LAB_DIR/back"
}
back() { lab_log "$1: $(cat "$LAB_DIR/back" 2>/dev/null || echo 'not back')"; rm -f "$LAB_DIR/back"; }

C1=$(vm_httpd c1 | awk '{print $1}')
vm_run 'docker network create --subnet 172.18.0.0/16 net1 >/dev/null'
C2=$(vm_httpd c2 --network net1 | awk '{print $1}')
lab_check "the host reaches c1 ($C1) and c2 ($C2)" both_back 30

# ---------------------------------------------------------------- sleep
lab_log "sleep: VM stopped and host agent frozen for ${SLEEP_SECS}s"
handshakes() { grep -c 'Handshake with peer .* completed' "$LAB_DIR/host.log" || true; }
HS=$(handshakes)
lab_check "QMP stop" vm_qmp stop
kill -STOP "$VM_HOST_PID"
t0=$SECONDS
while ((SECONDS - t0 < SLEEP_SECS)); do
	_lab_alive "$VM_PID" || break
	sleep 1
done
kill -CONT "$VM_HOST_PID"
lab_check "QMP cont" vm_qmp cont
lab_check "after sleep: both containers reachable again within 10 s" both_back 10
back "after sleep"
new_handshake() { (($(handshakes) > HS)) || { echo "no handshake after the sleep"; return 1; }; }
lab_check "after sleep: a new handshake (the old session is past Reject-After-Time on the host)" new_handshake
lab_check "after sleep: the host agent runs" _lab_alive "$VM_HOST_PID"

# ---------------------------------------------------------------- Resource Saver
ROUTES=$LAB_DIR/routes.log
lab_bg host "$ROUTES" ip monitor route >/dev/null
MON=$LAB_BG_PID
lab_exec host ip route show >"$LAB_DIR/routes.before"
vm_poweroff
t0=$SECONDS
lab_check "Resource Saver: the guest powers off (QEMU reports shutdown)" \
	lab_retry 120 vm_state_is shutdown
lab_log "powered off after $((SECONDS - t0))s"
lab_check "QMP system_reset and cont boot it again" vm_power_on
t0=$SECONDS
lab_check "Resource Saver: the VM boots again" vm_wait_reboot "$VM_BOOT_TIMEOUT"
lab_log "booted again after $((SECONDS - t0))s"
lab_check "Resource Saver: gangwayd active again (enabled unit)" \
	vm_run 'for i in $(seq 600); do systemctl is-active -q gangwayd && exit 0; sleep 0.2; done
		journalctl -b -u gangwayd --no-pager | tail -n 30; exit 1'
lab_check "Resource Saver: c1 and c2 (restart policy) reachable with no action on the host" both_back 120
back "Resource Saver: once gangwayd was active, the containers were"
lab_log "Resource Saver: reachable again $((SECONDS - t0))s after the power-on"
lab_kill "$MON"
lab_exec host ip route show >"$LAB_DIR/routes.after"
lab_log "route changes on the host during the power cycle: $(wc -l <"$ROUTES")"
sed 's/^/#   /' "$ROUTES"
flapped() { ! grep -E '^Deleted .*(172\.17\.|172\.18\.)' "$ROUTES"; }
lab_check "Resource Saver: the host's container routes did not flap" flapped
lab_check "Resource Saver: the host's routes are as before" diff "$LAB_DIR/routes.before" "$LAB_DIR/routes.after"

vm_shutdown
lab_log "the test took $((SECONDS - T_START))s, the first boot ${VM_BOOT_SECS}s"
lab_done
