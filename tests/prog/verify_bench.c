// SPDX-License-Identifier: BSD-2-Clause
/*
 * Cost of verifying a proof against decrypting its records with EVP AEAD
 * calls alone (aead_baseline.h, keys precomputed).  Alternately, @rounds
 * times each: tw_verify() on the parsed proof, reading and parsing the
 * file, the parts of tw_verify() that scale with the transcript (the
 * transcript hash of qualifyingData, tw_tls13_verify()), and the baseline.
 * Prints the medians and "RATIO" lines for scripts/bench; exits 0 whatever
 * the ratios (the table judges).
 *
 *   verify_bench PROOF AK.pem CA.pem [rounds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <tlswitness/verify.h>
#include "aead_baseline.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int fail(const char *msg)
{
	fprintf(stderr, "verify_bench: %s\n", msg);
	return 1;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Each direction's stream, the records concatenated, as the verifier sees it. */
static void streams(const struct tw_proof *p, uint8_t *s[2], size_t len[2])
{
	size_t i, at[2] = {0, 0};
	int d;

	len[0] = len[1] = 0;
	for (i = 0; i < p->record_count; i++)
		len[p->records[i].dir == TW_DIR_SERVER] += p->records[i].len;
	s[0] = malloc(len[0]);
	s[1] = malloc(len[1]);
	for (i = 0; i < p->record_count; i++) {
		d = p->records[i].dir == TW_DIR_SERVER;
		memcpy(s[d] + at[d], p->records[i].data, p->records[i].len);
		at[d] += p->records[i].len;
	}
}

int main(int argc, char **argv)
{
	int rounds = argc > 4 ? atoi(argv[4]) : 41, i;
	struct tw_verify_opts o = {0};
	struct tw_verify_result res;
	struct tw_tls_params tp = {0};
	struct tw_tls_session *s;
	struct tw_status st = {0};
	struct tw_proof p, q;
	struct baseline b;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t *stream[2], th[32], *out = malloc(1 << 15);
	size_t len[2], app = 0;
	char host[TW_PROOF_MAX_NAME + 1];
	uint8_t z[32];
	double *tv, *tf, *th_ms, *tt, *tb, t0;
	BIO *bio;

	if (argc < 4 || rounds < 1) {
		fprintf(stderr, "usage: verify_bench PROOF AK.pem CA.pem [rounds]\n");
		return 2;
	}
	bio = BIO_new_file(argv[2], "r");
	o.ak_key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	o.trust = X509_STORE_new();
	if (!o.ak_key || !o.trust || X509_STORE_load_file(o.trust, argv[3]) != 1) {
		fprintf(stderr, "verify_bench: cannot load the AK or the CA\n");
		return 1;
	}
	if (tw_proof_read_file(argv[1], &p, &st) || tw_verify(&p, &o, &res, &st)) {
		fprintf(stderr, "verify_bench: the proof does not verify: %s\n", st.msg);
		return 1;
	}
	streams(&p, stream, len);
	if (baseline_prepare(&b, res.tls, (const uint8_t *const *)stream) ||
	    baseline_run(&b, ctx, out)) {
		fprintf(stderr, "verify_bench: baseline decryption failed\n");
		return 1;
	}
	for (i = 0; i < (int)res.record_count; i++)
		if (res.records[i].tls->type == TW_TLS_CT_APPLICATION_DATA &&
		    res.records[i].dir == TW_TLS_SERVER)
			app += res.records[i].tls->content_len;
	tp.stream[0] = stream[0];
	tp.stream_len[0] = len[0];
	tp.stream[1] = stream[1];
	tp.stream_len[1] = len[1];
	memcpy(z, res.replay->z, sizeof(z));
	tp.z = z;
	tp.z_len = 32;
	tp.trust = o.trust;
	strcpy(host, res.host);
	tp.host = host;
	tp.require_group = TW_TLS_GROUP_SECP256R1;
	tw_verify_result_free(&res);

	tv = calloc((size_t)rounds, sizeof(double));
	tf = calloc((size_t)rounds, sizeof(double));
	th_ms = calloc((size_t)rounds, sizeof(double));
	tt = calloc((size_t)rounds, sizeof(double));
	tb = calloc((size_t)rounds, sizeof(double));
	for (i = 0; i < rounds; i++) {
		t0 = now_ms();
		if (tw_verify(&p, &o, &res, &st))
			return fail(st.msg);
		tv[i] = now_ms() - t0;
		tw_verify_result_free(&res);

		t0 = now_ms();
		if (tw_proof_read_file(argv[1], &q, &st))
			return fail(st.msg);
		tf[i] = now_ms() - t0;
		tw_proof_clear(&q);

		t0 = now_ms();
		tw_proof_transcript_hash(&p, p.bound_records, th);
		th_ms[i] = now_ms() - t0;

		t0 = now_ms();
		if (tw_tls13_verify(&tp, &s, &st))
			return fail(st.msg);
		tt[i] = now_ms() - t0;
		tw_tls13_session_free(s);

		t0 = now_ms();
		baseline_run(&b, ctx, out);
		tb[i] = now_ms() - t0;
	}

	printf("verify_bench: %zu records, %zu bytes of server application data, %d rounds, "
	       "medians:\n",
	       p.record_count, app, rounds);
	printf("verify_bench:   tw_verify            %8.3f ms\n", median(tv, rounds));
	printf("verify_bench:     transcript hash    %8.3f ms (qualifyingData)\n",
	       median(th_ms, rounds));
	printf("verify_bench:     tw_tls13_verify    %8.3f ms\n", median(tt, rounds));
	printf("verify_bench:   read and parse file  %8.3f ms\n", median(tf, rounds));
	printf("verify_bench:   EVP AEAD alone       %8.3f ms\n", median(tb, rounds));
	printf("RATIO verify-proof-1MiB %.2f 1.5 tw_verify on a parsed proof vs EVP AEAD "
	       "decryption alone\n",
	       median(tv, rounds) / median(tb, rounds));
	printf("RATIO verify-file-1MiB %.2f - reading, parsing and verifying the file vs EVP AEAD "
	       "decryption alone\n",
	       (median(tv, rounds) + median(tf, rounds)) / median(tb, rounds));

	baseline_free(&b);
	free(stream[0]);
	free(stream[1]);
	free(out);
	free(tv);
	free(tf);
	free(th_ms);
	free(tt);
	free(tb);
	EVP_CIPHER_CTX_free(ctx);
	tw_proof_clear(&p);
	EVP_PKEY_free(o.ak_key);
	X509_STORE_free(o.trust);
	return 0;
}
