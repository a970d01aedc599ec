/* test_statedir.c - the state directory's checks, and files created never through a symlink */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "config.h"
#include "statedir.h"

static char base[64];

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/test_statedir.XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

/* A config whose StateDirectory is base/NAME. */
static void conf(struct config *c, const char *name)
{
	config_init(c);
	snprintf(c->state_dir, sizeof(c->state_dir), "%s/%s", base, name);
}

static void test_created_private(void **state)
{
	char err[CONFIG_ERR_LEN];
	struct config c;
	struct stat st;

	(void)state;
	conf(&c, "new");
	assert_int_equal(statedir_prepare(&c, err, sizeof(err)), 0);
	assert_int_equal(stat(c.state_dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	/* Again: it exists, still fine; 0710 (ControlGroup) too. */
	assert_int_equal(chmod(c.state_dir, 0710), 0);
	assert_int_equal(statedir_prepare(&c, err, sizeof(err)), 0);
}

static void test_writable_by_others(void **state)
{
	char err[CONFIG_ERR_LEN];
	struct config c;

	(void)state;
	conf(&c, "open");
	assert_int_equal(mkdir(c.state_dir, 0700), 0);
	assert_int_equal(chmod(c.state_dir, 0777), 0);
	assert_int_equal(statedir_prepare(&c, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "writable by anyone"));
	assert_int_equal(chmod(c.state_dir, 0770), 0);
	assert_int_equal(statedir_prepare(&c, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "writable by its group"));
}

static void test_symlink_refused(void **state)
{
	char err[CONFIG_ERR_LEN], target[128];
	struct config c;

	(void)state;
	snprintf(target, sizeof(target), "%s/real", base);
	assert_int_equal(mkdir(target, 0700), 0);
	conf(&c, "link");
	assert_int_equal(symlink(target, c.state_dir), 0);
	assert_int_equal(statedir_prepare(&c, err, sizeof(err)), -ENOTDIR);
	assert_non_null(strstr(err, "symlink"));
}

static void test_other_owner(void **state)
{
	char err[CONFIG_ERR_LEN];
	struct config c;

	(void)state;
	if (geteuid() != 0)
		skip();		/* giving a directory away needs root */
	conf(&c, "theirs");
	snprintf(c.user, sizeof(c.user), "root");
	assert_int_equal(mkdir(c.state_dir, 0700), 0);
	assert_int_equal(chown(c.state_dir, 54321, 54321), 0);
	assert_int_equal(statedir_prepare(&c, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "owned by uid 54321"));
}

/* A symlink planted where a state file goes is replaced, its target untouched. */
static void test_create_no_follow(void **state)
{
	char victim[128], path[128], buf[16] = "";
	int fd;

	(void)state;
	snprintf(victim, sizeof(victim), "%s/victim", base);
	snprintf(path, sizeof(path), "%s/x.endpoints.tmp", base);
	fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "precious", 8), 8);
	close(fd);
	assert_int_equal(symlink(victim, path), 0);
	fd = statedir_create(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "new", 3), 3);
	close(fd);
	fd = open(victim, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 8);
	close(fd);
	assert_string_equal(buf, "precious");
	/* Reading refuses a symlink too. */
	unlink(path);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(statedir_open(path), -ELOOP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_created_private),
		cmocka_unit_test(test_writable_by_others),
		cmocka_unit_test(test_symlink_refused),
		cmocka_unit_test(test_other_owner),
		cmocka_unit_test(test_create_no_follow),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
