/* resolver.c - where the host finds a guest's DNS server by configuration (both platforms) */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "resolver.h"

size_t resolver_peer_dns(const struct config_peer *cp, struct prefix *out, size_t max)
{
	const struct config_prefixes *l = &cp->allowed_ips;
	size_t n = 0;

	for (size_t j = 0; j < l->n && n < max; j++)
		if (l->v[j].len == prefix_addr_len(l->v[j].family) * 8)
			out[n++] = l->v[j];
	return n;
}

void resolver_set_desc(char *buf, size_t size, const char *domain, const struct prefix *dns,
		       const char *how)
{
	char a[PREFIX_STRLEN], *slash;

	prefix_format(&dns[0], a, sizeof(a));
	slash = strchr(a, '/');
	if (slash)
		*slash = '\0';
	snprintf(buf, size, "*.%s -> %s (%s)", domain, a, how);
}
