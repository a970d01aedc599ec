/* config.h - WireGuard-style INI configuration with a [Gangway] section */
#ifndef GANGWAY_CONFIG_H
#define GANGWAY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "key.h"
#include "log.h"
#include "prefix.h"

#define CONFIG_MAX_SIZE		(1 << 20)	/* bytes of config text */
#define CONFIG_MAX_LINE		4096
#define CONFIG_MAX_PEERS	256
#define CONFIG_MAX_PREFIXES	1024		/* per list */
#define CONFIG_HOST_LEN		256
#define CONFIG_ERR_LEN		512
#define CONFIG_GROUP_LEN	33		/* a group name, NUL included */
#define CONFIG_DOMAIN_LEN	128		/* Domain =, NUL included */

struct config_prefixes {
	struct prefix *v;
	size_t n;
};

#define CONFIG_MAX_PATTERNS	32

/* Interface name patterns (fnmatch globs such as "br-*"). */
struct config_patterns {
	char v[CONFIG_MAX_PATTERNS][IF_NAMESIZE];
	size_t n;
};

enum config_firewall {
	CONFIG_FW_AUTO,			/* detect what dockerd uses */
	CONFIG_FW_IPTABLES_NFT,		/* Docker's rules in iptables-nft */
	CONFIG_FW_IPTABLES_LEGACY,	/* Docker's rules in iptables-legacy */
	CONFIG_FW_NFTABLES,		/* Docker 29's nftables backend */
	CONFIG_FW_OFF,			/* touch nothing */
};

/* A guest prefix reached from the host under another prefix of equal length. */
struct config_remap {
	struct prefix guest;
	struct prefix host;
};

struct config_peer {
	uint8_t public_key[KEY_LEN];
	uint8_t preshared_key[KEY_LEN];
	bool has_public_key;
	bool has_preshared_key;
	char endpoint_host[CONFIG_HOST_LEN];	/* "" = none; a name or a literal */
	uint16_t endpoint_port;
	struct config_prefixes allowed_ips;
	/* host: what the guest may advertise; unset = the private ranges */
	struct config_prefixes accept_prefixes;
	bool has_accept_prefixes;
	unsigned int persistent_keepalive;	/* seconds, 0 = off */
	struct config_remap *remaps;		/* host: Remap = GUEST=HOST, ... */
	size_t n_remaps;
	int line;				/* line of the [Peer] header */
};

struct config {
	char path[256];
	/* [Interface] */
	uint8_t private_key[KEY_LEN];
	bool has_private_key;
	struct config_prefixes addresses;	/* host bits kept */
	uint16_t listen_port;			/* 0 = any */
	unsigned int mtu;			/* 0 = default */
	/* [Peer] */
	struct config_peer *peers;
	size_t n_peers;
	/* [Gangway] */
	char ifname[IF_NAMESIZE];
	enum log_level log_level;
	bool has_log_level;
	char state_dir[256];			/* where learnt endpoints are kept */
	/* guest: which networks to advertise and open */
	struct config_patterns bridges;		/* default: docker0, br-* */
	struct config_patterns exclude_interfaces;
	struct config_prefixes include_prefixes;
	struct config_prefixes exclude_prefixes;
	bool snat;				/* default on */
	enum config_firewall firewall;
	uint32_t fwmark;			/* Docker's bridge-accept-fwmark, 0 = unset */
	/* host: routes of a guest silent this long are withdrawn (seconds) */
	unsigned int withdraw_after;
	/* packet I/O: "fast" (default), "batch" or "plain" ("" = default) */
	char packet_io[8];
	/* threads besides the event loop's sharing the AEAD work; -1 = auto */
	int crypto_workers;
	/* members of this group may use the control socket too ("" = root only) */
	char control_group[CONFIG_GROUP_LEN];
	uint32_t control_gid;			/* its gid, resolved by the parser */
	/* the user the daemon runs as after start ("root": stays uid 0;
	 * "": the host agent "gangway", the guest "root", see service.c) */
	char user[CONFIG_GROUP_LEN];
	/* container names (names.h): served by the guest, resolved by the host */
	bool names;				/* default on */
	char docker_socket[108];		/* the engine's API socket */
	char domain[CONFIG_DOMAIN_LEN];		/* lower case, no trailing dot */
};

#define CONFIG_DEFAULT_IFNAME	"gangway0"
#define CONFIG_DEFAULT_MTU	1420
#ifdef __APPLE__
/* macOS: / is read-only, /run does not exist; Homebrew's prefix for files. */
#define CONFIG_DIR		"/usr/local/etc/gangway"
#define CONFIG_DEFAULT_STATE_DIR "/var/run/gangway"
#else
#define CONFIG_DIR		"/etc/gangway"
#define CONFIG_DEFAULT_STATE_DIR "/run/gangway"
#endif
/*
 * What a reload cannot change (tunnel_reload refuses it); for messages and
 * help. config_restart_change() compares exactly these (test_config).
 */
#define CONFIG_RESTART_KEYS	"PrivateKey, ListenPort, MTU, Interface, PacketIO and CryptoWorkers"
#define CONFIG_HOST_PATH	CONFIG_DIR "/gangway.conf"
#define CONFIG_GUEST_PATH	CONFIG_DIR "/gangwayd.conf"
#define CONFIG_DEFAULT_USER	"gangway"	/* the host agent's default User */
#define CONFIG_DEFAULT_WITHDRAW_AFTER 600
#define CONFIG_DEFAULT_DOCKER_SOCKET "/var/run/docker.sock"
/* .internal is reserved by ICANN for private use (2024): see docs/names.md */
#define CONFIG_DEFAULT_DOMAIN	"gangway.internal"

/*
 * Parse text (len bytes; name is used in messages). On error returns
 * -EINVAL and writes "name:line: reason" into err. c is reset first; call
 * config_free() in every case.
 */
int config_parse(struct config *c, const char *name, const char *text, size_t len,
		 char *err, size_t errlen);
/* Read and parse a file; -errno when it cannot be read, message in err. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);
struct stat;
/*
 * True when a configuration file with these permissions keeps its key
 * private: readable by root alone, or also, read-only, by the group of the
 * account the daemon runs as (c->user, or CONFIG_DEFAULT_USER), so that
 * the unprivileged daemon can read it again on reload. config_load warns
 * otherwise.
 */
bool config_mode_private(const struct config *c, const struct stat *st);
/*
 * The file a CLI command reads when not told: the host agent's, else the
 * guest daemon's (a command run in the VM).
 */
const char *config_default_path(void);
void config_free(struct config *c);
/* Wipe secrets and free. */
void config_init(struct config *c);

/*
 * The first key of CONFIG_RESTART_KEYS whose value differs between the
 * running configuration and a new one, or NULL when a reload may apply it.
 */
const char *config_restart_change(const struct config *running, const struct config *next);

/* Split "host:port" / "[v6]:port" into its parts; 0 or -EINVAL. */
int config_parse_endpoint(const char *s, char *host, size_t hostlen, uint16_t *port);

#endif
