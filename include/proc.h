/* proc.h - run a program with argv (never a shell), feed its stdin, collect its stdout */
#ifndef GANGWAY_PROC_H
#define GANGWAY_PROC_H

#include <stddef.h>

/* A growing text buffer: a child's input or output, or text being built. */
struct proc_buf {
	char *p;
	size_t len, cap;
};

#define PROC_OUT_MAX	(64u << 20)	/* bytes of a child's output, at most */

int proc_buf_printf(struct proc_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void proc_buf_free(struct proc_buf *b);

/*
 * Run path with argv (argv[0] included), in the caller's environment.
 * in (may be NULL) is written to its stdin, its stdout is collected into
 * out (NULL: discarded; emptied first). name is what log messages call it.
 * It gets PROC_RUN_SECS to finish, then it is killed. 0 when it exited 0,
 * -EIO when it failed (its stderr logged), -ETIMEDOUT, -E2BIG or -errno.
 */
#define PROC_RUN_SECS	15
int proc_run(const char *name, const char *path, char *const argv[],
	     const struct proc_buf *in, struct proc_buf *out);

/*
 * path of name in $PATH (absolute entries only: a relative one would make
 * the program depend on our cwd), or in the usual directories when PATH is
 * not set at all. 0 or -ENOENT.
 */
int proc_which(const char *name, char *path, size_t size);

#endif
