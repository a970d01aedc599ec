/* doctor.h - the checks of `gangway doctor`, shared by its files only
 *
 * cmd_doctor.c runs the checks in the order packets need them; doctor.c
 * holds the output and the checks every platform makes; doctor_status.c
 * reads the daemon's status into a struct; doctor_net_linux.c (route,
 * probe, sysctls) and doctor_fw_linux.c (Docker's firewall, through
 * firewall_inspect) are the VM's and Linux's own.
 */
#ifndef GANGWAY_DOCTOR_H
#define GANGWAY_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>
#include <netinet/in.h>

#include "config.h"
#include "key.h"
#include "prefix.h"

#define DOCTOR_SESSION_MAX	180	/* Reject-After-Time: older means no session */
#define DOCTOR_ENDPOINT_LEN	(INET6_ADDRSTRLEN + 10)

/* One peer as the daemon reports it. */
struct doctor_status_peer {
	char key[KEY_B64_LEN + 1];
	double age;			/* seconds since the last handshake; -1: never */
	bool has_age;
	char endpoint[DOCTOR_ENDPOINT_LEN];	/* "" while unknown */
	double rx_packets, tx_packets;
};

/* What the doctor needs of the daemon's status. */
struct doctor_status {
	bool has_info;			/* the daemon said who it is */
	bool guest;			/* role guest, else host */
	char interface[IF_NAMESIZE];	/* "" when not said */
	bool has_firewall;
	char firewall[32];		/* its mechanism's name */
	double bad_mac1, bad_handshake;	/* the device's drops of these reasons */
	struct doctor_status_peer peers[CONFIG_MAX_PEERS];
	size_t n_peers;
};

struct doctor {
	const char *conf_path;
	struct config c;
	char sock[512];
	struct doctor_status st;	/* as read by doctor_check_daemon */
	char tun[IF_NAMESIZE];
	bool guest;
	int family;			/* of the IP to probe; 0 without one */
	int fails;
};

/* doctor.c: the report and the checks every platform makes */
void doctor_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* fix may be NULL; the sentence is printed first, the fix indented below. */
void doctor_fail(struct doctor *d, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int doctor_read_int(const char *path, long *v);
bool doctor_check_config(struct doctor *d);
bool doctor_check_keys(struct doctor *d);
bool doctor_check_daemon(struct doctor *d, const char *sock_opt);
bool doctor_check_handshakes(struct doctor *d);
void doctor_check_mtu(struct doctor *d);
bool doctor_check_route(struct doctor *d, const struct prefix *ip, const char *ipstr);
bool doctor_probe(struct doctor *d, const struct prefix *ip, const char *ipstr);

/*
 * doctor_status.c: the daemon's Prometheus text, parsed line by line
 * (name, labels, value) into st. 0, or -EINVAL when text holds no sample.
 */
int doctor_status_parse(const char *text, struct doctor_status *st);
/*
 * Ask the daemon at sock. 0; or ctlsock_client_request's -errno with *err the
 * daemon's own message for -EPROTO (free it), else NULL.
 */
int doctor_status_read(const char *sock, struct doctor_status *st, char **err);

/*
 * What the guests told the host of their firewalls: the text status's
 * "  guest firewall: TEXT (fix: FIX)" lines (ctlsock_render.c). One line
 * (len bytes, no newline) into text and fix, cleaned to printable ASCII;
 * false when it is no such line.
 */
#define DOCTOR_FINDING_TEXT	512
bool doctor_status_finding(const char *line, size_t len, char *text, char *fix);
/*
 * The findings in a host's text status (body): those of the guest whose
 * installed prefix holds ip, or of every guest when none does (static
 * AllowedIPs), each passed to fn. Returns how many.
 */
typedef void doctor_finding_fn(void *ctx, const char *text, const char *fix);
size_t doctor_status_findings(const char *body, const struct prefix *ip,
			      doctor_finding_fn *fn, void *ctx);

#ifdef __linux__
/* doctor_net_linux.c */
/* `ip route get`: see netif_route_get. */
int doctor_net_route_get(int family, const void *addr, char *dev, size_t devlen);
/*
 * The guest prefix in state ("installed", "refused") holding ip, from the
 * daemon's JSON status; a refused one's reason into reason (may be NULL).
 */
bool doctor_net_prefix_for(struct doctor *d, const struct prefix *ip, const char *state,
			   char *out, size_t size, char *reason, size_t rsize);
/* Ping ip up to tries times, 1 s each; the round trip in ms, or -errno. */
double doctor_net_ping(const struct prefix *ip, int tries);
void doctor_net_check_sysctls(struct doctor *d);

/* doctor_fw_linux.c */
void doctor_fw_check(struct doctor *d);
#endif

#endif
