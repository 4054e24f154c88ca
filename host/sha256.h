/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * sha256.h - SHA-256 for backup checksums: the worker hashes what it
 * copies, vmbusctl hashes what it finds in the backup. Backups hash every
 * byte of every disk twice, so this goes through OpenSSL's libcrypto, which
 * uses the CPU's SHA extensions (about 1.7 GB/s here against 0.1 GB/s for
 * plain C).
 */
#ifndef HOST_SHA256_H
#define HOST_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_HEX_LEN (2 * SHA256_DIGEST_LEN)

struct sha256 {
	void *ctx;		/* EVP_MD_CTX; NULL after final */
};

/* Abort on allocation failure: a backup cannot go on without its checksum. */
void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
void sha256_final(struct sha256 *c, uint8_t out[SHA256_DIGEST_LEN]);
/* Drop a hash that will not be finished (NULL-safe, and a no-op after final). */
void sha256_free(struct sha256 *c);
/* The digest as lowercase hex, NUL-terminated (hex holds SHA256_HEX_LEN + 1). */
void sha256_final_hex(struct sha256 *c, char hex[SHA256_HEX_LEN + 1]);

#endif
