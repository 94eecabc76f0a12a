/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The benchmarks' baseline: decrypting the protected records of a verified
 * TLS 1.3 session with bare EVP AEAD calls, every key and IV precomputed
 * from the session's secrets.  Only the decryption is timed; it is the
 * work no verifier can avoid.  Used by tls13_bench and verify_bench.
 */
#ifndef TW_AEAD_BASELINE_H
#define TW_AEAD_BASELINE_H

#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <tlswitness/tls13.h>
#include "../../user/lib/tls13.h"

/* The keys of every protected record, precomputed: only decryption is timed. */
struct baseline {
	const EVP_CIPHER *cipher;
	size_t n;
	const uint8_t **rec;
	size_t *len;
	uint8_t (*key)[32];
	uint8_t (*iv)[12];
	uint64_t *seq;
	int *rekey;
};

static int baseline_prepare(struct baseline *b, const struct tw_tls_session *s,
			    const uint8_t *const stream[2])
{
	const struct tls13_suite *suite = tls13_suite_find(s->cipher_suite);
	const struct tw_tls_secrets *k = &s->secrets;
	struct tls13_kdf kdf;
	size_t d, i, total = s->dir[0].nrecords + s->dir[1].nrecords;
	int last = -1;

	if (tls13_kdf_init(&kdf, suite))
		return -1;
	memset(b, 0, sizeof(*b));
	b->cipher = EVP_CIPHER_fetch(NULL, suite->cipher, NULL);
	b->rec = calloc(total, sizeof(*b->rec));
	b->len = calloc(total, sizeof(*b->len));
	b->key = calloc(total, sizeof(*b->key));
	b->iv = calloc(total, sizeof(*b->iv));
	b->seq = calloc(total, sizeof(*b->seq));
	b->rekey = calloc(total, sizeof(*b->rekey));
	for (d = 0; d < 2; d++) {
		for (i = 0; i < s->dir[d].nrecords; i++) {
			const struct tw_tls_record *r = &s->dir[d].records[i];
			const uint8_t *secret;
			int epoch;

			if (r->protection == TW_TLS_PLAINTEXT)
				continue;
			if (r->protection == TW_TLS_HANDSHAKE_KEYS)
				secret = d ? k->server_handshake_traffic
					   : k->client_handshake_traffic;
			else
				secret = d ? k->server_application_traffic_0
					   : k->client_application_traffic_0;
			epoch = (int)d * 2 + (r->protection == TW_TLS_APPLICATION_KEYS);
			tls13_expand_label(&kdf, secret, "key", NULL, 0, b->key[b->n],
					   suite->key_len);
			tls13_expand_label(&kdf, secret, "iv", NULL, 0, b->iv[b->n], 12);
			b->rec[b->n] = stream[d] + r->offset;
			b->len[b->n] = r->length;
			b->seq[b->n] = r->seq;
			b->rekey[b->n] = epoch != last;
			last = epoch;
			b->n++;
		}
	}
	tls13_kdf_free(&kdf);
	return 0;
}

/* Decrypt every protected record: the work no verifier can avoid. */
static int baseline_run(const struct baseline *b, EVP_CIPHER_CTX *ctx, uint8_t *out)
{
	uint8_t nonce[12], tag[16];
	size_t i, ct;
	int n, j;

	for (i = 0; i < b->n; i++) {
		ct = b->len[i] - 5 - 16;
		if (b->rekey[i] && (EVP_DecryptInit_ex2(ctx, b->cipher, NULL, NULL, NULL) != 1 ||
				    EVP_DecryptInit_ex2(ctx, NULL, b->key[i], NULL, NULL) != 1))
			return -1;
		memcpy(nonce, b->iv[i], 12);
		for (j = 0; j < 8; j++)
			nonce[11 - j] ^= (uint8_t)(b->seq[i] >> (8 * j));
		memcpy(tag, b->rec[i] + 5 + ct, 16);
		if (EVP_DecryptInit_ex2(ctx, NULL, NULL, nonce, NULL) != 1 ||
		    EVP_DecryptUpdate(ctx, NULL, &n, b->rec[i], 5) != 1 ||
		    EVP_DecryptUpdate(ctx, out, &n, b->rec[i] + 5, (int)ct) != 1 ||
		    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) != 1 ||
		    EVP_DecryptFinal_ex(ctx, out + n, &n) != 1)
			return -1;
	}
	return 0;
}

static void baseline_free(struct baseline *b)
{
	EVP_CIPHER_free((EVP_CIPHER *)b->cipher);
	free(b->rec);
	free(b->len);
	free(b->key);
	free(b->iv);
	free(b->seq);
	free(b->rekey);
}

#endif
