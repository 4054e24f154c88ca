/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * sha256.h - SHA-256 (FIPS 180-4) for backup checksums: the worker hashes
 * what it copies, vmbusctl hashes what it finds in the backup. Written
 * from the standard; no library dependency for one hash.
 */
#ifndef HOST_SHA256_H
#define HOST_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_HEX_LEN (2 * SHA256_DIGEST_LEN)

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t block[64];
	size_t used;
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
void sha256_final(struct sha256 *c, uint8_t out[SHA256_DIGEST_LEN]);
/* The digest as lowercase hex, NUL-terminated (hex holds SHA256_HEX_LEN + 1). */
void sha256_final_hex(struct sha256 *c, char hex[SHA256_HEX_LEN + 1]);

#endif
