/*
 * sha256.h - SHA-256 (FIPS 180-4), for content-addressing pushed detectors.
 * Nothing here is secret: a plain, portable implementation.
 */
#ifndef VIGIL_SHA256_H
#define VIGIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len;              /* bytes hashed so far */
	unsigned char buf[64];
	size_t n;                  /* bytes waiting in buf */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
/* The digest as 64 lower-case hex digits and a NUL into hex. */
void sha256_final_hex(struct sha256 *c, char hex[65]);

/* The hex digest of one buffer. */
void sha256_hex(const void *data, size_t len, char hex[65]);

#endif
