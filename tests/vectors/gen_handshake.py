#!/usr/bin/python3
# gen_handshake.py - an independent WireGuard handshake, for known answers
#
# Builds one complete Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake as the
# WireGuard whitepaper (sections 5.4.2 - 5.4.7) describes it, from fixed
# inputs (static keys, ephemerals, TAI64N timestamp, indices, pre-shared key),
# plus one transport data message and one cookie reply, and writes the bytes
# as hex to handshake.txt next to this script. tests/unit/test_noise.c must
# reproduce every byte with the C implementation.
#
# Uses only the Python standard library (hashlib.blake2s, hmac) and the Debian
# package python3-cryptography (X25519, ChaCha20Poly1305). XChaCha20 for the
# cookie reply is HChaCha20 (draft-irtf-cfrg-xchacha section 2.2, written out
# below) followed by the IETF ChaCha20-Poly1305 of python3-cryptography.
#
#   apt-get install -y python3-cryptography
#   /usr/bin/python3 tests/vectors/gen_handshake.py

import hashlib
import hmac
import os
import struct
import sys

import cryptography
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey, X25519PublicKey)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"
LABEL_COOKIE = b"cookie--"


def HASH(*parts):
    h = hashlib.blake2s()
    for p in parts:
        h.update(p)
    return h.digest()


def MAC(key, data):
    return hashlib.blake2s(data, digest_size=16, key=key).digest()


def HMAC(key, data):
    return hmac.new(key, data, hashlib.blake2s).digest()


def KDF(n, key, data):
    t0 = HMAC(key, data)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = HMAC(t0, prev + bytes([i]))
        out.append(prev)
    return out


def clamp(k):
    k = bytearray(k)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    return bytes(k)


def pub(priv):
    raw = X25519PrivateKey.from_private_bytes(priv).public_key()
    return raw.public_bytes(serialization.Encoding.Raw,
                            serialization.PublicFormat.Raw)


def DH(priv, peer_pub):
    out = X25519PrivateKey.from_private_bytes(priv).exchange(
        X25519PublicKey.from_public_bytes(peer_pub))
    assert out != bytes(32)
    return out


def AEAD(key, counter, plain, ad):
    nonce = bytes(4) + struct.pack("<Q", counter)
    return ChaCha20Poly1305(key).encrypt(nonce, plain, ad)


def AEAD_OPEN(key, counter, sealed, ad):
    nonce = bytes(4) + struct.pack("<Q", counter)
    return ChaCha20Poly1305(key).decrypt(nonce, sealed, ad)


def rotl32(v, c):
    return ((v << c) & 0xffffffff) | (v >> (32 - c))


def hchacha20(key, nonce16):
    s = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))

    def qr(a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl32(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl32(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl32(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl32(s[b] ^ s[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


# draft-irtf-cfrg-xchacha-03, section 2.2.1 test vector
assert hchacha20(bytes(range(32)), bytes.fromhex("000000090000004a0000000031415927")) == \
    bytes.fromhex("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc")


def XAEAD(key, nonce24, plain, ad):
    sub = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).encrypt(bytes(4) + nonce24[16:], plain, ad)


def fixed(label):
    """32 reproducible bytes named by label."""
    return HASH(b"gangway handshake vector: " + label)


# ---- fixed inputs ----------------------------------------------------------
Si_priv = clamp(fixed(b"initiator static"))
Sr_priv = clamp(fixed(b"responder static"))
Ei_priv = clamp(fixed(b"initiator ephemeral"))
Er_priv = clamp(fixed(b"responder ephemeral"))
Q = fixed(b"preshared key")
Si_pub, Sr_pub, Ei_pub, Er_pub = map(pub, (Si_priv, Sr_priv, Ei_priv, Er_priv))
I_i = 0x1234abcd		# initiator's sender index
I_r = 0x87654321		# responder's sender index
# TAI64N: big-endian 2^62 + 10 + seconds, big-endian nanoseconds
TIMESTAMP = struct.pack(">QI", 0x400000000000000a + 1700000000, 123456789 & ~0xffffff)

# ---- initiation (whitepaper 5.4.2) ----------------------------------------
Ci = HASH(CONSTRUCTION)
Hi = HASH(Ci, IDENTIFIER)
Hi = HASH(Hi, Sr_pub)
Ci = KDF(1, Ci, Ei_pub)[0]
Hi = HASH(Hi, Ei_pub)
Ci, k = KDF(2, Ci, DH(Ei_priv, Sr_pub))
enc_static = AEAD(k, 0, Si_pub, Hi)
Hi = HASH(Hi, enc_static)
Ci, k = KDF(2, Ci, DH(Si_priv, Sr_pub))
enc_ts = AEAD(k, 0, TIMESTAMP, Hi)
Hi = HASH(Hi, enc_ts)
init = struct.pack("<I", 1) + struct.pack("<I", I_i) + Ei_pub + enc_static + enc_ts
mac1 = MAC(HASH(LABEL_MAC1, Sr_pub), init)
init += mac1 + bytes(16)
assert len(init) == 148

# ---- the responder consumes it (checks this script against itself) --------
Cr = HASH(CONSTRUCTION)
Hr = HASH(HASH(Cr, IDENTIFIER), Sr_pub)
e = init[8:40]
Cr = KDF(1, Cr, e)[0]
Hr = HASH(Hr, e)
Cr, k = KDF(2, Cr, DH(Sr_priv, e))
assert AEAD_OPEN(k, 0, init[40:88], Hr) == Si_pub
Hr = HASH(Hr, init[40:88])
Cr, k = KDF(2, Cr, DH(Sr_priv, Si_pub))
assert AEAD_OPEN(k, 0, init[88:116], Hr) == TIMESTAMP
Hr = HASH(Hr, init[88:116])
assert (Cr, Hr) == (Ci, Hi)

# ---- response (whitepaper 5.4.3) -------------------------------------------
Cr = KDF(1, Cr, Er_pub)[0]
Hr = HASH(Hr, Er_pub)
Cr = KDF(1, Cr, DH(Er_priv, Ei_pub))[0]
Cr = KDF(1, Cr, DH(Er_priv, Si_pub))[0]
Cr, tau, k = KDF(3, Cr, Q)
Hr = HASH(Hr, tau)
enc_empty = AEAD(k, 0, b"", Hr)
Hr = HASH(Hr, enc_empty)
resp = struct.pack("<III", 2, I_r, I_i) + Er_pub + enc_empty
resp += MAC(HASH(LABEL_MAC1, Si_pub), resp) + bytes(16)
assert len(resp) == 92

# ---- the initiator consumes it ---------------------------------------------
Ci = KDF(1, Ci, Er_pub)[0]
Hi = HASH(Hi, Er_pub)
Ci = KDF(1, Ci, DH(Ei_priv, Er_pub))[0]
Ci = KDF(1, Ci, DH(Si_priv, Er_pub))[0]
Ci, tau, k = KDF(3, Ci, Q)
Hi = HASH(Hi, tau)
assert AEAD_OPEN(k, 0, resp[44:60], Hi) == b""
Hi = HASH(Hi, resp[44:60])
assert (Ci, Hi) == (Cr, Hr)

# ---- transport keys (whitepaper 5.4.5) -------------------------------------
i_send, i_recv = KDF(2, Ci, b"")
r_recv, r_send = KDF(2, Cr, b"")

# ---- one data message from the initiator (5.4.6) ----------------------------
# An IPv4 ICMP echo request 10.7.0.2 -> 10.7.0.1, 84 bytes, padded to 96.
payload = bytes(range(56))
icmp = bytes([8, 0, 0, 0, 0x12, 0x34, 0, 1]) + payload
ip = bytes([0x45, 0, 0, 84, 0, 0, 0x40, 0, 64, 1, 0, 0,
            10, 7, 0, 2, 10, 7, 0, 1]) + icmp
assert len(ip) == 84
DATA_COUNTER = 7
padded = ip + bytes(-len(ip) % 16)
data = struct.pack("<IIQ", 4, I_r, DATA_COUNTER) + AEAD(i_send, DATA_COUNTER, padded, b"")

# ---- cookie reply to the initiation, and the retry with mac2 (5.4.7) -------
COOKIE_SECRET = fixed(b"cookie secret")
COOKIE_NONCE = fixed(b"cookie nonce")[:24]
SRC_ADDR = bytes([192, 0, 2, 1])		# 192.0.2.1:51820
SRC_PORT = 51820
cookie = MAC(COOKIE_SECRET, SRC_ADDR + struct.pack(">H", SRC_PORT))
reply = struct.pack("<II", 3, I_i) + COOKIE_NONCE + \
    XAEAD(HASH(LABEL_COOKIE, Sr_pub), COOKIE_NONCE, cookie, mac1)
assert len(reply) == 64
init_mac2 = init[:132] + MAC(cookie, init[:132])

# ---- write ----------------------------------------------------------------
rows = [
    ("initiator_static_private", Si_priv),
    ("initiator_static_public", Si_pub),
    ("responder_static_private", Sr_priv),
    ("responder_static_public", Sr_pub),
    ("initiator_ephemeral_private", Ei_priv),
    ("responder_ephemeral_private", Er_priv),
    ("preshared_key", Q),
    ("timestamp", TIMESTAMP),
    ("initiator_index", struct.pack(">I", I_i)),
    ("responder_index", struct.pack(">I", I_r)),
    ("initiation", init),
    ("response", resp),
    ("initiator_send_key", i_send),
    ("initiator_recv_key", i_recv),
    ("responder_send_key", r_send),
    ("responder_recv_key", r_recv),
    ("data_counter", struct.pack(">Q", DATA_COUNTER)),
    ("data_plaintext", ip),
    ("data_packet", data),
    ("cookie_secret", COOKIE_SECRET),
    ("cookie_source_ipv4", SRC_ADDR),
    ("cookie_source_port", struct.pack(">H", SRC_PORT)),
    ("cookie_nonce", COOKIE_NONCE),
    ("cookie", cookie),
    ("cookie_reply", reply),
    ("initiation_with_mac2", init_mac2),
]

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "handshake.txt")
with open(out, "w") as f:
    f.write("# WireGuard handshake known answers, written by "
            "tests/vectors/gen_handshake.py\n")
    f.write("# (an independent Python %d.%d implementation using hashlib.blake2s, "
            "hmac and\n# python3-cryptography %s for X25519 and "
            "ChaCha20Poly1305). Do not edit: re-run the script.\n"
            % (sys.version_info[0], sys.version_info[1], cryptography.__version__))
    f.write("# Integers (indices, counter, port) are big-endian hex here; "
            "on the wire they are\n# little-endian (indices, counter) as the "
            "messages show.\n")
    for name, val in rows:
        f.write("%s = %s\n" % (name, val.hex()))
print("wrote", out)
