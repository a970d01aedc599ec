/* test_sandbox.c - the daemons' system call allowlist: what it lets through, what fails */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <cmocka.h>

#include "sandbox.h"

/*
 * In a child (the filter cannot be taken off again): no_new_privs, the
 * filter, then fn, whose return value is the child's exit status.
 */
static int in_filtered_child(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || sandbox_seccomp() < 0)
			_exit(100);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* 0 when the call failed with EPERM, 1 when it did something else. */
static int eperm(long ret)
{
	return ret == -1 && errno == EPERM ? 0 : 1;
}

static int forbidden_calls(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };
	int bad = 0;

	/* Each of these works for root (or is refused otherwise than EPERM). */
	bad |= eperm(syscall(SYS_chown, "/", -1, -1)) << 0;
	bad |= eperm(syscall(SYS_setresuid, -1, -1, -1)) << 1;
	bad |= eperm(syscall(SYS_capset, &h, d)) << 2;
	bad |= eperm(syscall(SYS_unshare, 0)) << 3;
#ifndef SANDBOX_LSAN
	/* Allowed in ASan builds alone, for LeakSanitizer (sandbox.h). */
	bad |= eperm(syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0)) << 4;
#endif
	bad |= eperm(syscall(SYS_mount, "none", "/", NULL, MS_REMOUNT, NULL)) << 5;
	bad |= eperm(syscall(SYS_setns, -1, 0)) << 6;
	bad |= eperm(syscall(SYS_chmod, "/nonexistent", 0)) << 7;
	return bad;
}

/* Calls outside the list fail with EPERM, whatever they would have done. */
static void test_forbidden(void **state)
{
	(void)state;
	assert_int_equal(in_filtered_child(forbidden_calls), 0);
}

static int allowed_calls(void)
{
	char buf[16];
	int fd, p[2];

	if (getpid() <= 0)
		return 1;
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
		return 2;
	close(fd);
	if (pipe2(p, O_CLOEXEC) < 0)
		return 3;
	close(p[0]);
	close(p[1]);
	return 0;
}

/* What the daemons do all the time still works. */
static void test_allowed(void **state)
{
	(void)state;
	assert_int_equal(in_filtered_child(allowed_calls), 0);
}

/* The filter is inherited: a program run under it is refused the same calls. */
static int exec_child(void)
{
	execl("/bin/sh", "sh", "-c", "exec chown root / 2>/dev/null", (char *)NULL);
	return 99;	/* execve itself refused */
}

static void test_inherited(void **state)
{
	(void)state;
	/* chown(1) exits 1 when its call fails (as root it would succeed). */
	assert_int_equal(in_filtered_child(exec_child), 1);
}

static int seccomp_mode(void)
{
	char line[128];
	FILE *f = fopen("/proc/self/status", "re");
	int mode = -1;

	if (!f)
		return 98;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	fclose(f);
	return mode;
}

/* /proc/PID/status says the process is filtered (2: SECCOMP_MODE_FILTER). */
static void test_status(void **state)
{
	(void)state;
	assert_int_equal(in_filtered_child(seccomp_mode), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forbidden),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_inherited),
		cmocka_unit_test(test_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
