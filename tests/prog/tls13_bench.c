// SPDX-License-Identifier: BSD-2-Clause
/*
 * Cost of verifying a TLS 1.3 session whose response is @size bytes
 * (default 1 MiB) against decrypting the same records with EVP AEAD calls
 * alone, keys precomputed.  Both run alternately, @rounds times each; the
 * medians give the ratio.  Prints "RATIO tls13-verify <ratio> 1.5 ..." for
 * scripts/bench and exits 0 whatever the ratio (the table judges).
 *
 *   tls13_bench [size [rounds]]
 */
#include <time.h>
#include <tlswitness/tls13.h>
#include "../../user/lib/tls13.h"
#include "tls13_live.h"
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

/* Median verify and AEAD-only times for a session with a @size-byte response. */
static int measure(size_t size, int rounds, const struct live_cert *leaf, X509_STORE *store,
		   double *mv, double *mb, size_t *nrec)
{
	struct live_opts o = {.suites = "TLS_AES_128_GCM_SHA256", .sni = "server.test"};
	struct tw_tls_params p = {0};
	struct tw_tls_session *s = NULL;
	struct tw_status st = {0};
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t *out = malloc(1 << 15);
	double *tv, *tb, t0;
	struct live_session ls;
	struct baseline b;
	char err[128];
	int i;

	o.leaf = leaf;
	o.response_len = size;
	if (live_run(&o, &ls, err, sizeof(err))) {
		fprintf(stderr, "tls13_bench: session: %s\n", err);
		return -1;
	}
	p.stream[0] = ls.stream[0].p;
	p.stream_len[0] = ls.stream[0].len;
	p.stream[1] = ls.stream[1].p;
	p.stream_len[1] = ls.stream[1].len;
	p.z = ls.z;
	p.z_len = ls.z_len;
	p.trust = store;
	p.host = "server.test";
	p.require_group = TW_TLS_GROUP_SECP256R1;
	if (tw_tls13_verify(&p, &s, &st) ||
	    baseline_prepare(&b, s, (const uint8_t *[]){ls.stream[0].p, ls.stream[1].p}) ||
	    baseline_run(&b, ctx, out)) {
		fprintf(stderr, "tls13_bench: %s\n", st.msg);
		return -1;
	}
	tw_tls13_session_free(s);

	tv = calloc((size_t)rounds, sizeof(*tv));
	tb = calloc((size_t)rounds, sizeof(*tb));
	for (i = 0; i < rounds; i++) {
		t0 = now_ms();
		if (tw_tls13_verify(&p, &s, &st))
			return -1;
		tv[i] = now_ms() - t0;
		tw_tls13_session_free(s);
		t0 = now_ms();
		baseline_run(&b, ctx, out);
		tb[i] = now_ms() - t0;
	}
	qsort(tv, (size_t)rounds, sizeof(*tv), cmp_double);
	qsort(tb, (size_t)rounds, sizeof(*tb), cmp_double);
	*mv = tv[rounds / 2];
	*mb = tb[rounds / 2];
	*nrec = b.n;
	free(tv);
	free(tb);
	free(out);
	EVP_CIPHER_CTX_free(ctx);
	baseline_free(&b);
	live_free(&ls);
	return 0;
}

int main(int argc, char **argv)
{
	size_t size = argc > 1 ? strtoul(argv[1], NULL, 0) : 1u << 20, n, n0;
	int rounds = argc > 2 ? atoi(argv[2]) : 41;
	X509_STORE *store = X509_STORE_new();
	double mv, mb, mv0, mb0;
	struct live_cert ca, leaf;

	if (!live_cert_make(&ca, "P-256", "bench CA", NULL, NULL) ||
	    !live_cert_make(&leaf, "P-256", "server.test", &ca, "DNS:server.test") ||
	    !X509_STORE_add_cert(store, ca.cert)) {
		fprintf(stderr, "tls13_bench: certificates\n");
		return 1;
	}
	if (measure(size, rounds, &leaf, store, &mv, &mb, &n) ||
	    measure(16, rounds, &leaf, store, &mv0, &mb0, &n0))
		return 1;
	printf("tls13_bench: %zu-byte response, %zu protected records, %d rounds\n", size, n,
	       rounds);
	printf("tls13_bench: verify median %.3f ms, AEAD-only decryption median %.3f ms\n", mv, mb);
	printf("tls13_bench: 16-byte response: verify %.3f ms (certificates, signatures, key "
	       "schedule), AEAD-only %.3f ms\n",
	       mv0, mb0);
	printf("RATIO tls13-verify-%zuB %.2f 1.5 tw_tls13_verify vs EVP AEAD decryption alone\n",
	       size, mv / mb);
	printf("RATIO tls13-verify-per-byte %.2f 1.5 the same without the fixed cost of a 16-byte "
	       "session\n",
	       (mv - mv0) / (mb - mb0));
	return 0;
}
