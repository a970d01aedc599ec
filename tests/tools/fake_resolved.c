/* fake_resolved.c - stands in for systemd-resolved on a private bus: logs each call
 *
 * fake_resolved
 *
 * Owns org.freedesktop.resolve1 on the bus DBUS_SYSTEM_BUS_ADDRESS names and
 * answers the four Manager methods gangway up uses, printing one line per
 * call (flushed) for the test to read:
 *   SetLinkDNS IFINDEX FAMILY ADDRESS...
 *   SetLinkDomains IFINDEX DOMAIN ROUTING-ONLY(0/1)...
 *   SetLinkDefaultRoute IFINDEX 0/1
 *   RevertLink IFINDEX
 */
#include <stdio.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <systemd/sd-bus.h>

static int fake_set_dns(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	int32_t ifindex, family;
	const void *addr;
	size_t len;
	char text[INET6_ADDRSTRLEN];
	int ret;

	if ((ret = sd_bus_message_read(m, "i", &ifindex)) < 0 ||
	    (ret = sd_bus_message_enter_container(m, 'a', "(iay)")) < 0)
		return ret;
	printf("SetLinkDNS %d", ifindex);
	while ((ret = sd_bus_message_enter_container(m, 'r', "iay")) > 0) {
		if ((ret = sd_bus_message_read(m, "i", &family)) < 0 ||
		    (ret = sd_bus_message_read_array(m, 'y', &addr, &len)) < 0 ||
		    (ret = sd_bus_message_exit_container(m)) < 0)
			return ret;
		if (len != (family == AF_INET ? 4u : 16u) ||
		    !inet_ntop(family, addr, text, sizeof(text)))
			printf(" bad");
		else
			printf(" %d %s", family, text);
	}
	printf("\n");
	fflush(stdout);
	return ret < 0 ? ret : sd_bus_reply_method_return(m, NULL);
}

static int fake_set_domains(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	int32_t ifindex;
	const char *name;
	int route, ret;

	if ((ret = sd_bus_message_read(m, "i", &ifindex)) < 0 ||
	    (ret = sd_bus_message_enter_container(m, 'a', "(sb)")) < 0)
		return ret;
	printf("SetLinkDomains %d", ifindex);
	while ((ret = sd_bus_message_read(m, "(sb)", &name, &route)) > 0)
		printf(" %s %d", name, route);
	printf("\n");
	fflush(stdout);
	return ret < 0 ? ret : sd_bus_reply_method_return(m, NULL);
}

static int fake_default_route(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	int32_t ifindex;
	int on, ret = sd_bus_message_read(m, "ib", &ifindex, &on);

	if (ret < 0)
		return ret;
	printf("SetLinkDefaultRoute %d %d\n", ifindex, on);
	fflush(stdout);
	return sd_bus_reply_method_return(m, NULL);
}

static int fake_revert(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	int32_t ifindex;
	int ret = sd_bus_message_read(m, "i", &ifindex);

	if (ret < 0)
		return ret;
	printf("RevertLink %d\n", ifindex);
	fflush(stdout);
	return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable fake_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("SetLinkDNS", "ia(iay)", "", fake_set_dns, 0),
	SD_BUS_METHOD("SetLinkDomains", "ia(sb)", "", fake_set_domains, 0),
	SD_BUS_METHOD("SetLinkDefaultRoute", "ib", "", fake_default_route, 0),
	SD_BUS_METHOD("RevertLink", "i", "", fake_revert, 0),
	SD_BUS_VTABLE_END
};

int main(void)
{
	sd_bus *bus = NULL;
	int ret;

	if ((ret = sd_bus_open_system(&bus)) < 0 ||
	    (ret = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/resolve1",
					    "org.freedesktop.resolve1.Manager", fake_vtable,
					    NULL)) < 0 ||
	    (ret = sd_bus_request_name(bus, "org.freedesktop.resolve1", 0)) < 0) {
		fprintf(stderr, "fake_resolved: %d\n", ret);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		ret = sd_bus_process(bus, NULL);
		if (ret < 0)
			return 1;
		if (ret == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
			return 1;
	}
}
