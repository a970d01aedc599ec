/* sysfilter.c - run a program under a system call allowlist, as systemd's
 * SystemCallFilter= does
 *
 *   sysfilter FILE PROGRAM [ARGS...]
 *
 * FILE lists the system calls to allow, one name per line (the set a unit's
 * SystemCallFilter= lines leave: `systemd-analyze syscall-filter` expands
 * the groups). Every other call fails with EPERM, SystemCallErrorNumber=
 * EPERM's action, for this process and everything it executes. Names this
 * kernel or libseccomp does not know are skipped, as systemd skips them.
 * Needs no_new_privs or CAP_SYS_ADMIN, as any seccomp filter does.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char line[128];
	scmp_filter_ctx ctx;
	size_t n = 0;
	FILE *f;
	int ret;

	if (argc < 3) {
		fprintf(stderr, "usage: sysfilter FILE PROGRAM [ARGS...]\n");
		return 2;
	}
	f = fopen(argv[1], "re");
	if (!f) {
		fprintf(stderr, "sysfilter: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx) {
		fprintf(stderr, "sysfilter: seccomp_init failed\n");
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		int nr;

		line[strcspn(line, " \t\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		nr = seccomp_syscall_resolve_name(line);
		if (nr == __NR_SCMP_ERROR)
			continue;
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (ret < 0 && ret != -EEXIST) {
			fprintf(stderr, "sysfilter: %s: %s\n", line, strerror(-ret));
			return 1;
		}
		n++;
	}
	fclose(f);
	ret = seccomp_load(ctx);
	if (ret < 0) {
		fprintf(stderr, "sysfilter: loading the filter: %s\n", strerror(-ret));
		return 1;
	}
	seccomp_release(ctx);
	execvp(argv[2], argv + 2);
	fprintf(stderr, "sysfilter: %s: %s (%zu calls allowed)\n", argv[2], strerror(errno), n);
	return 127;
}
