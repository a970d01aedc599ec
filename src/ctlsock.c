/* ctlsock.c - the control socket's protocol: request grammar, socket paths, whole writes
 *
 * The daemons (ctlsock_srv.c) and the CLI (ctlsock_client.c) both speak
 * through these: a request is one printable line, checked byte by byte
 * before any word of it is believed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "captap.h"
#include "ctlsock.h"

/*
 * "capture [snaplen N] [filter EXPR...]" (buf checked for bytes already,
 * len without the CR); cap may be NULL to only check it.
 */
static int ctlsock_capture_args(const char *buf, size_t len, struct ctlsock_capture *cap)
{
	static const char word[] = "capture", snap[] = "snaplen ", filt[] = "filter ";
	uint32_t snaplen = 0;
	size_t i = sizeof(word) - 1, digits = 0;

	if (len < i || memcmp(buf, word, i))
		return -EINVAL;
	if (cap) {
		cap->snaplen = 0;
		cap->filter[0] = '\0';
	}
	if (i == len)
		return 0;
	if (buf[i++] != ' ')
		return -EINVAL;
	if (len - i >= sizeof(snap) - 1 && !memcmp(buf + i, snap, sizeof(snap) - 1)) {
		for (i += sizeof(snap) - 1; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
			snaplen = snaplen * 10 + (uint32_t)(buf[i] - '0');
			if (snaplen > CAPTAP_SNAPLEN_MAX || ++digits > 7)
				return -EINVAL;
		}
		if (!digits || !snaplen)
			return -EINVAL;
		if (cap)
			cap->snaplen = snaplen;
		if (i == len)
			return 0;
		if (buf[i++] != ' ')
			return -EINVAL;
	}
	/* The filter is the rest of the line, at least one byte. */
	if (len - i < sizeof(filt) || memcmp(buf + i, filt, sizeof(filt) - 1))
		return -EINVAL;
	i += sizeof(filt) - 1;
	if (cap) {
		memcpy(cap->filter, buf + i, len - i);
		cap->filter[len - i] = '\0';
	}
	return 0;
}

int ctlsock_parse(const char *buf, size_t len, enum ctlsock_req *req)
{
	static const struct {
		const char *text;
		enum ctlsock_req req;
	} reqs[] = {
		{ "status", CTLSOCK_REQ_STATUS },
		{ "status json", CTLSOCK_REQ_STATUS_JSON },
		{ "prometheus", CTLSOCK_REQ_PROMETHEUS },
		{ "ping", CTLSOCK_REQ_PING },
		{ "reload", CTLSOCK_REQ_RELOAD },
		{ "names", CTLSOCK_REQ_NAMES },
	};

	if (len > CTLSOCK_MAX_REQ - 1)
		return -E2BIG;
	/* Tolerate a CR (a request typed through socat or nc -C). */
	if (len && buf[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e)
			return -EINVAL;
	if (len >= 7 && !memcmp(buf, "capture", 7) && (len == 7 || buf[7] == ' ')) {
		if (ctlsock_capture_args(buf, len, NULL))
			return -EINVAL;
		*req = CTLSOCK_REQ_CAPTURE;
		return 0;
	}
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		if (strlen(reqs[i].text) == len && !memcmp(reqs[i].text, buf, len)) {
			*req = reqs[i].req;
			return 0;
		}
	}
	return -EINVAL;
}

int ctlsock_parse_capture(const char *buf, size_t len, struct ctlsock_capture *cap)
{
	enum ctlsock_req req;
	int ret = ctlsock_parse(buf, len, &req);

	if (ret)
		return ret;
	if (req != CTLSOCK_REQ_CAPTURE)
		return -EINVAL;
	if (buf[len - 1] == '\r')	/* len > 0: it parsed */
		len--;
	return ctlsock_capture_args(buf, len, cap);
}

int ctlsock_path(const struct config *c, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s.sock", c->state_dir, c->ifname);

	if (n < 0 || (size_t)n >= size ||
	    (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

int ctlsock_default_path(const char *ifname, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s.sock", CONFIG_DEFAULT_STATE_DIR,
			 ifname ? ifname : CONFIG_DEFAULT_IFNAME);

	if (n < 0 || (size_t)n >= size ||
	    (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

void ctlsock_send(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}
