/* ctlsock_client.c - the CLI's side of the control socket: one request, the whole reply */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlsock_client.h"

int ctlsock_client_request(const char *path, const char *request, char **body)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tmo = { .tv_sec = CTLSOCK_CLIENT_TIMEOUT };
	size_t len = 0, cap = CTLSOCK_MAX_REPLY + 64, rl = strlen(request);
	char *buf = NULL, *nl;
	int fd, ret;

	*body = NULL;
	if (strlen(path) >= sizeof(sun.sun_path) || rl >= CTLSOCK_MAX_REQ)
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		goto out;
	}
	/* A daemon that is stopped or wedged must not hang the command. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo)) < 0) {
		ret = -errno;
		goto out;
	}
	buf = malloc(cap);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	ctlsock_send(fd, request, rl);
	ctlsock_send(fd, "\n", 1);
	for (;;) {
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		/*
		 * A daemon that refuses us closes before reading our request:
		 * the reset comes after its answer, which is what counts.
		 */
		if (n < 0 && errno == ECONNRESET && len)
			break;
		if (n < 0) {
			ret = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			goto out;
		}
		if (n == 0 || (len += (size_t)n) == cap - 1)
			break;
	}
	buf[len] = '\0';
	nl = strchr(buf, '\n');
	if (!nl) {
		ret = -EPROTO;
		snprintf(buf, cap, "error truncated reply");
		*body = buf;
		buf = NULL;
		goto out;
	}
	if (strncmp(buf, "ok\n", 3)) {
		*nl = '\0';
		ret = -EPROTO;
		*body = buf;
		buf = NULL;
		goto out;
	}
	memmove(buf, nl + 1, len - (size_t)(nl + 1 - buf) + 1);
	*body = buf;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

int ctlsock_client_path(const char *sock, const char *config, char *buf, size_t size)
{
	char err[CONFIG_ERR_LEN];
	struct config c;
	int ret;

	if (sock) {
		if ((size_t)snprintf(buf, size, "%s", sock) >= size)
			return -ENAMETOOLONG;
		return 0;
	}
	/* Default: the host agent's file, else the guest daemon's (in the VM). */
	if (!config) {
		config = config_default_path();
		/*
		 * A ControlGroup member cannot read root's 0600 file, and a
		 * system may have none (a container): the default socket.
		 */
		if (access(config, R_OK) < 0)
			return ctlsock_default_path(NULL, buf, size);
	}
	ret = config_load(&c, config, err, sizeof(err));
	if (ret) {
		snprintf(buf, size, "%s", err);
		config_free(&c);
		return ret < 0 ? ret : -EINVAL;
	}
	ret = ctlsock_path(&c, buf, size);
	config_free(&c);
	return ret;
}
