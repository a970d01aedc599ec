/* sandbox.c - shed the privileges a running daemon no longer needs
 *
 * Theory of operation: both programs need root-level powers to start
 * (create the TUN device, bind, program routes and the firewall) but only
 * CAP_NET_ADMIN afterwards, plus CAP_NET_RAW for the guest, which keeps
 * running iptables programs (raw sockets, the legacy setsockopt interface)
 * as Docker's networks come and go. We stay uid 0, so those programs still
 * get capabilities on exec; the bounding set and no_new_privs cap what they
 * get at what we kept. This works the same with or without systemd (Docker
 * Desktop runs gangwayd as a container).
 *
 * The bounding set can only shrink with CAP_SETPCAP. A service manager or
 * container runtime that already removed CAP_SETPCAP usually removed the
 * rest too; if not, what remains in the bounding set is harmless: with
 * no_new_privs an exec never gains more than our permitted set.
 *
 * No seccomp filter here: a filter is inherited across execve, so it would
 * have to allow whatever the system's iptables-nft/-legacy, its libc and
 * the netlink libraries call, which differ by distribution and version; a
 * too-tight filter breaks the firewall at run time, long after start. The
 * systemd units carry a SystemCallFilter, and Docker applies its default
 * seccomp profile to the container.
 */
#include <errno.h>

#include "log.h"
#include "sandbox.h"

#ifdef __linux__
#include <stdint.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>

/* The kernel's capability word pair (version 3: 64 bits in two u32s). */
static int sandbox_capset(uint64_t caps)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };

	d[0].effective = d[0].permitted = (uint32_t)caps;
	d[1].effective = d[1].permitted = (uint32_t)(caps >> 32);
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

static int sandbox_capget(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

int sandbox_enter(uint32_t keep)
{
	uint64_t want = 0, eff = 0, prm = 0, inh = 0;
	unsigned int cap, left = 0;
	int ret, in_bset;

	if (keep & SANDBOX_NET_ADMIN)
		want |= 1ULL << CAP_NET_ADMIN;
	if (keep & SANDBOX_NET_RAW)
		want |= 1ULL << CAP_NET_RAW;
	if (keep & SANDBOX_NET_BIND_SERVICE)
		want |= 1ULL << CAP_NET_BIND_SERVICE;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	ret = sandbox_capget(&eff, &prm, &inh);
	if (ret)
		return ret;
	want &= prm;	/* never ask for what we do not hold */

	/* The bounding set first: dropping from it needs CAP_SETPCAP. */
	for (cap = 0; cap < 64; cap++) {
		in_bset = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (in_bset < 0)
			break;		/* EINVAL: past the kernel's last capability */
		if (!in_bset || (want & (1ULL << cap)))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno != EPERM)
				return -errno;
			left++;
		}
	}
	if (left)
		log_warn("%u capabilit%s left in the bounding set (no CAP_SETPCAP), "
			 "ignoring", left, left == 1 ? "y" : "ies");
	/* Ambient capabilities would survive exec; we never need them. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	ret = sandbox_capset(want);
	if (ret)
		return ret;
	ret = sandbox_capget(&eff, &prm, &inh);
	if (ret)
		return ret;
	if (eff != want || prm != want || inh)
		return -EPERM;
	log_debug("Capabilities now %#llx, no_new_privs set", (unsigned long long)want);
	return 0;
}
#else
/* macOS: no capabilities to shed; launchd runs the agent as root. */
int sandbox_enter(uint32_t keep)
{
	(void)keep;
	return 0;
}
#endif
