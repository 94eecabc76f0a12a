// SPDX-License-Identifier: BSD-2-Clause
/*
 * window_proof BASE OUT [--intrude] [--create-and-load]
 *
 * A proof whose TPM half the TPM really signed, for the verifier's tests:
 * the TLS records, nonce and claimed commit of BASE (a valid proof), and a
 * fresh window on the TPM of $TW_TCTI that creates a new key, commits the
 * same server bytes, runs ZGen on BASE's server share and attests over
 * BASE's nonce and transcript.  The log, attestation and AK of OUT are that
 * window's.
 *
 * --intrude         another TPM user's GetRandom on the same connection
 *                   after ZGen: the TPM signs exclusiveSession = NO while
 *                   the log, which never saw it, replays cleanly.
 * --create-and-load the key made by TPM2_Create and TPM2_Load.
 *
 * Without --intrude, OUT passes every check up to the TLS binding and must
 * fail there: the new key is not the ClientHello's share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_sys.h>
#include <tss2/tss2_tctildr.h>
#include <tlswitness/audit.h>
#include <tlswitness/proof.h>
#include <tlswitness/window.h>

#include "other_client.h"

static int fail(const char *what, const struct tw_status *st)
{
	fprintf(stderr, "window_proof: %s%s%s\n", what, st ? ": " : "", st ? st->msg : "");
	return 1;
}

/* Another client's unaudited GetRandom on the same connection. */
static int intrude(TSS2_TCTI_CONTEXT *tcti)
{
	TSS2_SYS_CONTEXT *sys = other_client_new(tcti);
	TSS2_RC rc = sys ? other_client_getrandom(sys) : 1;

	free(sys);
	return rc == TSS2_RC_SUCCESS ? 0 : -1;
}

/* Replace @p's TPM half with the window's. */
static int take_window(struct tw_proof *p, struct tw_window *w)
{
	static struct tw_audit_replay rp;
	const struct tw_audit_log *log = tw_window_log(w);
	const uint8_t *attest, *sig, *ak;
	size_t attest_len, sig_len, ak_len, i;

	tw_audit_log_clear(&p->log);
	for (i = 0; i < log->count; i++)
		if (tw_audit_log_append(&p->log, log->entries[i].cmd, log->entries[i].cmd_len,
					log->entries[i].rsp, log->entries[i].rsp_len, NULL))
			return -1;
	if (tw_window_attestation(w, &attest, &attest_len, &sig, &sig_len) ||
	    tw_window_ak_public(w, &ak, &ak_len) || tw_audit_replay(&p->log, &rp, NULL) ||
	    rp.commit_count != 1)
		return -1;
	p->reset_entry = rp.reset_index;
	p->zgen_entry = rp.zgen_index;
	p->commits[0].entry = rp.commits[0].index;
	free(p->attest);
	free(p->signature);
	free(p->ak_public);
	p->attest = malloc(attest_len);
	p->signature = malloc(sig_len);
	p->ak_public = malloc(ak_len);
	if (!p->attest || !p->signature || !p->ak_public)
		return -1;
	memcpy(p->attest, attest, attest_len);
	p->attest_len = attest_len;
	memcpy(p->signature, sig, sig_len);
	p->signature_len = sig_len;
	memcpy(p->ak_public, ak, ak_len);
	p->ak_public_len = ak_len;
	return 0;
}

int main(int argc, char **argv)
{
	static struct tw_audit_replay base;
	struct tw_window_opts opts = {0};
	const char *conf = getenv("TW_TCTI");
	TSS2_TCTI_CONTEXT *tcti = NULL;
	struct tw_status st = {0};
	struct tw_window *w = NULL;
	struct tw_proof p;
	uint8_t key[65], z[32], digest[32], th[32], qd[32];
	int i, meddle = 0, rc = 1;
	enum tw_code code;

	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--intrude"))
			meddle = 1;
		else if (!strcmp(argv[i], "--create-and-load"))
			opts.create_and_load = 1;
		else
			return fail("usage: window_proof BASE OUT [--intrude] [--create-and-load]",
				    NULL);
	}
	if (argc < 3)
		return fail("usage: window_proof BASE OUT [--intrude] [--create-and-load]", NULL);
	if (tw_proof_read_file(argv[1], &p, &st))
		return fail("base proof", &st);
	if (tw_audit_replay(&p.log, &base, &st))
		return fail("base proof's log", &st);
	if (!conf || Tss2_TctiLdr_Initialize(conf, &tcti) != TSS2_RC_SUCCESS)
		return fail("no TPM at TW_TCTI", NULL);
	opts.tcti_context = tcti;

	/* DESIGN.md section 2, with the base proof's bytes standing in for a session. */
	tw_proof_server_digest(&p, p.commits[0].server_bytes, digest);
	tw_proof_transcript_hash(&p, p.bound_records, th);
	tw_proof_qualifying_data(p.nonce, p.nonce_len, th, qd);
	code = tw_window_begin(&w, &opts, &st);
	if (code == TW_OK)
		code = tw_window_setup(w, &st);
	if (code == TW_OK)
		code = tw_window_create_key(w, key, &st);
	if (code == TW_OK)
		code = tw_window_commit(w, digest, &st);
	if (code == TW_OK)
		code = tw_window_zgen(w, base.zgen_in, z, &st);
	if (code == TW_OK && meddle && intrude(tcti))
		code = tw_status_set(&st, TW_E_TPM, "the other user's GetRandom failed");
	if (code == TW_OK)
		code = tw_window_attest(w, qd, sizeof(qd), &st);
	/* The window reports the lost exclusivity; the TPM signed it all the same. */
	if (code == TW_OK || (meddle && code == TW_E_EXCLUSIVE)) {
		if (take_window(&p, w))
			fail("the window's log or attestation", NULL);
		else if (tw_proof_write_file(&p, argv[2], &st))
			fail("write", &st);
		else
			rc = 0;
	} else {
		fail("window", &st);
	}
	if (w)
		tw_window_end(w, NULL);
	tw_window_free(w);
	Tss2_TctiLdr_Finalize(&tcti);
	tw_proof_clear(&p);
	return rc;
}
