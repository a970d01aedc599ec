/* noise.h - WireGuard's Noise_IKpsk2 handshake messages and transport framing */
#ifndef GANGWAY_NOISE_H
#define GANGWAY_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/*
 * Theory of operation: these functions are pure message transformations.
 * They never draw random numbers and never read a clock: the ephemeral
 * private key, the TAI64N timestamp and the sender index are arguments, so
 * the production caller (wg.c) supplies fresh random ones and the known
 * answer test supplies fixed ones through the very same code path.
 *
 * A consume function writes its result into a handshake the caller passes
 * (usually a temporary on the stack) and touches nothing else; the caller
 * commits it to the peer only after its own checks (timestamp, flood) pass,
 * so a message that fails half-way never changes any state.
 *
 * The mac1/mac2 fields are left zero here; cookie.c fills and checks them.
 */

#define NOISE_KEY_LEN		CRYPTO_KEY_LEN
#define NOISE_HASH_LEN		CRYPTO_HASH_LEN
#define NOISE_TAI64N_LEN	12

/* Message layouts (whitepaper 5.4); multi-byte integers are little endian. */
#define NOISE_INITIATION_LEN	148
#define NOISE_RESPONSE_LEN	92
#define NOISE_COOKIE_LEN	64
#define NOISE_DATA_HDR_LEN	16

#define NOISE_OFF_TYPE		0
#define NOISE_OFF_SENDER	4
#define NOISE_INIT_OFF_EPH	8
#define NOISE_INIT_OFF_STATIC	40	/* 32 + 16 tag */
#define NOISE_INIT_OFF_TS	88	/* 12 + 16 tag */
#define NOISE_INIT_OFF_MAC1	116
#define NOISE_INIT_OFF_MAC2	132
#define NOISE_RESP_OFF_RECEIVER	8
#define NOISE_RESP_OFF_EPH	12
#define NOISE_RESP_OFF_EMPTY	44	/* 0 + 16 tag */
#define NOISE_RESP_OFF_MAC1	60
#define NOISE_RESP_OFF_MAC2	76
#define NOISE_COOKIE_OFF_RECEIVER 4
#define NOISE_COOKIE_OFF_NONCE	8
#define NOISE_COOKIE_OFF_COOKIE	32	/* 16 + 16 tag */
#define NOISE_DATA_OFF_RECEIVER	4
#define NOISE_DATA_OFF_COUNTER	8

/* This side's static identity. */
struct noise_local {
	uint8_t priv[NOISE_KEY_LEN];
	uint8_t pub[NOISE_KEY_LEN];
};

/* What this side knows of one peer before any handshake. */
struct noise_remote {
	uint8_t pub[NOISE_KEY_LEN];
	uint8_t psk[NOISE_KEY_LEN];	/* zero when none is configured */
	uint8_t ss[NOISE_KEY_LEN];	/* DH(local priv, remote pub), precomputed */
	bool ss_ok;			/* false: low-order key, no handshake possible */
};

enum noise_state {
	NOISE_ZEROED = 0,
	NOISE_CREATED_INITIATION,	/* initiator, waiting for the response */
	NOISE_CONSUMED_INITIATION,	/* responder, about to answer */
	NOISE_CREATED_RESPONSE,		/* responder, keys can be derived */
	NOISE_CONSUMED_RESPONSE,	/* initiator, keys can be derived */
};

/* The transcript of one handshake in progress. */
struct noise_handshake {
	enum noise_state state;
	uint32_t local_index;		/* our sender index */
	uint32_t remote_index;		/* theirs */
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t ck[NOISE_HASH_LEN];
	uint8_t e_priv[NOISE_KEY_LEN];	/* our ephemeral */
	uint8_t e_remote[NOISE_KEY_LEN];/* their ephemeral */
};

/* Transport keys that come out of a completed handshake. */
struct noise_keys {
	uint8_t send[NOISE_KEY_LEN];
	uint8_t recv[NOISE_KEY_LEN];
	uint32_t local_index;
	uint32_t remote_index;
	bool initiator;
};

/* Fill in pub from priv. 0 or -errno. */
int noise_local_init(struct noise_local *l, const uint8_t priv[NOISE_KEY_LEN]);
/* Precompute the static-static DH; psk may be NULL. 0, or -EINVAL for a low-order key. */
int noise_remote_init(struct noise_remote *r, const struct noise_local *l,
		      const uint8_t pub[NOISE_KEY_LEN], const uint8_t *psk);

/* Wipe a handshake back to NOISE_ZEROED. */
void noise_handshake_clear(struct noise_handshake *hs);

int noise_create_initiation(struct noise_handshake *hs,
			    uint8_t msg[NOISE_INITIATION_LEN],
			    const struct noise_local *l,
			    const struct noise_remote *r,
			    struct crypto_aead_ctx *aead, uint32_t sender_index,
			    const uint8_t e_priv[NOISE_KEY_LEN],
			    const uint8_t timestamp[NOISE_TAI64N_LEN]);

typedef const struct noise_remote *(*noise_lookup_fn)(void *arg,
		const uint8_t pub[NOISE_KEY_LEN]);

int noise_consume_initiation(struct noise_handshake *hs,
			     const uint8_t msg[NOISE_INITIATION_LEN],
			     const struct noise_local *l,
			     struct crypto_aead_ctx *aead,
			     noise_lookup_fn lookup, void *arg,
			     const struct noise_remote **remote,
			     uint8_t timestamp[NOISE_TAI64N_LEN]);

int noise_create_response(struct noise_handshake *hs,
			  uint8_t msg[NOISE_RESPONSE_LEN],
			  const struct noise_remote *r,
			  struct crypto_aead_ctx *aead, uint32_t sender_index,
			  const uint8_t e_priv[NOISE_KEY_LEN]);

int noise_consume_response(struct noise_handshake *out,
			   const struct noise_handshake *hs,
			   const uint8_t msg[NOISE_RESPONSE_LEN],
			   const struct noise_local *l,
			   const struct noise_remote *r,
			   struct crypto_aead_ctx *aead);

int noise_derive_keys(struct noise_keys *k, struct noise_handshake *hs);

/* TAI64N of the wall-clock time unix_ns, whitened to about 1/60 s. */
void noise_tai64n(uint8_t out[NOISE_TAI64N_LEN], uint64_t unix_ns);

int noise_data_seal(struct crypto_aead_ctx *aead,
		    const uint8_t key[NOISE_KEY_LEN], uint32_t receiver,
		    uint64_t counter, uint8_t *buf, size_t len, size_t padded_len);
int noise_data_open(struct crypto_aead_ctx *aead,
		    const uint8_t key[NOISE_KEY_LEN], uint64_t counter,
		    uint8_t *buf, size_t len);

#endif
