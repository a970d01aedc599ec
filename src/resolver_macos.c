/* resolver_macos.c - /etc/resolver/<domain> sends the names' domain through the tunnel
 *
 * macOS's resolver reads one file per domain in /etc/resolver (resolver(5)):
 * ours names the guest's DNS server; it is written when the guest's server
 * is known (hostdns.c), rewritten when that changes, removed when the guest
 * says its names are off and on stop, and an existing file not written by
 * us is left alone.
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
	bool set;			/* our file is in place */
	char domain[CONFIG_DOMAIN_LEN];
	char path[sizeof(RESOLVER_DIR) + CONFIG_DOMAIN_LEN + 1];
	char desc[CONFIG_DOMAIN_LEN + PREFIX_STRLEN + 64];
};

struct resolver *resolver_start(const struct config *c, const char *ifname)
{
	struct resolver *r = calloc(1, sizeof(*r));

	(void)ifname;
	if (!r)
		return NULL;
	snprintf(r->domain, sizeof(r->domain), "%s", c->domain);
	snprintf(r->path, sizeof(r->path), "%s/%s", RESOLVER_DIR, c->domain);
	return r;
}

/* Is the file there someone else's? Then it is theirs to keep. */
static bool resolver_theirs(const struct resolver *r)
{
	char head[sizeof(RESOLVER_MARK)] = { 0 };
	FILE *f = fopen(r->path, "r");
	size_t got;

	if (!f)
		return false;
	got = fread(head, 1, sizeof(head) - 1, f);
	fclose(f);
	return got != sizeof(head) - 1 || strcmp(head, RESOLVER_MARK);
}

static void resolver_remove(struct resolver *r)
{
	if (!r->set)
		return;
	r->set = false;
	r->desc[0] = '\0';
	if (unlink(r->path) < 0 && errno != ENOENT)
		log_warn("Failed to remove %s: %m", r->path);
}

void resolver_set(struct resolver *r, const struct prefix *dns, size_t n)
{
	char a[PREFIX_STRLEN], *slash;
	FILE *f;
	int fd;

	if (!r)
		return;
	if (!n) {
		if (r->set)
			log_info("Container names: %s removed: the guest serves no names", r->path);
		resolver_remove(r);
		return;
	}
	if (mkdir(RESOLVER_DIR, 0755) < 0 && errno != EEXIST)
		goto fail;
	if (!r->set && resolver_theirs(r)) {
		log_warn("Container names: %s exists and is not ours; left as it is", r->path);
		return;
	}
	fd = open(r->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	r->set = true;
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
	resolver_set_desc(r->desc, sizeof(r->desc), r->domain, dns, "/etc/resolver");
	log_info("Container names: %s sends *.%s to the guest (%s)", r->path, r->domain,
		 r->desc);
	return;
fail:
	log_warn("Container names: cannot write %s: %m; add it by hand, with a line "
		 "'nameserver <the guest's tunnel address>'", r->path);
	resolver_remove(r);
}

const char *resolver_describe(const struct resolver *r)
{
	return r && r->set ? r->desc : NULL;
}

void resolver_stop(struct resolver *r)
{
	if (!r)
		return;
	resolver_remove(r);
	free(r);
}
