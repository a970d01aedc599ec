/* statedir.h - the state directory: created private, checked before use */
#ifndef GANGWAY_STATEDIR_H
#define GANGWAY_STATEDIR_H

#include <stddef.h>

struct config;

/*
 * Create c->state_dir (mode 0700) if missing, then check it: a directory
 * (not a symlink) that no one but its owner may write, owned by root, by
 * us, or by the daemon's User. 0, or -errno with the reason in err:
 * -ENOTDIR, -EPERM (owner), -EACCES (mode).
 */
int statedir_prepare(const struct config *c, char *err, size_t errlen);

/*
 * Create DIR/NAME for writing, exclusively and without following a
 * symlink (a stale file of that name is removed first). A file descriptor,
 * or -errno.
 */
int statedir_create(const char *path);

/* Open an existing file for reading, not through a symlink: fd or -errno. */
int statedir_open(const char *path);

#endif
