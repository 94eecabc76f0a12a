// SPDX-License-Identifier: BSD-2-Clause
/*
 * The library's own cost per audited command, side by side with ESYS's.
 *
 *   bench-tpm [ROUNDS]       (the TPM comes from $TW_TCTI)
 *
 * Both send the same command, TPM2_Hash of a 32-byte digest with an
 * audit-only HMAC session (the window's commit), alternately on one TPM
 * connection.  Each side's transport is wrapped in a recorder, which
 * measures the time spent inside the TCTI; a command's overhead is its
 * wall time minus that.  Medians over ROUNDS (default 300) rounds.
 *
 * Prints lines for scripts/bench: RATIO <name> <value> <target> <what>.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>
#include <tlswitness/recorder.h>
#include <tlswitness/window.h>

static uint64_t tw_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int tw_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double tw_median_ms(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), tw_cmp);
	return v[n / 2] / 1e6;
}

struct tw_esys_side {
	struct tw_recorder *rec;
	ESYS_CONTEXT *esys;
	ESYS_TR session;
};

static int tw_esys_open(struct tw_esys_side *e, TSS2_TCTI_CONTEXT *tcti)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };

	if (tw_recorder_new(tcti, &e->rec, NULL) != TW_OK)
		return 0;
	tw_recorder_set_recording(e->rec, 0);
	if (Esys_Initialize(&e->esys, tw_recorder_tcti(e->rec), NULL) != TSS2_RC_SUCCESS)
		return 0;
	if (Esys_StartAuthSession(e->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				  ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym,
				  TPM2_ALG_SHA256, &e->session) != TSS2_RC_SUCCESS)
		return 0;
	return Esys_TRSess_SetAttributes(e->esys, e->session,
					 TPMA_SESSION_AUDIT | TPMA_SESSION_CONTINUESESSION,
					 0xff) == TSS2_RC_SUCCESS;
}

/* One audited TPM2_Hash through ESYS; @overhead gets wall time minus TCTI time. */
static int tw_esys_hash(struct tw_esys_side *e, const uint8_t digest[32], uint64_t *overhead)
{
	TPM2B_MAX_BUFFER data = { .size = 32 };
	TPM2B_DIGEST *out = NULL;
	TPMT_TK_HASHCHECK *ticket = NULL;
	uint64_t t0, n0;
	TSS2_RC rc;

	memcpy(data.buffer, digest, 32);
	n0 = tw_recorder_tcti_ns(e->rec);
	t0 = tw_now();
	rc = Esys_Hash(e->esys, e->session, ESYS_TR_NONE, ESYS_TR_NONE, &data, TPM2_ALG_SHA256,
		       ESYS_TR_RH_NULL, &out, &ticket);
	*overhead = (tw_now() - t0) - (tw_recorder_tcti_ns(e->rec) - n0);
	Esys_Free(out);
	Esys_Free(ticket);
	return rc == TSS2_RC_SUCCESS;
}

static int tw_ours_hash(struct tw_window *w, const uint8_t digest[32], uint64_t *overhead,
			uint64_t *tpm)
{
	struct tw_status st;
	uint64_t t0, n0;
	enum tw_code code;

	n0 = tw_window_tpm_ns(w);
	t0 = tw_now();
	code = tw_window_commit(w, digest, &st);
	*tpm = tw_window_tpm_ns(w) - n0;
	*overhead = (tw_now() - t0) - *tpm;
	if (code != TW_OK)
		fprintf(stderr, "bench-tpm: commit: %s\n", st.msg);
	return code == TW_OK;
}

int main(int argc, char **argv)
{
	size_t rounds = argc > 1 ? strtoul(argv[1], NULL, 10) : 300, i;
	const char *conf = getenv("TW_TCTI");
	uint64_t *ours, *esys, *tpm, t0, t_window;
	struct tw_esys_side e = { 0 };
	TSS2_TCTI_CONTEXT *tcti = NULL;
	struct tw_window *w = NULL;
	struct tw_window_opts opts = { 0 };
	struct tw_status st = { 0 };
	uint8_t digest[32] = { 1 }, pub[65];
	double m_ours, m_esys, m_tpm;

	if (rounds < 10 || !conf || Tss2_TctiLdr_Initialize(conf, &tcti) != TSS2_RC_SUCCESS) {
		fprintf(stderr, "bench-tpm: need TW_TCTI and ROUNDS >= 10\n");
		return 1;
	}
	ours = calloc(rounds, sizeof(*ours));
	esys = calloc(rounds, sizeof(*esys));
	tpm = calloc(rounds, sizeof(*tpm));
	opts.tcti_context = tcti;
	if (!ours || !esys || !tpm || !tw_esys_open(&e, tcti) ||
	    tw_window_begin(&w, &opts, &st) != TW_OK || tw_window_setup(w, &st) != TW_OK ||
	    tw_window_create_key(w, pub, &st) != TW_OK) {
		fprintf(stderr, "bench-tpm: set-up failed: %s\n", st.msg);
		return 1;
	}

	/* Warm both sides up, then alternate. */
	for (i = 0; i < 5; i++)
		if (!tw_ours_hash(w, digest, &ours[0], &tpm[0]) || !tw_esys_hash(&e, digest, &esys[0]))
			return 1;
	for (i = 0; i < rounds; i++) {
		digest[0] = i;
		if (!tw_ours_hash(w, digest, &ours[i], &tpm[i]) ||
		    !tw_esys_hash(&e, digest, &esys[i])) {
			fprintf(stderr, "bench-tpm: round %zu failed\n", i);
			return 1;
		}
	}
	tw_window_end(w, NULL);
	tw_window_free(w);

	/* A whole window for scale: begin to end, library time only. */
	t0 = tw_now();
	if (tw_window_begin(&w, &opts, &st) != TW_OK || tw_window_setup(w, &st) != TW_OK ||
	    tw_window_create_key(w, pub, &st) != TW_OK || tw_window_commit(w, digest, &st) ||
	    tw_window_zgen(w, pub, digest, &st) || tw_window_commit(w, digest, &st) ||
	    tw_window_attest(w, digest, 32, &st) || tw_window_end(w, &st)) {
		fprintf(stderr, "bench-tpm: window failed: %s\n", st.msg);
		return 1;
	}
	t_window = tw_now() - t0 - tw_window_tpm_ns(w);
	tw_window_free(w);

	m_ours = tw_median_ms(ours, rounds);
	m_esys = tw_median_ms(esys, rounds);
	m_tpm = tw_median_ms(tpm, rounds);
	printf("bench-tpm: %zu rounds of audited TPM2_Hash, medians: library %.4f ms, "
	       "ESYS %.4f ms, inside the TCTI %.4f ms\n", rounds, m_ours, m_esys, m_tpm);
	printf("bench-tpm: whole window (begin..end, 11 commands), library time %.3f ms\n",
	       t_window / 1e6);
	printf("RATIO tpm-overhead-vs-esys %.4f <=0.1 library/ESYS time per audited command "
	       "(TPM2_Hash, outside the TCTI)\n", m_ours / m_esys);
	printf("RATIO tpm-overhead-vs-0.2ms %.4f <=1 library time per audited command / 0.2 ms\n",
	       m_ours / 0.2);
	printf("RATIO tpm-overhead-vs-swtpm %.4f <=0.5 library time / swtpm's TCTI time, same "
	       "command\n", m_ours / m_tpm);

	Esys_FlushContext(e.esys, e.session);
	Esys_Finalize(&e.esys);
	tw_recorder_free(e.rec);
	Tss2_TctiLdr_Finalize(&tcti);
	free(ours);
	free(esys);
	free(tpm);
	return 0;
}
