// SPDX-License-Identifier: BSD-2-Clause
/*
 * The audited proving sequence (DESIGN.md section 2) on tss2-mu framing
 * with the library's own session arithmetic.  ESYS is not used inside a
 * window: the distro's ESYS spends about a millisecond on every nonce,
 * and its helpers may send unaudited commands that break exclusivity.
 *
 * Sessions (TPM 2.0 Part 1, Authorizations and Acknowledgments): one unbound, unsalted HMAC
 * session with SHA-256, used for audit only.  Its sessionKey is empty and
 * it authorizes no handle, so the HMAC key is empty too.  Handles that
 * need authorization use password sessions (TPM_RS_PW) with empty auth,
 * placed before the audit session in the authorization area.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tctildr.h>
#include <tlswitness/window.h>
#include <tlswitness/recorder.h>
#include "templates.h"
#include "tpm_wire.h"
#include "tcti_open.h"

enum tw_state {
	TW_BEGUN,
	TW_SET_UP,
	TW_KEY_MADE,
	TW_ATTESTED,
	TW_ENDED,
};

struct tw_window {
	struct tw_tcti tcti;
	struct tw_recorder *rec;
	TSS2_TCTI_CONTEXT *io;	/* the recorder's TCTI */
	enum tw_state state;
	EVP_MD_CTX *md;
	int create_and_load;	/* skip TPM2_CreateLoaded */

	uint32_t session;
	uint8_t nonce_tpm[sizeof(TPMU_HA)];
	uint16_t nonce_tpm_len;
	uint32_t parent, ak, key;	/* 0 when not loaded */
	struct tw_name parent_name, ak_name, key_name;

	uint8_t ak_pub[sizeof(TPM2B_PUBLIC)];
	size_t ak_pub_len;
	uint8_t attest[sizeof(TPMS_ATTEST)];
	size_t attest_len;
	uint8_t sig[sizeof(TPMT_SIGNATURE)];
	size_t sig_len;

	uint8_t cmd[TW_TPM_BUF];
	uint8_t rsp[TW_TPM_BUF];
};

/* One command of the sequence: what to send and which sessions carry it. */
struct tw_call {
	uint32_t cc;
	const char *what;
	uint32_t handles[TW_MAX_HANDLES];
	const struct tw_name *names[TW_MAX_HANDLES];
	unsigned int nhandles;
	unsigned int npw;	/* password sessions, first in the area */
	uint8_t audit;		/* the audit session's attributes; 0: not in the command */
	const uint8_t *params;
	size_t params_len;
};

#define TW_AUDIT (TPMA_SESSION_CONTINUESESSION | TPMA_SESSION_AUDIT)
/* Authorization entries as built here: TPMS_AUTH_COMMAND with a 32-byte nonce and HMAC. */
#define TW_PW_LEN	(4 + 2 + 1 + 2)
#define TW_AUDIT_LEN	(4 + 2 + TW_NONCE_LEN + 1 + 2 + 32)
#define TW_RESEND_MAX 8

static enum tw_code tw_call_once(struct tw_window *w, const struct tw_call *c,
				 struct tw_rsp_view *rv, struct tw_status *st);

static enum tw_code tw_crypto_fail(struct tw_status *st, const char *what)
{
	return tw_status_set(st, TW_E_NOMEM, "%s: OpenSSL digest failed", what);
}

/* Write the command of @c into w->cmd; returns its length or 0 on failure. */
static size_t tw_build(struct tw_window *w, const struct tw_call *c, uint8_t nonce[TW_NONCE_LEN],
		       struct tw_status *st)
{
	struct tw_name names[TW_MAX_HANDLES];
	uint8_t cp[32], hmac[32], *p = w->cmd;
	size_t off = 10, auth_off;
	unsigned int i;
	int sessions = c->npw || c->audit;
	uint16_t tag = sessions ? TPM2_ST_SESSIONS : TPM2_ST_NO_SESSIONS;

	if (c->nhandles > TW_MAX_HANDLES || c->npw + !!c->audit > TW_MAX_SESSIONS ||
	    10 + 4 * c->nhandles + 4 + TW_PW_LEN * c->npw + (c->audit ? TW_AUDIT_LEN : 0) +
			    c->params_len > sizeof(w->cmd)) {
		tw_status_set(st, TW_E_USAGE, "%s: command too large", c->what);
		return 0;
	}
	for (i = 0; i < c->nhandles; i++) {
		tw_put32(p + off, c->handles[i]);
		off += 4;
		if (c->names[i])
			names[i] = *c->names[i];
		else
			tw_name_of_handle(&names[i], c->handles[i]);
	}
	if (sessions) {
		auth_off = off;
		off += 4;
		for (i = 0; i < c->npw; i++) {
			/* TPMS_AUTH_COMMAND: TPM_RS_PW, empty nonce, no attributes, empty auth */
			static const uint8_t pw[TW_PW_LEN] = { 0x40, 0x00, 0x00, 0x09, 0, 0, 0, 0, 0 };

			memcpy(p + off, pw, sizeof(pw));
			off += sizeof(pw);
		}
		if (c->audit) {
			if (RAND_bytes(nonce, TW_NONCE_LEN) != 1) {
				tw_status_set(st, TW_E_NOMEM, "%s: no random nonce", c->what);
				return 0;
			}
			/* Part 1 section 19.6.5: HMAC over cpHash || nonceCaller || nonceTPM || attrs */
			if (tw_cp_hash(w->md, c->cc, names, c->nhandles, c->params, c->params_len,
				       cp) ||
			    tw_hmac(w->md, NULL, 0, cp, 32, nonce, TW_NONCE_LEN, w->nonce_tpm,
				    w->nonce_tpm_len, &c->audit, 1, hmac)) {
				tw_crypto_fail(st, c->what);
				return 0;
			}
			tw_put32(p + off, w->session);
			p[off + 4] = 0;
			p[off + 5] = TW_NONCE_LEN;
			memcpy(p + off + 6, nonce, TW_NONCE_LEN);
			off += 6 + TW_NONCE_LEN;
			p[off++] = c->audit;
			p[off++] = 0;
			p[off++] = 32;
			memcpy(p + off, hmac, 32);
			off += 32;
		}
		tw_put32(p + auth_off, off - auth_off - 4);
	}
	memcpy(p + off, c->params, c->params_len);
	off += c->params_len;

	p[0] = tag >> 8;
	p[1] = tag & 0xff;
	tw_put32(p + 2, off);
	tw_put32(p + 6, c->cc);
	return off;
}

/* Part 1 section 19.6.5: the response HMAC covers rpHash || nonceTPM || nonceCaller || attrs. */
static enum tw_code tw_check_audit(struct tw_window *w, const struct tw_call *c,
				   const struct tw_rsp_view *rv, const uint8_t nonce[TW_NONCE_LEN],
				   struct tw_status *st)
{
	const struct tw_auth *a = &rv->auths[c->npw];
	uint8_t rp[32], hmac[32];

	if (a->hmac_len != 32 || a->nonce_len < 16 || a->nonce_len > sizeof(w->nonce_tpm))
		return tw_status_set(st, TW_E_TPM, "%s: malformed audit session response",
				     c->what);
	if (tw_rp_hash(w->md, rv->rc, c->cc, rv->params, rv->params_len, rp) ||
	    tw_hmac(w->md, NULL, 0, rp, 32, a->nonce, a->nonce_len, nonce, TW_NONCE_LEN,
		    &a->attrs, 1, hmac))
		return tw_crypto_fail(st, c->what);
	if (CRYPTO_memcmp(hmac, a->hmac, 32))
		return tw_status_set(st, TW_E_TPM, "%s: response HMAC of the audit session is wrong",
				     c->what);
	memcpy(w->nonce_tpm, a->nonce, a->nonce_len);
	w->nonce_tpm_len = a->nonce_len;
	return TW_OK;
}

/* TPM 2.0 Part 2, TPM_RC: format-zero warnings that ask the caller to send the command again. */
static int tw_rc_resend(uint32_t rc)
{
	return rc == TPM2_RC_RETRY || rc == TPM2_RC_YIELDED || rc == TPM2_RC_TESTING;
}

/*
 * Send @c, receive and split the response into @rv; a TPM error becomes a
 * status.  A command the TPM asks to have sent again is sent again (with
 * a fresh nonce): it did not run, so it changed neither the audit digest
 * nor exclusivity.
 */
static enum tw_code tw_call(struct tw_window *w, const struct tw_call *c,
			    struct tw_rsp_view *rv, struct tw_status *st)
{
	enum tw_code code;
	int tries = 0;

	do
		code = tw_call_once(w, c, rv, st);
	while (code == TW_E_TPM && tw_rc_resend(rv->rc) && ++tries < TW_RESEND_MAX);
	if (code == TW_OK && tries && st)
		tw_status_set(st, TW_OK, "%s", "");
	return code;
}

static enum tw_code tw_call_once(struct tw_window *w, const struct tw_call *c,
				 struct tw_rsp_view *rv, struct tw_status *st)
{
	uint8_t nonce[TW_NONCE_LEN];
	struct tw_cmd_view cv;
	size_t len, rlen = sizeof(w->rsp);
	enum tw_code code;
	TSS2_RC rc;

	memset(rv, 0, sizeof(*rv));
	len = tw_build(w, c, nonce, st);
	if (!len)
		return st ? st->code : TW_E_USAGE;
	code = tw_cmd_parse(w->cmd, len, &cv, st);
	if (code != TW_OK)
		return code;

	rc = Tss2_Tcti_Transmit(w->io, len, w->cmd);
	if (rc == TSS2_RC_SUCCESS)
		rc = Tss2_Tcti_Receive(w->io, &rlen, w->rsp, TSS2_TCTI_TIMEOUT_BLOCK);
	if (rc != TSS2_RC_SUCCESS) {
		if (tw_recorder_error(w->rec, st) != TW_OK)
			return st ? st->code : TW_E_NOMEM;
		return tw_status_tcti(st, rc, c->what, &w->tcti);
	}

	code = tw_rsp_parse(w->rsp, rlen, &cv, rv, st);
	if (code != TW_OK) {
		if (st)
			st->code = TW_E_TPM;	/* the TPM, not a proof, sent it */
		return TW_E_TPM;
	}
	if (rv->rc != TPM2_RC_SUCCESS) {
		code = tw_status_tpm(st, rv->rc, c->what);
		if (code == TW_E_EXCLUSIVE && w->tcti.reserved) {
			code = tw_status_set(st, TW_E_TPM,
					     "%s: TPM_RC_EXCLUSIVE on the reserved channel: "
					     "another TPM user bypassed the window", c->what);
			if (st)
				st->tpm_rc = rv->rc;	/* tw_status_set cleared it */
		}
		return code;
	}
	if (c->audit)
		return tw_check_audit(w, c, rv, nonce, st);
	return TW_OK;
}

/* A TPM2B at @off of @rv's parameters: its bytes (after the size) and length. */
static int tw_param_2b(const struct tw_rsp_view *rv, size_t *off, const uint8_t **p,
		       uint16_t *n)
{
	if (Tss2_MU_UINT16_Unmarshal(rv->params, rv->params_len, off, n) ||
	    rv->params_len - *off < *n)
		return -1;
	*p = rv->params + *off;
	*off += *n;
	return 0;
}

/*
 * OpenSSL seeds its random generator and fetches SHA-256 from the default
 * library context on first use, which costs over a millisecond of CPU:
 * pay it before the window holds the TPM, not inside it.
 */
static enum tw_code tw_warm_up(struct tw_window *w, struct tw_status *st)
{
	uint8_t buf[32];
	unsigned int len;

	if (RAND_bytes(buf, sizeof(buf)) != 1 ||
	    EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(w->md, buf, sizeof(buf)) != 1 ||
	    EVP_DigestFinal_ex(w->md, buf, &len) != 1)
		return tw_status_set(st, TW_E_NOMEM, "window: OpenSSL's random generator or "
						     "SHA-256 is not available");
	return TW_OK;
}

enum tw_code tw_window_begin(struct tw_window **out, const struct tw_window_opts *opts,
			     struct tw_status *st)
{
	struct tw_window *w;
	enum tw_code code;

	if (!out)
		return tw_status_set(st, TW_E_USAGE, "window: no place for the window");
	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return tw_status_set(st, TW_E_NOMEM, "window: out of memory");
	w->md = EVP_MD_CTX_new();
	if (!w->md) {
		free(w);
		return tw_status_set(st, TW_E_NOMEM, "window: out of memory");
	}
	code = tw_warm_up(w, st);
	if (code != TW_OK)
		goto out_md;
	if (opts && opts->tcti_context)
		code = tw_tcti_borrow(&w->tcti, opts->tcti_context);
	else
		code = tw_tcti_open(&w->tcti, opts ? opts->tcti : NULL, st);
	if (code != TW_OK)
		goto out_md;
	code = tw_recorder_new(w->tcti.ctx, &w->rec, st);
	if (code != TW_OK)
		goto out_tcti;
	w->io = tw_recorder_tcti(w->rec);
	w->create_and_load = opts && opts->create_and_load;
	code = tw_tcti_window_begin(&w->tcti, opts ? opts->timeout_ms : 0, st);
	if (code != TW_OK)
		goto out_rec;
	w->state = TW_BEGUN;
	*out = w;
	return TW_OK;

out_rec:
	tw_recorder_free(w->rec);
out_tcti:
	tw_tcti_close(&w->tcti);
out_md:
	EVP_MD_CTX_free(w->md);
	free(w);
	return code;
}

/* TPM2_StartAuthSession (Part 3 section 11.1): unbound, unsalted HMAC session, SHA-256. */
static enum tw_code tw_start_session(struct tw_window *w, struct tw_status *st)
{
	uint8_t params[2 + TW_NONCE_LEN + 2 + 1 + 2 + 2];
	struct tw_call c = {
		.cc = TPM2_CC_StartAuthSession,
		.what = "StartAuthSession",
		.handles = { TPM2_RH_NULL, TPM2_RH_NULL },
		.nhandles = 2,
		.params = params,
		.params_len = sizeof(params),
	};
	struct tw_rsp_view rv;
	const uint8_t *nonce;
	enum tw_code code;
	size_t off = 0;
	uint16_t n;

	params[0] = 0;
	params[1] = TW_NONCE_LEN;
	if (RAND_bytes(params + 2, TW_NONCE_LEN) != 1)
		return tw_status_set(st, TW_E_NOMEM, "StartAuthSession: no random nonce");
	off = 2 + TW_NONCE_LEN;
	params[off++] = 0;	/* encryptedSalt: empty */
	params[off++] = 0;
	params[off++] = TPM2_SE_HMAC;
	params[off++] = TPM2_ALG_NULL >> 8;	/* symmetric: TPM_ALG_NULL */
	params[off++] = TPM2_ALG_NULL & 0xff;
	params[off++] = TPM2_ALG_SHA256 >> 8;	/* authHash */
	params[off++] = TPM2_ALG_SHA256 & 0xff;

	code = tw_call(w, &c, &rv, st);
	if (code != TW_OK)
		return code;
	off = 0;
	if (tw_param_2b(&rv, &off, &nonce, &n) || n < 16 || n > sizeof(w->nonce_tpm))
		return tw_status_set(st, TW_E_TPM, "StartAuthSession: malformed nonceTPM");
	w->session = rv.handle;
	memcpy(w->nonce_tpm, nonce, n);
	w->nonce_tpm_len = n;
	return TW_OK;
}

/* Marshal inSensitive (empty auth, no data) and the template as TPM2B_PUBLIC. */
static int tw_put_sensitive_public(uint8_t *buf, size_t len, size_t *off, const TPMT_PUBLIC *t)
{
	static const uint8_t empty_sensitive[6] = { 0, 4, 0, 0, 0, 0 };
	TPM2B_PUBLIC pub = { .publicArea = *t };

	if (len - *off < sizeof(empty_sensitive))
		return -1;
	memcpy(buf + *off, empty_sensitive, sizeof(empty_sensitive));
	*off += sizeof(empty_sensitive);
	return Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, buf, len, off) ? -1 : 0;
}

/*
 * TPM2_CreatePrimary (Part 3 section 24.1) under @hierarchy; returns the
 * handle and name, and the raw TPM2B_PUBLIC if @pub is given.
 */
static enum tw_code tw_create_primary(struct tw_window *w, uint32_t hierarchy,
				      const TPMT_PUBLIC *t, const char *what, uint32_t *handle,
				      struct tw_name *name, uint8_t *pub, size_t *pub_len,
				      struct tw_status *st)
{
	uint8_t params[sizeof(TPM2B_PUBLIC) + 16];
	struct tw_call c = {
		.cc = TPM2_CC_CreatePrimary,
		.what = what,
		.handles = { hierarchy },
		.nhandles = 1,
		.npw = 1,
		.params = params,
	};
	struct tw_rsp_view rv;
	const uint8_t *area;
	enum tw_code code;
	size_t off = 0;
	uint16_t n;

	if (tw_put_sensitive_public(params, sizeof(params), &off, t) ||
	    sizeof(params) - off < 6)
		return tw_status_set(st, TW_E_USAGE, "%s: template does not marshal", what);
	memset(params + off, 0, 6);	/* outsideInfo empty, creationPCR count 0 */
	c.params_len = off + 6;

	code = tw_call(w, &c, &rv, st);
	if (code != TW_OK)
		return code;
	off = 0;
	if (tw_param_2b(&rv, &off, &area, &n) || tw_name_of_public(name, w->md, area, n) ||
	    (pub && off > sizeof(w->ak_pub)))
		return tw_status_set(st, TW_E_TPM, "%s: malformed outPublic", what);
	*handle = rv.handle;
	if (pub) {
		memcpy(pub, rv.params, off);
		*pub_len = off;
	}
	return TW_OK;
}

enum tw_code tw_window_setup(struct tw_window *w, struct tw_status *st)
{
	TPMT_PUBLIC t;
	enum tw_code code;

	if (!w || w->state != TW_BEGUN)
		return tw_status_set(st, TW_E_USAGE, "setup: window not just begun");
	code = tw_start_session(w, st);
	if (code != TW_OK)
		return code;
	tw_template_parent(&t);
	code = tw_create_primary(w, TPM2_RH_NULL, &t, "CreatePrimary (storage parent)",
				 &w->parent, &w->parent_name, NULL, NULL, st);
	if (code != TW_OK)
		return code;
	tw_template_ak(&t);
	code = tw_create_primary(w, TPM2_RH_ENDORSEMENT, &t, "CreatePrimary (AK)", &w->ak,
				 &w->ak_name, w->ak_pub, &w->ak_pub_len, st);
	if (code != TW_OK)
		return code;
	w->state = TW_SET_UP;
	return TW_OK;
}

/* The uncompressed point of a raw TPM2B_PUBLIC holding an ECC P-256 key. */
static int tw_point_of_public(const uint8_t *raw, size_t len, uint8_t pub[65])
{
	TPM2B_PUBLIC p;
	TPMS_ECC_POINT *u = &p.publicArea.unique.ecc;

	if (tw_public_exact(raw, len, &p) || p.publicArea.type != TPM2_ALG_ECC || u->x.size > 32 || u->y.size > 32)
		return -1;
	memset(pub, 0, 65);
	pub[0] = 0x04;
	memcpy(pub + 1 + 32 - u->x.size, u->x.buffer, u->x.size);
	memcpy(pub + 33 + 32 - u->y.size, u->y.buffer, u->y.size);
	return 0;
}

/* TPM2_Create then TPM2_Load (Part 3 sections 12.1, 12.2), for TPMs without CreateLoaded. */
static enum tw_code tw_create_and_load(struct tw_window *w, uint8_t *params, size_t plen,
				       uint8_t *raw, size_t *raw_len, struct tw_status *st)
{
	uint8_t load[2 * sizeof(TPM2B_PUBLIC) + 8];
	struct tw_call c = {
		.cc = TPM2_CC_Create,
		.what = "Create (ECDH key)",
		.handles = { w->parent },
		.names = { &w->parent_name },
		.nhandles = 1,
		.npw = 1,
		.audit = TW_AUDIT | TPMA_SESSION_AUDITRESET,
		.params = params,
	};
	const uint8_t *priv, *area;
	struct tw_rsp_view rv;
	enum tw_code code;
	size_t off = 0, priv_off, pub_off;
	uint16_t n;

	memset(params + plen, 0, 6);	/* outsideInfo empty, creationPCR count 0 */
	c.params_len = plen + 6;
	code = tw_call(w, &c, &rv, st);
	if (code != TW_OK)
		return code;
	priv_off = off;
	if (tw_param_2b(&rv, &off, &priv, &n))
		return tw_status_set(st, TW_E_TPM, "Create: malformed outPrivate");
	pub_off = off;
	if (tw_param_2b(&rv, &off, &area, &n) || off > sizeof(load))
		return tw_status_set(st, TW_E_TPM, "Create: malformed outPublic");
	memcpy(load, rv.params + priv_off, off - priv_off);

	c.cc = TPM2_CC_Load;
	c.what = "Load (ECDH key)";
	c.audit = TW_AUDIT;
	c.params = load;
	c.params_len = off - priv_off;
	code = tw_call(w, &c, &rv, st);
	if (code != TW_OK)
		return code;
	w->key = rv.handle;
	*raw_len = c.params_len - (pub_off - priv_off);
	memcpy(raw, load + (pub_off - priv_off), *raw_len);
	return TW_OK;
}

enum tw_code tw_window_create_key(struct tw_window *w, uint8_t pub[65], struct tw_status *st)
{
	uint8_t params[sizeof(TPM2B_PUBLIC) + 16], raw[sizeof(TPM2B_PUBLIC)];
	struct tw_call c = {
		.cc = TPM2_CC_CreateLoaded,
		.what = "CreateLoaded (ECDH key)",
		.handles = { w ? w->parent : 0 },
		.names = { w ? &w->parent_name : NULL },
		.nhandles = 1,
		.npw = 1,
		.audit = TW_AUDIT | TPMA_SESSION_AUDITRESET,
		.params = params,
	};
	const uint8_t *area;
	struct tw_rsp_view rv;
	TPMT_PUBLIC t;
	enum tw_code code;
	size_t off = 0, len = 0;
	uint16_t n;

	if (!w || w->state != TW_SET_UP || !pub)
		return tw_status_set(st, TW_E_USAGE, "create_key: window not set up");
	tw_template_ecdh(&t);
	if (tw_put_sensitive_public(params, sizeof(params) - 6, &off, &t))
		return tw_status_set(st, TW_E_USAGE, "create_key: template does not marshal");
	c.params_len = off;

	/*
	 * Part 3 section 12.9.  A TPM without CreateLoaded answers
	 * TPM_RC_COMMAND_CODE before it looks at any session, so nothing was
	 * reset and Create + Load can take over.
	 */
	code = TW_E_TPM;
	if (!w->create_and_load)
		code = tw_call(w, &c, &rv, st);
	if (code == TW_OK) {
		off = 0;
		if (tw_param_2b(&rv, &off, &area, &n) || tw_param_2b(&rv, &off, &area, &n) ||
		    2u + n > sizeof(raw))
			return tw_status_set(st, TW_E_TPM, "CreateLoaded: malformed outPublic");
		w->key = rv.handle;
		len = 2 + n;
		memcpy(raw, area - 2, len);
	} else if (w->create_and_load || rv.rc == TPM2_RC_COMMAND_CODE) {
		code = tw_create_and_load(w, params, off, raw, &len, st);
		if (code != TW_OK)
			return code;
	} else {
		return code;
	}

	if (tw_name_of_public(&w->key_name, w->md, raw + 2, len - 2) ||
	    tw_point_of_public(raw, len, pub))
		return tw_status_set(st, TW_E_TPM, "create_key: created key is not ECC P-256");
	w->state = TW_KEY_MADE;
	return TW_OK;
}

enum tw_code tw_window_commit(struct tw_window *w, const uint8_t digest[32],
			      struct tw_status *st)
{
	uint8_t params[2 + 32 + 2 + 4];
	struct tw_call c = {
		.cc = TPM2_CC_Hash,
		.what = "Hash (commit)",
		.audit = TW_AUDIT,
		.params = params,
		.params_len = sizeof(params),
	};
	struct tw_rsp_view rv;

	if (!w || w->state != TW_KEY_MADE || !digest)
		return tw_status_set(st, TW_E_USAGE, "commit: no key in this window yet");
	/* TPM2_Hash (Part 3 section 15.4): data = digest, SHA-256, no ticket (TPM_RH_NULL). */
	params[0] = 0;
	params[1] = 32;
	memcpy(params + 2, digest, 32);
	params[34] = TPM2_ALG_SHA256 >> 8;
	params[35] = TPM2_ALG_SHA256 & 0xff;
	tw_put32(params + 36, TPM2_RH_NULL);
	return tw_call(w, &c, &rv, st);
}

enum tw_code tw_window_zgen(struct tw_window *w, const uint8_t peer[65], uint8_t z[32],
			    struct tw_status *st)
{
	uint8_t params[2 + 2 + 32 + 2 + 32];
	struct tw_call c = {
		.cc = TPM2_CC_ECDH_ZGen,
		.what = "ECDH_ZGen",
		.handles = { w ? w->key : 0 },
		.names = { w ? &w->key_name : NULL },
		.nhandles = 1,
		.npw = 1,
		.audit = TW_AUDIT | TPMA_SESSION_AUDITEXCLUSIVE,
		.params = params,
		.params_len = sizeof(params),
	};
	TPM2B_ECC_POINT out = { 0 };
	struct tw_rsp_view rv;
	enum tw_code code;

	if (!w || w->state != TW_KEY_MADE || !peer || !z)
		return tw_status_set(st, TW_E_USAGE, "zgen: no key in this window yet");
	if (peer[0] != 0x04)
		return tw_status_set(st, TW_E_USAGE, "zgen: peer point is not uncompressed");
	/* TPM2_ECDH_ZGen (Part 3 section 14.5): inPoint is a TPM2B_ECC_POINT. */
	params[0] = 0;
	params[1] = 68;
	params[2] = 0;
	params[3] = 32;
	memcpy(params + 4, peer + 1, 32);
	params[36] = 0;
	params[37] = 32;
	memcpy(params + 38, peer + 33, 32);

	code = tw_call(w, &c, &rv, st);
	if (code != TW_OK)
		return code;
	if (tw_point_exact(rv.params, rv.params_len, &out) || out.point.x.size > 32)
		return tw_status_set(st, TW_E_TPM, "ECDH_ZGen: malformed outPoint");
	memset(z, 0, 32);
	memcpy(z + 32 - out.point.x.size, out.point.x.buffer, out.point.x.size);
	return TW_OK;
}

/*
 * TPM2_GetSessionAuditDigest (Part 3 section 18.5).  The audit session is
 * named only as sessionHandle, not carried as a session: the signed
 * digest covers the audited entries from the auditReset command up to
 * the one before this command, and exclusiveSession reports whether
 * nothing else ran in between.
 */
enum tw_code tw_window_attest(struct tw_window *w, const uint8_t *qualifying, size_t len,
			      struct tw_status *st)
{
	uint8_t params[2 + sizeof(TPMU_HA) + 2 + 2];
	struct tw_call c = {
		.cc = TPM2_CC_GetSessionAuditDigest,
		.what = "GetSessionAuditDigest",
		.nhandles = 3,
		.npw = 2,
		.params = params,
	};
	struct tw_rsp_view rv;
	const uint8_t *attest;
	TPMS_ATTEST info = { 0 };
	TPMT_SIGNATURE sig = { 0 };
	enum tw_code code;
	size_t off = 0, sig_off;
	uint16_t n;

	if (!w || w->state != TW_KEY_MADE)
		return tw_status_set(st, TW_E_USAGE, "attest: no key in this window yet");
	if (len > sizeof(TPMU_HA) || (len && !qualifying))
		return tw_status_set(st, TW_E_USAGE, "attest: qualifyingData longer than %zu bytes",
				     sizeof(TPMU_HA));
	c.handles[0] = TPM2_RH_ENDORSEMENT;
	c.handles[1] = w->ak;
	c.names[1] = &w->ak_name;
	c.handles[2] = w->session;
	params[0] = len >> 8;
	params[1] = len & 0xff;
	if (len)
		memcpy(params + 2, qualifying, len);
	params[2 + len] = TPM2_ALG_NULL >> 8;	/* inScheme: the AK's own scheme */
	params[3 + len] = TPM2_ALG_NULL & 0xff;
	c.params_len = 4 + len;

	code = tw_call(w, &c, &rv, st);
	if (code != TW_OK)
		return code;
	if (tw_param_2b(&rv, &off, &attest, &n) || n > sizeof(w->attest))
		return tw_status_set(st, TW_E_TPM, "GetSessionAuditDigest: malformed auditInfo");
	sig_off = off;
	if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(rv.params, rv.params_len, &off, &sig) ||
	    off != rv.params_len || off - sig_off > sizeof(w->sig))
		return tw_status_set(st, TW_E_TPM, "GetSessionAuditDigest: malformed signature");
	memcpy(w->attest, attest, n);
	w->attest_len = n;
	memcpy(w->sig, rv.params + sig_off, off - sig_off);
	w->sig_len = off - sig_off;
	w->state = TW_ATTESTED;

	off = 0;
	if (Tss2_MU_TPMS_ATTEST_Unmarshal(w->attest, w->attest_len, &off, &info) ||
	    off != w->attest_len || info.magic != TPM2_GENERATED_VALUE ||
	    info.type != TPM2_ST_ATTEST_SESSION_AUDIT)
		return tw_status_set(st, TW_E_TPM, "GetSessionAuditDigest: malformed TPMS_ATTEST");
	if (info.attested.sessionAudit.exclusiveSession != TPM2_YES)
		return tw_status_set(st, w->tcti.reserved ? TW_E_TPM : TW_E_EXCLUSIVE,
				     "attest: the audit session was not exclusive");
	return TW_OK;
}

/* TPM2_FlushContext (Part 3 section 28.4): takes no sessions, exempt from exclusivity. */
static enum tw_code tw_flush(struct tw_window *w, uint32_t *handle, struct tw_status *st)
{
	uint8_t params[4];
	struct tw_call c = {
		.cc = TPM2_CC_FlushContext,
		.what = "FlushContext",
		.params = params,
		.params_len = sizeof(params),
	};
	struct tw_rsp_view rv;
	enum tw_code code;

	if (!*handle)
		return TW_OK;
	tw_put32(params, *handle);
	code = tw_call(w, &c, &rv, st);
	*handle = 0;
	return code;
}

enum tw_code tw_window_end(struct tw_window *w, struct tw_status *st)
{
	uint32_t *made[] = { w ? &w->key : NULL, w ? &w->parent : NULL, w ? &w->ak : NULL,
			     w ? &w->session : NULL };
	enum tw_code code = TW_OK, c;
	struct tw_status one;
	size_t i;

	if (!w)
		return tw_status_set(st, TW_E_USAGE, "end: no window");
	if (w->state == TW_ENDED)
		return TW_OK;
	/* Flush everything the window made; report the first failure but go on. */
	for (i = 0; i <= sizeof(made) / sizeof(made[0]); i++) {
		if (i < sizeof(made) / sizeof(made[0]))
			c = tw_flush(w, made[i], &one);
		else
			c = tw_tcti_window_end(&w->tcti, &one);
		if (c != TW_OK && code == TW_OK) {
			code = c;
			if (st)
				*st = one;
		}
	}
	tw_recorder_set_recording(w->rec, 0);
	w->state = TW_ENDED;
	return code;
}

void tw_window_free(struct tw_window *w)
{
	if (!w)
		return;
	if (w->state != TW_ENDED)
		tw_window_end(w, NULL);
	tw_recorder_free(w->rec);
	tw_tcti_close(&w->tcti);
	EVP_MD_CTX_free(w->md);
	free(w);
}

int tw_window_reserved(const struct tw_window *w)
{
	return w && w->tcti.reserved;
}

const struct tw_audit_log *tw_window_log(const struct tw_window *w)
{
	return tw_recorder_log(w->rec);
}

enum tw_code tw_window_attestation(const struct tw_window *w, const uint8_t **attest,
				   size_t *attest_len, const uint8_t **sig, size_t *sig_len)
{
	if (!w || !w->attest_len)
		return TW_E_USAGE;
	*attest = w->attest;
	*attest_len = w->attest_len;
	*sig = w->sig;
	*sig_len = w->sig_len;
	return TW_OK;
}

enum tw_code tw_window_ak_public(const struct tw_window *w, const uint8_t **pub, size_t *len)
{
	if (!w || !w->ak_pub_len)
		return TW_E_USAGE;
	*pub = w->ak_pub;
	*len = w->ak_pub_len;
	return TW_OK;
}

uint64_t tw_window_tpm_ns(const struct tw_window *w)
{
	return tw_recorder_tcti_ns(w->rec);
}
