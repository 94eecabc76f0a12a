// SPDX-License-Identifier: BSD-2-Clause
/*
 * The forged-proof corpus: from one valid proof that the prover made
 * against a real server on swtpm, build forged proofs of every kind and
 * require tw_verify() to reject each with the check id and the reason it
 * is meant to hit, not merely to fail.
 *
 *   forge PROOF AK.pem CA.pem [DIR]
 *
 * AK.pem is the AK that signed PROOF, CA.pem the server's trust anchor.
 * With DIR, every forged proof is also written there as DIR/NAME.json
 * (seeds for the fuzzers).
 *
 * Two forgers play:
 *
 * - One without the AK's private key changes any byte of the proof but
 *   cannot sign.  Its forgeries must be caught by the signature, the
 *   qualifyingData over the transcript, the log's replay or the checks on
 *   what the signature does not cover.
 *
 * - One with a compromised AK: a software P-256 key made here stands in
 *   for the AK, and the verifier is told to trust it.  This forger
 *   rewrites the audit log (the audit session's HMACs are keyed with the
 *   empty key, so anyone can compute them), rebuilds the attestation over
 *   the new digest and transcript and signs it.  That is exactly what a
 *   TPM-less forger holding a stolen AK could do, and it is the only way
 *   to reach the checks behind the signature (exclusivity, the sequence's
 *   shape, the key's attributes, the TLS binding) with a log no real TPM
 *   signed.  Nothing here is a test-only path in the verifier: it gets a
 *   trusted key like any other.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509_vfy.h>
#include <tss2/tss2_mu.h>

#include <tlswitness/ak.h>
#include <tlswitness/proof.h>
#include <tlswitness/tls13.h>
#include <tlswitness/verify.h>
#include "../../user/lib/tls13.h"
#include "../../user/lib/tpm_wire.h"
#include "tap.h"

/* What a case does to the verifier's options and to the resealing. */
struct forge {
	struct tw_proof p;
	struct tw_verify_opts o;
	int reseal;	     /* rewrite the log and attestation, sign with the test AK */
	int recommit;	     /* also make every commit the digest of its claimed bytes */
	int exclusive_no;    /* sign exclusiveSession = NO */
	int bad_digest;	     /* sign a digest the log does not replay to */
	int bad_signer;	     /* sign with a qualifiedSigner that is not the AK's */
	int trust_real;	     /* the verifier still trusts the real AK */
	int foreign_signer;  /* another key signs and is the proof's AK; the log's stays */
	int rsa_ak;	     /* the test AK is RSA: TPM2_ALG_RSASSA or TPM2_ALG_RSAPSS */
	int spoil_signature; /* flip a bit of the proof's signature after resealing */
	uint8_t nonce[TW_PROOF_MAX_NONCE];
	/* for a proof that verifies: what its result must also show */
	int (*expect)(const struct forge *f, const struct tw_verify_result *res);
};

static EVP_PKEY *real_ak, *test_ak, *test_rsa, *other_ak;
static X509_STORE *trust;
static char *proof_text;
static size_t proof_len;
static const char *out_dir;

static EVP_PKEY *new_p256(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* The uncompressed point of a P-256 key. */
static int point_of(EVP_PKEY *k, uint8_t out[65])
{
	size_t n = 0;

	return EVP_PKEY_get_octet_string_param(k, "encoded-pub-key", out, 65, &n) == 1 && n == 65
		       ? 0
		       : -1;
}

/* ---- TPM buffers ---- */

static int parse(const struct tw_audit_entry *e, struct tw_cmd_view *cv, struct tw_rsp_view *rv)
{
	struct tw_status st;

	if (tw_cmd_parse(e->cmd, e->cmd_len, cv, &st))
		return -1;
	return rv ? (int)tw_rsp_parse(e->rsp, e->rsp_len, cv, rv, &st) : 0;
}

static int find_cc(const struct tw_proof *p, uint32_t cc, uint32_t handle0)
{
	struct tw_cmd_view cv;
	struct tw_rsp_view rv;
	size_t i;

	for (i = 0; i < p->log.count; i++)
		if (!parse(&p->log.entries[i], &cv, &rv) && cv.cc == cc &&
		    rv.rc == TPM2_RC_SUCCESS && (!handle0 || cv.handles[0] == handle0))
			return (int)i;
	return -1;
}

/* Replace a command's parameters (the authorization area comes before them). */
static void set_cmd_params(struct tw_audit_entry *e, const uint8_t *params, size_t len)
{
	struct tw_cmd_view cv;
	size_t head;
	uint8_t *buf;

	parse(e, &cv, NULL);
	head = (size_t)(cv.params - e->cmd);
	buf = malloc(head + len);
	memcpy(buf, e->cmd, head);
	memcpy(buf + head, params, len);
	tw_put32(buf + 2, (uint32_t)(head + len));
	free(e->cmd);
	e->cmd = buf;
	e->cmd_len = head + len;
}

/* Replace a response's parameters (parameterSize before them, sessions after). */
static void set_rsp_params(struct tw_audit_entry *e, const uint8_t *params, size_t len)
{
	struct tw_cmd_view cv;
	struct tw_rsp_view rv;
	size_t head, tail_off, tail;
	uint8_t *buf;

	parse(e, &cv, &rv);
	head = (size_t)(rv.params - e->rsp);
	tail_off = head + rv.params_len;
	tail = e->rsp_len - tail_off;
	buf = malloc(head + len + tail);
	memcpy(buf, e->rsp, head);
	memcpy(buf + head, params, len);
	memcpy(buf + head + len, e->rsp + tail_off, tail);
	if (rv.tag == TPM2_ST_SESSIONS)
		tw_put32(buf + head - 4, (uint32_t)len);
	tw_put32(buf + 2, (uint32_t)(head + len + tail));
	free(e->rsp);
	e->rsp = buf;
	e->rsp_len = head + len + tail;
}

static void log_remove(struct tw_audit_log *log, size_t i)
{
	free(log->entries[i].cmd);
	free(log->entries[i].rsp);
	memmove(&log->entries[i], &log->entries[i + 1],
		(log->count - i - 1) * sizeof(log->entries[0]));
	log->count--;
}

/* A copy of entry @from, inserted so that it becomes entry @at. */
static void log_insert_copy(struct tw_audit_log *log, size_t at, size_t from)
{
	struct tw_audit_entry e;

	tw_audit_log_append(log, log->entries[from].cmd, log->entries[from].cmd_len,
			    log->entries[from].rsp, log->entries[from].rsp_len, NULL);
	e = log->entries[log->count - 1];
	memmove(&log->entries[at + 1], &log->entries[at],
		(log->count - 1 - at) * sizeof(log->entries[0]));
	log->entries[at] = e;
}

static void log_swap(struct tw_audit_log *log, size_t i, size_t j)
{
	struct tw_audit_entry e = log->entries[i];

	log->entries[i] = log->entries[j];
	log->entries[j] = e;
}

/* ---- resealing with the test AK ---- */

struct names {
	uint32_t handle[8];
	struct tw_name name[8];
	size_t n;
};

static void names_put(struct names *ns, uint32_t h, const struct tw_name *n)
{
	ns->handle[ns->n] = h;
	ns->name[ns->n++] = *n;
}

static void names_get(const struct names *ns, uint32_t h, struct tw_name *n)
{
	size_t i;

	tw_name_of_handle(n, h);
	for (i = 0; i < ns->n; i++)
		if (ns->handle[i] == h)
			*n = ns->name[i];
}

/*
 * The name a creating command returns is the last parameter; make it
 * the one computed from the TPM2B_PUBLIC at @pub of the parameters.
 */
static void fix_name(EVP_MD_CTX *md, const uint8_t *params, size_t len, size_t pub,
		     struct tw_name *name)
{
	size_t size = (size_t)(params[pub] << 8 | params[pub + 1]);

	tw_name_of_public(name, md, params + pub + 2, size);
	memcpy((uint8_t *)params + len - name->len, name->buf, name->len);
}

/* The test AK replaces the AK in the endorsement CreatePrimary's outPublic. */
static uint8_t test_ak_public[TW_AK_PUBLIC_MAX];
static size_t test_ak_public_len;

/* The marshalled ECC TPM2B_PUBLIC at @pub (@len bytes) made the public area of @k. */
static void set_public_point(uint8_t *pub, size_t len, EVP_PKEY *k)
{
	TPM2B_PUBLIC area = {0};
	uint8_t point[65];
	size_t off = 0;

	Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub, len, &off, &area);
	point_of(k, point);
	area.publicArea.unique.ecc.x.size = 32;
	memcpy(area.publicArea.unique.ecc.x.buffer, point + 1, 32);
	area.publicArea.unique.ecc.y.size = 32;
	memcpy(area.publicArea.unique.ecc.y.buffer, point + 33, 32);
	off = 0;
	Tss2_MU_TPM2B_PUBLIC_Marshal(&area, pub, len, &off);
}

static void replace_ak(struct tw_audit_entry *e)
{
	struct tw_cmd_view cv;
	struct tw_rsp_view rv;
	TPM2B_PUBLIC pub = {0};
	size_t len = 0;

	parse(e, &cv, &rv);
	Tss2_MU_TPM2B_PUBLIC_Unmarshal(rv.params, rv.params_len, &len, &pub);
	set_public_point((uint8_t *)rv.params, len, test_ak);
	memcpy(test_ak_public, rv.params, len);
	test_ak_public_len = len;
}

/*
 * The RSA test AK in the endorsement CreatePrimary: the template the
 * command sends and the outPublic the response returns both become an RSA
 * 2048 restricted signing key with @scheme and SHA-256, the AK template's
 * attributes kept.
 */
static void replace_ak_rsa(struct tw_audit_entry *e, TPMI_ALG_SIG_SCHEME scheme)
{
	struct tw_cmd_view cv;
	struct tw_rsp_view rv;
	TPM2B_PUBLIC pub = {0}, orig = {0};
	uint8_t cmd[1024], rsp[2048];
	size_t off = 0, clen, rlen;
	BIGNUM *n = NULL;

	parse(e, &cv, &rv);
	Tss2_MU_TPM2B_PUBLIC_Unmarshal(rv.params, rv.params_len, &off, &orig);
	pub.publicArea.type = TPM2_ALG_RSA;
	pub.publicArea.nameAlg = TPM2_ALG_SHA256;
	pub.publicArea.objectAttributes = orig.publicArea.objectAttributes;
	pub.publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	pub.publicArea.parameters.rsaDetail.scheme.scheme = scheme;
	pub.publicArea.parameters.rsaDetail.scheme.details.anySig.hashAlg = TPM2_ALG_SHA256;
	pub.publicArea.parameters.rsaDetail.keyBits = 2048;

	/* inSensitive (6 bytes), inPublic, outsideInfo and creationPCR (6 bytes). */
	memcpy(cmd, cv.params, 6);
	clen = 6;
	Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, cmd, sizeof(cmd), &clen);
	memcpy(cmd + clen, cv.params + cv.params_len - 6, 6);
	clen += 6;

	EVP_PKEY_get_bn_param(test_rsa, "n", &n);
	pub.publicArea.unique.rsa.size = 256;
	BN_bn2binpad(n, pub.publicArea.unique.rsa.buffer, 256);
	BN_free(n);
	rlen = 0;
	Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, rsp, sizeof(rsp), &rlen);
	memcpy(test_ak_public, rsp, rlen);
	test_ak_public_len = rlen;
	memcpy(rsp + rlen, rv.params + off, rv.params_len - off);
	rlen += rv.params_len - off;

	set_cmd_params(e, cmd, clen);
	set_rsp_params(e, rsp, rlen);
}

/* RSASSA or RSAPSS with SHA-256 by the RSA test AK, as a marshalled TPMT_SIGNATURE. */
static size_t sign_attest_rsa(TPMI_ALG_SIG_SCHEME scheme, const uint8_t *attest, size_t len,
			      uint8_t *out, size_t max)
{
	TPMT_SIGNATURE sig = {.sigAlg = scheme};
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t n = sizeof(sig.signature.rsassa.sig.buffer), off = 0;

	EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, test_rsa, NULL);
	if (scheme == TPM2_ALG_RSAPSS) {
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32);
	}
	EVP_DigestSign(md, sig.signature.rsassa.sig.buffer, &n, attest, len);
	EVP_MD_CTX_free(md);
	sig.signature.rsassa.hash = TPM2_ALG_SHA256;
	sig.signature.rsassa.sig.size = (UINT16)n;
	Tss2_MU_TPMT_SIGNATURE_Marshal(&sig, out, max, &off);
	return off;
}

/* ECDSA-SHA256 by the P-256 key @ak as a marshalled TPMT_SIGNATURE. */
static size_t sign_attest(EVP_PKEY *ak, const uint8_t *attest, size_t len, uint8_t *out, size_t max)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[80];
	const uint8_t *q = der;
	size_t der_len = sizeof(der), off = 0;
	TPMT_SIGNATURE sig = {.sigAlg = TPM2_ALG_ECDSA};
	const BIGNUM *r, *s;
	ECDSA_SIG *es;

	EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, ak, NULL);
	EVP_DigestSign(md, der, &der_len, attest, len);
	EVP_MD_CTX_free(md);
	es = d2i_ECDSA_SIG(NULL, &q, (long)der_len);
	ECDSA_SIG_get0(es, &r, &s);
	sig.signature.ecdsa.hash = TPM2_ALG_SHA256;
	sig.signature.ecdsa.signatureR.size = 32;
	sig.signature.ecdsa.signatureS.size = 32;
	BN_bn2binpad(r, sig.signature.ecdsa.signatureR.buffer, 32);
	BN_bn2binpad(s, sig.signature.ecdsa.signatureS.buffer, 32);
	ECDSA_SIG_free(es);
	Tss2_MU_TPMT_SIGNATURE_Marshal(&sig, out, max, &off);
	return off;
}

/* The attestation of @digest over the proof's nonce and transcript, signed by the test AK. */
static void reseal_attest(struct forge *f, struct tw_audit_entry *e, const uint8_t digest[32])
{
	struct tw_proof *p = &f->p;
	struct tw_cmd_view cv;
	struct tw_rsp_view rv;
	TPMS_ATTEST a = {0};
	uint8_t th[32], qd[32], abuf[1024], params[2048], cmd[36];
	size_t off, alen = 0, slen;
	uint16_t n;

	parse(e, &cv, &rv);
	n = (uint16_t)(rv.params[0] << 8 | rv.params[1]);
	Tss2_MU_TPMS_ATTEST_Unmarshal(rv.params + 2, n, &alen, &a);
	tw_proof_transcript_hash(p, p->bound_records, th);
	tw_proof_qualifying_data(p->nonce, p->nonce_len, th, qd);
	a.extraData.size = 32;
	memcpy(a.extraData.buffer, qd, 32);
	memcpy(a.attested.sessionAudit.sessionDigest.buffer, digest, 32);
	a.attested.sessionAudit.sessionDigest.buffer[0] ^= f->bad_digest ? 1 : 0;
	a.attested.sessionAudit.exclusiveSession = f->exclusive_no ? TPM2_NO : TPM2_YES;
	tw_ak_qualified_name(test_ak_public, test_ak_public_len, TPM2_RH_ENDORSEMENT,
			     a.qualifiedSigner.name, NULL);
	a.qualifiedSigner.size = 34;
	a.qualifiedSigner.name[33] ^= f->bad_signer ? 1 : 0;
	alen = 0;
	Tss2_MU_TPMS_ATTEST_Marshal(&a, abuf, sizeof(abuf), &alen);

	params[0] = (uint8_t)(alen >> 8);
	params[1] = (uint8_t)alen;
	memcpy(params + 2, abuf, alen);
	off = 2 + alen;
	if (f->rsa_ak)
		slen = sign_attest_rsa((TPMI_ALG_SIG_SCHEME)f->rsa_ak, abuf, alen, params + off,
				       sizeof(params) - off);
	else
		slen = sign_attest(f->foreign_signer ? other_ak : test_ak, abuf, alen, params + off,
				   sizeof(params) - off);
	set_rsp_params(e, params, off + slen);

	free(p->attest);
	free(p->signature);
	free(p->ak_public);
	p->attest = malloc(alen);
	memcpy(p->attest, abuf, alen);
	p->attest_len = alen;
	p->signature = malloc(slen);
	memcpy(p->signature, params + off, slen);
	p->signature_len = slen;

	/* Part 3 section 18.5: qualifyingData (TPM2B), inScheme TPM_ALG_NULL. */
	cmd[0] = 0;
	cmd[1] = 32;
	memcpy(cmd + 2, qd, 32);
	cmd[34] = TPM2_ALG_NULL >> 8;
	cmd[35] = TPM2_ALG_NULL & 0xff;
	set_cmd_params(e, cmd, sizeof(cmd));

	p->ak_public = malloc(test_ak_public_len);
	memcpy(p->ak_public, test_ak_public, test_ak_public_len);
	p->ak_public_len = test_ak_public_len;
	if (f->foreign_signer)
		set_public_point(p->ak_public, p->ak_public_len, other_ak);
}

/* Give a commit's TPM2_Hash the digest of the server bytes the proof claims for it. */
static void recommit(struct forge *f, size_t i, struct tw_audit_entry *e)
{
	struct tw_cmd_view cv;
	size_t k;

	parse(e, &cv, NULL);
	for (k = 0; k < f->p.commit_count; k++)
		if (f->p.commits[k].entry == i)
			tw_proof_server_digest(&f->p, f->p.commits[k].server_bytes,
					       (uint8_t *)cv.params + 2);
}

/*
 * Rewrite the log as the forger with the test AK would: the AK is the test
 * AK, every name is computed again, every audit HMAC and the digest are
 * recomputed (TPM 2.0 Part 1 sections 19.6.4, 19.6.5), and the attestation
 * is rebuilt and signed.
 */
static void reseal(struct forge *f)
{
	struct tw_audit_log *log = &f->p.log;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t digest[32] = {0}, nonce_tpm[64], cp[32], rp[32];
	uint16_t nonce_tpm_len = 0;
	struct names ns = {.n = 0};
	size_t i;

	for (i = 0; i < log->count; i++) {
		struct tw_audit_entry *e = &log->entries[i];
		struct tw_name name, hn[TW_MAX_HANDLES];
		const struct tw_auth *a = NULL, *ra;
		struct tw_cmd_view cv;
		struct tw_rsp_view rv;
		unsigned int k;

		if (parse(e, &cv, &rv) || rv.rc != TPM2_RC_SUCCESS)
			continue;
		switch (cv.cc) {
		case TPM2_CC_StartAuthSession:
			nonce_tpm_len = (uint16_t)(rv.params[0] << 8 | rv.params[1]);
			memcpy(nonce_tpm, rv.params + 2, nonce_tpm_len);
			break;
		case TPM2_CC_CreatePrimary:
			if (cv.handles[0] == TPM2_RH_ENDORSEMENT && f->rsa_ak)
				replace_ak_rsa(e, (TPMI_ALG_SIG_SCHEME)f->rsa_ak);
			else if (cv.handles[0] == TPM2_RH_ENDORSEMENT)
				replace_ak(e);
			parse(e, &cv, &rv);
			fix_name(md, rv.params, rv.params_len, 0, &name);
			names_put(&ns, rv.handle, &name);
			break;
		case TPM2_CC_CreateLoaded:
			fix_name(md, rv.params, rv.params_len,
				 2 + (size_t)(rv.params[0] << 8 | rv.params[1]), &name);
			names_put(&ns, rv.handle, &name);
			break;
		case TPM2_CC_Load:
			fix_name(md, cv.params, cv.params_len,
				 2 + (size_t)(cv.params[0] << 8 | cv.params[1]), &name);
			memcpy((uint8_t *)rv.params + 2, name.buf, name.len);
			names_put(&ns, rv.handle, &name);
			break;
		case TPM2_CC_Hash:
			if (f->recommit)
				recommit(f, i, e);
			break;
		case TPM2_CC_GetSessionAuditDigest:
			reseal_attest(f, e, digest);
			break;
		}

		parse(e, &cv, &rv);
		for (k = 0; k < cv.nauths; k++)
			if ((cv.auths[k].handle >> 24) == TPM2_HT_HMAC_SESSION)
				a = &cv.auths[k];
		if (!a || !(a->attrs & TPMA_SESSION_AUDIT))
			continue;
		ra = &rv.auths[a - cv.auths];
		for (k = 0; k < cv.nhandles; k++)
			names_get(&ns, cv.handles[k], &hn[k]);
		tw_cp_hash(md, cv.cc, hn, cv.nhandles, cv.params, cv.params_len, cp);
		tw_rp_hash(md, rv.rc, cv.cc, rv.params, rv.params_len, rp);
		tw_hmac(md, NULL, 0, cp, 32, a->nonce, a->nonce_len, nonce_tpm, nonce_tpm_len,
			&a->attrs, 1, (uint8_t *)a->hmac);
		tw_hmac(md, NULL, 0, rp, 32, ra->nonce, ra->nonce_len, a->nonce, a->nonce_len,
			&ra->attrs, 1, (uint8_t *)ra->hmac);
		memcpy(nonce_tpm, ra->nonce, ra->nonce_len);
		nonce_tpm_len = ra->nonce_len;
		if (a->attrs & TPMA_SESSION_AUDITRESET)
			memset(digest, 0, sizeof(digest));
		tw_audit_extend(md, digest, cp, rp);
	}
	EVP_MD_CTX_free(md);
}

/* ---- TLS records ---- */

static int first_record(const struct tw_proof *p, enum tw_dir dir)
{
	size_t i;

	for (i = 0; i < p->record_count; i++)
		if (p->records[i].dir == dir)
			return (int)i;
	return -1;
}

/* Replace the first occurrence of @from (65 bytes) in @buf with @to. */
static int replace_point(uint8_t *buf, size_t len, const uint8_t *from, const uint8_t *to)
{
	size_t i;

	for (i = 0; i + 65 <= len; i++)
		if (!memcmp(buf + i, from, 65)) {
			memcpy(buf + i, to, 65);
			return 0;
		}
	return -1;
}

/*
 * Flip a bit of the server's CertificateVerify signature and protect the
 * record again: the forger knows Z (the logged ZGen returns it), hence
 * the handshake keys.
 */
static int spoil_certificate_verify(struct tw_proof *p)
{
	struct tw_tls_params tp = {.flags = TW_TLS_SKIP_CHAIN | TW_TLS_SKIP_HOST};
	struct tw_audit_replay *rp = calloc(1, sizeof(*rp));
	struct tw_tls_session *s = NULL;
	const struct tls13_suite *suite;
	struct tls13_kdf kdf;
	struct tls13_aead aead;
	uint8_t *stream[2], inner[TLS13_MAX_CIPHERTEXT], nonce[12];
	size_t len[2] = {0, 0}, at[2] = {0, 0}, i, k, ri = 0;
	int d, n, rc = -1;
	EVP_CIPHER_CTX *ctx;

	for (i = 0; i < p->record_count; i++)
		len[p->records[i].dir == TW_DIR_SERVER] += p->records[i].len;
	stream[0] = malloc(len[0]);
	stream[1] = malloc(len[1]);
	for (i = 0; i < p->record_count; i++) {
		d = p->records[i].dir == TW_DIR_SERVER;
		memcpy(stream[d] + at[d], p->records[i].data, p->records[i].len);
		at[d] += p->records[i].len;
	}
	tw_audit_replay(&p->log, rp, NULL);
	for (d = 0; d < 2; d++) {
		tp.stream[d] = stream[d];
		tp.stream_len[d] = len[d];
	}
	tp.z = rp->z;
	tp.z_len = 32;
	if (tw_tls13_verify(&tp, &s, NULL))
		goto out;

	/* The server record that carries the CertificateVerify, alone. */
	for (k = 0; k < s->dir[TW_TLS_SERVER].nrecords; k++) {
		const struct tw_tls_record *r = &s->dir[TW_TLS_SERVER].records[k];

		if (r->type == TW_TLS_CT_HANDSHAKE && r->msg_count == 1 &&
		    s->messages[r->msg_first].type == TW_TLS_HS_CERTIFICATE_VERIFY)
			break;
	}
	if (k == s->dir[TW_TLS_SERVER].nrecords)
		goto out;
	for (i = 0; i < p->record_count; i++)
		if (p->records[i].dir == TW_DIR_SERVER &&
		    p->records[i].offset == s->dir[TW_TLS_SERVER].records[k].offset)
			ri = i;

	suite = tls13_suite_find(s->cipher_suite);
	tls13_kdf_init(&kdf, suite);
	tls13_aead_init(&aead, suite);
	tls13_aead_set_secret(&aead, &kdf, s->secrets.server_handshake_traffic);
	aead.seq = s->dir[TW_TLS_SERVER].records[k].seq;
	{
		uint8_t *rec = p->records[ri].data;
		size_t flen = p->records[ri].len - 5, clen = flen - 16;

		if (tls13_aead_open(&aead, rec, rec + 5, flen, inner))
			goto out_keys;
		/* The last bytes of the content are the signature's; the type follows. */
		inner[s->dir[TW_TLS_SERVER].records[k].content_len - 4] ^= 0x01;
		memcpy(nonce, aead.iv, 12);
		for (n = 0; n < 8; n++)
			nonce[11 - n] ^= (uint8_t)(s->dir[TW_TLS_SERVER].records[k].seq >> (8 * n));
		ctx = EVP_CIPHER_CTX_new();
		if (EVP_EncryptInit_ex2(ctx, aead.cipher, aead.key, nonce, NULL) == 1 &&
		    EVP_EncryptUpdate(ctx, NULL, &n, rec, 5) == 1 &&
		    EVP_EncryptUpdate(ctx, rec + 5, &n, inner, (int)clen) == 1 &&
		    EVP_EncryptFinal_ex(ctx, rec + 5 + n, &n) == 1 &&
		    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, rec + 5 + clen) == 1)
			rc = 0;
		EVP_CIPHER_CTX_free(ctx);
	}
out_keys:
	tls13_aead_free(&aead);
	tls13_kdf_free(&kdf);
out:
	tw_tls13_session_free(s);
	free(stream[0]);
	free(stream[1]);
	free(rp);
	return rc;
}

/* ---- the cases ---- */

static void flip(uint8_t *p, size_t at)
{
	p[at] ^= 0x01;
}

/* Proofs that are not valid files: the strict reader refuses them (check 1). */
static int text_case(const char *name, const char *from, const char *to, const char *why)
{
	char *t = malloc(proof_len + 64), *at = strstr(proof_text, from);
	struct tw_verify_result res;
	struct tw_status st = {0};
	struct tw_proof p;
	size_t head;
	int code;

	if (!at) {
		free(t);
		return ok(0, "%s: the proof holds %s", name, from);
	}
	head = (size_t)(at - proof_text);
	memcpy(t, proof_text, head);
	strcpy(t + head, to);
	strcat(t + head, at + strlen(from));
	code = tw_proof_parse(t, strlen(t), &p, &st);
	memset(&res, 0, sizeof(res));
	if (code == TW_OK) {
		code = tw_verify(&p, &(struct tw_verify_opts){.ak_key = real_ak, .trust = trust},
				 &res, &st);
		tw_verify_result_free(&res);
		tw_proof_clear(&p);
	}
	free(t);
	return ok(code == TW_E_PROOF && strstr(st.msg, why), "%s: rejected by proof-file (%s)",
		  name, st.msg);
}

/* A proof file whose integer field @key is set to @value (check 1). */
static int number_case(const char *name, const char *key, unsigned long value, const char *why)
{
	char from[64], to[64], *at;
	size_t digits;

	snprintf(from, sizeof(from), "\"%s\":", key);
	at = strstr(proof_text, from);
	if (!at)
		return ok(0, "%s: the proof holds %s", name, from);
	at += strlen(from);
	digits = strspn(at, "0123456789");
	snprintf(from + strlen(from), sizeof(from) - strlen(from), "%.*s", (int)digits, at);
	snprintf(to, sizeof(to), "\"%s\":%lu", key, value);
	return text_case(name, from, to, why);
}

typedef int (*mutator)(struct forge *f);

struct forge_case {
	const char *name;
	enum tw_check want;
	const char *why; /* a piece of the expected message */
	mutator mutate;
};

/*
 * What the verifier must record of each check, proof-file to
 * bound-handshake, for the cases where which checks ran is the point:
 * p passed, f failed, u begun but not finished, n not run.
 */
static const struct {
	const char *name;
	const char *states;
} case_states[] = {
	{"base proof", "pppppppppppppppp"},
	/* The replay stops at ZGen: the digest is never compared. */
	{"log: ZGen replaced by GetRandom", "puupppuufnunnnnn"},
	/* The AK fails after the replay: the log and the digest held. */
	{"signed by a trusted key that is not the AK the log made", "ppfpppppununnnnn"},
	{"ClientHello share changed", "ppppppppppppfnun"},
	{"server_name of another host", "ppppppppppppppfn"},
	{"attestation before the client's Finished", "pppppppppppppppf"},
};

/* The check states of @res in the letters of case_states. */
static void state_letters(const struct tw_verify_result *res, char out[TW_CHECK_COUNT])
{
	static const char letter[] = {
		[TW_STATE_NOT_RUN] = 'n',
		[TW_STATE_UNFINISHED] = 'u',
		[TW_STATE_PASSED] = 'p',
		[TW_STATE_FAILED] = 'f',
	};
	int k;

	for (k = TW_CHECK_NONE + 1; k < TW_CHECK_COUNT; k++)
		out[k - 1] = letter[res->checks[k]];
	out[TW_CHECK_COUNT - 1] = 0;
}

/* Whatever the case: the failed check, and only it, is recorded failed. */
static int states_agree(const struct tw_verify_result *res)
{
	char got[TW_CHECK_COUNT];
	const char *f;

	state_letters(res, got);
	f = strchr(got, 'f');
	if (res->failed == TW_CHECK_NONE)
		return strspn(got, "p") == TW_CHECK_COUNT - 1;
	return f && f - got == res->failed - 1 && !strchr(f + 1, 'f');
}

static void check_states(const struct forge_case *c, const struct tw_verify_result *res)
{
	char got[TW_CHECK_COUNT];
	size_t i;

	for (i = 0; i < sizeof(case_states) / sizeof(case_states[0]); i++) {
		if (strcmp(case_states[i].name, c->name))
			continue;
		state_letters(res, got);
		ok(!strcmp(got, case_states[i].states),
		   "%s: checks recorded %s, want %s (p passed, u not finished, n not run)", c->name,
		   got, case_states[i].states);
	}
}

static int run_case(const struct forge_case *c)
{
	struct forge f = {0};
	struct tw_verify_result res;
	struct tw_status st = {0};
	enum tw_code code;
	int good;

	if (tw_proof_parse(proof_text, proof_len, &f.p, &st))
		return ok(0, "%s: parse the base proof (%s)", c->name, st.msg);
	f.o.ak_key = real_ak;
	f.o.trust = trust;
	if (c->mutate(&f)) {
		tw_proof_clear(&f.p);
		return ok(0, "%s: the forgery could be built", c->name);
	}
	if (f.reseal) {
		reseal(&f);
		f.o.ak_key = f.trust_real ? real_ak : f.rsa_ak ? test_rsa : test_ak;
		if (f.foreign_signer)
			f.o.ak_key = other_ak;
		if (f.spoil_signature)
			flip(f.p.signature, f.p.signature_len - 1);
	}
	if (out_dir) {
		char path[512];
		size_t k, at = (size_t)snprintf(path, sizeof(path), "%s/", out_dir);

		/* The case's name, in letters, digits and dashes. */
		for (k = 0; c->name[k] && at + 6 < sizeof(path); k++)
			if (isalnum((unsigned char)c->name[k]))
				path[at++] = c->name[k];
			else if (at && path[at - 1] != '-' && path[at - 1] != '/')
				path[at++] = '-';
		strcpy(path + at, ".json");
		tw_proof_write_file(&f.p, path, NULL);
	}
	code = tw_verify(&f.p, &f.o, &res, &st);
	if (c->want == TW_CHECK_NONE)
		good = ok(code == TW_OK && states_agree(&res) && (!f.expect || f.expect(&f, &res)),
			  "%s: verifies (%s)", c->name, st.msg);
	else
		good = ok(code == TW_E_VERIFY && res.failed == c->want && strstr(st.msg, c->why) &&
				  states_agree(&res),
			  "%s: rejected by %s (%s: %s)", c->name, tw_check_name(c->want),
			  tw_check_name(res.failed), st.msg);
	check_states(c, &res);
	tw_verify_result_free(&res);
	tw_proof_clear(&f.p);
	return good;
}

/* -- the base proof, as it is and resealed: both must verify -- */

static int m_none(struct forge *f)
{
	return 0;
}

static int m_resealed(struct forge *f)
{
	f->reseal = 1;
	return 0;
}

/* -- the forger without the AK's key -- */

static int m_attest_magic(struct forge *f)
{
	flip(f->p.attest, 3);
	return 0;
}

static int m_attest_type(struct forge *f)
{
	f->p.attest[5] ^= 0x02; /* TPM_ST_ATTEST_SESSION_AUDIT 0x8016 -> 0x8014 */
	return 0;
}

static int m_attest_trailing(struct forge *f)
{
	uint8_t *a = realloc(f->p.attest, f->p.attest_len + 1);

	if (!a)
		return -1;
	a[f->p.attest_len++] = 0;
	f->p.attest = a;
	return 0;
}

static int m_attest_clock(struct forge *f)
{
	/* magic(4) type(2) qualifiedSigner(2+34) extraData(2+32) then clock (8) */
	flip(f->p.attest, 4 + 2 + 36 + 34 + 7);
	return 0;
}

static int m_attest_exclusive(struct forge *f)
{
	flip(f->p.attest, f->p.attest_len - 35); /* exclusiveSession YES -> NO, unsigned */
	return 0;
}

static int m_signature(struct forge *f)
{
	flip(f->p.signature, f->p.signature_len - 1);
	return 0;
}

static int m_ak_public(struct forge *f)
{
	flip(f->p.ak_public, f->p.ak_public_len - 1);
	return 0;
}

static int m_other_ak(struct forge *f)
{
	f->o.ak_key = other_ak;
	return 0;
}

static int m_wrong_nonce(struct forge *f)
{
	memcpy(f->nonce, f->p.nonce, f->p.nonce_len);
	f->nonce[0] ^= 0x80;
	f->o.nonce = f->nonce;
	f->o.nonce_len = f->p.nonce_len ? f->p.nonce_len : 1;
	return 0;
}

static int m_proof_nonce(struct forge *f)
{
	f->p.nonce[0] ^= 0x01;
	f->p.nonce_len = f->p.nonce_len ? f->p.nonce_len : 1;
	return 0;
}

/* The proof's nonce field rewritten; the verifier gives the nonce the TPM signed. */
static int m_nonce_field(struct forge *f)
{
	static const uint8_t other[] = {0xde, 0xad, 0xbe, 0xef};

	if (!f->p.nonce_len)
		return -1;
	memcpy(f->nonce, f->p.nonce, f->p.nonce_len);
	f->o.nonce = f->nonce;
	f->o.nonce_len = f->p.nonce_len;
	memcpy(f->p.nonce, other, sizeof(other));
	f->p.nonce_len = sizeof(other);
	return 0;
}

static int m_record_bit(struct forge *f)
{
	int i = first_record(&f->p, TW_DIR_SERVER);

	flip(f->p.records[i].data, f->p.records[i].len - 1);
	return 0;
}

static int m_record_time(struct forge *f)
{
	f->p.records[0].time_ns ^= 1;
	return 0;
}

/* The last bound record dropped, and the bound count lowered to match. */
static int m_truncated(struct forge *f)
{
	size_t i;

	if (f->p.bound_records < 2)
		return -1;
	for (i = f->p.bound_records - 1; i < f->p.record_count; i++)
		free(f->p.records[i].data);
	f->p.record_count = --f->p.bound_records;
	return 0;
}

/* A record recorded after the attestation claimed as bound. */
static int m_bound_more(struct forge *f)
{
	if (f->p.bound_records >= f->p.record_count)
		return -1;
	f->p.bound_records++;
	return 0;
}

/* The last bound record claimed as recorded after the attestation. */
static int m_bound_fewer(struct forge *f)
{
	f->p.bound_records--;
	return f->p.bound_records ? 0 : -1;
}

static int m_drop_commit(struct forge *f)
{
	log_remove(&f->p.log, f->p.commits[0].entry);
	return 0;
}

static int m_duplicate_commit(struct forge *f)
{
	log_insert_copy(&f->p.log, f->p.commits[0].entry + 1, f->p.commits[0].entry);
	return 0;
}

static int m_reorder(struct forge *f)
{
	log_swap(&f->p.log, f->p.commits[0].entry, f->p.zgen_entry);
	return 0;
}

static int m_commit_bit(struct forge *f)
{
	struct tw_cmd_view cv;

	parse(&f->p.log.entries[f->p.commits[0].entry], &cv, NULL);
	flip((uint8_t *)cv.params, 2 + 5);
	return 0;
}

static int m_zgen_outpoint(struct forge *f)
{
	struct tw_audit_entry *e = &f->p.log.entries[f->p.zgen_entry];
	struct tw_cmd_view cv;
	struct tw_rsp_view rv;

	parse(e, &cv, &rv);
	flip((uint8_t *)rv.params, 4 + 7); /* inside outPoint.x: the shared secret */
	return 0;
}

static int m_unknown_command(struct forge *f)
{
	struct tw_audit_entry *e = &f->p.log.entries[f->p.zgen_entry];

	tw_put32(e->cmd + 6, TPM2_CC_GetRandom);
	return 0;
}

static int m_moved_record(struct forge *f)
{
	size_t i;

	/* Claim the first server record after the commit as committed. */
	for (i = 0; i < f->p.record_count; i++)
		if (f->p.records[i].dir == TW_DIR_SERVER &&
		    f->p.records[i].offset == f->p.commits[0].server_bytes) {
			f->p.commits[0].server_bytes += f->p.records[i].len;
			return 0;
		}
	return -1;
}

static int m_zgen_index(struct forge *f)
{
	f->p.zgen_entry = f->p.commits[0].entry;
	return 0;
}

static int m_commit_index(struct forge *f)
{
	f->p.commits[0].entry = f->p.reset_entry;
	return 0;
}

static int m_other_host(struct forge *f)
{
	free(f->p.server_name);
	f->p.server_name = strdup("otherhost.invalid");
	return 0;
}

static int m_expired(struct forge *f)
{
	f->o.verify_time = time(NULL) + 30 * 24 * 3600; /* the test leaves last 2 days */
	return 0;
}

static int m_suite_hint(struct forge *f)
{
	f->p.cipher_suite ^= 0x0001;
	return 0;
}

/* -- the forger with a compromised AK -- */

static int m_exclusive_no(struct forge *f)
{
	f->reseal = f->exclusive_no = 1;
	return 0;
}

static int m_bad_digest(struct forge *f)
{
	f->reseal = f->bad_digest = 1;
	return 0;
}

static int m_bad_signer(struct forge *f)
{
	f->reseal = f->bad_signer = 1;
	return 0;
}

static int m_real_ak_trusted(struct forge *f)
{
	f->reseal = f->trust_real = 1;
	return 0;
}

/*
 * The attestation signed by a trusted key that the proof names as its AK,
 * while the log made the test AK: everything up to the log's AK holds.
 */
static int m_foreign_signer(struct forge *f)
{
	f->reseal = f->foreign_signer = 1;
	return 0;
}

/* The ECDH key made as a primary: CreatePrimary's parameters in the key's slot. */
static int m_key_primary(struct forge *f)
{
	struct tw_audit_entry *key = &f->p.log.entries[f->p.reset_entry];
	int parent = find_cc(&f->p, TPM2_CC_CreatePrimary, TPM2_RH_NULL);
	struct tw_cmd_view cv;
	struct tw_rsp_view rv;
	uint8_t *cp, *rp;
	size_t cl, rl;

	if (parent < 0 || parse(&f->p.log.entries[parent], &cv, &rv))
		return -1;
	cl = cv.params_len;
	rl = rv.params_len;
	cp = malloc(cl);
	rp = malloc(rl);
	memcpy(cp, cv.params, cl);
	memcpy(rp, rv.params, rl);
	tw_put32(key->cmd + 6, TPM2_CC_CreatePrimary);
	tw_put32(key->cmd + 10, TPM2_RH_NULL);
	set_cmd_params(key, cp, cl);
	set_rsp_params(key, rp, rl);
	free(cp);
	free(rp);
	f->reseal = 1;
	return 0;
}

/*
 * Change the ECDH key's objectAttributes, in the template CreateLoaded
 * sends and in the outPublic it returns alike: the replay requires the
 * two to agree.
 */
static int change_key_attributes(struct forge *f, uint32_t clear, uint32_t set)
{
	struct tw_cmd_view cv;
	struct tw_rsp_view rv;
	uint8_t *at[2];
	int k;

	parse(&f->p.log.entries[f->p.reset_entry], &cv, &rv);
	if (cv.cc != TPM2_CC_CreateLoaded)
		return -1;
	/* inSensitive, then TPM2B_TEMPLATE: size, type, nameAlg, objectAttributes. */
	at[0] = (uint8_t *)cv.params + 2 + (cv.params[0] << 8 | cv.params[1]) + 6;
	/* outPrivate, then TPM2B_PUBLIC: the same. */
	at[1] = (uint8_t *)rv.params + 2 + (rv.params[0] << 8 | rv.params[1]) + 6;
	for (k = 0; k < 2; k++)
		tw_put32(at[k], (tw_get32(at[k]) & ~clear) | set);
	f->reseal = 1;
	return 0;
}

static int m_key_no_sdo(struct forge *f)
{
	return change_key_attributes(f, TPMA_OBJECT_SENSITIVEDATAORIGIN, 0);
}

static int m_key_no_fixedtpm(struct forge *f)
{
	return change_key_attributes(f, TPMA_OBJECT_FIXEDTPM, 0);
}

static int m_key_sign(struct forge *f)
{
	return change_key_attributes(f, 0, TPMA_OBJECT_SIGN_ENCRYPT);
}

/* A derivation parent: restricted, decrypt and sign (template and outPublic alike). */
static int m_derivation_parent(struct forge *f)
{
	int i = find_cc(&f->p, TPM2_CC_CreatePrimary, TPM2_RH_NULL);
	struct tw_cmd_view cv;
	struct tw_rsp_view rv;
	uint8_t *ca, *ra;

	if (i < 0 || parse(&f->p.log.entries[i], &cv, &rv))
		return -1;
	ca = (uint8_t *)cv.params + 6 + 6; /* inSensitive (6 bytes), TPM2B_PUBLIC */
	ra = (uint8_t *)rv.params + 6;
	tw_put32(ca, tw_get32(ca) | TPMA_OBJECT_SIGN_ENCRYPT);
	tw_put32(ra, tw_get32(ra) | TPMA_OBJECT_SIGN_ENCRYPT);
	f->reseal = 1;
	return 0;
}

static int m_second_zgen(struct forge *f)
{
	log_insert_copy(&f->p.log, f->p.zgen_entry + 1, f->p.zgen_entry);
	f->reseal = 1;
	return 0;
}

/* The commit moved behind ZGen while the proof still claims it came first. */
static int m_commit_after_claimed(struct forge *f)
{
	log_swap(&f->p.log, f->p.commits[0].entry, f->p.zgen_entry);
	f->reseal = 1;
	return 0;
}

/* The same, with the proof's indices telling the truth: no commit precedes ZGen. */
static int m_commit_after_told(struct forge *f)
{
	size_t c = f->p.commits[0].entry;

	log_swap(&f->p.log, c, f->p.zgen_entry);
	f->p.commits[0].entry = f->p.zgen_entry;
	f->p.zgen_entry = c;
	f->reseal = 1;
	return 0;
}

/*
 * A commit that ends one byte into its last record: the record holding
 * that byte is consistent, never attested, and no record past the
 * committed bytes or without a tag is attested.
 */
static int commit_mid_record_classes(const struct forge *f, const struct tw_verify_result *res)
{
	uint64_t end = f->p.commits[0].server_bytes;
	size_t i;
	int split = 0;

	if (res->committed_bytes != end)
		return 0;
	for (i = 0; i < res->record_count; i++) {
		const struct tw_proof_record *r = &f->p.records[res->records[i].proof_index];
		int attested = res->records[i].cls == TW_RECORD_ATTESTED;

		if (r->dir != TW_DIR_SERVER)
			continue;
		if (r->offset < end && r->offset + r->len > end) {
			split = 1;
			if (res->records[i].cls != TW_RECORD_CONSISTENT)
				return 0;
		}
		if (attested && (r->offset + r->len > end ||
				 res->records[i].tls->type == TW_TLS_CT_CHANGE_CIPHER_SPEC))
			return 0;
	}
	return split;
}

static int m_commit_mid_record(struct forge *f)
{
	size_t i;

	for (i = 0; i < f->p.record_count; i++)
		if (f->p.records[i].dir == TW_DIR_SERVER &&
		    f->p.records[i].offset + f->p.records[i].len == f->p.commits[0].server_bytes) {
			f->p.commits[0].server_bytes = f->p.records[i].offset + 1;
			f->reseal = f->recommit = 1;
			f->expect = commit_mid_record_classes;
			return 0;
		}
	return -1;
}

static int m_client_share(struct forge *f)
{
	struct tw_audit_replay *rp = calloc(1, sizeof(*rp));
	EVP_PKEY *k = new_p256();
	uint8_t other[65];
	int i = first_record(&f->p, TW_DIR_CLIENT), rc = -1;

	if (rp && k && !tw_audit_replay(&f->p.log, rp, NULL) && !point_of(k, other))
		rc = replace_point(f->p.records[i].data, f->p.records[i].len, rp->key_point, other);
	free(rp);
	EVP_PKEY_free(k);
	f->reseal = 1;
	return rc;
}

static int m_zgen_input(struct forge *f)
{
	struct tw_audit_entry *e = &f->p.log.entries[f->p.zgen_entry];
	EVP_PKEY *k = new_p256();
	struct tw_cmd_view cv;
	uint8_t other[65];
	int rc = -1;

	/* inPoint: size (2), x (2 + 32), y (2 + 32) */
	if (k && !point_of(k, other) && !parse(e, &cv, NULL) && cv.params_len == 70) {
		memcpy((uint8_t *)cv.params + 4, other + 1, 32);
		memcpy((uint8_t *)cv.params + 38, other + 33, 32);
		rc = 0;
	}
	EVP_PKEY_free(k);
	f->reseal = 1;
	return rc;
}

static int m_bad_certificate_verify(struct forge *f)
{
	f->reseal = f->recommit = 1;
	return spoil_certificate_verify(&f->p);
}

/* Keep the ClientHello and the server's first flight: the client never finished. */
static int m_handshake_cut(struct forge *f)
{
	size_t i, keep = 0;

	for (i = 1; i < f->p.record_count; i++)
		if (f->p.records[i].dir == TW_DIR_CLIENT) {
			keep = i;
			break;
		}
	if (!keep)
		return -1;
	for (i = keep; i < f->p.record_count; i++)
		free(f->p.records[i].data);
	f->p.record_count = keep;
	if (f->p.bound_records > keep)
		f->p.bound_records = keep;
	f->reseal = 1;
	return 0;
}

/*
 * An attestation over the handshake without the client's Finished, the
 * first protected client record: signed by the compromised AK, as the
 * TPM would sign it if the prover attested too early.
 */
static int m_bound_before_finished(struct forge *f)
{
	size_t i;

	for (i = 0; i < f->p.record_count; i++)
		if (f->p.records[i].dir == TW_DIR_CLIENT &&
		    f->p.records[i].data[0] == TW_TLS_CT_APPLICATION_DATA) {
			f->p.bound_records = i;
			f->reseal = 1;
			return i ? 0 : -1;
		}
	return -1;
}

static int m_rsa_ak(struct forge *f)
{
	f->reseal = 1;
	f->rsa_ak = TPM2_ALG_RSASSA;
	return 0;
}

static int m_rsa_pss_ak(struct forge *f)
{
	f->reseal = 1;
	f->rsa_ak = TPM2_ALG_RSAPSS;
	return 0;
}

/* An RSA AK whose signature is changed after the resealing. */
static int m_rsa_signature(struct forge *f)
{
	f->reseal = 1;
	f->rsa_ak = TPM2_ALG_RSASSA;
	f->spoil_signature = 1;
	return 0;
}

static const struct forge_case cases[] = {
	{"base proof", TW_CHECK_NONE, "", m_none},
	{"base proof resealed by the test AK", TW_CHECK_NONE, "", m_resealed},

	/* Without the AK's private key. */
	{"attest: magic bit flipped", TW_CHECK_ATTESTATION, "TPM_GENERATED_VALUE", m_attest_magic},
	{"attest: type changed", TW_CHECK_ATTESTATION, "TPM_ST_ATTEST_SESSION_AUDIT",
	 m_attest_type},
	{"attest: a byte appended", TW_CHECK_ATTESTATION, "nothing after it", m_attest_trailing},
	{"attest: clock bit flipped", TW_CHECK_AK_SIGNATURE, "does not verify", m_attest_clock},
	{"attest: exclusiveSession set to NO", TW_CHECK_AK_SIGNATURE, "does not verify",
	 m_attest_exclusive},
	{"signature: bit flipped", TW_CHECK_AK_SIGNATURE, "does not verify", m_signature},
	{"ak_public: bit flipped", TW_CHECK_AK_TRUSTED, "proof's AK", m_ak_public},
	{"another AK trusted by the verifier", TW_CHECK_AK_TRUSTED, "not the AK the verifier",
	 m_other_ak},
	{"wrong nonce", TW_CHECK_QUALIFYING_DATA, "another nonce", m_wrong_nonce},
	{"nonce field changed", TW_CHECK_QUALIFYING_DATA, "does not bind", m_proof_nonce},
	{"nonce field rewritten, the verifier gives the signed nonce", TW_CHECK_QUALIFYING_DATA,
	 "nonce field is not the verifier's", m_nonce_field},
	{"record: bit flipped", TW_CHECK_QUALIFYING_DATA, "does not bind", m_record_bit},
	{"record: time changed", TW_CHECK_QUALIFYING_DATA, "does not bind", m_record_time},
	{"transcript truncated inside the bound records", TW_CHECK_QUALIFYING_DATA,
	 "does not bind", m_truncated},
	{"record recorded after the attestation claimed as bound", TW_CHECK_QUALIFYING_DATA,
	 "does not bind", m_bound_more},
	{"bound record count lowered", TW_CHECK_QUALIFYING_DATA, "does not bind",
	 m_bound_fewer},
	{"log: commit dropped", TW_CHECK_AUDIT_LOG, "HMAC", m_drop_commit},
	{"log: commit duplicated", TW_CHECK_AUDIT_LOG, "HMAC", m_duplicate_commit},
	{"log: commit and ZGen reordered", TW_CHECK_AUDIT_LOG, "HMAC", m_reorder},
	{"log: committed digest bit flipped", TW_CHECK_AUDIT_LOG, "HMAC", m_commit_bit},
	{"log: ZGen output bit flipped", TW_CHECK_AUDIT_LOG, "HMAC", m_zgen_outpoint},
	{"log: ZGen replaced by GetRandom", TW_CHECK_SEQUENCE, "not part of the proving sequence",
	 m_unknown_command},
	{"record after ZGen claimed as committed", TW_CHECK_COMMIT, "is not the SHA-256",
	 m_moved_record},
	{"zgen index moved", TW_CHECK_SEQUENCE, "zgen entry", m_zgen_index},
	{"commit index moved", TW_CHECK_SEQUENCE, "commit 0 names entry", m_commit_index},
	{"server_name of another host", TW_CHECK_TLS, "not the ClientHello's server_name",
	 m_other_host},
	{"certificate expired at verification time", TW_CHECK_TLS, "expired", m_expired},
	{"cipher_suite hint changed", TW_CHECK_TLS, "cipher_suite", m_suite_hint},

	/* With a compromised AK (the test AK). */
	{"resealed proof, verifier trusts the real AK", TW_CHECK_AK_TRUSTED,
	 "not the AK the verifier", m_real_ak_trusted},
	{"signed by a trusted key that is not the AK the log made", TW_CHECK_AK_TRUSTED,
	 "the AK the log made is not the proof's AK", m_foreign_signer},
	{"exclusiveSession NO", TW_CHECK_EXCLUSIVE, "exclusiveSession is NO", m_exclusive_no},
	{"signed digest is not the log's", TW_CHECK_AUDIT_DIGEST, "differs from the replayed",
	 m_bad_digest},
	{"attestation signed for another signer", TW_CHECK_ATTESTATION, "signer is not the AK",
	 m_bad_signer},
	{"ECDH key made by CreatePrimary", TW_CHECK_SEQUENCE, "not allowed at this point",
	 m_key_primary},
	{"key without sensitiveDataOrigin", TW_CHECK_KEY, "sensitiveDataOrigin", m_key_no_sdo},
	{"key with fixedTPM clear", TW_CHECK_KEY, "fixedTPM", m_key_no_fixedtpm},
	{"key that can sign", TW_CHECK_KEY, "sign is set", m_key_sign},
	{"key under a derivation parent", TW_CHECK_PARENT, "not an ordinary storage key",
	 m_derivation_parent},
	{"second ZGen", TW_CHECK_SEQUENCE, "not allowed at this point", m_second_zgen},
	{"commit after ZGen claimed as before", TW_CHECK_SEQUENCE, "zgen entry",
	 m_commit_after_claimed},
	{"commit after ZGen, indices true", TW_CHECK_SEQUENCE, "no commit", m_commit_after_told},
	{"commit ending one byte into a record", TW_CHECK_NONE, "", m_commit_mid_record},
	{"ClientHello share changed", TW_CHECK_CLIENT_SHARE, "ClientHello key share",
	 m_client_share},
	{"ZGen input changed", TW_CHECK_SERVER_SHARE, "ServerHello key share", m_zgen_input},
	{"bad CertificateVerify, record re-encrypted", TW_CHECK_TLS,
	 "CertificateVerify signature invalid", m_bad_certificate_verify},
	{"transcript cut after the server's flight", TW_CHECK_TLS, "stream ends before",
	 m_handshake_cut},
	{"attestation before the client's Finished", TW_CHECK_BOUND,
	 "end before the client's Finished", m_bound_before_finished},

	/* An AK of another kind than the AK template's, signing as a TPM would. */
	{"RSA AK with RSASSA, trusted", TW_CHECK_NONE, "", m_rsa_ak},
	{"RSA AK with RSAPSS, trusted", TW_CHECK_NONE, "", m_rsa_pss_ak},
	{"RSA AK, signature bit flipped", TW_CHECK_AK_SIGNATURE, "does not verify",
	 m_rsa_signature},
};

static int load(const char *proof, const char *ak, const char *ca)
{
	FILE *f = fopen(proof, "rb");
	BIO *bio;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	proof_len = (size_t)ftell(f);
	rewind(f);
	proof_text = malloc(proof_len + 1);
	if (!proof_text || fread(proof_text, 1, proof_len, f) != proof_len) {
		fclose(f);
		return -1;
	}
	proof_text[proof_len] = 0;
	fclose(f);
	bio = BIO_new_file(ak, "r");
	real_ak = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	trust = X509_STORE_new();
	test_ak = new_p256();
	test_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	other_ak = new_p256();
	if (!real_ak || !trust || !test_ak || !test_rsa || !other_ak ||
	    X509_STORE_load_file(trust, ca) != 1)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 4 || load(argv[1], argv[2], argv[3])) {
		fprintf(stderr, "usage: forge PROOF AK.pem CA.pem [DIR]\n");
		return 2;
	}
	out_dir = argc > 4 ? argv[4] : NULL;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);

	/* Files the strict reader refuses. */
	text_case("file: version 2", "\"version\":1", "\"version\":2", "version 2");
	text_case("file: unknown field",
		  "\"retries\":", "\"extra\":0,\"retries\":", "does not define");
	text_case("file: duplicated field", "\"retries\":", "\"retries\":0,\"retries\":", "twice");
	text_case("file: base64 not canonical", "\"attest\":\"", "\"attest\":\"=", "base64");
	text_case("file: record offsets do not tile", "\"offset\":0,", "\"offset\":1,", "offset");
	number_case("file: no bound record", "bound_records", 0, "binds no record");
	number_case("file: more bound records than records", "bound_records", 1u << 20,
		    "out of range");

	free(proof_text);
	EVP_PKEY_free(real_ak);
	EVP_PKEY_free(test_ak);
	EVP_PKEY_free(test_rsa);
	EVP_PKEY_free(other_ak);
	X509_STORE_free(trust);
	return tap_done();
}
