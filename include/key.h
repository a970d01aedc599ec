/* key.h - WireGuard keys in their base64 text form */
#ifndef GANGWAY_KEY_H
#define GANGWAY_KEY_H

#include <stdint.h>
#include <stddef.h>

#define KEY_LEN		32
#define KEY_B64_LEN	44	/* without the terminating NUL */

/* Encode 32 bytes as 44 characters of base64 plus NUL. */
void key_to_base64(char out[KEY_B64_LEN + 1], const uint8_t key[KEY_LEN]);
/*
 * Decode exactly 44 base64 characters (one '=' pad) into 32 bytes.
 * -EINVAL for any other length, alphabet or non-canonical padding bits.
 */
int key_from_base64(uint8_t key[KEY_LEN], const char *s);
/* Read one base64 key from a stream ending in optional whitespace. */
int key_read(uint8_t key[KEY_LEN], const char *text);
/* All-zero key (the "no key" value). */
int key_is_zero(const uint8_t key[KEY_LEN]);

#endif
