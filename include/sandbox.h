/* sandbox.h - shed the privileges a running daemon no longer needs */
#ifndef GANGWAY_SANDBOX_H
#define GANGWAY_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Capabilities a caller may keep (Linux's CAP_NET_ADMIN, CAP_NET_RAW). */
#define SANDBOX_NET_ADMIN	(1u << 0)
#define SANDBOX_NET_RAW		(1u << 1)
#define SANDBOX_NET_BIND_SERVICE (1u << 2)	/* gangwayd with names: DNS on port 53 */

/* ASan builds: the allowlist adds what LeakSanitizer needs at exit (ptrace). */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_LSAN 1
#endif
#endif

/* The unprivileged user to become; valid false: stay who we are. */
struct sandbox_user {
	bool valid;
	uid_t uid;
	gid_t gid;
	bool has_extra;			/* one supplementary group beside its own */
	gid_t extra_gid;
};

/*
 * Look NAME up for sandbox_enter: 0 and *u filled, -ENOENT where there is
 * no such user, or another -errno. "root" fills nothing (u->valid false).
 */
int sandbox_user(const char *name, struct sandbox_user *u);

/*
 * Set no_new_privs and reduce the capability sets (effective, permitted,
 * inheritable, ambient and, where allowed, bounding) to KEEP, a mask of
 * SANDBOX_*. With a valid USER, first become that user (groups: its own,
 * and extra_gid where has_extra), keeping KEEP across the change, and make KEEP inheritable and
 * ambient so the programs we run (iptables) hold them too. -EPERM from
 * the change of user (no CAP_SETUID: a container started without it)
 * is returned before anything else changed, so the caller may go on as
 * root. Returns 0 or -errno; a no-op where there are no capabilities.
 */
int sandbox_enter(uint32_t keep, const struct sandbox_user *user);

/*
 * Install the daemons' system call allowlist (seccomp, libseccomp): every
 * call outside it fails with EPERM, in this process and in whatever it
 * executes (the filter is inherited). Call after sandbox_enter (which sets
 * no_new_privs). 0 or -errno; a no-op where there is no seccomp.
 */
int sandbox_seccomp(void);

#endif
