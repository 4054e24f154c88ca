// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * sha256.c - SHA-256 through libcrypto's EVP interface (see sha256.h).
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "host/sha256.h"

static void sha256_die(const char *what)
{
	fprintf(stderr, "sha256: %s failed\n", what);
	abort();
}

void sha256_init(struct sha256 *c)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		sha256_die("EVP_DigestInit_ex");
	c->ctx = ctx;
}

void sha256_update(struct sha256 *c, const void *data, size_t len)
{
	if (len && EVP_DigestUpdate(c->ctx, data, len) != 1)
		sha256_die("EVP_DigestUpdate");
}

void sha256_final(struct sha256 *c, uint8_t out[SHA256_DIGEST_LEN])
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(c->ctx, out, &n) != 1 || n != SHA256_DIGEST_LEN)
		sha256_die("EVP_DigestFinal_ex");
	EVP_MD_CTX_free(c->ctx);
	c->ctx = NULL;
}

void sha256_free(struct sha256 *c)
{
	if (c && c->ctx) {
		EVP_MD_CTX_free(c->ctx);
		c->ctx = NULL;
	}
}

void sha256_final_hex(struct sha256 *c, char hex[SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	uint8_t d[SHA256_DIGEST_LEN];

	sha256_final(c, d);
	for (int i = 0; i < SHA256_DIGEST_LEN; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[SHA256_HEX_LEN] = '\0';
}
