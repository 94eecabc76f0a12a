// SPDX-License-Identifier: BSD-2-Clause
/*
 * The verifier: what a proof establishes, checked in the order of the
 * claims it rests on (DESIGN.md section 3, Documentation/verifier.rst).
 *
 *   1 the proof file           tw_proof_parse()
 *   2 the attestation          TPMS_ATTEST, the trusted AK, its signature,
 *                              qualifyingData, exclusiveSession
 *   3 the audit log            tw_audit_replay(): the log replays to the signed digest
 *   4 the sequence's shape     tw_audit_replay() and the proof's indices, the parent
 *   5 the ECDH key             type and attributes
 *   6 the TLS binding          commits, the two key shares
 *   7 TLS 1.3                  tw_tls13_verify() with Z from the logged ZGen, and
 *                              the bound records hold the whole handshake
 *
 * Each rule lives in one place: what the replay enforces is reported
 * under the check its fault names, and is not checked again here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_mu.h>
#include <tlswitness/ak.h>
#include <tlswitness/verify.h>

static const struct {
	const char *name;
	unsigned int step;
	const char *title;
} tw_checks[TW_CHECK_COUNT] = {
	[TW_CHECK_NONE] = {"none", 0, "no check failed"},
	[TW_CHECK_PROOF_FILE] = {"proof-file", 1, "the proof file is one the verifier understands"},
	[TW_CHECK_ATTESTATION] = {"attestation", 2,
				  "the attestation is a session audit TPMS_ATTEST the TPM made"},
	[TW_CHECK_AK_TRUSTED] = {"ak-trusted", 2, "the proof's AK is the AK the verifier trusts"},
	[TW_CHECK_AK_SIGNATURE] = {"ak-signature", 2, "the AK signed the attestation"},
	[TW_CHECK_QUALIFYING_DATA] =
		{"qualifying-data", 2,
		 "the signed qualifyingData binds the nonce and the transcript"},
	[TW_CHECK_EXCLUSIVE] = {"exclusive-session", 2, "the audit session was exclusive"},
	[TW_CHECK_AUDIT_LOG] = {"audit-log", 3, "the audit log is what the TPM processed"},
	[TW_CHECK_AUDIT_DIGEST] = {"audit-digest", 3,
				   "the replayed audit digest is the signed one"},
	[TW_CHECK_SEQUENCE] = {"sequence", 4,
			       "the audited commands are exactly the proving sequence"},
	[TW_CHECK_PARENT] = {"parent", 4, "the key's parent is an ordinary storage key"},
	[TW_CHECK_KEY] = {"key", 5, "the ECDH key is a P-256 decryption key born in the TPM"},
	[TW_CHECK_COMMIT] = {"commit", 6,
			     "each commit is the digest of the server bytes it claims"},
	[TW_CHECK_CLIENT_SHARE] = {"client-share", 6,
				   "the ClientHello key share is the TPM key's public point"},
	[TW_CHECK_SERVER_SHARE] = {"server-share", 6,
				   "the ServerHello key share is the ZGen input"},
	[TW_CHECK_TLS] = {"tls", 7, "the TLS 1.3 session verifies with Z from the logged ZGen"},
	[TW_CHECK_BOUND] = {"bound-handshake", 7,
			    "the signed qualifyingData binds the handshake through both Finished"},
};

const char *tw_check_name(enum tw_check check)
{
	return check < TW_CHECK_COUNT ? tw_checks[check].name : "unknown";
}

unsigned int tw_check_step(enum tw_check check)
{
	return check < TW_CHECK_COUNT ? tw_checks[check].step : 0;
}

const char *tw_check_title(enum tw_check check)
{
	return check < TW_CHECK_COUNT ? tw_checks[check].title : "unknown check";
}

const char *tw_check_state_name(enum tw_check_state state)
{
	switch (state) {
	case TW_STATE_NOT_RUN:
		return "not run";
	case TW_STATE_UNFINISHED:
		return "not finished";
	case TW_STATE_PASSED:
		return "passed";
	case TW_STATE_FAILED:
		return "failed";
	}
	return "unknown";
}

const char *tw_record_class_name(enum tw_record_class cls)
{
	switch (cls) {
	case TW_RECORD_ATTESTED:
		return "attested";
	case TW_RECORD_CONSISTENT:
		return "consistent";
	case TW_RECORD_CLIENT:
		return "client";
	case TW_RECORD_UNAUTHENTICATED:
		return "unauthenticated";
	}
	return "unknown";
}

struct tw_verifier {
	const struct tw_proof *p;
	const struct tw_verify_opts *o;
	struct tw_verify_result *res;
	struct tw_status *st;
	uint8_t *stream[2]; /* each direction's bytes, indexed by enum tw_tls_dir */
	size_t stream_len[2];
	enum tw_check hello_fault; /* set by the callback on the parsed hellos */
};

/* A part of @check is about to run; the rest runs later. */
static void tw_begin(struct tw_verifier *v, enum tw_check check)
{
	if (v->res->checks[check] == TW_STATE_NOT_RUN)
		v->res->checks[check] = TW_STATE_UNFINISHED;
}

/* The last part of @check ran and held. */
static void tw_pass(struct tw_verifier *v, enum tw_check check)
{
	v->res->checks[check] = TW_STATE_PASSED;
}

static enum tw_code __attribute__((format(printf, 3, 4)))
tw_fail(struct tw_verifier *v, enum tw_check check, const char *fmt, ...)
{
	char msg[sizeof(v->st->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->res->failed = check;
	v->res->checks[check] = TW_STATE_FAILED;
	return tw_status_set(v->st, check == TW_CHECK_PROOF_FILE ? TW_E_PROOF : TW_E_VERIFY, "%s",
			     msg);
}

static uint32_t tw_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static enum tw_code tw_nomem(struct tw_verifier *v, const char *what)
{
	return tw_status_set(v->st, TW_E_NOMEM, "verifier: out of memory (%s)", what);
}

/*
 * 1. The proof file.  tw_proof_parse() already refused anything it does
 * not understand; a proof built in memory gets the invariants the later
 * checks read through, so that none of them reads outside a buffer.
 */
static enum tw_code tw_check_proof(struct tw_verifier *v)
{
	const struct tw_proof *p = v->p;
	size_t i;

	if (p->version != TW_PROOF_VERSION)
		return tw_fail(v, TW_CHECK_PROOF_FILE, "proof version %u is not understood",
			       p->version);
	if (!p->record_count || !p->records || !p->log.count || !p->commit_count || !p->commits ||
	    !p->server_name || !p->attest || !p->signature || !p->ak_public ||
	    p->nonce_len > TW_PROOF_MAX_NONCE)
		return tw_fail(v, TW_CHECK_PROOF_FILE, "proof lacks a part the format requires");
	for (i = 0; i < p->record_count; i++) {
		const struct tw_proof_record *r = &p->records[i];

		if ((r->dir != TW_DIR_CLIENT && r->dir != TW_DIR_SERVER) || !r->data ||
		    r->len < 5 || r->len > TW_PROOF_MAX_RECORD)
			return tw_fail(v, TW_CHECK_PROOF_FILE, "proof record %zu is malformed", i);
	}
	if (!p->bound_records || p->bound_records > p->record_count)
		return tw_fail(v, TW_CHECK_PROOF_FILE,
			       "proof bound_records is not between 1 and the record count");
	for (i = 0; i < p->commit_count; i++)
		if (p->commits[i].entry >= p->log.count)
			return tw_fail(v, TW_CHECK_PROOF_FILE,
				       "proof commit %zu names no log entry", i);
	if (p->reset_entry >= p->log.count || p->zgen_entry >= p->log.count)
		return tw_fail(v, TW_CHECK_PROOF_FILE, "proof reset or zgen names no log entry");
	tw_pass(v, TW_CHECK_PROOF_FILE);
	return TW_OK;
}

/*
 * TPM 2.0 Part 2 section 10.12.12: TPMS_ATTEST.  Its magic and type are
 * read first, so that an attestation of another kind is named as such
 * whatever its body; then the whole structure, with nothing after it.
 */
static enum tw_code tw_check_attest_format(struct tw_verifier *v)
{
	const uint8_t *b = v->p->attest;
	TPMS_ATTEST *a = &v->res->attest;
	size_t off = 0;

	/* Part 2 section 6.2: a restricted signing key signs only TPM-made structures. */
	if (v->p->attest_len < 6 || tw_get_be32(b) != TPM2_GENERATED_VALUE)
		return tw_fail(v, TW_CHECK_ATTESTATION,
			       "the attestation does not start with TPM_GENERATED_VALUE");
	if ((uint16_t)(b[4] << 8 | b[5]) != TPM2_ST_ATTEST_SESSION_AUDIT)
		return tw_fail(v, TW_CHECK_ATTESTATION,
			       "the attestation's type is 0x%04x, not TPM_ST_ATTEST_SESSION_AUDIT",
			       b[4] << 8 | b[5]);
	memset(a, 0, sizeof(*a));
	if (Tss2_MU_TPMS_ATTEST_Unmarshal(b, v->p->attest_len, &off, a) ||
	    off != v->p->attest_len)
		return tw_fail(v, TW_CHECK_ATTESTATION,
			       "the attestation is not one TPMS_ATTEST with nothing after it");
	if (a->attested.sessionAudit.sessionDigest.size != 32)
		return tw_fail(v, TW_CHECK_ATTESTATION,
			       "the attested session digest is not a SHA-256 digest");
	return TW_OK;
}

/*
 * The AK: the proof's public area must be the trusted one (the same
 * bytes, or the same public key made from the AK template).
 */
static enum tw_code tw_check_ak(struct tw_verifier *v)
{
	const struct tw_proof *p = v->p;
	const struct tw_verify_opts *o = v->o;
	struct tw_status why;
	EVP_PKEY *key = NULL;
	int same;

	if (o->ak_public && (o->ak_public_len != p->ak_public_len ||
			     memcmp(o->ak_public, p->ak_public, p->ak_public_len)))
		return tw_fail(v, TW_CHECK_AK_TRUSTED,
			       "the proof's AK is not the AK the verifier trusts");
	if (o->ak_key) {
		if (tw_ak_public_key(p->ak_public, p->ak_public_len, &key, &why) != TW_OK)
			return tw_fail(v, TW_CHECK_AK_TRUSTED, "the proof's AK: %s", why.msg);
		same = EVP_PKEY_eq(key, o->ak_key);
		EVP_PKEY_free(key);
		if (same != 1)
			return tw_fail(v, TW_CHECK_AK_TRUSTED,
				       "the proof's AK is not the AK the verifier trusts");
	}
	/* Ak.rst: restricted | sign, so that it signs only what the TPM made. */
	if (tw_ak_check_template(p->ak_public, p->ak_public_len, &why) != TW_OK)
		return tw_fail(v, TW_CHECK_AK_TRUSTED, "the proof's AK: %s", why.msg);
	return TW_OK;
}

/*
 * 2. The attestation: made by the TPM, signed by the trusted AK, bound,
 * exclusive.  What the attestation and the AK must be in the log is
 * checked in step 3; those two checks end there.
 */
static enum tw_code tw_check_attestation(struct tw_verifier *v)
{
	const struct tw_proof *p = v->p;
	const struct tw_verify_opts *o = v->o;
	const TPMS_ATTEST *a = &v->res->attest;
	const uint8_t *nonce = p->nonce;
	size_t nonce_len = p->nonce_len;
	uint8_t th[32], qd[32];
	struct tw_status why;
	enum tw_code code;

	tw_begin(v, TW_CHECK_ATTESTATION);
	code = tw_check_attest_format(v);
	if (code != TW_OK)
		return code;
	tw_begin(v, TW_CHECK_AK_TRUSTED);
	code = tw_check_ak(v);
	if (code != TW_OK)
		return code;
	code = tw_ak_verify(p->ak_public, p->ak_public_len, p->attest, p->attest_len, p->signature,
			    p->signature_len, &why);
	if (code == TW_E_NOMEM)
		return tw_status_set(v->st, code, "%s", why.msg);
	if (code != TW_OK)
		return tw_fail(v, TW_CHECK_AK_SIGNATURE, "%s", why.msg);
	tw_pass(v, TW_CHECK_AK_SIGNATURE);

	/*
	 * Proof-format.rst, "qualifyingData": the verifier's nonce, if it gave
	 * one, and the records recorded when the TPM signed.  That these hold
	 * the whole handshake is checked once the TLS check has found it.
	 */
	if (o->nonce) {
		nonce = o->nonce;
		nonce_len = o->nonce_len;
	}
	tw_proof_transcript_hash(p, p->bound_records, th);
	tw_proof_qualifying_data(nonce, nonce_len, th, qd);
	if (a->extraData.size != 32 || memcmp(a->extraData.buffer, qd, 32)) {
		if (o->nonce && (nonce_len != p->nonce_len || memcmp(nonce, p->nonce, nonce_len)))
			return tw_fail(v, TW_CHECK_QUALIFYING_DATA,
				       "the proof was made for another nonce than the verifier's");
		return tw_fail(v, TW_CHECK_QUALIFYING_DATA,
			       "the signed qualifyingData does not bind this nonce and the first "
			       "%zu records",
			       p->bound_records);
	}

	/*
	 * The signature binds the verifier's nonce, not the proof's field: a
	 * field that says otherwise is the prover's word against the TPM's,
	 * and a report must never show it as the verifier's.
	 */
	if (o->nonce && (p->nonce_len != o->nonce_len || memcmp(p->nonce, o->nonce, o->nonce_len)))
		return tw_fail(v, TW_CHECK_QUALIFYING_DATA,
			       "the proof's nonce field is not the verifier's nonce, which the "
			       "signed qualifyingData binds");
	v->res->nonce_checked = o->nonce != NULL;
	tw_pass(v, TW_CHECK_QUALIFYING_DATA);

	/* Part 3 section 18.5: as it stood before the attestation command ran. */
	if (a->attested.sessionAudit.exclusiveSession != TPM2_YES)
		return tw_fail(v, TW_CHECK_EXCLUSIVE,
			       "exclusiveSession is NO: a command outside the audit session "
			       "reached the TPM during the sequence");
	tw_pass(v, TW_CHECK_EXCLUSIVE);
	return TW_OK;
}

static enum tw_check tw_fault_check(enum tw_audit_fault fault)
{
	switch (fault) {
	case TW_AUDIT_FAULT_FRAMING:
	case TW_AUDIT_FAULT_CHAIN:
		return TW_CHECK_AUDIT_LOG;
	case TW_AUDIT_FAULT_KEY:
		return TW_CHECK_KEY;
	case TW_AUDIT_FAULT_ATTEST:
		return TW_CHECK_ATTESTATION;
	case TW_AUDIT_FAULT_DIGEST:
		return TW_CHECK_AUDIT_DIGEST;
	case TW_AUDIT_FAULT_SEQUENCE:
	case TW_AUDIT_FAULT_NONE:
		break;
	}
	return TW_CHECK_SEQUENCE;
}

/*
 * 3. The audit log replays to the signed digest.  The replay compares the
 * digest with the attestation the log's GetSessionAuditDigest returned;
 * that attestation must be the one checked in step 2, and the AK the log
 * made the proof's AK.  The replay is one pass over the log that stops at
 * the first fault, so every check with a part in it begins here and none
 * ends before the replay has.
 */
static enum tw_code tw_check_replay(struct tw_verifier *v)
{
	const struct tw_proof *p = v->p;
	struct tw_audit_replay *rp;
	uint8_t ak[sizeof(TPM2B_PUBLIC)];
	struct tw_status why;
	size_t ak_len = 0;
	enum tw_code code;

	rp = calloc(1, sizeof(*rp));
	if (!rp)
		return tw_nomem(v, "replay");
	v->res->replay = rp;
	tw_begin(v, TW_CHECK_AUDIT_LOG);
	tw_begin(v, TW_CHECK_AUDIT_DIGEST);
	tw_begin(v, TW_CHECK_SEQUENCE);
	tw_begin(v, TW_CHECK_KEY);
	code = tw_audit_replay(&p->log, rp, &why);
	if (code == TW_E_PROOF)
		return tw_fail(v, tw_fault_check(rp->fault), "%s", why.msg);
	if (code != TW_OK)
		return tw_status_set(v->st, code, "%s", why.msg);
	tw_pass(v, TW_CHECK_AUDIT_LOG);

	if (rp->attest_index == TW_AUDIT_NONE)
		return tw_fail(v, TW_CHECK_AUDIT_DIGEST,
			       "the log has no TPM2_GetSessionAuditDigest to compare the signed "
			       "digest with");
	tw_pass(v, TW_CHECK_ATTESTATION);
	if (rp->attest_len != p->attest_len || memcmp(rp->attest, p->attest, p->attest_len) ||
	    rp->signature_len != p->signature_len ||
	    memcmp(rp->signature, p->signature, p->signature_len))
		return tw_fail(v, TW_CHECK_AUDIT_DIGEST,
			       "the proof's attestation is not the one the logged "
			       "TPM2_GetSessionAuditDigest returned");
	tw_pass(v, TW_CHECK_AUDIT_DIGEST);
	if (!rp->have_ak_public ||
	    Tss2_MU_TPM2B_PUBLIC_Marshal(&rp->ak_public, ak, sizeof(ak), &ak_len) ||
	    ak_len != p->ak_public_len || memcmp(ak, p->ak_public, ak_len))
		return tw_fail(v, TW_CHECK_AK_TRUSTED, "the AK the log made is not the proof's AK");
	tw_pass(v, TW_CHECK_AK_TRUSTED);
	return TW_OK;
}

/*
 * 4. The sequence's shape beyond what the replay enforces: the log ends
 * with the attestation, the proof's indices are where the replay found
 * the commands, a commit precedes ZGen, and the parent is a storage key.
 */
static enum tw_code tw_check_sequence(struct tw_verifier *v)
{
	const struct tw_proof *p = v->p;
	const struct tw_audit_replay *rp = v->res->replay;
	const TPMA_OBJECT attrs = rp->parent_public.publicArea.objectAttributes;
	size_t i, before = 0;

	if (rp->attest_index != p->log.count - 1)
		return tw_fail(v, TW_CHECK_SEQUENCE,
			       "the log does not end with TPM2_GetSessionAuditDigest");
	if (rp->reset_index != p->reset_entry)
		return tw_fail(v, TW_CHECK_SEQUENCE,
			       "the proof's reset entry %zu is not the log's auditReset command "
			       "(entry %zu)",
			       p->reset_entry, rp->reset_index);
	if (rp->zgen_index == TW_AUDIT_NONE)
		return tw_fail(v, TW_CHECK_SEQUENCE, "the log has no TPM2_ECDH_ZGen");
	if (rp->zgen_index != p->zgen_entry)
		return tw_fail(v, TW_CHECK_SEQUENCE,
			       "the proof's zgen entry %zu is not the log's TPM2_ECDH_ZGen "
			       "(entry %zu)",
			       p->zgen_entry, rp->zgen_index);
	if (rp->commit_count != p->commit_count)
		return tw_fail(v, TW_CHECK_SEQUENCE,
			       "the proof claims %zu commits, the log holds %zu", p->commit_count,
			       rp->commit_count);
	for (i = 0; i < rp->commit_count; i++) {
		if (rp->commits[i].index != p->commits[i].entry)
			return tw_fail(v, TW_CHECK_SEQUENCE,
				       "the proof's commit %zu names entry %zu, the log's is "
				       "entry %zu",
				       i, p->commits[i].entry, rp->commits[i].index);
		before += !rp->commits[i].after_zgen;
	}
	if (!before)
		return tw_fail(v, TW_CHECK_SEQUENCE, "no commit of server bytes precedes ZGen");
	tw_pass(v, TW_CHECK_SEQUENCE);

	/*
	 * Part 1 section 27 (key derivation): a parent with restricted,
	 * decrypt and sign all set derives its children from their template,
	 * so a "new" key under it could be made again.  An ordinary storage
	 * parent is restricted, decrypt and not sign.
	 */
	if (!(attrs & TPMA_OBJECT_RESTRICTED) || !(attrs & TPMA_OBJECT_DECRYPT) ||
	    (attrs & TPMA_OBJECT_SIGN_ENCRYPT))
		return tw_fail(v, TW_CHECK_PARENT,
			       "the key's parent (attributes 0x%08x) is not an ordinary storage "
			       "key: restricted and decrypt, not sign",
			       attrs);
	tw_pass(v, TW_CHECK_PARENT);
	return TW_OK;
}

/*
 * 5. The ECDH key (Part 1 section 27.2, Part 2 section 8.3): its private
 * part was made by this TPM and never leaves it, and it can do ECDH and
 * nothing else.
 */
static enum tw_code tw_check_key(struct tw_verifier *v)
{
	const TPMT_PUBLIC *k = &v->res->replay->key_public.publicArea;
	static const struct {
		TPMA_OBJECT bit;
		int set;
		const char *why;
	} rules[] = {
		{TPMA_OBJECT_FIXEDTPM, 1, "fixedTPM is clear: the key could be duplicated"},
		{TPMA_OBJECT_FIXEDPARENT, 1, "fixedParent is clear: the key could be duplicated"},
		{TPMA_OBJECT_SENSITIVEDATAORIGIN, 1,
		 "sensitiveDataOrigin is clear: the caller may have supplied the private key"},
		{TPMA_OBJECT_DECRYPT, 1, "decrypt is clear: not an ECDH key"},
		{TPMA_OBJECT_RESTRICTED, 0, "restricted is set: not an ordinary ECDH key"},
		{TPMA_OBJECT_SIGN_ENCRYPT, 0, "sign is set: the key could also sign"},
	};
	size_t i;

	if (k->type != TPM2_ALG_ECC || k->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256)
		return tw_fail(v, TW_CHECK_KEY, "the ECDH key is not an ECC P-256 key");
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (!!(k->objectAttributes & rules[i].bit) != rules[i].set)
			return tw_fail(v, TW_CHECK_KEY, "the ECDH key's %s", rules[i].why);
	tw_pass(v, TW_CHECK_KEY);
	return TW_OK;
}

/* 6a. Every commit's digest is SHA-256 of the server bytes it claims to cover. */
static enum tw_code tw_check_commits(struct tw_verifier *v)
{
	const struct tw_proof *p = v->p;
	const struct tw_audit_replay *rp = v->res->replay;
	uint8_t digest[32];
	size_t i;

	for (i = 0; i < p->commit_count; i++) {
		const struct tw_proof_commit *c = &p->commits[i];

		if (!tw_proof_server_digest(p, c->server_bytes, digest) ||
		    memcmp(digest, rp->commits[i].digest, 32))
			return tw_fail(v, TW_CHECK_COMMIT,
				       "commit %zu (log entry %zu) is not the SHA-256 of the first "
				       "%llu server bytes",
				       i, c->entry, (unsigned long long)c->server_bytes);
		if (!rp->commits[i].after_zgen && c->server_bytes > v->res->committed_bytes)
			v->res->committed_bytes = c->server_bytes;
	}
	tw_pass(v, TW_CHECK_COMMIT);
	return TW_OK;
}

/*
 * Part of 7: the name the certificate is checked for must be signed by
 * something.  The ClientHello's SNI is, by the transcript the server's
 * CertificateVerify covers, and the proof's server_name must be it; the
 * verifier's own host needs nothing.  Without SNI the proof's server_name
 * is the prover's word alone (proof-format.rst), so it is never used.
 */
static enum tw_code tw_check_host_source(struct tw_verifier *v, const struct tw_tls_session *s,
					 struct tw_status *st)
{
	if (s->sni[0] && strcmp(s->sni, v->p->server_name)) {
		v->hello_fault = TW_CHECK_TLS;
		return tw_status_set(st, TW_E_VERIFY,
				     "the proof's server_name is not the ClientHello's "
				     "server_name");
	}
	if (!s->sni[0] && !v->res->host_given) {
		v->hello_fault = TW_CHECK_TLS;
		return tw_status_set(st, TW_E_VERIFY,
				     "the ClientHello has no SNI, so nothing signs the proof's "
				     "server_name: give the host name the certificate must carry "
				     "(--host)");
	}
	return TW_OK;
}

/*
 * 6b. Called by the TLS verification once the hellos are parsed, before
 * any key is derived or the certificate is looked at.
 */
static enum tw_code tw_check_hellos(void *arg, const struct tw_tls_session *s, struct tw_status *st)
{
	struct tw_verifier *v = arg;
	const struct tw_audit_replay *rp = v->res->replay;

	if (s->client_share_len != sizeof(rp->key_point) ||
	    memcmp(s->client_share, rp->key_point, sizeof(rp->key_point))) {
		v->hello_fault = TW_CHECK_CLIENT_SHARE;
		return tw_status_set(st, TW_E_VERIFY,
				     "the ClientHello key share is not the public point of the "
				     "key the TPM created");
	}
	tw_pass(v, TW_CHECK_CLIENT_SHARE);
	if (s->server_share_len != sizeof(rp->zgen_in) ||
	    memcmp(s->server_share, rp->zgen_in, sizeof(rp->zgen_in))) {
		v->hello_fault = TW_CHECK_SERVER_SHARE;
		return tw_status_set(st, TW_E_VERIFY,
				     "the ServerHello key share is not the point the TPM's ZGen "
				     "used");
	}
	tw_pass(v, TW_CHECK_SERVER_SHARE);
	return tw_check_host_source(v, s, st);
}

/*
 * The number a failure message gives the TLS record at @offset of @dir's
 * stream: the index of the proof record that starts there, which is the
 * row of the report's table (tls13.c adds the index in its direction).
 */
static int tw_record_number(void *arg, enum tw_tls_dir dir, size_t offset, size_t *number)
{
	const struct tw_verifier *v = arg;
	const struct tw_proof *p = v->p;
	size_t i, at = 0;

	for (i = 0; i < p->record_count && at <= offset; i++) {
		if ((p->records[i].dir == TW_DIR_SERVER) != (dir == TW_TLS_SERVER))
			continue;
		if (at == offset) {
			*number = i;
			return 0;
		}
		at += p->records[i].len;
	}
	return -1;
}

/* Each direction's byte stream, the records concatenated. */
static enum tw_code tw_streams(struct tw_verifier *v)
{
	const struct tw_proof *p = v->p;
	size_t i, d, at[2] = {0, 0};

	for (i = 0; i < p->record_count; i++)
		v->stream_len[p->records[i].dir == TW_DIR_SERVER] += p->records[i].len;
	for (d = 0; d < 2; d++) {
		v->stream[d] = malloc(v->stream_len[d] ? v->stream_len[d] : 1);
		if (!v->stream[d])
			return tw_nomem(v, "streams");
	}
	for (i = 0; i < p->record_count; i++) {
		const struct tw_proof_record *r = &p->records[i];

		d = r->dir == TW_DIR_SERVER;
		memcpy(v->stream[d] + at[d], r->data, r->len);
		at[d] += r->len;
	}
	return TW_OK;
}

/*
 * The proof's hints (proof-format.rst, "tls") must be what the session
 * says: a proof that contradicts itself is not understood.
 */
static enum tw_code tw_check_hints(struct tw_verifier *v)
{
	const struct tw_proof *p = v->p;
	const struct tw_tls_session *s = v->res->tls;
	size_t alpn_len = p->alpn ? strlen(p->alpn) : 0;

	if (p->cipher_suite != s->cipher_suite)
		return tw_fail(v, TW_CHECK_TLS,
			       "the proof's cipher_suite 0x%04x is not the negotiated 0x%04x",
			       p->cipher_suite, s->cipher_suite);
	if (alpn_len != s->alpn_len || memcmp(p->alpn ? p->alpn : "", s->alpn, alpn_len))
		return tw_fail(v, TW_CHECK_TLS, "the proof's alpn is not the negotiated protocol");
	return TW_OK;
}

/* Each proof record is the TLS record the session found at its offset. */
static enum tw_code tw_match_records(struct tw_verifier *v)
{
	const struct tw_proof *p = v->p;
	struct tw_verify_result *res = v->res;
	size_t i, next[2] = {0, 0};

	res->records = calloc(p->record_count, sizeof(*res->records));
	if (!res->records)
		return tw_nomem(v, "records");
	for (i = 0; i < p->record_count; i++) {
		const struct tw_proof_record *r = &p->records[i];
		struct tw_verify_record *out = &res->records[i];
		enum tw_tls_dir d = r->dir == TW_DIR_SERVER ? TW_TLS_SERVER : TW_TLS_CLIENT;
		const struct tw_tls_direction *td = &res->tls->dir[d];

		if (next[d] >= td->nrecords || td->records[next[d]].offset != r->offset ||
		    td->records[next[d]].length != r->len)
			return tw_fail(v, TW_CHECK_TLS,
				       "proof record %zu is not the TLS record at its offset", i);
		out->proof_index = i;
		out->dir = d;
		out->bound = i < p->bound_records;
		out->tls = &td->records[next[d]++];
	}
	res->record_count = p->record_count;
	return TW_OK;
}

/* 7. TLS 1.3 (RFC 8446) with Z from the logged ZGen response; 6b on the way. */
static enum tw_code tw_check_tls(struct tw_verifier *v)
{
	const struct tw_audit_replay *rp = v->res->replay;
	struct tw_tls_params tp = {0};
	struct tw_status why;
	enum tw_code code;
	int d;

	tw_begin(v, TW_CHECK_TLS);
	code = tw_streams(v);
	if (code != TW_OK)
		return code;
	for (d = 0; d < 2; d++) {
		tp.stream[d] = v->stream[d];
		tp.stream_len[d] = v->stream_len[d];
	}
	tp.z = rp->z;
	tp.z_len = sizeof(rp->z);
	tp.trust = v->o->trust;
	tp.host = v->res->host;
	tp.verify_time = v->o->verify_time;
	tp.require_group = TW_TLS_GROUP_SECP256R1;
	tp.on_key_shares = tw_check_hellos;
	tp.record_number = tw_record_number;
	tp.arg = v;
	code = tw_tls13_verify(&tp, &v->res->tls, &why);
	if (code == TW_E_VERIFY)
		return tw_fail(v, v->hello_fault ? v->hello_fault : TW_CHECK_TLS, "%s", why.msg);
	if (code != TW_OK)
		return tw_status_set(v->st, code, "%s", why.msg);
	code = tw_check_hints(v);
	if (code == TW_OK)
		code = tw_match_records(v);
	if (code == TW_OK)
		tw_pass(v, TW_CHECK_TLS);
	return code;
}

/*
 * 7b. The attestation was made once the handshake was complete: in each
 * direction the bound records reach past the record that carries that
 * side's Finished (RFC 8446 section 4.4.4).  Records after them are the
 * application's, which the TPM cannot vouch for anyway (DESIGN.md
 * section 3).
 */
static enum tw_code tw_check_bound(struct tw_verifier *v)
{
	const struct tw_proof *p = v->p;
	const struct tw_tls_session *s = v->res->tls;
	size_t i, bound[2] = {0, 0};

	for (i = 0; i < p->bound_records; i++)
		bound[p->records[i].dir == TW_DIR_SERVER] += p->records[i].len;
	if (bound[TW_TLS_SERVER] < s->dir[TW_TLS_SERVER].finished_end)
		return tw_fail(v, TW_CHECK_BOUND,
			       "the %zu bound records end before the server's Finished",
			       p->bound_records);
	if (bound[TW_TLS_CLIENT] < s->dir[TW_TLS_CLIENT].finished_end)
		return tw_fail(v, TW_CHECK_BOUND,
			       "the %zu bound records end before the client's Finished",
			       p->bound_records);
	tw_pass(v, TW_CHECK_BOUND);
	return TW_OK;
}

/*
 * Each record's class (proof-format.rst, "commits").  A plaintext record
 * other than a handshake one, the compatibility change_cipher_spec (RFC
 * 8446 section 5, appendix D.4), has no AEAD tag and is outside the
 * transcript: nothing vouches for it, whoever sent it.  The hellos are
 * plaintext too, but the server's CertificateVerify signs the transcript
 * that holds them.  A server record is attested only when it lies wholly
 * inside the bytes committed before ZGen: a commit is a byte count and may
 * end inside a record, whose committed part alone the TPM cannot vouch
 * for, since its AEAD tag comes after.  Every commit covers a prefix of
 * the server's stream, so the longest one before ZGen decides.
 */
static enum tw_record_class tw_record_class(const struct tw_verify_result *res,
					    const struct tw_verify_record *rec,
					    const struct tw_proof_record *r)
{
	if (rec->tls->protection == TW_TLS_PLAINTEXT && rec->tls->type != TW_TLS_CT_HANDSHAKE)
		return TW_RECORD_UNAUTHENTICATED;
	if (rec->dir == TW_TLS_CLIENT)
		return TW_RECORD_CLIENT;
	if (r->offset + r->len <= res->committed_bytes)
		return TW_RECORD_ATTESTED;
	return TW_RECORD_CONSISTENT;
}

static void tw_classify(struct tw_verifier *v)
{
	struct tw_verify_result *res = v->res;
	size_t i;

	for (i = 0; i < res->record_count; i++) {
		struct tw_verify_record *rec = &res->records[i];

		rec->cls = tw_record_class(res, rec, &v->p->records[rec->proof_index]);
		res->attested += rec->cls == TW_RECORD_ATTESTED;
		res->consistent += rec->cls == TW_RECORD_CONSISTENT;
		res->client += rec->cls == TW_RECORD_CLIENT;
		res->unauthenticated += rec->cls == TW_RECORD_UNAUTHENTICATED;
	}
}

static enum tw_code tw_check_opts(struct tw_verifier *v)
{
	const struct tw_verify_opts *o = v->o;
	const char *host = o->host ? o->host : v->p->server_name;

	if (!o->ak_key && !o->ak_public)
		return tw_status_set(v->st, TW_E_USAGE, "verifier: no trusted AK given");
	if (!o->trust)
		return tw_status_set(v->st, TW_E_USAGE, "verifier: no trust store given");
	if (o->nonce_len > TW_PROOF_MAX_NONCE)
		return tw_status_set(v->st, TW_E_USAGE, "verifier: nonce longer than 64 bytes");
	if (!host || !*host || strlen(host) >= sizeof(v->res->host))
		return tw_status_set(v->st, TW_E_USAGE, "verifier: no usable host name");
	strcpy(v->res->host, host);
	v->res->host_given = o->host != NULL;
	return TW_OK;
}

enum tw_code tw_verify(const struct tw_proof *proof, const struct tw_verify_opts *opts,
		       struct tw_verify_result *res, struct tw_status *st)
{
	struct tw_status local;
	struct tw_verifier v = {.p = proof, .o = opts, .res = res, .st = st ? st : &local};
	enum tw_code code;

	if (!res)
		return tw_status_set(st, TW_E_USAGE, "verifier: no result");
	memset(res, 0, sizeof(*res));
	if (!proof || !opts)
		return tw_status_set(st, TW_E_USAGE, "verifier: no proof or no options");

	code = tw_check_proof(&v);
	if (code == TW_OK)
		code = tw_check_opts(&v);
	if (code == TW_OK)
		code = tw_check_attestation(&v);
	if (code == TW_OK)
		code = tw_check_replay(&v);
	if (code == TW_OK)
		code = tw_check_sequence(&v);
	if (code == TW_OK)
		code = tw_check_key(&v);
	if (code == TW_OK)
		code = tw_check_commits(&v);
	if (code == TW_OK)
		code = tw_check_tls(&v);
	if (code == TW_OK)
		code = tw_check_bound(&v);
	if (code == TW_OK)
		tw_classify(&v);

	free(v.stream[0]);
	free(v.stream[1]);
	if (code == TW_OK)
		tw_status_set(st, TW_OK, "every check passed");
	return code;
}

enum tw_code tw_verify_file(const char *path, const struct tw_verify_opts *opts,
			    struct tw_proof *proof, struct tw_verify_result *res,
			    struct tw_status *st)
{
	enum tw_code code;

	if (!res || !proof)
		return tw_status_set(st, TW_E_USAGE, "verifier: no result or no proof");
	memset(res, 0, sizeof(*res));
	code = tw_proof_read_file(path, proof, st);
	if (code == TW_E_PROOF) {
		res->failed = TW_CHECK_PROOF_FILE;
		res->checks[TW_CHECK_PROOF_FILE] = TW_STATE_FAILED;
	}
	if (code != TW_OK)
		return code;
	return tw_verify(proof, opts, res, st);
}

void tw_verify_result_free(struct tw_verify_result *res)
{
	if (!res)
		return;
	free(res->replay);
	tw_tls13_session_free(res->tls);
	free(res->records);
	memset(res, 0, sizeof(*res));
}
