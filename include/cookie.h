/* cookie.h - WireGuard's mac1/mac2, cookie replies, handshake rate limiting */
#ifndef GANGWAY_COOKIE_H
#define GANGWAY_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto.h"

#define COOKIE_LEN		CRYPTO_MAC_LEN
#define COOKIE_REPLY_LEN	64
/* The responder's secret changes every two minutes (whitepaper 5.4.7). */
#define COOKIE_SECRET_MAX_AGE	(120ULL * 1000000000ULL)
/* A cookie is used for two minutes less a margin for the trip (as the kernel). */
#define COOKIE_SECRET_LATENCY	(5ULL * 1000000000ULL)

/* Handshake initiations allowed per source address when under load. */
#define COOKIE_RATELIMIT_PER_SEC	20
#define COOKIE_RATELIMIT_BURST		5
/* Bounded table: buckets x ways entries, least recently seen evicted. */
#define COOKIE_RATELIMIT_BUCKETS	1024
#define COOKIE_RATELIMIT_WAYS		4

/* Responder side, one per device: checks mac1/mac2 and answers with cookies. */
struct cookie_checker {
	uint8_t mac1_key[CRYPTO_HASH_LEN];	/* HASH("mac1----" || our public key) */
	uint8_t cookie_key[CRYPTO_HASH_LEN];	/* HASH("cookie--" || our public key) */
	uint8_t secret[CRYPTO_HASH_LEN];	/* random, rotated every 2 minutes */
	uint64_t secret_birth;
	bool secret_set;
};

/* Initiator side, one per peer: adds mac1/mac2 to what we send that peer. */
struct cookie_maker {
	uint8_t mac1_key[CRYPTO_HASH_LEN];	/* HASH("mac1----" || peer's key) */
	uint8_t cookie_key[CRYPTO_HASH_LEN];	/* HASH("cookie--" || peer's key) */
	uint8_t cookie[COOKIE_LEN];		/* latest cookie from the peer */
	uint64_t cookie_birth;
	bool cookie_valid;
	uint8_t last_mac1[CRYPTO_MAC_LEN];	/* of our last handshake message */
	bool have_sent_mac1;
};

/*
 * A source address (src below) is a struct sockaddr_in or sockaddr_in6,
 * as its sa_family says, fully readable at that size.
 */
enum cookie_mac_state {
	COOKIE_BAD_MAC1,	/* drop silently */
	COOKIE_MAC1_OK,		/* mac2 absent, wrong, or not checked */
	COOKIE_MAC2_OK,		/* mac2 proves the source address */
};

struct cookie_ratelimit_entry;

struct cookie_ratelimit {
	struct cookie_ratelimit_entry *table;	/* BUCKETS * WAYS, fixed */
	uint8_t key[CRYPTO_KEY_LEN];		/* hashes sources to buckets */
};

void cookie_checker_init(struct cookie_checker *c,
			 const uint8_t pub[CRYPTO_KEY_LEN]);
void cookie_checker_wipe(struct cookie_checker *c);
void cookie_maker_init(struct cookie_maker *m,
		       const uint8_t peer_pub[CRYPTO_KEY_LEN]);
void cookie_maker_wipe(struct cookie_maker *m);

int cookie_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len,
		    uint64_t now);
enum cookie_mac_state cookie_validate(struct cookie_checker *c,
				      const uint8_t *msg, size_t len,
				      const struct sockaddr *src, bool check_mac2,
				      uint64_t now);
int cookie_create_reply(struct cookie_checker *c,
			uint8_t out[COOKIE_REPLY_LEN], const uint8_t *msg,
			size_t len, const struct sockaddr *src, uint64_t now,
			const uint8_t nonce[CRYPTO_XNONCE_LEN]);
int cookie_consume_reply(struct cookie_maker *m,
			 const uint8_t msg[COOKIE_REPLY_LEN], uint64_t now);

int cookie_ratelimit_init(struct cookie_ratelimit *rl);
void cookie_ratelimit_free(struct cookie_ratelimit *rl);
bool cookie_ratelimit_allow(struct cookie_ratelimit *rl,
			    const struct sockaddr *src, uint64_t now);

#endif
