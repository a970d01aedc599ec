/* sandbox.c - shed the privileges a running daemon no longer needs
 *
 * Theory of operation: both programs need root-level powers to start
 * (create the TUN device, bind, program routes and the firewall, open the
 * control socket to its group) but only CAP_NET_ADMIN afterwards, plus
 * CAP_NET_RAW for the guest, which keeps running iptables programs (raw
 * sockets, the legacy setsockopt interface) as Docker's networks come and
 * go. After start, in this order:
 *
 *  1. no_new_privs, and the bounding set cut to what we keep (that needs
 *     CAP_SETPCAP; a service manager or container runtime that took it
 *     usually took the rest too, and with no_new_privs an exec never gains
 *     more than our permitted set anyway);
 *  2. where the configured User exists (the default is "gangway"; the
 *     guest's is root where iptables-legacy may hold Docker's rules: see
 *     service.c), that user and its
 *     group, the kept capabilities carried across setresuid() by
 *     PR_SET_KEEPCAPS and made inheritable and ambient: the iptables
 *     programs we execute are not root, so only ambient capabilities
 *     reach them. Without the user, or without CAP_SETUID (a container
 *     started with only the two capabilities), we stay uid 0 and say so
 *     once;
 *  3. the permitted and effective sets cut to what we keep;
 *  4. a seccomp allowlist (sandbox_seccomp), built from what both daemons
 *     and the firewall programs they run were seen to call (strace -f over
 *     the integration tests). It is inherited across execve, so it covers
 *     iptables-nft, iptables-legacy and their libraries. A call outside it
 *     fails with EPERM rather than killing the process: a distribution's
 *     iptables that calls something new then fails one rule change, which
 *     the daemon logs and retries, instead of killing the daemon in a
 *     restart loop. It works the same with or without systemd (Docker
 *     Desktop runs gangwayd as a container); the units' own
 *     SystemCallFilter= is a second layer that covers the start too.
 */
#include <errno.h>

#include "log.h"
#include "sandbox.h"

#ifdef __linux__
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>

/* The kernel's capability word pair (version 3: 64 bits in two u32s). */
static int sandbox_capset(uint64_t caps, uint64_t inh)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };

	d[0].effective = d[0].permitted = (uint32_t)caps;
	d[1].effective = d[1].permitted = (uint32_t)(caps >> 32);
	d[0].inheritable = (uint32_t)inh;
	d[1].inheritable = (uint32_t)(inh >> 32);
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

int sandbox_user(const char *name, struct sandbox_user *u)
{
	struct passwd *pw;

	memset(u, 0, sizeof(*u));
	if (!strcmp(name, "root"))
		return 0;
	errno = 0;
	pw = getpwnam(name);
	if (!pw)
		return errno ? -errno : -ENOENT;
	if (pw->pw_uid == 0)
		return 0;
	u->valid = true;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return 0;
}

/* Become USER, the permitted set kept across the change (effective is cleared). */
static int sandbox_setuid(const struct sandbox_user *user)
{
	gid_t groups[2] = { user->gid, user->extra_gid };

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -errno;

	if (setgroups(user->has_extra ? 2 : 1, groups) < 0 ||
	    setresgid(user->gid, user->gid, user->gid) < 0 ||
	    setresuid(user->uid, user->uid, user->uid) < 0) {
		int err = -errno;

		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
		return err;
	}
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

int sandbox_enter(uint32_t keep, const struct sandbox_user *user)
{
	uint64_t want = 0, eff = 0, prm = 0, inh = 0;
	unsigned int cap, left = 0;
	bool as_user = user && user->valid;
	int ret, in_bset;

	if (keep & SANDBOX_NET_ADMIN)
		want |= 1ULL << CAP_NET_ADMIN;
	if (keep & SANDBOX_NET_RAW)
		want |= 1ULL << CAP_NET_RAW;
	if (keep & SANDBOX_NET_BIND_SERVICE)
		want |= 1ULL << CAP_NET_BIND_SERVICE;

	ret = sandbox_capget(&eff, &prm, &inh);
	if (ret)
		return ret;
	want &= prm;	/* never ask for what we do not hold */
	/* Without CAP_SETUID the change would fail half way: refuse it whole. */
	if (as_user && (!(eff & (1ULL << CAP_SETUID)) || !(eff & (1ULL << CAP_SETGID))))
		return -EPERM;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;

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
		log_info("%u capabilit%s stay in the bounding set (no CAP_SETPCAP); with "
			 "no_new_privs nothing we run can gain them", left,
			 left == 1 ? "y" : "ies");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	if (as_user) {
		ret = sandbox_setuid(user);
		if (ret)
			return ret;
	}
	/* As a user, the programs we run get the kept ones only as ambient. */
	ret = sandbox_capset(want, as_user ? want : 0);
	if (ret)
		return ret;
	for (cap = 0; as_user && cap < 64; cap++)
		if ((want & (1ULL << cap)) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return -errno;
	ret = sandbox_capget(&eff, &prm, &inh);
	if (ret)
		return ret;
	if (eff != want || prm != want || inh != (as_user ? want : 0))
		return -EPERM;
	log_debug("Capabilities now %#llx%s, no_new_privs set", (unsigned long long)want,
		  as_user ? " (ambient too)" : "");
	return 0;
}

/*
 * What both daemons call after start, and what the programs they execute
 * call (iptables-nft, iptables-legacy and their -save/-restore, with glibc's
 * loader and libxtables' extension modules): seen with strace -f over the
 * integration tests, grouped by use. Not here: what only the start needs
 * (capset, setresuid, setgroups, chown, chmod), and every call that
 * changes mounts, namespaces, modules, keys, tracing, the clock or other
 * processes' memory.
 */
static const char *const sandbox_calls[] = {
	/* memory, threads (crypto workers, the name resolver), the loader */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "arch_prctl",
	"set_tid_address", "set_robust_list", "rseq", "futex", "clone", "clone3",
	"exit", "exit_group", "sched_getaffinity", "sched_yield", "getrandom",
	"prlimit64", "getrlimit", "uname", "prctl", "capget",
	/* identity */
	"getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid",
	"getgroups",
	/* files: configuration, state directory, TUN, /proc/sys/net, xtables lock */
	"openat", "open", "close", "read", "write", "readv", "writev", "pread64",
	"pwrite64", "lseek", "fstat", "stat", "lstat", "newfstatat", "statx",
	"statfs", "fstatfs", "access", "faccessat", "faccessat2", "readlink",
	"readlinkat", "getdents64", "getcwd", "mkdir", "mkdirat", "unlink",
	"unlinkat", "rename", "renameat", "renameat2", "umask", "fcntl", "ioctl",
	"flock", "dup", "dup2", "dup3", "pipe", "pipe2", "fsync", "fdatasync",
	/* sockets: UDP, netlink, the control socket, raw (iptables-legacy) */
	"socket", "socketpair", "bind", "listen", "accept", "accept4", "connect",
	"getsockname", "getpeername", "getsockopt", "setsockopt", "shutdown",
	"sendto", "sendmsg", "sendmmsg", "recvfrom", "recvmsg", "recvmmsg",
	/* the event loop, timers, signals */
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "poll", "ppoll",
	"select", "pselect6", "timerfd_create", "timerfd_settime", "timerfd_gettime",
	"eventfd2", "signalfd4", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
	"rt_sigtimedwait", "sigaltstack", "restart_syscall", "kill", "tgkill",
	"clock_gettime", "clock_getres", "gettimeofday", "nanosleep",
	"clock_nanosleep", "alarm", "setitimer", "getitimer",
	/* running the firewall programs */
	"execve", "wait4", "waitid",
#ifdef SANDBOX_LSAN
	/* ASan builds only: LeakSanitizer stops our threads with ptrace at exit. */
	"ptrace", "process_vm_readv", "getdents",
#endif
};

int sandbox_seccomp(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int ret = 0;

	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(sandbox_calls) / sizeof(sandbox_calls[0]); i++) {
		int nr = seccomp_syscall_resolve_name(sandbox_calls[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;	/* not on this architecture */
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (ret < 0)
			goto out;
	}
	ret = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return ret < 0 ? ret : 0;
}
#else
/* macOS: no capabilities to shed; launchd runs the agent as root. */
int sandbox_user(const char *name, struct sandbox_user *u)
{
	(void)name;
	u->valid = false;
	return 0;
}

int sandbox_enter(uint32_t keep, const struct sandbox_user *user)
{
	(void)keep;
	(void)user;
	return 0;
}

int sandbox_seccomp(void)
{
	return 0;
}
#endif
