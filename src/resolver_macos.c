/* resolver_macos.c - /etc/resolver/<domain> sends the names' domain through the tunnel
 *
 * macOS's resolver reads one file per domain in /etc/resolver (resolver(5)):
 * ours names the guest's DNS server; it is written on start and removed on
 * stop, and an existing file not written by us is left alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"
#include "resolver.h"

#define RESOLVER_DIR	"/etc/resolver"
#define RESOLVER_MARK	"# written by gangway up; removed when it stops\n"

struct resolver {
	char path[sizeof(RESOLVER_DIR) + CONFIG_DOMAIN_LEN + 1];
	char desc[CONFIG_DOMAIN_LEN + PREFIX_STRLEN + 64];
};

struct resolver *resolver_start(const struct config *c, const char *ifname,
				const struct prefix *dns, size_t n)
{
	struct resolver *r;
	char a[PREFIX_STRLEN], head[sizeof(RESOLVER_MARK)] = { 0 }, *slash;
	FILE *f;
	int fd;

	(void)ifname;
	if (!n)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	snprintf(r->path, sizeof(r->path), "%s/%s", RESOLVER_DIR, c->domain);
	if (mkdir(RESOLVER_DIR, 0755) < 0 && errno != EEXIST)
		goto fail;
	/* Someone else's file for the domain: theirs to keep. */
	f = fopen(r->path, "r");
	if (f) {
		size_t got = fread(head, 1, sizeof(head) - 1, f);

		fclose(f);
		if (got != sizeof(head) - 1 || strcmp(head, RESOLVER_MARK)) {
			log_warn("Container names: %s exists and is not ours; left as it is",
				 r->path);
			free(r);
			return NULL;
		}
	}
	fd = open(r->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	fputs(RESOLVER_MARK, f);
	for (size_t i = 0; i < n; i++) {
		prefix_format(&dns[i], a, sizeof(a));
		slash = strchr(a, '/');
		if (slash)
			*slash = '\0';
		fprintf(f, "nameserver %s\n", a);
	}
	fprintf(f, "timeout 2\n");
	if (fclose(f) != 0)
		goto fail;
	log_info("Container names: %s sends *.%s to the guest", r->path, c->domain);
	resolver_set_desc(r->desc, sizeof(r->desc), c, dns, "/etc/resolver");
	return r;
fail:
	log_warn("Container names: cannot write %s: %m; add it by hand, with a line "
		 "'nameserver <the guest's tunnel address>'", r->path);
	free(r);
	return NULL;
}

const char *resolver_describe(const struct resolver *r)
{
	return r->desc;
}

void resolver_stop(struct resolver *r)
{
	if (!r)
		return;
	if (unlink(r->path) < 0 && errno != ENOENT)
		log_warn("Failed to remove %s: %m", r->path);
	free(r);
}
