/* key.c - base64 text form of 32-byte WireGuard keys
 *
 * Keys are secrets, so encoding and decoding avoid table lookups and
 * branches indexed by key bytes: each character is mapped arithmetically.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "key.h"

/* 0..63 to the base64 alphabet, without branches on the value. */
static char key_b64_char(unsigned int v)
{
	int x = (int)v;

	return (char)(x + 'A'
		+ (((25 - x) >> 8) & 6)
		- (((51 - x) >> 8) & 75)
		- (((61 - x) >> 8) & 15)
		+ (((62 - x) >> 8) & 3));
}

/* A base64 character to 0..63, or -1; no branches on the value. */
static int key_b64_value(char ch)
{
	int c = (unsigned char)ch;
	int r = -1;

	r += (((('A' - 1) - c) & (c - ('Z' + 1))) >> 8) & (c - 64);
	r += (((('a' - 1) - c) & (c - ('z' + 1))) >> 8) & (c - 70);
	r += (((('0' - 1) - c) & (c - ('9' + 1))) >> 8) & (c + 5);
	r += ((('+' - 1 - c) & (c - ('+' + 1))) >> 8) & 63;
	r += ((('/' - 1 - c) & (c - ('/' + 1))) >> 8) & 64;
	return r;
}

void key_to_base64(char out[KEY_B64_LEN + 1], const uint8_t key[KEY_LEN])
{
	unsigned int i, v;

	for (i = 0; i < KEY_LEN / 3; i++) {
		v = (unsigned int)key[i * 3] << 16 |
		    (unsigned int)key[i * 3 + 1] << 8 | key[i * 3 + 2];
		out[i * 4 + 0] = key_b64_char((v >> 18) & 63);
		out[i * 4 + 1] = key_b64_char((v >> 12) & 63);
		out[i * 4 + 2] = key_b64_char((v >> 6) & 63);
		out[i * 4 + 3] = key_b64_char(v & 63);
	}
	/* 32 = 10 * 3 + 2: the last group holds two bytes and one pad. */
	v = (unsigned int)key[30] << 16 | (unsigned int)key[31] << 8;
	out[40] = key_b64_char((v >> 18) & 63);
	out[41] = key_b64_char((v >> 12) & 63);
	out[42] = key_b64_char((v >> 6) & 63);
	out[43] = '=';
	out[44] = '\0';
}

int key_from_base64(uint8_t key[KEY_LEN], const char *s)
{
	unsigned int i, v;
	int ret = 0, a, b, c, d;

	if (strlen(s) != KEY_B64_LEN || s[KEY_B64_LEN - 1] != '=')
		return -EINVAL;
	for (i = 0; i < KEY_LEN / 3; i++) {
		a = key_b64_value(s[i * 4]);
		b = key_b64_value(s[i * 4 + 1]);
		c = key_b64_value(s[i * 4 + 2]);
		d = key_b64_value(s[i * 4 + 3]);
		ret |= (int)((unsigned int)(a | b | c | d) >> 31);
		v = (unsigned int)a << 18 | (unsigned int)b << 12 |
		    (unsigned int)c << 6 | (unsigned int)d;
		key[i * 3] = (uint8_t)(v >> 16);
		key[i * 3 + 1] = (uint8_t)(v >> 8);
		key[i * 3 + 2] = (uint8_t)v;
	}
	a = key_b64_value(s[40]);
	b = key_b64_value(s[41]);
	c = key_b64_value(s[42]);
	ret |= (int)((unsigned int)(a | b | c) >> 31);
	/* The two low bits of the last character must be zero (canonical). */
	ret |= (int)((unsigned int)-(c & 3) >> 31);
	v = (unsigned int)a << 18 | (unsigned int)b << 12 | (unsigned int)c << 6;
	key[30] = (uint8_t)(v >> 16);
	key[31] = (uint8_t)(v >> 8);
	if (ret) {
		memset(key, 0, KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

int key_read(uint8_t key[KEY_LEN], const char *text)
{
	char buf[KEY_B64_LEN + 1];
	size_t n = strlen(text);

	while (n && isspace((unsigned char)text[n - 1]))
		n--;
	while (n && isspace((unsigned char)*text)) {
		text++;
		n--;
	}
	if (n != KEY_B64_LEN)
		return -EINVAL;
	memcpy(buf, text, n);
	buf[n] = '\0';
	return key_from_base64(key, buf);
}

int key_is_zero(const uint8_t key[KEY_LEN])
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < KEY_LEN; i++)
		acc |= key[i];
	return acc == 0;
}
