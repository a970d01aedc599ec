/* service.c - the foreground life of both programs: start, serve, reload, stop
 *
 * No self-daemonizing: systemd (or a container runtime) supervises us.
 * SIGINT and SIGTERM stop cleanly, removing what we added to the system;
 * SIGHUP re-parses the whole configuration and only then swaps it in, so a
 * broken edit never takes a running tunnel down.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#ifdef __linux__
#include "firewall.h"
#include "guest.h"		/* gangwayd runs only in the (Linux) VM */
#endif
#include "ctlsock_srv.h"
#include "host.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "sandbox.h"
#include "statedir.h"
#include "service.h"

#define SERVICE_WAIT_CONFIG_S	2	/* how often --wait-config looks */

struct service {
	const struct service_opts *o;
	struct loop *loop;
	struct tunnel tunnel;
	struct guest *guest;		/* gangwayd: networks, firewall, adverts */
	struct host *host;		/* gangway up: routes from adverts */
	struct ctlsock_srv *ctl;	/* status for `gangway status` */
};

/* The control socket asks the tunnel and the control plane in use for their state. */
static void service_status(void *ctx, struct ctlsock_snap *snap)
{
	struct service *s = ctx;
	struct ctlsock_status *st = &snap->status;

	tunnel_stats(&s->tunnel, snap);
#ifdef __linux__
	if (s->guest)
		guest_status(s->guest, st);
#endif
	if (s->host)
		host_status(s->host, st);
}

/*
 * SIGHUP and the control socket's "reload": parse the whole file, and only
 * if that works swap it in. 0, or -errno with the reason in err.
 */
static int service_reload(struct service *s, char *err, size_t errlen)
{
	struct config c;
	int ret;

	log_info("Reloading %s", s->o->config_path);
	notify_send("RELOADING=1");
	ret = config_load(&c, s->o->config_path, err, errlen);
	if (ret) {
		log_err("%s; keeping the running configuration", err);
		ret = ret < 0 ? ret : -EINVAL;
		goto out;
	}
	if (c.has_log_level && !s->o->verbose)
		log_set_level(c.log_level);
	ret = tunnel_reload(&s->tunnel, &c);
	if (ret == -EINVAL)
		snprintf(err, errlen, CONFIG_RESTART_KEYS " change only on restart; "
			 "keeping the running configuration");
	else if (ret)
		snprintf(err, errlen, "%s; keeping the running configuration",
			 strerror(-ret));
	else if (s->host)
		host_reload(s->host);
out:
	config_free(&c);
	notify_send("READY=1");
	return ret;
}

static int service_on_reload(void *ctx, char *err, size_t errlen)
{
	return service_reload(ctx, err, errlen);
}

/* The capture tap shows itself to the tunnel while captures are attached. */
static void service_publish_tap(void *ctx, struct captap *tap)
{
	struct service *s = ctx;

	tunnel_set_tap(&s->tunnel, tap);
}

static const struct ctlsock_srv_ops service_ctl_ops = {
	.status = service_status,
	.reload = service_on_reload,
	.publish_tap = service_publish_tap,
};

static void service_on_watchdog(void *ctx, int fd, uint32_t events)
{
	notify_send("WATCHDOG=1");
}

#ifdef __linux__
/*
 * The guest's user when none is configured: iptables-legacy lists its
 * tables from /proc/net/ip_tables_names, which only root may read, so a
 * guest that may meet Docker's rules there stays root: Firewall =
 * iptables-legacy, Docker's chain already in a legacy table, or a system
 * whose iptables command is the legacy one (Docker runs that command).
 * Anywhere else (iptables-nft, Debian's default; nftables; no firewall) it
 * runs as the unprivileged user.
 */
static const char *service_guest_user(const struct config *c)
{
	char path[PATH_MAX];

	switch (c->firewall) {
	case CONFIG_FW_IPTABLES_LEGACY:
		return "root";
	case CONFIG_FW_NFTABLES:
	case CONFIG_FW_OFF:
		return CONFIG_DEFAULT_USER;
	case CONFIG_FW_AUTO:
		if (firewall_legacy_in_use())
			return "root";
		break;
	case CONFIG_FW_IPTABLES_NFT:
		return CONFIG_DEFAULT_USER;
	}
	if (realpath("/usr/sbin/iptables", path) && strstr(path, "legacy"))
		return "root";
	return CONFIG_DEFAULT_USER;
}
#endif

#ifdef __linux__
/*
 * Container names need the engine's socket, which its group may use (root
 * and "docker", as Docker installs it): the unprivileged guest keeps that
 * group. The socket's own group where it exists, else the group named
 * docker (the engine may start after us). That group is root's equal in
 * the VM, as the docs say of the socket; Names = off leaves it out.
 */
static void service_docker_group(const struct config *c, struct sandbox_user *u)
{
	struct stat st;
	struct group *gr;

	if (stat(c->docker_socket, &st) == 0 && S_ISSOCK(st.st_mode)) {
		if (st.st_gid == 0 || !(st.st_mode & S_IWGRP))
			return;
		u->extra_gid = st.st_gid;
	} else if ((gr = getgrnam("docker"))) {
		u->extra_gid = gr->gr_gid;
	} else {
		return;
	}
	u->has_extra = true;
	log_info("Keeping group %u for the Docker engine's socket (container names)",
		 (unsigned int)u->extra_gid);
}
#endif

/*
 * Where the configured user exists, make the state directory its own (it
 * writes remembered endpoints there and removes its socket on stop) and
 * return it in *u; else say once why we stay root. Without User =, the host
 * agent runs as gangway, and so does the guest unless iptables-legacy may
 * be in play (service_guest_user).
 */
static const char *service_user(struct service *s, struct sandbox_user *u)
{
	const struct config *c = &s->tunnel.cfg;
	const char *name = c->user[0] ? c->user : CONFIG_DEFAULT_USER;
	char err[CONFIG_ERR_LEN];
	int ret;

#ifdef __linux__
	if (!c->user[0] && s->o->role == TUNNEL_GUEST)
		name = service_guest_user(c);
#endif
	ret = sandbox_user(name, u);

	if (ret == -ENOENT) {
		log_notice("No user '%s': running as root (create it to run unprivileged)",
			   name);
		return name;
	}
	if (ret) {
		log_warn("Cannot look up user '%s': %s; running as root", name, strerror(-ret));
		return name;
	}
	if (!u->valid)
		return name;
#ifdef __linux__
	if (s->o->role == TUNNEL_GUEST && c->names)
		service_docker_group(c, u);
#endif
	/* Never take over a directory someone else controls (statedir.c). */
	if (statedir_prepare(c, err, sizeof(err))) {
		log_warn("%s; running as root", err);
		u->valid = false;
	} else if (chown(c->state_dir, u->uid, (gid_t)-1) < 0) {
		log_warn("Cannot give %s to user '%s': %m; running as root", c->state_dir, name);
		u->valid = false;
	}
	return name;
}

/*
 * After start: shed the privileges only start needed (sandbox.c), then tell
 * the service manager the device and rules are in place, and keep its
 * watchdog fed from the event loop, so a wedged loop gets us restarted.
 */
static int service_ready(struct service *s)
{
	uint32_t keep = SANDBOX_NET_ADMIN;
	uint64_t wd = notify_watchdog_ns();
	struct sandbox_user u;
	const char *user;
	int ret;

	if (s->o->role == TUNNEL_GUEST)
		keep |= SANDBOX_NET_RAW;	/* iptables programs it runs */
	/* Container names: the DNS server may bind port 53 again. */
	if (s->o->role == TUNNEL_GUEST && s->tunnel.cfg.names)
		keep |= SANDBOX_NET_BIND_SERVICE;
	user = service_user(s, &u);
	ret = sandbox_enter(keep, &u);
	if (ret == -EPERM && u.valid) {
		log_warn("Cannot switch to user '%s' (no CAP_SETUID or CAP_SETGID); "
			 "running as root", user);
		u.valid = false;
		ret = sandbox_enter(keep, &u);
	}
	if (ret) {
		log_err("Failed to drop privileges: %s", strerror(-ret));
		return ret;
	}
	if (u.valid) {
		log_info("Running as user '%s'", user);
		if (access(s->o->config_path, R_OK) < 0)
			log_notice("%s is not readable by user '%s': a reload will fail "
				   "(restart instead, or give the file that user's group, "
				   "mode 0640)", s->o->config_path, user);
	}
	ret = sandbox_seccomp();
	if (ret) {
		log_err("Failed to install the system call filter: %s", strerror(-ret));
		return ret;
	}
	if (wd) {
		ret = loop_add_periodic(s->loop, wd / 2, service_on_watchdog, s);
		if (ret) {
			log_err("Failed to start the watchdog timer: %s", strerror(-ret));
			return ret;
		}
	}
	ret = notify_send("READY=1");
	if (ret < 0)
		log_warn("Failed to notify the service manager: %s, ignoring", strerror(-ret));
	return 0;
}

static void service_on_signal(void *ctx, int signo)
{
	struct service *s = ctx;

	if (signo == SIGHUP) {
		char err[CONFIG_ERR_LEN];

		service_reload(s, err, sizeof(err));
		return;
	}
	log_info("Received %s, stopping", strsignal(signo));
	loop_stop(s->loop);
}

/* What tells a file's versions apart: a new one may be renamed into place. */
static bool service_file_id(const char *path, struct stat *st)
{
	if (stat(path, st) == 0)
		return true;
	memset(st, 0, sizeof(*st));
	return false;
}

/* --wait-config: sleep until the configuration file is replaced or edited. */
static void service_wait_config(const char *path)
{
	struct stat was, now;

	service_file_id(path, &was);
	log_notice("Waiting for %s to change (fix it, and this exits to be restarted)", path);
	for (;;) {
		sleep(SERVICE_WAIT_CONFIG_S);
		service_file_id(path, &now);
		if (now.st_ino != was.st_ino || now.st_dev != was.st_dev ||
		    now.st_size != was.st_size || now.st_mtime != was.st_mtime ||
		    now.st_ctime != was.st_ctime)
			return;
	}
}

int service_main(const struct service_opts *o)
{
	static struct service s;	/* large (packet buffer): not on the stack */
	char err[CONFIG_ERR_LEN];
	struct config c;
	int ret, status = 1;

	log_init(o->prog, o->verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if (config_load(&c, o->config_path, err, sizeof(err))) {
		log_err("%s", err);
		config_free(&c);
		if (o->wait_config && !o->check_only)
			service_wait_config(o->config_path);
		return 1;
	}
	if (o->check_only) {
		printf("%s: configuration OK (%zu peer%s)\n", o->config_path, c.n_peers,
		       c.n_peers == 1 ? "" : "s");
		config_free(&c);
		return 0;
	}
	if (c.has_log_level && !o->verbose)
		log_set_level(c.log_level);

	s.o = o;
	s.loop = loop_new();
	if (!s.loop) {
		log_err("Failed to create the event loop: %m");
		config_free(&c);
		return 1;
	}
	ret = loop_set_signals(s.loop, service_on_signal, &s);
	if (ret) {
		log_err("Failed to set up signal handling: %s", strerror(-ret));
		goto out;
	}
	ret = tunnel_start(&s.tunnel, s.loop, &c, o->role);
	if (ret)
		goto out;
#ifdef __linux__
	if (o->role == TUNNEL_GUEST)
		s.guest = guest_start(&s.tunnel, s.loop);
	else
#endif
		s.host = host_start(&s.tunnel, s.loop);
	if (!s.guest && !s.host)
		goto out;
	/* Without it the tunnel still works: a warning (logged), not a failure. */
	s.ctl = ctlsock_srv_start(tunnel_config(&s.tunnel), s.loop, &service_ctl_ops, &s);
	if (service_ready(&s))
		goto out;
	log_notice("%s %s running", o->prog, GANGWAY_VERSION);
	ret = loop_run(s.loop);
	if (ret)
		log_err("Event loop failed: %s", strerror(-ret));
	else
		status = 0;
	notify_send("STOPPING=1");
out:
	ctlsock_srv_stop(s.ctl);
#ifdef __linux__
	guest_stop(s.guest);
#endif
	host_stop(s.host);
	tunnel_stop(&s.tunnel);
	config_free(&c);
	loop_free(s.loop);
	return status;
}

int service_parse_args(struct service_opts *o, int argc, char **argv, const char *usage)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "wait-config", no_argument, NULL, 'w' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:nvwVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config_path = optarg;
			break;
		case 'n':
			o->check_only = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'w':
			o->wait_config = true;
			break;
		case 'V':
			printf("%s %s\n", o->prog, GANGWAY_VERSION);
			return 1;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n%s", o->prog, argv[optind], usage);
		return 2;
	}
	return 0;
}
