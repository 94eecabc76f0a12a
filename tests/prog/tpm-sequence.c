// SPDX-License-Identifier: BSD-2-Clause
/*
 * The proving sequence against a real TPM (swtpm on the host): the whole
 * sequence and its replay, interference from another TPM user on the
 * same connection, and the exemption of context management commands.
 *
 *   tpm-sequence [--save-log FILE]     (the TPM comes from $TW_TCTI)
 *
 * swtpm serves one connection at a time, so "another TPM user" is a
 * tss2-sys context on the window's own connection that sends its
 * commands outside the audit session, as any other client would.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <tss2/tss2_sys.h>
#include <tss2/tss2_tctildr.h>
#include <tss2/tss2_mu.h>
#include <tlswitness/ak.h>
#include <tlswitness/audit.h>
#include <tlswitness/window.h>
#include "other_client.h"
#include "tap.h"

/* What another TPM user does, and when. */
enum tw_interfere {
	TW_QUIET,
	TW_GETRANDOM_BEFORE_ZGEN,
	TW_GETRANDOM_BEFORE_ATTEST,
	TW_CONTEXT_OPS,
};

struct tw_run {
	TSS2_TCTI_CONTEXT *tcti;
	TSS2_SYS_CONTEXT *other;	/* the other TPM user, same connection */
	enum tw_interfere interfere;
	int create_and_load;
	unsigned int interfere_attempts;	/* interfere in this many first attempts */
	unsigned int retries_logged;
	uint32_t other_session;	/* the other user's session, for context operations */
	TSS2_RC other_rc;	/* the other user's last failure */

	/* What a successful attempt produced. */
	struct tw_window *w;
	EVP_PKEY *peer;
	uint8_t peer_point[65], key_point[65], z[32];
	uint8_t commit1[32], commit2[32], qualifying[32];
	struct tw_status st;
};

static void tw_test_log(void *arg, const char *line)
{
	struct tw_run *r = arg;

	r->retries_logged++;
	printf("# %s\n", line);
}

/* Another client's unaudited command: a session-capable command that succeeds. */
static void tw_other_getrandom(struct tw_run *r)
{
	r->other_rc = other_client_getrandom(r->other);
}

/* Another client's session, started before the window's audit reset. */
static void tw_other_start_session(struct tw_run *r)
{
	TPM2B_NONCE nonce = { .size = 16 }, nonce_tpm = { 0 };
	TPM2B_ENCRYPTED_SECRET salt = { 0 };
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };

	r->other_rc = Tss2_Sys_StartAuthSession(r->other, TPM2_RH_NULL, TPM2_RH_NULL, NULL,
						&nonce, &salt, TPM2_SE_HMAC, &sym,
						TPM2_ALG_SHA256, &r->other_session, &nonce_tpm,
						NULL);
}

/*
 * What a resource manager does to the other client's session while the
 * window runs: save it, load it back, flush it.  TPM 2.0 Part 1, Session
 * Audit, exempts these commands from clearing exclusivity.
 */
static void tw_other_context_ops(struct tw_run *r)
{
	TPMS_CONTEXT ctx = { 0 };
	TPMI_DH_CONTEXT loaded = 0;
	TSS2_RC rc;

	rc = Tss2_Sys_ContextSave(r->other, r->other_session, &ctx);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Sys_ContextLoad(r->other, &ctx, &loaded);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Sys_FlushContext(r->other, loaded);
	r->other_rc = rc;
}

/* An OpenSSL P-256 key standing in for the TLS server's key share. */
static EVP_PKEY *tw_peer_new(uint8_t point[65])
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	size_t len = 0;

	if (k && (!EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, point, 65, &len) ||
		  len != 65)) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

static enum tw_code tw_attempt(void *arg, unsigned int attempt, struct tw_status *st)
{
	struct tw_run *r = arg;
	struct tw_window_opts opts = { .tcti_context = r->tcti,
				       .create_and_load = r->create_and_load };
	int meddle = attempt <= r->interfere_attempts;
	struct tw_window *w;
	enum tw_code code;

	code = tw_window_begin(&w, &opts, st);
	if (code != TW_OK)
		return code;
	code = tw_window_setup(w, st);
	if (code == TW_OK && r->interfere == TW_CONTEXT_OPS)
		tw_other_start_session(r);
	if (code == TW_OK)
		code = tw_window_create_key(w, r->key_point, st);
	if (code == TW_OK)
		code = tw_window_commit(w, r->commit1, st);
	if (code == TW_OK && meddle && r->interfere == TW_GETRANDOM_BEFORE_ZGEN)
		tw_other_getrandom(r);
	if (code == TW_OK && meddle && r->interfere == TW_CONTEXT_OPS)
		tw_other_context_ops(r);
	if (code == TW_OK)
		code = tw_window_zgen(w, r->peer_point, r->z, st);
	if (code == TW_OK)
		code = tw_window_commit(w, r->commit2, st);
	if (code == TW_OK && meddle && r->interfere == TW_GETRANDOM_BEFORE_ATTEST)
		tw_other_getrandom(r);
	if (code == TW_OK)
		code = tw_window_attest(w, r->qualifying, sizeof(r->qualifying), st);
	if (code == TW_OK) {
		code = tw_window_end(w, st);
	} else {
		tw_window_end(w, NULL);
	}
	if (code != TW_OK) {
		tw_window_free(w);
		return code;
	}
	tw_window_free(r->w);
	r->w = w;
	return TW_OK;
}

/* Z from OpenSSL: ECDH of the peer's private key with the TPM key's public point. */
static int tw_openssl_z(EVP_PKEY *peer, const uint8_t point[65], uint8_t z[32])
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, 65),
		OSSL_PARAM_END,
	};
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL), *dc = NULL;
	EVP_PKEY *tpm_key = NULL;
	size_t len = 32;
	int good = 0;

	if (pc && EVP_PKEY_fromdata_init(pc) > 0 &&
	    EVP_PKEY_fromdata(pc, &tpm_key, EVP_PKEY_PUBLIC_KEY, params) > 0) {
		dc = EVP_PKEY_CTX_new(peer, NULL);
		good = dc && EVP_PKEY_derive_init(dc) > 0 &&
		       EVP_PKEY_derive_set_peer(dc, tpm_key) > 0 &&
		       EVP_PKEY_derive(dc, z, &len) > 0 && len == 32;
	}
	EVP_PKEY_CTX_free(dc);
	EVP_PKEY_CTX_free(pc);
	EVP_PKEY_free(tpm_key);
	return good;
}

static int tw_run(struct tw_run *r, unsigned int max)
{
	memset(r->commit1, 0x11, 32);
	memset(r->commit2, 0x22, 32);
	memset(r->qualifying, 0x5a, 32);
	r->peer = tw_peer_new(r->peer_point);
	if (!r->peer)
		return 0;
	return tw_attempt_run(max, tw_attempt, r, tw_test_log, r, &r->st) == TW_OK;
}

static void tw_run_free(struct tw_run *r)
{
	tw_window_free(r->w);
	EVP_PKEY_free(r->peer);
	r->w = NULL;
	r->peer = NULL;
}

static int tw_exclusive(const struct tw_audit_replay *rep)
{
	return rep->attest_index != TW_AUDIT_NONE &&
	       rep->attest_info.attested.sessionAudit.exclusiveSession == TPM2_YES;
}

/* The whole sequence, checked from every side. */
static void tw_test_sequence(TSS2_TCTI_CONTEXT *tcti, const char *save)
{
	struct tw_run r = { .tcti = tcti };
	struct tw_audit_replay rep;
	struct tw_status st = { 0 };
	const uint8_t *attest, *sig, *ak;
	size_t attest_len, sig_len, ak_len;
	uint8_t z[32], ak_name[34];
	const TPMS_ATTEST *info = &rep.attest_info;
	int replayed;

	if (!ok(tw_run(&r, 1), "sequence runs against the TPM (%s)", r.st.msg)) {
		tw_run_free(&r);
		return;
	}
	ok(tw_openssl_z(r.peer, r.key_point, z) && !memcmp(z, r.z, 32),
	   "ZGen's Z equals OpenSSL ECDH with the TPM key's public point");

	replayed = tw_audit_replay(tw_window_log(r.w), &rep, &st) == TW_OK;
	ok(replayed, "replay accepts the recorded log (%s)", replayed ? "" : st.msg);
	ok(replayed && !memcmp(rep.digest, info->attested.sessionAudit.sessionDigest.buffer, 32) &&
		   info->attested.sessionAudit.sessionDigest.size == 32,
	   "replayed digest equals the signed sessionDigest");
	ok(replayed && rep.audited == 4, "4 audited entries: CreateLoaded, Hash, ECDH_ZGen, Hash");
	ok(replayed && !memcmp(rep.key_point, r.key_point, 65) &&
		   !memcmp(rep.zgen_in, r.peer_point, 65) && !memcmp(rep.z, r.z, 32),
	   "replay finds the key's point, the ZGen input and Z");
	ok(replayed && rep.commit_count == 2 && !memcmp(rep.commits[0].digest, r.commit1, 32) &&
		   !rep.commits[0].after_zgen && !memcmp(rep.commits[1].digest, r.commit2, 32) &&
		   rep.commits[1].after_zgen,
	   "replay finds both commits, one on each side of ZGen");

	tw_window_attestation(r.w, &attest, &attest_len, &sig, &sig_len);
	tw_window_ak_public(r.w, &ak, &ak_len);
	ok(tw_ak_verify(ak, ak_len, attest, attest_len, sig, sig_len, &st) == TW_OK,
	   "the AK's ECDSA signature verifies with OpenSSL over the TPMS_ATTEST bytes");
	ok(replayed && rep.attest_len == attest_len && !memcmp(rep.attest, attest, attest_len),
	   "the log's attestation is the one the window returned");
	ok(replayed && tw_exclusive(&rep), "exclusiveSession is YES");
	ok(replayed && info->extraData.size == 32 && !memcmp(info->extraData.buffer, r.qualifying, 32),
	   "qualifyingData is in the signed attestation");
	ok(tw_ak_qualified_name(ak, ak_len, TPM2_RH_ENDORSEMENT, ak_name, &st) == TW_OK &&
		   info->qualifiedSigner.size == 34 &&
		   !memcmp(info->qualifiedSigner.name, ak_name, 34),
	   "the attestation names the AK (qualified name) as its signer");
	ok(tw_ak_check_template(ak, ak_len, &st) == TW_OK, "the AK matches the AK template");
	ok(replayed && rep.key_public.publicArea.objectAttributes ==
			       (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
				TPMA_OBJECT_DECRYPT),
	   "the created key is fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|decrypt");

	if (save) {
		const struct tw_audit_log *log = tw_window_log(r.w);
		FILE *f = fopen(save, "wb");
		size_t i;
		int good = f != NULL;

		for (i = 0; good && i < log->count; i++) {
			uint8_t n[8];

			n[0] = log->entries[i].cmd_len >> 24;
			n[1] = log->entries[i].cmd_len >> 16;
			n[2] = log->entries[i].cmd_len >> 8;
			n[3] = log->entries[i].cmd_len;
			n[4] = log->entries[i].rsp_len >> 24;
			n[5] = log->entries[i].rsp_len >> 16;
			n[6] = log->entries[i].rsp_len >> 8;
			n[7] = log->entries[i].rsp_len;
			good = fwrite(n, 8, 1, f) == 1 &&
			       fwrite(log->entries[i].cmd, log->entries[i].cmd_len, 1, f) == 1 &&
			       fwrite(log->entries[i].rsp, log->entries[i].rsp_len, 1, f) == 1;
		}
		if (f && fclose(f))
			good = 0;
		ok(good, "log saved to %s", save);
	}
	tw_run_free(&r);
}

/* Another user's GetRandom: the next audited step fails with 0x121, the retry succeeds. */
static void tw_test_interference(TSS2_TCTI_CONTEXT *tcti, enum tw_interfere when,
				 const char *what)
{
	struct tw_run r = { .tcti = tcti, .interfere = when, .interfere_attempts = 1 };
	struct tw_audit_replay rep;
	struct tw_status st;
	int good;

	r.other = other_client_new(tcti);
	good = tw_run(&r, 3);
	ok(r.other_rc == TSS2_RC_SUCCESS, "another user's GetRandom %s succeeded", what);
	ok(good && r.retries_logged == 1, "%s: first attempt lost exclusivity, retry succeeded (%s)",
	   what, r.st.msg);
	ok(good && tw_audit_replay(tw_window_log(r.w), &rep, &st) == TW_OK && tw_exclusive(&rep),
	   "%s: the retried attempt's attestation says exclusive YES", what);
	tw_run_free(&r);

	/* Without retries, the loss is reported as such. */
	r = (struct tw_run){ .tcti = tcti, .interfere = when, .interfere_attempts = 1 };
	r.other = other_client_new(tcti);
	good = tw_run(&r, 1);
	ok(!good && r.st.code == TW_E_EXCLUSIVE &&
		   (when != TW_GETRANDOM_BEFORE_ZGEN || r.st.tpm_rc == TPM2_RC_EXCLUSIVE),
	   "%s: a single attempt fails with TW_E_EXCLUSIVE (%s)", what, r.st.msg);
	tw_run_free(&r);
	free(r.other);
}

/* ContextSave, ContextLoad and FlushContext from another user do not break exclusivity. */
static void tw_test_context_ops(TSS2_TCTI_CONTEXT *tcti)
{
	struct tw_run r = { .tcti = tcti, .interfere = TW_CONTEXT_OPS, .interfere_attempts = 1 };
	struct tw_audit_replay rep;
	struct tw_status st;
	int good;

	r.other = other_client_new(tcti);
	good = tw_run(&r, 1);
	ok(r.other_rc == TSS2_RC_SUCCESS,
	   "another user's ContextSave, ContextLoad, FlushContext succeeded (0x%x)", r.other_rc);
	ok(good && r.retries_logged == 0, "ZGen under auditExclusive still succeeds (%s)",
	   r.st.msg);
	ok(good && tw_audit_replay(tw_window_log(r.w), &rep, &st) == TW_OK && tw_exclusive(&rep),
	   "the attestation says exclusive YES");
	tw_run_free(&r);
	free(r.other);
}

/* TPM2_Create + TPM2_Load, as on a TPM without TPM2_CreateLoaded. */
static void tw_test_create_and_load(TSS2_TCTI_CONTEXT *tcti)
{
	struct tw_run r = { .tcti = tcti, .create_and_load = 1 };
	static struct tw_audit_replay rep;
	struct tw_status st = { 0 };
	uint8_t z[32];
	int good, replayed;

	good = tw_run(&r, 1);
	ok(good, "Create + Load: the sequence runs (%s)", r.st.msg);
	ok(good && tw_openssl_z(r.peer, r.key_point, z) && !memcmp(z, r.z, 32),
	   "Create + Load: Z equals OpenSSL ECDH");
	replayed = good && tw_audit_replay(tw_window_log(r.w), &rep, &st) == TW_OK;
	ok(replayed && rep.audited == 5 && !memcmp(rep.key_point, r.key_point, 65) &&
		   tw_exclusive(&rep) &&
		   !memcmp(rep.digest, rep.attest_info.attested.sessionAudit.sessionDigest.buffer,
			   32),
	   "Create + Load: replay (5 audited entries) matches the signed digest, exclusive "
	   "(%s)", replayed ? "" : st.msg);
	tw_run_free(&r);
}

int main(int argc, char **argv)
{
	const char *conf = getenv("TW_TCTI");
	const char *save = argc > 2 && !strcmp(argv[1], "--save-log") ? argv[2] : NULL;
	TSS2_TCTI_CONTEXT *tcti = NULL;

	if (!conf || Tss2_TctiLdr_Initialize(conf, &tcti) != TSS2_RC_SUCCESS) {
		printf("not ok 1 - TPM from TW_TCTI (%s)\n1..1\n", conf ? conf : "unset");
		return 1;
	}
	tw_test_sequence(tcti, save);
	tw_test_interference(tcti, TW_GETRANDOM_BEFORE_ZGEN, "before ZGen");
	tw_test_interference(tcti, TW_GETRANDOM_BEFORE_ATTEST, "before the attestation");
	tw_test_context_ops(tcti);
	tw_test_create_and_load(tcti);
	Tss2_TctiLdr_Finalize(&tcti);
	return tap_done();
}
