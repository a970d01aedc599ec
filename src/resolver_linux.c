/* resolver_linux.c - systemd-resolved sends the names' domain through the tunnel
 *
 * Theory of operation: resolved's D-Bus API (sd-bus) sets, on the tunnel
 * interface, the guest's DNS server and the routing-only domain
 * ~<domain>, and takes the link out of the default route, so queries for
 * the domain, and only those, go to gangwayd. The server follows what the
 * guest announces (hostdns.c), long after the agent dropped its
 * privileges: the bus connection opened at start keeps its credentials.
 * RevertLink when the guest says its names are off, and on stop (resolved
 * forgets the link anyway when the interface goes). Without resolved,
 * nothing on the host is touched: the log says what to add.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/socket.h>

#include <systemd/sd-bus.h>

#include "log.h"
#include "resolver.h"

#define RESOLVE_SERVICE		"org.freedesktop.resolve1"
#define RESOLVE_PATH		"/org/freedesktop/resolve1"
#define RESOLVE_MANAGER		"org.freedesktop.resolve1.Manager"

struct resolver {
	sd_bus *bus;			/* NULL: no system bus */
	int ifindex;
	bool set;			/* the link has our DNS server and domain */
	char ifname[IF_NAMESIZE];
	char domain[CONFIG_DOMAIN_LEN];
	char desc[CONFIG_DOMAIN_LEN + PREFIX_STRLEN + 64];
};

static int resolver_set_dns(struct resolver *r, const struct prefix *dns, size_t n,
			    sd_bus_error *err)
{
	sd_bus_message *m = NULL;
	int ret;

	ret = sd_bus_message_new_method_call(r->bus, &m, RESOLVE_SERVICE, RESOLVE_PATH,
					     RESOLVE_MANAGER, "SetLinkDNS");
	if (ret >= 0)
		ret = sd_bus_message_append(m, "i", r->ifindex);
	if (ret >= 0)
		ret = sd_bus_message_open_container(m, 'a', "(iay)");
	for (size_t i = 0; i < n && ret >= 0; i++) {
		ret = sd_bus_message_open_container(m, 'r', "iay");
		if (ret >= 0)
			ret = sd_bus_message_append(m, "i", dns[i].family);
		if (ret >= 0)
			ret = sd_bus_message_append_array(m, 'y', dns[i].addr.b,
							  prefix_addr_len(dns[i].family));
		if (ret >= 0)
			ret = sd_bus_message_close_container(m);
	}
	if (ret >= 0)
		ret = sd_bus_message_close_container(m);
	if (ret >= 0)
		ret = sd_bus_call(r->bus, m, 0, err, NULL);
	sd_bus_message_unref(m);
	return ret;
}

static void resolver_explain(const struct resolver *r, const struct prefix *dns, const char *why)
{
	char a[PREFIX_STRLEN], *slash;

	prefix_format(&dns[0], a, sizeof(a));
	slash = strchr(a, '/');
	if (slash)
		*slash = '\0';
	log_notice("Container names: %s, so this host does not resolve *.%s yet. "
		   "Send that domain to %s: with systemd-resolved, "
		   "'resolvectl dns %s %s; resolvectl domain %s ~%s'; with dnsmasq, "
		   "'server=/%s/%s'; or query it directly ('dig @%s web.%s')",
		   why, r->domain, a, r->ifname, a, r->ifname, r->domain, r->domain, a, a,
		   r->domain);
}

struct resolver *resolver_start(const struct config *c, const char *ifname)
{
	struct resolver *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->ifindex = (int)if_nametoindex(ifname);
	if (!r->ifindex) {
		log_warn("Container names: no interface %s: %m", ifname);
		free(r);
		return NULL;
	}
	snprintf(r->ifname, sizeof(r->ifname), "%s", ifname);
	snprintf(r->domain, sizeof(r->domain), "%s", c->domain);
	/*
	 * Now, while we are root: the bus knows a connection by the
	 * credentials it was opened with, and the guest's DNS server may
	 * change long after the privileges are gone.
	 */
	if (sd_bus_open_system(&r->bus) < 0)
		r->bus = NULL;
	return r;
}

/* Take our DNS server and domain off the link. */
static void resolver_revert(struct resolver *r)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;

	if (!r->set)
		return;
	r->set = false;
	r->desc[0] = '\0';
	if (sd_bus_call_method(r->bus, RESOLVE_SERVICE, RESOLVE_PATH, RESOLVE_MANAGER,
			       "RevertLink", &err, NULL, "i", r->ifindex) < 0)
		log_debug("RevertLink: %s", err.message ? err.message : "failed");
	sd_bus_error_free(&err);
}

void resolver_set(struct resolver *r, const struct prefix *dns, size_t n)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	int ret;

	if (!r)
		return;
	if (!n) {
		if (r->set)
			log_info("Container names: systemd-resolved no longer sends *.%s to a "
				 "guest", r->domain);
		resolver_revert(r);
		return;
	}
	if (!r->bus) {
		resolver_explain(r, dns, "no system bus (systemd-resolved not running)");
		return;
	}
	ret = resolver_set_dns(r, dns, n, &err);
	if (ret < 0) {
		if (sd_bus_error_has_name(&err, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
		    sd_bus_error_has_name(&err, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
			resolver_explain(r, dns, "systemd-resolved is not running");
		else
			resolver_explain(r, dns, err.message ? err.message : strerror(-ret));
		sd_bus_error_free(&err);
		resolver_revert(r);	/* the guest's server before, if any: not ours now */
		return;
	}
	sd_bus_error_free(&err);
	ret = sd_bus_call_method(r->bus, RESOLVE_SERVICE, RESOLVE_PATH, RESOLVE_MANAGER,
				 "SetLinkDomains", &err, NULL, "ia(sb)", r->ifindex, 1,
				 r->domain, 1);
	if (ret < 0) {
		log_warn("Container names: systemd-resolved refused the domain %s: %s",
			 r->domain, err.message ? err.message : strerror(-ret));
		goto revert;
	}
	sd_bus_error_free(&err);
	/* Only the domain goes to the guest; everything else as before. */
	ret = sd_bus_call_method(r->bus, RESOLVE_SERVICE, RESOLVE_PATH, RESOLVE_MANAGER,
				 "SetLinkDefaultRoute", &err, NULL, "ib", r->ifindex, 0);
	if (ret < 0)
		log_debug("SetLinkDefaultRoute: %s", err.message ? err.message : strerror(-ret));
	sd_bus_error_free(&err);
	r->set = true;
	resolver_set_desc(r->desc, sizeof(r->desc), r->domain, dns, "systemd-resolved");
	log_info("Container names: systemd-resolved sends *.%s to the guest on %s (%s)",
		 r->domain, r->ifname, r->desc);
	return;
revert:
	sd_bus_error_free(&err);
	r->set = true;		/* the DNS server is on the link: take it off */
	resolver_revert(r);
}

const char *resolver_describe(const struct resolver *r)
{
	return r && r->set ? r->desc : NULL;
}

void resolver_stop(struct resolver *r)
{
	if (!r)
		return;
	resolver_revert(r);
	sd_bus_flush_close_unref(r->bus);
	free(r);
}
