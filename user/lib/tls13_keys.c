// SPDX-License-Identifier: BSD-2-Clause
/*
 * TLS 1.3 cipher suites, key schedule and record protection, on OpenSSL's
 * HKDF, HMAC and AEAD implementations.  The labels and structures follow
 * RFC 8446 section 7 (key schedule) and 5.2-5.3 (record protection).
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include "tls13.h"

/* B.4: the suites the verifier accepts; TLS_AES_128_CCM* are not among them. */
static const struct tls13_suite suites[] = {
	{TW_TLS_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256", "SHA256", "AES-128-GCM", 16, 32},
	{TW_TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384", "SHA384", "AES-256-GCM", 32, 48},
	{TW_TLS_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256", "SHA256",
	 "ChaCha20-Poly1305", 32, 32},
};

const struct tls13_suite *tls13_suite_find(uint16_t id)
{
	size_t i;

	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (suites[i].id == id)
			return &suites[i];
	return NULL;
}

const char *tw_tls_cipher_suite_name(uint16_t id)
{
	const struct tls13_suite *s = tls13_suite_find(id);

	return s ? s->name : "unknown cipher suite";
}

int tls13_kdf_init(struct tls13_kdf *kdf, const struct tls13_suite *suite)
{
	memset(kdf, 0, sizeof(*kdf));
	kdf->suite = suite;
	kdf->md = EVP_MD_fetch(NULL, suite->digest, NULL);
	kdf->hkdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	kdf->hmac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	if (!kdf->md || !kdf->hkdf || !kdf->hmac) {
		tls13_kdf_free(kdf);
		return -1;
	}
	return 0;
}

void tls13_kdf_free(struct tls13_kdf *kdf)
{
	EVP_MD_free(kdf->md);
	EVP_KDF_free(kdf->hkdf);
	EVP_MAC_free(kdf->hmac);
	memset(kdf, 0, sizeof(*kdf));
}

/* One HKDF call in @mode; @salt is used by extract, @info by expand. */
static int hkdf(const struct tls13_kdf *kdf, int mode, const uint8_t *key, size_t key_len,
		const uint8_t *salt, size_t salt_len, const uint8_t *info, size_t info_len,
		uint8_t *out, size_t out_len)
{
	OSSL_PARAM params[6], *p = params;
	EVP_KDF_CTX *ctx;
	int ret;

	ctx = EVP_KDF_CTX_new(kdf->hkdf);
	if (!ctx)
		return -1;
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)kdf->suite->digest,
						0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
	if (salt)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
							 salt_len);
	if (info)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
							 info_len);
	*p = OSSL_PARAM_construct_end();
	ret = EVP_KDF_derive(ctx, out, out_len, params) == 1 ? 0 : -1;
	EVP_KDF_CTX_free(ctx);
	return ret;
}

int tls13_hkdf_extract(const struct tls13_kdf *kdf, const uint8_t *salt, const uint8_t *ikm,
		       size_t ikm_len, uint8_t *out)
{
	static const uint8_t zeros[TW_TLS_MAX_HASH];
	size_t hl = kdf->suite->hash_len;

	if (!ikm) {
		ikm = zeros;
		ikm_len = hl;
	}
	return hkdf(kdf, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, ikm_len, salt ? salt : zeros, hl,
		    NULL, 0, out, hl);
}

/*
 * 7.1: HkdfLabel = uint16 length || opaque label<7..255> ("tls13 " + label)
 *      || opaque context<0..255>.
 */
int tls13_expand_label(const struct tls13_kdf *kdf, const uint8_t *secret, const char *label,
		       const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len)
{
	static const char prefix[] = "tls13 ";
	uint8_t info[2 + 1 + 255 + 1 + 255];
	size_t label_len = strlen(label), n = 0;

	if (sizeof(prefix) - 1 + label_len > 255 || context_len > 255 || out_len > 0xffff)
		return -1;
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(sizeof(prefix) - 1 + label_len);
	memcpy(info + n, prefix, sizeof(prefix) - 1);
	n += sizeof(prefix) - 1;
	memcpy(info + n, label, label_len);
	n += label_len;
	info[n++] = (uint8_t)context_len;
	if (context_len)
		memcpy(info + n, context, context_len);
	n += context_len;
	return hkdf(kdf, EVP_KDF_HKDF_MODE_EXPAND_ONLY, secret, kdf->suite->hash_len, NULL, 0, info,
		    n, out, out_len);
}

int tls13_derive_secret(const struct tls13_kdf *kdf, const uint8_t *secret, const char *label,
			const uint8_t *transcript_hash, uint8_t *out)
{
	size_t hl = kdf->suite->hash_len;

	return tls13_expand_label(kdf, secret, label, transcript_hash, hl, out, hl);
}

int tls13_hash(const struct tls13_kdf *kdf, const uint8_t *data, size_t len, uint8_t *out)
{
	return EVP_Digest(data, len, out, NULL, kdf->md, NULL) == 1 ? 0 : -1;
}

/* 4.4.4: finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length). */
int tls13_finished_mac(const struct tls13_kdf *kdf, const uint8_t *base_key,
		       const uint8_t *transcript_hash, uint8_t *out)
{
	uint8_t finished_key[TW_TLS_MAX_HASH];
	size_t hl = kdf->suite->hash_len, out_len = 0;
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = NULL;
	int ret = -1;

	if (tls13_expand_label(kdf, base_key, "finished", NULL, 0, finished_key, hl))
		goto out;
	ctx = EVP_MAC_CTX_new(kdf->hmac);
	if (!ctx)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)kdf->suite->digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, finished_key, hl, params) != 1 ||
	    EVP_MAC_update(ctx, transcript_hash, hl) != 1 ||
	    EVP_MAC_final(ctx, out, &out_len, TW_TLS_MAX_HASH) != 1 || out_len != hl)
		goto out;
	ret = 0;
out:
	EVP_MAC_CTX_free(ctx);
	OPENSSL_cleanse(finished_key, sizeof(finished_key));
	return ret;
}

int tls13_aead_init(struct tls13_aead *a, const struct tls13_suite *suite)
{
	memset(a, 0, sizeof(*a));
	a->cipher = EVP_CIPHER_fetch(NULL, suite->cipher, NULL);
	a->ctx = EVP_CIPHER_CTX_new();
	if (!a->cipher || !a->ctx) {
		tls13_aead_free(a);
		return -1;
	}
	return 0;
}

void tls13_aead_free(struct tls13_aead *a)
{
	EVP_CIPHER_CTX_free(a->ctx);
	EVP_CIPHER_free(a->cipher);
	OPENSSL_cleanse(a, sizeof(*a));
}

/* 7.3: [sender]_write_key and [sender]_write_iv from the traffic secret. */
int tls13_aead_set_secret(struct tls13_aead *a, const struct tls13_kdf *kdf, const uint8_t *secret)
{
	size_t key_len = kdf->suite->key_len;

	if (tls13_expand_label(kdf, secret, "key", NULL, 0, a->key, key_len) ||
	    tls13_expand_label(kdf, secret, "iv", NULL, 0, a->iv, TLS13_IV_LEN))
		return -1;
	if (EVP_DecryptInit_ex2(a->ctx, a->cipher, NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_IVLEN, TLS13_IV_LEN, NULL) != 1 ||
	    EVP_DecryptInit_ex2(a->ctx, NULL, a->key, NULL, NULL) != 1)
		return -1;
	a->seq = 0;
	a->keyed = 1;
	return 0;
}

int tls13_aead_open(struct tls13_aead *a, const uint8_t *header, const uint8_t *frag, size_t len,
		    uint8_t *out)
{
	uint8_t nonce[TLS13_IV_LEN], tag[TLS13_TAG_LEN];
	size_t ct_len;
	int n, i;

	if (!a->keyed || len < TLS13_TAG_LEN || len > TLS13_MAX_CIPHERTEXT)
		return -1;
	ct_len = len - TLS13_TAG_LEN;

	/* 5.3: the 64-bit sequence number, left-padded to iv_length, XOR the IV. */
	memcpy(nonce, a->iv, TLS13_IV_LEN);
	for (i = 0; i < 8; i++)
		nonce[TLS13_IV_LEN - 1 - i] ^= (uint8_t)(a->seq >> (8 * i));
	memcpy(tag, frag + ct_len, TLS13_TAG_LEN);

	/* 5.2: additional_data = the record header. */
	if (EVP_DecryptInit_ex2(a->ctx, NULL, NULL, nonce, NULL) != 1 ||
	    EVP_DecryptUpdate(a->ctx, NULL, &n, header, TLS13_HEADER_LEN) != 1 ||
	    EVP_DecryptUpdate(a->ctx, out, &n, frag, (int)ct_len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, TLS13_TAG_LEN, tag) != 1 ||
	    EVP_DecryptFinal_ex(a->ctx, out + n, &n) != 1)
		return -1;
	a->seq++;
	return 0;
}
