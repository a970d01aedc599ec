/* noise.c - WireGuard's Noise_IKpsk2 handshake messages and transport framing */

/*
 * Theory of operation
 *
 * WireGuard's handshake is Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s with a
 * fixed prologue (the identifier string) and the responder's static key
 * mixed into the hash before the first message (whitepaper 5.4). Each side
 * carries two running values through the transcript:
 *
 *   ck  the chaining key, advanced by KDF over every DH result and, at the
 *       end, the pre-shared key; the transport keys are KDF2(ck, empty);
 *   h   the hash of everything said so far, used as the associated data of
 *       every AEAD so that any change to an earlier field breaks the tag.
 *
 * The initiator sends e, es, s, ss, {timestamp}; the responder answers e,
 * ee, se, psk, {}. Every DH goes through crypto_x25519(), which refuses an
 * all-zero result (a low-order point) so that such keys end the handshake.
 * All AEADs in the handshake use counter 0: each key is used exactly once.
 *
 * Intermediate secrets live on the stack and are wiped on every exit path;
 * a handshake struct that fails half-way is wiped back to NOISE_ZEROED.
 */

#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "noise.h"

static const char noise_construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char noise_identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

/* ck = HASH(construction), h = HASH(HASH(ck || identifier) || responder static) */
static void noise_start(uint8_t ck[NOISE_HASH_LEN], uint8_t h[NOISE_HASH_LEN],
			const uint8_t responder_pub[NOISE_KEY_LEN])
{
	crypto_hash(ck, noise_construction, sizeof(noise_construction) - 1,
		    NULL, 0);
	crypto_hash(h, ck, NOISE_HASH_LEN, noise_identifier,
		    sizeof(noise_identifier) - 1);
	crypto_hash(h, h, NOISE_HASH_LEN, responder_pub, NOISE_KEY_LEN);
}

static void noise_mix_hash(uint8_t h[NOISE_HASH_LEN], const void *in, size_t len)
{
	crypto_hash(h, h, NOISE_HASH_LEN, in, len);
}

/* ck = KDF1(ck, in) */
static int noise_mix_key(uint8_t ck[NOISE_HASH_LEN], const void *in, size_t len)
{
	return crypto_kdf(ck, NULL, NULL, ck, in, len);
}

/* ck = KDF1(ck, DH(priv, pub)), or (ck, key) = KDF2(...) when key is set */
static int noise_mix_dh(uint8_t ck[NOISE_HASH_LEN], uint8_t *key,
			const uint8_t priv[NOISE_KEY_LEN],
			const uint8_t pub[NOISE_KEY_LEN])
{
	uint8_t dh[NOISE_KEY_LEN];
	int err;

	err = crypto_x25519(dh, priv, pub);
	if (err < 0)
		goto out;
	err = crypto_kdf(ck, key, NULL, ck, dh, sizeof(dh));
out:
	crypto_wipe(dh, sizeof(dh));
	return err;
}

/* out = AEAD(key, 0, in, h); h = HASH(h || out) */
static int noise_encrypt_and_hash(struct crypto_aead_ctx *aead, uint8_t *out,
				  const uint8_t *in, size_t len,
				  const uint8_t key[NOISE_KEY_LEN],
				  uint8_t h[NOISE_HASH_LEN])
{
	int err;

	err = crypto_aead_seal(aead, out, key, 0, in, len, h, NOISE_HASH_LEN);
	if (err < 0)
		return err;
	noise_mix_hash(h, out, len + CRYPTO_TAG_LEN);
	return 0;
}

/* out = AEAD-open(key, 0, in, h); h = HASH(h || in); len includes the tag */
static int noise_decrypt_and_hash(struct crypto_aead_ctx *aead, uint8_t *out,
				  const uint8_t *in, size_t len,
				  const uint8_t key[NOISE_KEY_LEN],
				  uint8_t h[NOISE_HASH_LEN])
{
	int err;

	err = crypto_aead_open(aead, out, key, 0, in, len, h, NOISE_HASH_LEN);
	if (err < 0)
		return err;
	noise_mix_hash(h, in, len);
	return 0;
}

int noise_local_init(struct noise_local *l, const uint8_t priv[NOISE_KEY_LEN])
{
	memcpy(l->priv, priv, NOISE_KEY_LEN);
	return crypto_x25519_pubkey(l->pub, l->priv);
}

/**
 * noise_remote_init() - what this side precomputes for one peer
 * @r:   filled in
 * @l:   this side's identity
 * @pub: the peer's static public key
 * @psk: pre-shared key, or NULL for none (all zero, as the whitepaper says)
 *
 * The static-static DH never changes, so it is done once here rather than
 * on every handshake. A key whose DH is all zero (low order) cannot take
 * part in a handshake: -EINVAL, and r->ss_ok stays false.
 */
int noise_remote_init(struct noise_remote *r, const struct noise_local *l,
		      const uint8_t pub[NOISE_KEY_LEN], const uint8_t *psk)
{
	int err;

	memset(r, 0, sizeof(*r));
	memcpy(r->pub, pub, NOISE_KEY_LEN);
	if (psk)
		memcpy(r->psk, psk, NOISE_KEY_LEN);
	err = crypto_x25519(r->ss, l->priv, pub);
	r->ss_ok = err == 0;
	return err;
}

void noise_handshake_clear(struct noise_handshake *hs)
{
	crypto_wipe(hs, sizeof(*hs));
	hs->state = NOISE_ZEROED;
}

/**
 * noise_create_initiation() - build message 1 (whitepaper 5.4.2)
 * @hs:           becomes NOISE_CREATED_INITIATION
 * @msg:          148 bytes written; mac1/mac2 left zero
 * @l:            our identity
 * @r:            the responder
 * @aead:         scratch AEAD context
 * @sender_index: our index for this handshake (and the session it makes)
 * @e_priv:       a fresh clamped ephemeral private key
 * @timestamp:    TAI64N, greater than any sent to this peer before
 *
 * Return: 0, or -errno (hs is then zeroed).
 */
int noise_create_initiation(struct noise_handshake *hs,
			    uint8_t msg[NOISE_INITIATION_LEN],
			    const struct noise_local *l,
			    const struct noise_remote *r,
			    struct crypto_aead_ctx *aead, uint32_t sender_index,
			    const uint8_t e_priv[NOISE_KEY_LEN],
			    const uint8_t timestamp[NOISE_TAI64N_LEN])
{
	uint8_t key[NOISE_KEY_LEN];
	uint8_t *e_pub = msg + NOISE_INIT_OFF_EPH;
	int err;

	noise_handshake_clear(hs);
	memset(msg, 0, NOISE_INITIATION_LEN);
	err = -EINVAL;
	if (!r->ss_ok)
		goto out;
	bytes_store_le32(msg + NOISE_OFF_TYPE, 1);
	bytes_store_le32(msg + NOISE_OFF_SENDER, sender_index);
	noise_start(hs->ck, hs->hash, r->pub);

	memcpy(hs->e_priv, e_priv, NOISE_KEY_LEN);
	err = crypto_x25519_pubkey(e_pub, e_priv);
	if (err < 0)
		goto out;
	err = noise_mix_key(hs->ck, e_pub, NOISE_KEY_LEN);
	if (err < 0)
		goto out;
	noise_mix_hash(hs->hash, e_pub, NOISE_KEY_LEN);

	/* es */
	err = noise_mix_dh(hs->ck, key, e_priv, r->pub);
	if (err < 0)
		goto out;
	err = noise_encrypt_and_hash(aead, msg + NOISE_INIT_OFF_STATIC, l->pub,
				     NOISE_KEY_LEN, key, hs->hash);
	if (err < 0)
		goto out;

	/* ss, precomputed */
	err = crypto_kdf(hs->ck, key, NULL, hs->ck, r->ss, NOISE_KEY_LEN);
	if (err < 0)
		goto out;
	err = noise_encrypt_and_hash(aead, msg + NOISE_INIT_OFF_TS, timestamp,
				     NOISE_TAI64N_LEN, key, hs->hash);
	if (err < 0)
		goto out;

	hs->local_index = sender_index;
	hs->state = NOISE_CREATED_INITIATION;
out:
	crypto_wipe(key, sizeof(key));
	if (err < 0)
		noise_handshake_clear(hs);
	return err;
}

/**
 * noise_consume_initiation() - decrypt and check message 1 (responder side)
 * @hs:        filled in as NOISE_CONSUMED_INITIATION; the caller commits it
 * @msg:       148 bytes, type already checked, mac1 already verified
 * @l:         our identity
 * @aead:      scratch AEAD context
 * @lookup:    finds the peer by the decrypted static key, NULL if unknown
 * @arg:       for @lookup
 * @remote:    set to what @lookup returned
 * @timestamp: the decrypted TAI64N; replay checks are the caller's
 *
 * Return: 0; -EBADMSG if an AEAD fails; -ENOENT for an unknown static key;
 * -EINVAL for a low-order ephemeral. hs is zeroed on failure.
 */
int noise_consume_initiation(struct noise_handshake *hs,
			     const uint8_t msg[NOISE_INITIATION_LEN],
			     const struct noise_local *l,
			     struct crypto_aead_ctx *aead,
			     noise_lookup_fn lookup, void *arg,
			     const struct noise_remote **remote,
			     uint8_t timestamp[NOISE_TAI64N_LEN])
{
	uint8_t key[NOISE_KEY_LEN], s[NOISE_KEY_LEN];
	const uint8_t *e = msg + NOISE_INIT_OFF_EPH;
	const struct noise_remote *r;
	int err;

	noise_handshake_clear(hs);
	*remote = NULL;
	noise_start(hs->ck, hs->hash, l->pub);
	memcpy(hs->e_remote, e, NOISE_KEY_LEN);
	err = noise_mix_key(hs->ck, e, NOISE_KEY_LEN);
	if (err < 0)
		goto out;
	noise_mix_hash(hs->hash, e, NOISE_KEY_LEN);

	/* es */
	err = noise_mix_dh(hs->ck, key, l->priv, e);
	if (err < 0)
		goto out;
	err = noise_decrypt_and_hash(aead, s, msg + NOISE_INIT_OFF_STATIC,
				     NOISE_KEY_LEN + CRYPTO_TAG_LEN, key, hs->hash);
	if (err < 0)
		goto out;

	r = lookup(arg, s);
	err = -ENOENT;
	if (!r)
		goto out;
	err = -EINVAL;
	if (!r->ss_ok)
		goto out;

	/* ss */
	err = crypto_kdf(hs->ck, key, NULL, hs->ck, r->ss, NOISE_KEY_LEN);
	if (err < 0)
		goto out;
	err = noise_decrypt_and_hash(aead, timestamp, msg + NOISE_INIT_OFF_TS,
				     NOISE_TAI64N_LEN + CRYPTO_TAG_LEN, key,
				     hs->hash);
	if (err < 0)
		goto out;

	hs->remote_index = bytes_load_le32(msg + NOISE_OFF_SENDER);
	hs->state = NOISE_CONSUMED_INITIATION;
	*remote = r;
out:
	crypto_wipe(key, sizeof(key));
	crypto_wipe(s, sizeof(s));
	if (err < 0)
		noise_handshake_clear(hs);
	return err;
}

/**
 * noise_create_response() - build message 2 (whitepaper 5.4.3)
 * @hs:           NOISE_CONSUMED_INITIATION; becomes NOISE_CREATED_RESPONSE
 * @msg:          92 bytes written; mac1/mac2 left zero
 * @r:            the initiator
 * @aead:         scratch AEAD context
 * @sender_index: our index for the session
 * @e_priv:       a fresh clamped ephemeral private key
 *
 * Return: 0, or -errno (hs is then zeroed).
 */
int noise_create_response(struct noise_handshake *hs,
			  uint8_t msg[NOISE_RESPONSE_LEN],
			  const struct noise_remote *r,
			  struct crypto_aead_ctx *aead, uint32_t sender_index,
			  const uint8_t e_priv[NOISE_KEY_LEN])
{
	uint8_t key[NOISE_KEY_LEN], tau[NOISE_HASH_LEN];
	uint8_t *e_pub = msg + NOISE_RESP_OFF_EPH;
	int err = -EINVAL;

	memset(msg, 0, NOISE_RESPONSE_LEN);
	if (hs->state != NOISE_CONSUMED_INITIATION)
		goto out;
	bytes_store_le32(msg + NOISE_OFF_TYPE, 2);
	bytes_store_le32(msg + NOISE_OFF_SENDER, sender_index);
	bytes_store_le32(msg + NOISE_RESP_OFF_RECEIVER, hs->remote_index);

	memcpy(hs->e_priv, e_priv, NOISE_KEY_LEN);
	err = crypto_x25519_pubkey(e_pub, e_priv);
	if (err < 0)
		goto out;
	err = noise_mix_key(hs->ck, e_pub, NOISE_KEY_LEN);
	if (err < 0)
		goto out;
	noise_mix_hash(hs->hash, e_pub, NOISE_KEY_LEN);

	/* ee, se */
	err = noise_mix_dh(hs->ck, NULL, e_priv, hs->e_remote);
	if (err < 0)
		goto out;
	err = noise_mix_dh(hs->ck, NULL, e_priv, r->pub);
	if (err < 0)
		goto out;

	/* psk */
	err = crypto_kdf(hs->ck, tau, key, hs->ck, r->psk, NOISE_KEY_LEN);
	if (err < 0)
		goto out;
	noise_mix_hash(hs->hash, tau, sizeof(tau));
	err = noise_encrypt_and_hash(aead, msg + NOISE_RESP_OFF_EMPTY, NULL, 0,
				     key, hs->hash);
	if (err < 0)
		goto out;

	hs->local_index = sender_index;
	hs->state = NOISE_CREATED_RESPONSE;
out:
	crypto_wipe(key, sizeof(key));
	crypto_wipe(tau, sizeof(tau));
	if (err < 0)
		noise_handshake_clear(hs);
	return err;
}

/**
 * noise_consume_response() - check message 2 (initiator side)
 * @out:  the completed transcript, NOISE_CONSUMED_RESPONSE; may equal @hs
 * @hs:   our NOISE_CREATED_INITIATION transcript, not changed unless == @out
 * @msg:  92 bytes, type checked, mac1 verified, receiver == hs->local_index
 * @l:    our identity
 * @r:    the responder
 * @aead: scratch AEAD context
 *
 * Return: 0, -EBADMSG if the AEAD fails, -EINVAL for a wrong state or a
 * low-order ephemeral. @out is zeroed on failure.
 */
int noise_consume_response(struct noise_handshake *out,
			   const struct noise_handshake *hs,
			   const uint8_t msg[NOISE_RESPONSE_LEN],
			   const struct noise_local *l,
			   const struct noise_remote *r,
			   struct crypto_aead_ctx *aead)
{
	uint8_t key[NOISE_KEY_LEN], tau[NOISE_HASH_LEN], empty[1];
	const uint8_t *e = msg + NOISE_RESP_OFF_EPH;
	int err = -EINVAL;

	if (hs->state != NOISE_CREATED_INITIATION ||
	    bytes_load_le32(msg + NOISE_RESP_OFF_RECEIVER) != hs->local_index) {
		if (out != hs)
			noise_handshake_clear(out);
		return -EINVAL;
	}
	if (out != hs)
		memcpy(out, hs, sizeof(*out));

	memcpy(out->e_remote, e, NOISE_KEY_LEN);
	err = noise_mix_key(out->ck, e, NOISE_KEY_LEN);
	if (err < 0)
		goto out;
	noise_mix_hash(out->hash, e, NOISE_KEY_LEN);

	/* ee, se */
	err = noise_mix_dh(out->ck, NULL, out->e_priv, e);
	if (err < 0)
		goto out;
	err = noise_mix_dh(out->ck, NULL, l->priv, e);
	if (err < 0)
		goto out;

	/* psk */
	err = crypto_kdf(out->ck, tau, key, out->ck, r->psk, NOISE_KEY_LEN);
	if (err < 0)
		goto out;
	noise_mix_hash(out->hash, tau, sizeof(tau));
	err = noise_decrypt_and_hash(aead, empty, msg + NOISE_RESP_OFF_EMPTY,
				     CRYPTO_TAG_LEN, key, out->hash);
	if (err < 0)
		goto out;

	out->remote_index = bytes_load_le32(msg + NOISE_OFF_SENDER);
	out->state = NOISE_CONSUMED_RESPONSE;
out:
	crypto_wipe(key, sizeof(key));
	crypto_wipe(tau, sizeof(tau));
	if (err < 0)
		noise_handshake_clear(out);
	return err;
}

/**
 * noise_derive_keys() - the transport keys (whitepaper 5.4.5)
 * @k:  filled in
 * @hs: a completed transcript; wiped afterwards whatever the result
 *
 * (T_send_i, T_recv_i) = KDF2(ck, empty), the responder's are swapped.
 * Return: 0, or -EINVAL when the handshake is not complete.
 */
int noise_derive_keys(struct noise_keys *k, struct noise_handshake *hs)
{
	uint8_t t1[NOISE_KEY_LEN], t2[NOISE_KEY_LEN];
	bool initiator;
	int err = -EINVAL;

	memset(k, 0, sizeof(*k));
	if (hs->state != NOISE_CREATED_RESPONSE &&
	    hs->state != NOISE_CONSUMED_RESPONSE)
		goto out;
	initiator = hs->state == NOISE_CONSUMED_RESPONSE;
	err = crypto_kdf(t1, t2, NULL, hs->ck, NULL, 0);
	if (err < 0)
		goto out;
	memcpy(k->send, initiator ? t1 : t2, NOISE_KEY_LEN);
	memcpy(k->recv, initiator ? t2 : t1, NOISE_KEY_LEN);
	k->local_index = hs->local_index;
	k->remote_index = hs->remote_index;
	k->initiator = initiator;
out:
	crypto_wipe(t1, sizeof(t1));
	crypto_wipe(t2, sizeof(t2));
	noise_handshake_clear(hs);
	return err;
}

/**
 * noise_tai64n() - the handshake timestamp for a wall-clock time
 * @out:     12 bytes: big-endian TAI64 label (2^62 + 10 + seconds), then
 *           big-endian nanoseconds
 * @unix_ns: nanoseconds since the Unix epoch
 *
 * The nanoseconds are rounded down to a multiple of 2^24 (about 17 ms), as
 * the kernel does, so the timestamp does not leak a precise clock reading;
 * the responder still sees it grow between legitimate initiations, which are
 * at least that far apart.
 */
void noise_tai64n(uint8_t out[NOISE_TAI64N_LEN], uint64_t unix_ns)
{
	uint64_t label = 0x400000000000000aULL + unix_ns / 1000000000ULL;
	uint32_t nsec = (uint32_t)(unix_ns % 1000000000ULL) & ~((1U << 24) - 1);
	int i;

	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(label >> (56 - 8 * i));
	for (i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

/**
 * noise_data_seal() - frame and encrypt one transport message in place
 * @aead:       the caller's AEAD context
 * @key:        sending key
 * @receiver:   the peer's index for this session
 * @counter:    nonce; the caller guarantees it was never used with @key
 * @buf:        16 header bytes, then @len bytes of plaintext, then room for
 *              @padded_len - @len zero bytes and the 16-byte tag
 * @len:        plaintext length (0 for a keepalive)
 * @padded_len: >= @len; the datagram is 16 + @padded_len + 16 bytes
 *
 * Return: 0 or -errno.
 */
int noise_data_seal(struct crypto_aead_ctx *aead,
		    const uint8_t key[NOISE_KEY_LEN], uint32_t receiver,
		    uint64_t counter, uint8_t *buf, size_t len, size_t padded_len)
{
	if (padded_len < len)
		return -EINVAL;
	memset(buf + NOISE_DATA_HDR_LEN + len, 0, padded_len - len);
	bytes_store_le32(buf + NOISE_OFF_TYPE, 4);
	bytes_store_le32(buf + NOISE_DATA_OFF_RECEIVER, receiver);
	bytes_store_le64(buf + NOISE_DATA_OFF_COUNTER, counter);
	return crypto_aead_seal(aead, buf + NOISE_DATA_HDR_LEN, key, counter,
				buf + NOISE_DATA_HDR_LEN, padded_len, NULL, 0);
}

/**
 * noise_data_open() - decrypt one transport message in place
 * @aead:    the caller's AEAD context
 * @key:     receiving key
 * @counter: the message's counter (already checked against the window)
 * @buf:     the whole datagram; plaintext lands at buf + 16
 * @len:     datagram length, at least 32
 *
 * Return: 0, or -EBADMSG when the tag does not verify (plaintext wiped).
 */
int noise_data_open(struct crypto_aead_ctx *aead,
		    const uint8_t key[NOISE_KEY_LEN], uint64_t counter,
		    uint8_t *buf, size_t len)
{
	if (len < NOISE_DATA_HDR_LEN + CRYPTO_TAG_LEN)
		return -EBADMSG;
	return crypto_aead_open(aead, buf + NOISE_DATA_HDR_LEN, key, counter,
				buf + NOISE_DATA_HDR_LEN,
				len - NOISE_DATA_HDR_LEN, NULL, 0);
}
