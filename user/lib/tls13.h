/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Inside the TLS 1.3 verifier: cipher suites, the key schedule and record
 * protection (RFC 8446 5.2, 5.3, 7), and a bounds-checked reader.  Exposed to
 * the unit tests and the fuzz target; not part of the library's API.
 */
#ifndef TLSWITNESS_LIB_TLS13_H
#define TLSWITNESS_LIB_TLS13_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <tlswitness/status.h>
#include <tlswitness/tls13.h>

#define TLS13_MAX_PLAINTEXT  (1u << 14)		/* TLSPlaintext.length, 5.1 */
#define TLS13_MAX_INNER	     ((1u << 14) + 1)	/* TLSInnerPlaintext, 5.4 */
#define TLS13_MAX_CIPHERTEXT ((1u << 14) + 256) /* TLSCiphertext.length, 5.2 */
#define TLS13_HEADER_LEN     5
#define TLS13_TAG_LEN	     16
#define TLS13_IV_LEN	     12

/* A cipher suite of RFC 8446 B.4 that the verifier accepts. */
struct tls13_suite {
	uint16_t id;
	const char *name;
	const char *digest; /* OpenSSL name of the HKDF/transcript hash */
	const char *cipher; /* OpenSSL name of the AEAD */
	size_t key_len;
	size_t hash_len;
};

const struct tls13_suite *tls13_suite_find(uint16_t id);

/* HKDF with one suite's hash (RFC 5869, RFC 8446 7.1).  Fetched once. */
struct tls13_kdf {
	const struct tls13_suite *suite;
	EVP_MD *md;
	EVP_KDF *hkdf;
	EVP_MAC *hmac;
};

int tls13_kdf_init(struct tls13_kdf *kdf, const struct tls13_suite *suite);
void tls13_kdf_free(struct tls13_kdf *kdf);
/* HKDF-Extract(salt, ikm); a NULL salt or ikm is hash_len zero bytes. */
int tls13_hkdf_extract(const struct tls13_kdf *kdf, const uint8_t *salt, const uint8_t *ikm,
		       size_t ikm_len, uint8_t *out);
/* HKDF-Expand-Label(secret, label, context, length) with the "tls13 " prefix. */
int tls13_expand_label(const struct tls13_kdf *kdf, const uint8_t *secret, const char *label,
		       const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len);
/* Derive-Secret(secret, label, messages) given Transcript-Hash(messages). */
int tls13_derive_secret(const struct tls13_kdf *kdf, const uint8_t *secret, const char *label,
			const uint8_t *transcript_hash, uint8_t *out);
/* Hash(@data) with the suite's hash. */
int tls13_hash(const struct tls13_kdf *kdf, const uint8_t *data, size_t len, uint8_t *out);
/* verify_data = HMAC(finished_key(base_key), transcript_hash) (4.4.4). */
int tls13_finished_mac(const struct tls13_kdf *kdf, const uint8_t *base_key,
		       const uint8_t *transcript_hash, uint8_t *out);

/*
 * Record protection for one direction (5.2, 5.3): one cipher context,
 * rekeyed in place on each key change, never allocated per record.
 */
struct tls13_aead {
	EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx;
	uint8_t key[32];
	uint8_t iv[TLS13_IV_LEN];
	uint64_t seq;
	int keyed;
};

int tls13_aead_init(struct tls13_aead *a, const struct tls13_suite *suite);
void tls13_aead_free(struct tls13_aead *a);
/* Derive [sender]_write_key and _iv from @secret (7.3) and reset seq to 0. */
int tls13_aead_set_secret(struct tls13_aead *a, const struct tls13_kdf *kdf, const uint8_t *secret);
/*
 * Open one TLSCiphertext: @header is its 5 bytes (the additional data),
 * @frag its encrypted_record of @len bytes.  Writes len - 16 bytes of
 * TLSInnerPlaintext to @out and advances seq.  Returns 0, or -1 when the
 * tag does not verify.
 */
int tls13_aead_open(struct tls13_aead *a, const uint8_t *header, const uint8_t *frag, size_t len,
		    uint8_t *out);

/* A bounds-checked reader: every get fails rather than read past the end. */
struct tls13_reader {
	const uint8_t *p;
	size_t len;
};

static inline int tls13_get_u8(struct tls13_reader *r, uint8_t *v)
{
	if (r->len < 1)
		return -1;
	*v = r->p[0];
	r->p += 1;
	r->len -= 1;
	return 0;
}

static inline int tls13_get_u16(struct tls13_reader *r, uint16_t *v)
{
	if (r->len < 2)
		return -1;
	*v = (uint16_t)(r->p[0] << 8 | r->p[1]);
	r->p += 2;
	r->len -= 2;
	return 0;
}

static inline int tls13_get_u24(struct tls13_reader *r, uint32_t *v)
{
	if (r->len < 3)
		return -1;
	*v = (uint32_t)r->p[0] << 16 | (uint32_t)r->p[1] << 8 | r->p[2];
	r->p += 3;
	r->len -= 3;
	return 0;
}

static inline int tls13_get_u32(struct tls13_reader *r, uint32_t *v)
{
	if (r->len < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->len -= 4;
	return 0;
}

static inline int tls13_get_bytes(struct tls13_reader *r, size_t n, struct tls13_reader *out)
{
	if (r->len < n)
		return -1;
	out->p = r->p;
	out->len = n;
	r->p += n;
	r->len -= n;
	return 0;
}

/*
 * A vector with a @width-byte length prefix (RFC 8446 3.4) whose length
 * lies in [min, max].
 */
static inline int tls13_get_vec(struct tls13_reader *r, int width, size_t min, size_t max,
				struct tls13_reader *out)
{
	uint8_t l8;
	uint16_t l16;
	uint32_t l24;
	size_t n;

	if (width == 1) {
		if (tls13_get_u8(r, &l8))
			return -1;
		n = l8;
	} else if (width == 2) {
		if (tls13_get_u16(r, &l16))
			return -1;
		n = l16;
	} else {
		if (tls13_get_u24(r, &l24))
			return -1;
		n = l24;
	}
	if (n < min || n > max)
		return -1;
	return tls13_get_bytes(r, n, out);
}

/*
 * Parse one handshake message body of @type as the verifier would in the
 * middle of a handshake, without the surrounding state.  For the fuzz target:
 * it exercises the message parsers directly.
 */
enum tw_code tls13_fuzz_message(unsigned int type, const uint8_t *body, size_t len,
				struct tw_status *st);

#endif
