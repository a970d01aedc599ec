/* crypto.h - thin wrappers over libcrypto for the primitives WireGuard uses */
#ifndef GANGWAY_CRYPTO_H
#define GANGWAY_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define CRYPTO_KEY_LEN		32	/* X25519 keys, ChaCha20 keys */
#define CRYPTO_HASH_LEN		32	/* BLAKE2s-256 */
#define CRYPTO_MAC_LEN		16	/* BLAKE2s-128 (mac1, mac2, cookies) */
#define CRYPTO_TAG_LEN		16	/* Poly1305 */
#define CRYPTO_NONCE_LEN	12	/* ChaCha20-Poly1305 (IETF) nonce */
#define CRYPTO_XNONCE_LEN	24	/* XChaCha20-Poly1305 nonce */

/*
 * Theory of operation: every function returns 0 on success and a negative
 * errno on failure; none allocates on the per-packet path (the AEAD uses a
 * caller-owned context, allocated once per worker or once per session key).
 * All primitives come from OpenSSL 3; XChaCha20 is HChaCha20 (derived from
 * one ChaCha20 block, see crypto.c) followed by the IETF AEAD.
 */

int crypto_init(void);

/* BLAKE2s-256 over a || b (b may be NULL when blen is 0). */
void crypto_hash(uint8_t out[CRYPTO_HASH_LEN],
		 const void *a, size_t alen,
		 const void *b, size_t blen);

/* Keyed BLAKE2s with a 16-byte output (WireGuard's MAC()). */
int crypto_mac(uint8_t out[CRYPTO_MAC_LEN], const uint8_t *key, size_t keylen,
	       const void *in, size_t inlen);

/* HMAC-BLAKE2s-256 (WireGuard's HMAC()). */
int crypto_hmac(uint8_t out[CRYPTO_HASH_LEN], const uint8_t *key, size_t keylen,
		const void *in, size_t inlen);

/* WireGuard's KDF_n: n outputs (1..3) from chaining key ck and input. */
int crypto_kdf(uint8_t *out1, uint8_t *out2, uint8_t *out3,
	       const uint8_t ck[CRYPTO_HASH_LEN], const void *in, size_t inlen);

/* X25519 */
int crypto_x25519_genkey(uint8_t priv[CRYPTO_KEY_LEN]);	/* clamped */
int crypto_x25519_pubkey(uint8_t pub[CRYPTO_KEY_LEN],
			 const uint8_t priv[CRYPTO_KEY_LEN]);
/* -EINVAL when the result is all zero (low-order point). */
int crypto_x25519(uint8_t out[CRYPTO_KEY_LEN], const uint8_t priv[CRYPTO_KEY_LEN],
		  const uint8_t pub[CRYPTO_KEY_LEN]);

/*
 * ChaCha20-Poly1305 (IETF), nonce = 4 zero bytes || le64(counter).
 *
 * Two kinds of context. crypto_aead_ctx_new(): takes the key on every call
 * (handshakes, tests). crypto_aead_ctx_new_keyed(): holds one key from
 * creation until crypto_aead_ctx_free(), which erases it; every call on it
 * passes key == NULL and only the nonce is set per packet (the transport
 * path: one per direction of a session). Passing a key to a keyed context,
 * or NULL to the other kind, is -EINVAL. A context is used by one thread at
 * a time. Creation allocates (NULL with errno set on failure); calls do not.
 */
struct crypto_aead_ctx;
struct crypto_aead_ctx *crypto_aead_ctx_new(void);
struct crypto_aead_ctx *crypto_aead_ctx_new_keyed(const uint8_t key[CRYPTO_KEY_LEN]);
void crypto_aead_ctx_free(struct crypto_aead_ctx *c);

/* out must hold inlen + CRYPTO_TAG_LEN; out may equal in. */
int crypto_aead_seal(struct crypto_aead_ctx *c, uint8_t *out,
		     const uint8_t key[CRYPTO_KEY_LEN], uint64_t counter,
		     const uint8_t *in, size_t inlen,
		     const uint8_t *ad, size_t adlen);
/* inlen includes the tag; out holds inlen - CRYPTO_TAG_LEN; -EBADMSG on a bad tag. */
int crypto_aead_open(struct crypto_aead_ctx *c, uint8_t *out,
		     const uint8_t key[CRYPTO_KEY_LEN], uint64_t counter,
		     const uint8_t *in, size_t inlen,
		     const uint8_t *ad, size_t adlen);

/*
 * The same with an explicit 96-bit nonce, for known-answer tests (the
 * RFC 8439 vectors use nonces whose first four bytes are not zero).
 */
int crypto_aead_seal96(struct crypto_aead_ctx *c, uint8_t *out,
		       const uint8_t key[CRYPTO_KEY_LEN],
		       const uint8_t nonce[CRYPTO_NONCE_LEN],
		       const uint8_t *in, size_t inlen,
		       const uint8_t *ad, size_t adlen);
int crypto_aead_open96(struct crypto_aead_ctx *c, uint8_t *out,
		       const uint8_t key[CRYPTO_KEY_LEN],
		       const uint8_t nonce[CRYPTO_NONCE_LEN],
		       const uint8_t *in, size_t inlen,
		       const uint8_t *ad, size_t adlen);

/* XChaCha20-Poly1305 (cookie replies). Same conventions as above. */
int crypto_xaead_seal(uint8_t *out, const uint8_t key[CRYPTO_KEY_LEN],
		      const uint8_t nonce[CRYPTO_XNONCE_LEN],
		      const uint8_t *in, size_t inlen,
		      const uint8_t *ad, size_t adlen);
int crypto_xaead_open(uint8_t *out, const uint8_t key[CRYPTO_KEY_LEN],
		      const uint8_t nonce[CRYPTO_XNONCE_LEN],
		      const uint8_t *in, size_t inlen,
		      const uint8_t *ad, size_t adlen);

/* HChaCha20 subkey derivation (exposed for known-answer tests). */
int crypto_hchacha20(uint8_t out[CRYPTO_KEY_LEN], const uint8_t key[CRYPTO_KEY_LEN],
		     const uint8_t nonce[16]);

int crypto_random(void *buf, size_t len);
void crypto_wipe(void *buf, size_t len);
/* Constant-time comparison: true when equal. */
bool crypto_equal(const void *a, const void *b, size_t len);

#endif
