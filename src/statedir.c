/* statedir.c - the state directory: created private, checked before use
 *
 * The daemons keep their control socket and remembered endpoints in the
 * state directory, as root at start and as their User after. A directory
 * someone else controls (another owner, or writable by group or others)
 * could hand them a symlink to a file of root's to overwrite, or a file to
 * trust: it is refused with a clear error. Files in it are created anew,
 * exclusively and never through a symlink, then renamed into place.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "statedir.h"

/* The uid of the daemon's User (the host agent's default), or -1. */
static uid_t statedir_user_uid(const struct config *c)
{
	struct passwd *pw = getpwnam(c->user[0] ? c->user : CONFIG_DEFAULT_USER);

	return pw ? pw->pw_uid : (uid_t)-1;
}

int statedir_prepare(const struct config *c, char *err, size_t errlen)
{
	const char *dir = c->state_dir;
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int ret = -errno;

		snprintf(err, errlen, "Cannot create the state directory %s: %s", dir,
			 strerror(-ret));
		return ret;
	}
	if (lstat(dir, &st) < 0) {
		int ret = -errno;

		snprintf(err, errlen, "State directory %s: %s", dir, strerror(-ret));
		return ret;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "State directory %s is not a directory%s", dir,
			 S_ISLNK(st.st_mode) ? " (a symlink)" : "");
		return -ENOTDIR;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid() && st.st_uid != statedir_user_uid(c)) {
		snprintf(err, errlen, "State directory %s is owned by uid %u, not root or "
			 "the daemon's user: refusing it", dir, (unsigned int)st.st_uid);
		return -EPERM;
	}
	if (st.st_mode & 0022) {
		snprintf(err, errlen, "State directory %s is writable by %s (mode %04o): "
			 "refusing it (chmod go-w)", dir,
			 st.st_mode & 0002 ? "anyone" : "its group",
			 (unsigned int)(st.st_mode & 07777));
		return -EACCES;
	}
	return 0;
}

int statedir_create(const char *path)
{
	int fd;

	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

int statedir_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}
