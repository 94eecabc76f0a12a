// SPDX-License-Identifier: BSD-2-Clause
/*
 * Audit replay: recompute the session audit digest from the raw
 * (command, response) pairs of a window and collect what the verifier
 * needs, accepting only the shape of the proving sequence
 * (Documentation/audit-log.rst).
 *
 * TPM 2.0 Part 1, Session Audit: each command run with
 * the audit session extends digest = H(digest || cpHash || rpHash); the
 * command carrying auditReset starts from zeros and is extended itself.
 * Part 1, cpHash and rpHash: cpHash = H(commandCode || names || parameters),
 * rpHash = H(responseCode || commandCode || response parameters).
 * Part 1, Names: an object's name is nameAlg || H(publicArea);
 * a permanent or session handle's name is the handle.
 */
#include <stdbool.h>
#include <string.h>
#include <openssl/crypto.h>
#include <tss2/tss2_mu.h>
#include <tlswitness/audit.h>
#include "tpm_wire.h"

#define TW_MAX_OBJECTS 8

enum tw_phase {
	TW_PH_SETUP,	/* before the auditReset command */
	TW_PH_LOAD,	/* after Create, Load must follow */
	TW_PH_KEY,	/* key made, ZGen not yet */
	TW_PH_ZGEN,	/* after ZGen */
	TW_PH_ATTESTED,	/* after GetSessionAuditDigest */
};

/* An object a command of the log created, with the name computed from its public area. */
struct tw_object {
	uint32_t handle;
	uint32_t hierarchy;	/* of a primary; 0 for an ordinary object */
	TPM2B_PUBLIC pub;
	struct tw_name name;
};

struct tw_replay_state {
	const struct tw_audit_log *log;
	struct tw_audit_replay *out;
	EVP_MD_CTX *md;
	size_t i;	/* current entry */
	enum tw_phase phase;
	struct tw_object objects[TW_MAX_OBJECTS];
	size_t nobjects;
	struct {
		uint32_t handle;
		uint8_t nonce_tpm[sizeof(TPMU_HA)];	/* the latest, for the next HMAC */
		uint16_t nonce_len;
	} sessions[4];	/* started by StartAuthSession */
	size_t nsessions;
	uint32_t parent, key;
	const uint8_t *created_pub;	/* Create's outPublic (TPM2B), for Load */
	size_t created_pub_len;
	struct tw_cmd_view cv;
	struct tw_rsp_view rv;
	struct tw_status *st;
};

static enum tw_code tw_reject_as(struct tw_replay_state *s, enum tw_audit_fault fault,
				 const char *why)
{
	const char *cc = s->cv.info ? s->cv.info->name : "entry";

	s->out->fault = fault;
	return tw_status_set(s->st, TW_E_PROOF, "audit log entry %zu (%s): %s", s->i, cc, why);
}

/* Most rules are about the shape of the proving sequence. */
static enum tw_code tw_reject(struct tw_replay_state *s, const char *why)
{
	return tw_reject_as(s, TW_AUDIT_FAULT_SEQUENCE, why);
}

static enum tw_code tw_malformed(struct tw_replay_state *s, const char *why)
{
	return tw_reject_as(s, TW_AUDIT_FAULT_FRAMING, why);
}

static struct tw_object *tw_object_find(struct tw_replay_state *s, uint32_t handle)
{
	size_t i;

	for (i = 0; i < s->nobjects; i++)
		if (s->objects[i].handle == handle)
			return &s->objects[i];
	return NULL;
}

static int tw_session_find(struct tw_replay_state *s, uint32_t handle)
{
	size_t i;

	for (i = 0; i < s->nsessions; i++)
		if (s->sessions[i].handle == handle)
			return (int)i + 1;
	return 0;
}

/* A TPM2B inside [p, p + len): its contents and length, bounds checked. */
static int tw_2b(const uint8_t *p, size_t len, size_t *off, const uint8_t **b, uint16_t *n)
{
	if (Tss2_MU_UINT16_Unmarshal(p, len, off, n) || len - *off < *n)
		return -1;
	*b = p + *off;
	*off += *n;
	return 0;
}

/*
 * Parse a TPM2B_PUBLIC of a SHA-256 ECC P-256 object into @obj, with its
 * name; with @rsa_ok, an RSA object of at most 4096 bits too (an AK made
 * from an RSA template).
 */
static int tw_take_public_of(struct tw_replay_state *s, const uint8_t *p, size_t len,
			     size_t *off, TPM2B_PUBLIC *pub, struct tw_name *name, int rsa_ok)
{
	const TPMT_PUBLIC *a = &pub->publicArea;
	size_t start = *off;
	const uint8_t *area;
	uint16_t n;

	if (tw_2b(p, len, off, &area, &n) || n == 0 ||
	    tw_public_exact(p + start, *off - start, pub))
		return -1;
	if (a->nameAlg != TPM2_ALG_SHA256)
		return -1;
	if (rsa_ok && a->type == TPM2_ALG_RSA && a->unique.rsa.size <= 512)
		return tw_name_of_public(name, s->md, area, n);
	if (a->type != TPM2_ALG_ECC || a->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 ||
	    a->unique.ecc.x.size > 32 || a->unique.ecc.y.size > 32)
		return -1;
	return tw_name_of_public(name, s->md, area, n);
}

static int tw_take_public(struct tw_replay_state *s, const uint8_t *p, size_t len, size_t *off,
			  TPM2B_PUBLIC *pub, struct tw_name *name)
{
	return tw_take_public_of(s, p, len, off, pub, name, 0);
}

/* creationData, creationHash and creationTicket (Part 3 12.1, 24.1): bounded, not kept. */
static int tw_skip_creation(const uint8_t *p, size_t len, size_t *off)
{
	const uint8_t *b;
	uint16_t n, tag;
	uint32_t hierarchy;

	return tw_2b(p, len, off, &b, &n) || tw_2b(p, len, off, &b, &n) ||
	       Tss2_MU_UINT16_Unmarshal(p, len, off, &tag) ||
	       Tss2_MU_UINT32_Unmarshal(p, len, off, &hierarchy) || tw_2b(p, len, off, &b, &n);
}

static void tw_point(uint8_t out[65], const TPMS_ECC_POINT *p)
{
	memset(out, 0, 65);
	out[0] = 0x04;
	memcpy(out + 1 + 32 - p->x.size, p->x.buffer, p->x.size);
	memcpy(out + 33 + 32 - p->y.size, p->y.buffer, p->y.size);
}

/* The name a creating command returned must be the one computed from its public area. */
static int tw_same_name(const uint8_t *b, uint16_t n, const struct tw_name *name)
{
	return n == name->len && !memcmp(b, name->buf, n);
}

static enum tw_code tw_add_object(struct tw_replay_state *s, uint32_t hierarchy,
				  const TPM2B_PUBLIC *pub, const struct tw_name *name)
{
	struct tw_object *o;

	if ((s->rv.handle >> 24) != TPM2_HT_TRANSIENT)
		return tw_reject(s, "created object has no transient handle");
	o = tw_object_find(s, s->rv.handle);
	if (!o) {
		if (s->nobjects == TW_MAX_OBJECTS)
			return tw_reject(s, "too many objects");
		o = &s->objects[s->nobjects++];
	}
	o->handle = s->rv.handle;
	o->hierarchy = hierarchy;
	o->pub = *pub;
	o->name = *name;
	return TW_OK;
}

/* The names of the command's handles, each known from the log or by rule. */
static enum tw_code tw_names(struct tw_replay_state *s, struct tw_name *names)
{
	unsigned int i;

	for (i = 0; i < s->cv.nhandles; i++) {
		uint32_t h = s->cv.handles[i];
		struct tw_object *o;

		switch (h >> 24) {
		case TPM2_HT_PERMANENT:
		case TPM2_HT_HMAC_SESSION:
			tw_name_of_handle(&names[i], h);
			break;
		case TPM2_HT_TRANSIENT:
			o = tw_object_find(s, h);
			if (!o)
				return tw_reject(s, "names an object the log did not create");
			names[i] = o->name;
			break;
		default:
			return tw_reject(s, "names a handle of a kind the sequence never uses");
		}
	}
	return TW_OK;
}

/*
 * The authorization area of the sequence: password sessions first, then
 * at most one HMAC session, which must be used for audit only.  Returns
 * that session's entry, or NULL when the command carries none.
 */
static enum tw_code tw_sessions(struct tw_replay_state *s, const struct tw_auth **audit)
{
	const uint8_t forbidden = TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT;
	unsigned int i;

	*audit = NULL;
	for (i = 0; i < s->cv.nauths; i++) {
		const struct tw_auth *a = &s->cv.auths[i];

		if (a->handle == TPM2_RH_PW) {
			if (*audit)
				return tw_reject(s, "password session after the audit session");
			/* The sequence's objects all have empty auth; no attribute applies. */
			if (a->nonce_len || a->hmac_len || a->attrs)
				return tw_reject(s, "password session is not the empty one");
			continue;
		}
		if (*audit)
			return tw_reject(s, "more than one HMAC session");
		if ((a->handle >> 24) != TPM2_HT_HMAC_SESSION)
			return tw_reject(s, "session is not an HMAC session");
		if (!(a->attrs & TPMA_SESSION_AUDIT) || (a->attrs & forbidden))
			return tw_reject(s, "HMAC session is not used for audit only");
		*audit = a;
	}
	return TW_OK;
}

/* Part 1, Password Authorizations: a password session answers with continueSession and nothing else. */
static enum tw_code tw_pw_responses(struct tw_replay_state *s)
{
	unsigned int i;

	for (i = 0; i < s->cv.nauths; i++) {
		const struct tw_auth *a = &s->rv.auths[i];

		if (s->cv.auths[i].handle != TPM2_RH_PW)
			continue;
		if (a->nonce_len || a->hmac_len || a->attrs != TPMA_SESSION_CONTINUESESSION)
			return tw_reject(s, "password session response is not the empty one");
	}
	return TW_OK;
}

/* TPM2_StartAuthSession: unbound, unsalted, HMAC, no symmetric, SHA-256 (Part 3 11.1). */
static enum tw_code tw_start_session(struct tw_replay_state *s)
{
	const uint8_t *p = s->cv.params, *b;
	size_t len = s->cv.params_len, off = 0;
	uint16_t n, alg, hash;
	uint8_t type;

	if (s->cv.handles[0] != TPM2_RH_NULL || s->cv.handles[1] != TPM2_RH_NULL)
		return tw_reject(s, "session is bound or salted");
	if (tw_2b(p, len, &off, &b, &n) || tw_2b(p, len, &off, &b, &n) || n != 0 ||
	    Tss2_MU_UINT8_Unmarshal(p, len, &off, &type) ||
	    Tss2_MU_UINT16_Unmarshal(p, len, &off, &alg) ||
	    Tss2_MU_UINT16_Unmarshal(p, len, &off, &hash) || off != len)
		return tw_malformed(s, "malformed parameters");
	if (type != TPM2_SE_HMAC || alg != TPM2_ALG_NULL || hash != TPM2_ALG_SHA256)
		return tw_reject(s, "session is not an unencrypted SHA-256 HMAC session");
	if ((s->rv.handle >> 24) != TPM2_HT_HMAC_SESSION || s->nsessions == 4)
		return tw_reject(s, "unexpected session handle");
	off = 0;
	if (tw_2b(s->rv.params, s->rv.params_len, &off, &b, &n) || off != s->rv.params_len ||
	    n < 16 || n > sizeof(s->sessions[0].nonce_tpm))
		return tw_malformed(s, "malformed response: nonceTPM size");
	s->sessions[s->nsessions].handle = s->rv.handle;
	memcpy(s->sessions[s->nsessions].nonce_tpm, b, n);
	s->sessions[s->nsessions].nonce_len = n;
	s->nsessions++;
	return TW_OK;
}

/*
 * The command side of TPM2_CreatePrimary (Part 3 24.1), TPM2_Create (12.1)
 * and TPM2_CreateLoaded (12.9): empty inSensitive, a template whose every
 * field but unique (empty here) the TPM copied into @out, and, with
 * @tail, an empty outsideInfo and no PCRs (CreateLoaded has neither).
 * Nothing may follow.
 */
static enum tw_code tw_template_command(struct tw_replay_state *s, const TPM2B_PUBLIC *out,
					bool tail)
{
	static const uint8_t empty_sensitive[6] = { 0, 4, 0, 0, 0, 0 };
	static const uint8_t empty_tail[6] = { 0, 0, 0, 0, 0, 0 };
	const size_t tail_len = tail ? sizeof(empty_tail) : 0;
	const uint8_t *p = s->cv.params;
	size_t len = s->cv.params_len, start = sizeof(empty_sensitive);
	TPM2B_PUBLIC in;
	TPMT_PUBLIC want = out->publicArea;

	if (len < sizeof(empty_sensitive) + tail_len ||
	    memcmp(p, empty_sensitive, sizeof(empty_sensitive)) ||
	    memcmp(p + len - tail_len, empty_tail, tail_len))
		return tw_reject(s, "inSensitive, outsideInfo or creationPCR is not empty");
	if (tw_public_exact(p + start, len - tail_len - start, &in))
		return tw_malformed(s, "malformed inPublic");
	memset(&want.unique, 0, sizeof(want.unique));
	if (memcmp(&in.publicArea, &want, sizeof(want)))
		return tw_reject(s, "outPublic is not the template the command sent");
	return TW_OK;
}

/*
 * creationData, creationHash and creationTicket of a primary: the hash
 * must be the data's, the ticket for the primary's hierarchy.  The
 * ticket's HMAC (keyed with a hierarchy proof) only the TPM can check.
 */
static enum tw_code tw_primary_creation(struct tw_replay_state *s, uint32_t hierarchy,
					size_t *off)
{
	const uint8_t *p = s->rv.params, *data, *hash, *ticket;
	size_t len = s->rv.params_len;
	uint8_t digest[32];
	unsigned int dlen = 0;
	uint16_t data_n, hash_n, ticket_n, tag;
	uint32_t h;

	if (tw_2b(p, len, off, &data, &data_n) || tw_2b(p, len, off, &hash, &hash_n) ||
	    Tss2_MU_UINT16_Unmarshal(p, len, off, &tag) ||
	    Tss2_MU_UINT32_Unmarshal(p, len, off, &h) || tw_2b(p, len, off, &ticket, &ticket_n))
		return tw_malformed(s, "malformed creation data");
	if (!EVP_DigestInit_ex(s->md, tw_sha256(), NULL) ||
	    !EVP_DigestUpdate(s->md, data, data_n) || !EVP_DigestFinal_ex(s->md, digest, &dlen))
		return tw_status_set(s->st, TW_E_NOMEM, "audit replay: OpenSSL digest failed");
	if (hash_n != 32 || memcmp(hash, digest, 32))
		return tw_reject_as(s, TW_AUDIT_FAULT_CHAIN,
				    "creationHash is not the hash of creationData");
	if (tag != TPM2_ST_CREATION || h != hierarchy || ticket_n == 0)
		return tw_reject(s, "creationTicket does not belong to the hierarchy");
	return TW_OK;
}

/*
 * TPM2_CreatePrimary (Part 3 24.1): the storage parent in TPM_RH_NULL or
 * the AK in TPM_RH_ENDORSEMENT.  The response's outPublic names the object.
 */
static enum tw_code tw_create_primary(struct tw_replay_state *s)
{
	uint32_t hierarchy = s->cv.handles[0];
	const uint8_t *b;
	TPM2B_PUBLIC pub;
	struct tw_name name;
	size_t off = 0;
	uint16_t n;
	enum tw_code code;

	if (hierarchy != TPM2_RH_NULL && hierarchy != TPM2_RH_ENDORSEMENT)
		return tw_reject(s, "primary outside the null and endorsement hierarchies");
	if (tw_take_public_of(s, s->rv.params, s->rv.params_len, &off, &pub, &name,
			      hierarchy == TPM2_RH_ENDORSEMENT))
		return tw_reject(s, "outPublic is not a SHA-256 ECC P-256 (or RSA AK) public area");
	code = tw_template_command(s, &pub, true);
	if (code == TW_OK)
		code = tw_primary_creation(s, hierarchy, &off);
	if (code != TW_OK)
		return code;
	if (tw_2b(s->rv.params, s->rv.params_len, &off, &b, &n) || off != s->rv.params_len)
		return tw_malformed(s, "malformed response");
	if (!tw_same_name(b, n, &name))
		return tw_reject_as(s, TW_AUDIT_FAULT_CHAIN,
				    "returned name does not match outPublic");
	code = tw_add_object(s, hierarchy, &pub, &name);
	if (code != TW_OK)
		return code;
	if (hierarchy == TPM2_RH_ENDORSEMENT) {
		s->out->ak_public = pub;
		s->out->have_ak_public = 1;
	}
	return TW_OK;
}

/* The parent named by CreateLoaded or Create must be the null-hierarchy primary. */
static enum tw_code tw_check_parent(struct tw_replay_state *s)
{
	struct tw_object *o = tw_object_find(s, s->cv.handles[0]);

	if (!o || o->hierarchy != TPM2_RH_NULL)
		return tw_reject(s, "parent is not the storage primary made in TPM_RH_NULL");
	s->parent = o->handle;
	s->out->parent_public = o->pub;
	return TW_OK;
}

/* Record the created key from a TPM2B_PUBLIC at @off of the response and check the name. */
static enum tw_code tw_take_key(struct tw_replay_state *s, const uint8_t *p, size_t len,
				size_t *off, struct tw_name *name)
{
	struct tw_audit_replay *out = s->out;

	if (tw_take_public(s, p, len, off, &out->key_public, name))
		return tw_reject_as(s, TW_AUDIT_FAULT_KEY,
				    "key's outPublic is not a SHA-256 ECC P-256 public area");
	tw_point(out->key_point, &out->key_public.publicArea.unique.ecc);
	return TW_OK;
}

/* TPM2_CreateLoaded (Part 3 12.9): the auditReset command; outPrivate, outPublic, name. */
static enum tw_code tw_create_loaded(struct tw_replay_state *s)
{
	const uint8_t *p = s->rv.params, *b;
	size_t len = s->rv.params_len, off = 0;
	struct tw_name name;
	enum tw_code code;
	uint16_t n;

	code = tw_check_parent(s);
	if (code != TW_OK)
		return code;
	if (tw_2b(p, len, &off, &b, &n))
		return tw_malformed(s, "malformed outPrivate");
	code = tw_take_key(s, p, len, &off, &name);
	if (code != TW_OK)
		return code;
	if (tw_2b(p, len, &off, &b, &n) || off != len)
		return tw_malformed(s, "malformed name");
	if (!tw_same_name(b, n, &name))
		return tw_reject_as(s, TW_AUDIT_FAULT_CHAIN,
				    "returned name does not match outPublic");
	code = tw_template_command(s, &s->out->key_public, false);
	if (code != TW_OK)
		return code;
	code = tw_add_object(s, 0, &s->out->key_public, &name);
	if (code != TW_OK)
		return code;
	s->key = s->rv.handle;
	s->out->create_index = s->i;
	s->phase = TW_PH_KEY;
	return TW_OK;
}

/* TPM2_Create (Part 3 12.1): the auditReset command when CreateLoaded is missing. */
static enum tw_code tw_create(struct tw_replay_state *s)
{
	const uint8_t *p = s->rv.params, *b;
	size_t len = s->rv.params_len, off = 0, pub_off;
	TPM2B_PUBLIC pub;
	struct tw_name name;
	enum tw_code code;
	uint16_t n;

	code = tw_check_parent(s);
	if (code != TW_OK)
		return code;
	if (tw_2b(p, len, &off, &b, &n))
		return tw_malformed(s, "malformed outPrivate");
	pub_off = off;
	if (tw_take_public(s, p, len, &off, &pub, &name))
		return tw_reject_as(s, TW_AUDIT_FAULT_KEY,
				    "outPublic is not a SHA-256 ECC P-256 public area");
	s->created_pub = p + pub_off;
	s->created_pub_len = off - pub_off;
	if (tw_skip_creation(p, len, &off) || off != len)
		return tw_malformed(s, "malformed response");
	code = tw_template_command(s, &pub, true);
	if (code != TW_OK)
		return code;
	s->out->create_index = s->i;
	s->phase = TW_PH_LOAD;
	return TW_OK;
}

/* TPM2_Load (Part 3 12.2) of exactly the public area Create returned. */
static enum tw_code tw_load(struct tw_replay_state *s)
{
	const uint8_t *p = s->cv.params, *b;
	size_t len = s->cv.params_len, off = 0;
	struct tw_name name;
	enum tw_code code;
	uint16_t n;

	if (s->cv.handles[0] != s->parent)
		return tw_reject(s, "loads under another parent than Create used");
	if (tw_2b(p, len, &off, &b, &n) || len - off != s->created_pub_len ||
	    memcmp(p + off, s->created_pub, s->created_pub_len))
		return tw_reject(s, "loads another object than Create made");
	off = 0;
	p = s->cv.params + (len - s->created_pub_len);
	code = tw_take_key(s, p, s->created_pub_len, &off, &name);
	if (code != TW_OK)
		return code;
	off = 0;
	if (tw_2b(s->rv.params, s->rv.params_len, &off, &b, &n) || off != s->rv.params_len)
		return tw_malformed(s, "malformed name");
	if (!tw_same_name(b, n, &name))
		return tw_reject_as(s, TW_AUDIT_FAULT_CHAIN,
				    "returned name does not match the loaded public area");
	code = tw_add_object(s, 0, &s->out->key_public, &name);
	if (code != TW_OK)
		return code;
	s->key = s->rv.handle;
	s->phase = TW_PH_KEY;
	return TW_OK;
}

/* TPM2_Hash (Part 3 15.4) as a commit: data is a 32-byte digest, hashed with SHA-256. */
static enum tw_code tw_commit(struct tw_replay_state *s)
{
	struct tw_audit_replay *out = s->out;
	const uint8_t *p = s->cv.params, *b;
	size_t len = s->cv.params_len, off = 0;
	uint16_t n, alg, tag;
	uint32_t hierarchy;
	const uint8_t *data;

	if (tw_2b(p, len, &off, &data, &n) || n != 32 ||
	    Tss2_MU_UINT16_Unmarshal(p, len, &off, &alg) ||
	    Tss2_MU_UINT32_Unmarshal(p, len, &off, &hierarchy) || off != len ||
	    alg != TPM2_ALG_SHA256)
		return tw_reject(s, "not a SHA-256 hash of a 32-byte digest");
	p = s->rv.params;
	len = s->rv.params_len;
	off = 0;
	if (tw_2b(p, len, &off, &b, &n) || Tss2_MU_UINT16_Unmarshal(p, len, &off, &tag) ||
	    Tss2_MU_UINT32_Unmarshal(p, len, &off, &hierarchy) ||
	    tw_2b(p, len, &off, &b, &n) || off != len)
		return tw_malformed(s, "malformed response");
	if (out->commit_count == TW_AUDIT_MAX_COMMITS)
		return tw_reject(s, "too many commits");
	out->commits[out->commit_count].index = s->i;
	memcpy(out->commits[out->commit_count].digest, data, 32);
	out->commits[out->commit_count].after_zgen = s->phase == TW_PH_ZGEN;
	out->commit_count++;
	return TW_OK;
}

/* A TPM2B_ECC_POINT holding exactly one P-256 point. */
static int tw_take_point(const uint8_t *p, size_t len, uint8_t out[65])
{
	TPM2B_ECC_POINT pt;

	if (tw_point_exact(p, len, &pt) || pt.point.x.size > 32 || pt.point.y.size > 32)
		return -1;
	tw_point(out, &pt.point);
	return 0;
}

/* TPM2_ECDH_ZGen (Part 3 14.5) with the created key, under auditExclusive. */
static enum tw_code tw_zgen(struct tw_replay_state *s, const struct tw_auth *audit)
{
	struct tw_audit_replay *out = s->out;
	uint8_t z[65];

	if (s->cv.handles[0] != s->key)
		return tw_reject(s, "uses another key than the one created");
	if (!(audit->attrs & TPMA_SESSION_AUDITEXCLUSIVE))
		return tw_reject(s, "not run under auditExclusive");
	if (tw_take_point(s->cv.params, s->cv.params_len, out->zgen_in))
		return tw_malformed(s, "malformed inPoint");
	if (tw_take_point(s->rv.params, s->rv.params_len, z))
		return tw_malformed(s, "malformed outPoint");
	memcpy(out->z, z + 1, 32);
	out->zgen_index = s->i;
	s->phase = TW_PH_ZGEN;
	return TW_OK;
}

/*
 * What the unaudited GetSessionAuditDigest asked for must be what the
 * signed TPMS_ATTEST says: its qualifyingData as extraData, the AK's
 * qualified name (Part 1, Names: H(hierarchy || name) for a
 * primary) as qualifiedSigner, and the AK's own scheme.
 */
static enum tw_code tw_attest_command(struct tw_replay_state *s, const struct tw_object *ak)
{
	const TPMS_ATTEST *a = &s->out->attest_info;
	const uint8_t *p = s->cv.params, *q;
	size_t len = s->cv.params_len, off = 0;
	uint8_t h[4], qn[34];
	unsigned int dlen = 0;
	uint16_t n, scheme;

	if (tw_2b(p, len, &off, &q, &n) || Tss2_MU_UINT16_Unmarshal(p, len, &off, &scheme) ||
	    off != len || scheme != TPM2_ALG_NULL)
		return tw_malformed(s, "malformed parameters");
	if (n != a->extraData.size || memcmp(q, a->extraData.buffer, n))
		return tw_reject_as(s, TW_AUDIT_FAULT_ATTEST,
				    "qualifyingData differs from the attestation's extraData");
	tw_put32(h, TPM2_RH_ENDORSEMENT);
	qn[0] = 0x00;
	qn[1] = TPM2_ALG_SHA256;
	if (!EVP_DigestInit_ex(s->md, tw_sha256(), NULL) || !EVP_DigestUpdate(s->md, h, 4) ||
	    !EVP_DigestUpdate(s->md, ak->name.buf, ak->name.len) ||
	    !EVP_DigestFinal_ex(s->md, qn + 2, &dlen))
		return tw_status_set(s->st, TW_E_NOMEM, "audit replay: OpenSSL digest failed");
	if (a->qualifiedSigner.size != sizeof(qn) || memcmp(a->qualifiedSigner.name, qn, sizeof(qn)))
		return tw_reject_as(s, TW_AUDIT_FAULT_ATTEST,
				    "the attestation's signer is not the AK");
	return TW_OK;
}

/*
 * TPM2_GetSessionAuditDigest (Part 3 18.5): names the audit session as
 * sessionHandle and is not itself audited by it.
 */
static enum tw_code tw_attest(struct tw_replay_state *s)
{
	struct tw_audit_replay *out = s->out;
	const uint8_t *p = s->rv.params, *b;
	size_t len = s->rv.params_len, off = 0, sig_off, inner = 0;
	enum tw_code code;
	uint16_t n;

	struct tw_object *ak = tw_object_find(s, s->cv.handles[1]);

	if (s->cv.handles[0] != TPM2_RH_ENDORSEMENT || s->cv.handles[2] != out->session)
		return tw_reject_as(
			s, TW_AUDIT_FAULT_ATTEST,
			"does not report the audit session to the endorsement hierarchy");
	if (!ak || ak->hierarchy != TPM2_RH_ENDORSEMENT)
		return tw_reject_as(s, TW_AUDIT_FAULT_ATTEST,
				    "signing key is not the AK made in the log");
	if (tw_2b(p, len, &off, &b, &n) || n == 0 || n > sizeof(out->attest))
		return tw_malformed(s, "malformed auditInfo");
	memcpy(out->attest, b, n);
	out->attest_len = n;
	memset(&out->attest_info, 0, sizeof(out->attest_info));
	if (Tss2_MU_TPMS_ATTEST_Unmarshal(out->attest, n, &inner, &out->attest_info) ||
	    inner != n || out->attest_info.type != TPM2_ST_ATTEST_SESSION_AUDIT)
		return tw_reject_as(s, TW_AUDIT_FAULT_ATTEST,
				    "auditInfo is not a session audit TPMS_ATTEST");
	sig_off = off;
	memset(&out->signature_info, 0, sizeof(out->signature_info));
	if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(p, len, &off, &out->signature_info) || off != len ||
	    off - sig_off > sizeof(out->signature))
		return tw_malformed(s, "malformed signature");
	memcpy(out->signature, p + sig_off, off - sig_off);
	out->signature_len = off - sig_off;
	code = tw_attest_command(s, ak);
	if (code != TW_OK)
		return code;
	out->sign_handle = s->cv.handles[1];
	memcpy(out->digest_at_attest, out->digest, 32);
	out->attest_index = s->i;
	s->phase = TW_PH_ATTESTED;
	return TW_OK;
}

/*
 * The attestation must report what the log shows: the audit session's
 * digest up to the entry before it, over SHA-256.
 */
static enum tw_code tw_check_attested(struct tw_replay_state *s)
{
	const TPMS_SESSION_AUDIT_INFO *a = &s->out->attest_info.attested.sessionAudit;

	if (a->sessionDigest.size != 32 ||
	    memcmp(a->sessionDigest.buffer, s->out->digest_at_attest, 32)) {
		s->out->fault = TW_AUDIT_FAULT_DIGEST;
		return tw_status_set(s->st, TW_E_PROOF,
				     "the attested session digest differs from the replayed one");
	}
	return TW_OK;
}

/* TPM2_FlushContext: only before the reset or after the attestation. */
static enum tw_code tw_flush(struct tw_replay_state *s)
{
	uint32_t h;
	size_t off = 0;

	if (Tss2_MU_UINT32_Unmarshal(s->cv.params, s->cv.params_len, &off, &h) ||
	    off != s->cv.params_len || s->rv.params_len != 0)
		return tw_malformed(s, "malformed");
	if (s->phase != TW_PH_SETUP && s->phase != TW_PH_ATTESTED)
		return tw_reject(s, "flushes inside the audited sequence");
	if (!tw_object_find(s, h) && !tw_session_find(s, h))
		return tw_reject(s, "flushes a handle the log did not create");
	return TW_OK;
}

/* Which command may come in which phase, and whether it must be audited. */
static enum tw_code tw_step(struct tw_replay_state *s, const struct tw_auth *audit)
{
	uint32_t cc = s->cv.cc;

	switch (s->phase) {
	case TW_PH_SETUP:
		/* The set-up is not audited; the first audited command creates the key. */
		if (audit && (audit->attrs & TPMA_SESSION_AUDITRESET) &&
		    cc == TPM2_CC_CreateLoaded)
			return tw_create_loaded(s);
		if (audit && (audit->attrs & TPMA_SESSION_AUDITRESET) && cc == TPM2_CC_Create)
			return tw_create(s);
		if (audit)
			break;
		if (cc == TPM2_CC_StartAuthSession)
			return tw_start_session(s);
		if (cc == TPM2_CC_CreatePrimary)
			return tw_create_primary(s);
		if (cc == TPM2_CC_FlushContext)
			return tw_flush(s);
		break;
	case TW_PH_LOAD:
		if (cc == TPM2_CC_Load && audit)
			return tw_load(s);
		break;
	case TW_PH_KEY:
	case TW_PH_ZGEN:
		if (cc == TPM2_CC_Hash && audit)
			return tw_commit(s);
		if (cc == TPM2_CC_ECDH_ZGen && audit && s->phase == TW_PH_KEY)
			return tw_zgen(s, audit);
		if (cc == TPM2_CC_GetSessionAuditDigest && !audit)
			return tw_attest(s);
		break;
	case TW_PH_ATTESTED:
		if (cc == TPM2_CC_FlushContext)
			return tw_flush(s);
		break;
	}
	if (s->phase != TW_PH_SETUP && s->phase != TW_PH_ATTESTED && !audit &&
	    cc != TPM2_CC_GetSessionAuditDigest)
		return tw_reject(s, "between the audit reset and the attestation but not audited");
	return tw_reject(s, "not allowed at this point of the proving sequence");
}

/*
 * Part 1, Response Structure: a command that failed ran nothing and extends no
 * digest.  The log may hold the failures the sequence itself handles:
 * the TPM's requests to send a command again, and CreateLoaded refused
 * by a TPM that lacks it, before the reset.
 */
static enum tw_code tw_failed(struct tw_replay_state *s)
{
	uint32_t rc = s->rv.rc;

	if (rc == TPM2_RC_RETRY || rc == TPM2_RC_YIELDED || rc == TPM2_RC_TESTING)
		return TW_OK;
	if (rc == TPM2_RC_COMMAND_CODE && s->cv.cc == TPM2_CC_CreateLoaded &&
	    s->phase == TW_PH_SETUP)
		return TW_OK;
	return tw_reject(s, "failed, and the sequence never keeps a failed command");
}

/*
 * Extend the digest with one audited entry (Part 1, Session Audit) and
 * check the audit session's HMACs (Part 1 section 19.6.5).  The session
 * is unbound and unsalted and authorizes nothing, so its HMAC key is
 * empty: anyone can compute these HMACs, and they prove nothing to a
 * verifier.  Checking them makes every byte of an audited entry's
 * authorization area count, so a corrupted log is rejected here.
 */
static enum tw_code tw_extend(struct tw_replay_state *s, const struct tw_auth *audit)
{
	int k = tw_session_find(s, audit->handle) - 1;
	const struct tw_auth *ra = &s->rv.auths[audit - s->cv.auths];
	struct tw_name names[TW_MAX_HANDLES];
	uint8_t cp[32], rp[32], hmac[32];
	enum tw_code code;

	code = tw_names(s, names);
	if (code != TW_OK)
		return code;
	if (tw_cp_hash(s->md, s->cv.cc, names, s->cv.nhandles, s->cv.params, s->cv.params_len,
		       cp) ||
	    tw_rp_hash(s->md, s->rv.rc, s->cv.cc, s->rv.params, s->rv.params_len, rp))
		goto out_crypto;

	if (tw_hmac(s->md, NULL, 0, cp, 32, audit->nonce, audit->nonce_len,
		    s->sessions[k].nonce_tpm, s->sessions[k].nonce_len, &audit->attrs, 1, hmac))
		goto out_crypto;
	if (audit->hmac_len != 32 || CRYPTO_memcmp(hmac, audit->hmac, 32))
		return tw_reject_as(s, TW_AUDIT_FAULT_CHAIN,
				    "command HMAC of the audit session does not match");
	if (ra->nonce_len < 16 ||
	    tw_hmac(s->md, NULL, 0, rp, 32, ra->nonce, ra->nonce_len, audit->nonce,
		    audit->nonce_len, &ra->attrs, 1, hmac))
		return tw_malformed(s, "malformed audit session response");
	if (ra->hmac_len != 32 || CRYPTO_memcmp(hmac, ra->hmac, 32))
		return tw_reject_as(s, TW_AUDIT_FAULT_CHAIN,
				    "response HMAC of the audit session does not match");
	memcpy(s->sessions[k].nonce_tpm, ra->nonce, ra->nonce_len);
	s->sessions[k].nonce_len = ra->nonce_len;

	if (tw_audit_extend(s->md, s->out->digest, cp, rp))
		goto out_crypto;
	s->out->audited++;
	return TW_OK;

out_crypto:
	return tw_status_set(s->st, TW_E_NOMEM, "audit replay: OpenSSL digest failed");
}

static enum tw_code tw_replay_entry(struct tw_replay_state *s)
{
	const struct tw_audit_entry *e = &s->log->entries[s->i];
	struct tw_audit_replay *out = s->out;
	const struct tw_auth *audit;
	struct tw_status why;
	enum tw_code code;

	if (!e->cmd || !e->rsp)
		return tw_malformed(s, "missing bytes");
	code = tw_cmd_parse(e->cmd, e->cmd_len, &s->cv, &why);
	/* A well-framed command that the sequence never sends breaks its shape. */
	if (code != TW_OK && e->cmd_len >= 10 && tw_get32(e->cmd + 2) == e->cmd_len &&
	    !tw_cc_lookup(tw_get32(e->cmd + 6))) {
		out->fault = TW_AUDIT_FAULT_SEQUENCE;
		return tw_status_set(s->st, TW_E_PROOF, "audit log entry %zu: %s", s->i, why.msg);
	}
	if (code == TW_OK)
		code = tw_rsp_parse(e->rsp, e->rsp_len, &s->cv, &s->rv, &why);
	if (code != TW_OK) {
		out->fault = TW_AUDIT_FAULT_FRAMING;
		return tw_status_set(s->st, TW_E_PROOF, "audit log entry %zu: %s", s->i, why.msg);
	}
	code = tw_sessions(s, &audit);
	if (code != TW_OK)
		return code;
	if (s->rv.rc != TPM2_RC_SUCCESS)
		return tw_failed(s);
	code = tw_pw_responses(s);
	if (code != TW_OK)
		return code;

	if (audit && s->phase == TW_PH_SETUP) {
		/* The first audited command must reset the digest of a session the log started. */
		if (!tw_session_find(s, audit->handle))
			return tw_reject(s, "audit session was not started in the log");
		if (!(audit->attrs & TPMA_SESSION_AUDITRESET))
			return tw_reject(s, "first audited command does not carry auditReset");
		out->session = audit->handle;
		out->reset_index = s->i;
		memset(out->digest, 0, sizeof(out->digest));
	} else if (audit) {
		if (audit->handle != out->session)
			return tw_reject(s, "audited by another session");
		if (audit->attrs & TPMA_SESSION_AUDITRESET)
			return tw_reject(s, "resets the audit digest a second time");
	}

	code = tw_step(s, audit);
	if (code != TW_OK || !audit)
		return code;
	return tw_extend(s, audit);
}

enum tw_code tw_audit_replay(const struct tw_audit_log *log, struct tw_audit_replay *out,
			     struct tw_status *st)
{
	struct tw_replay_state s;
	struct tw_status local;
	enum tw_code code = TW_OK;

	if (!log || !out || (log->count && !log->entries))
		return tw_status_set(st, TW_E_USAGE, "audit replay: no log");
	memset(out, 0, sizeof(*out));
	out->reset_index = TW_AUDIT_NONE;
	out->create_index = TW_AUDIT_NONE;
	out->zgen_index = TW_AUDIT_NONE;
	out->attest_index = TW_AUDIT_NONE;
	memset(&s, 0, sizeof(s));
	s.log = log;
	s.out = out;
	s.st = st ? st : &local;
	s.md = EVP_MD_CTX_new();
	if (!s.md)
		return tw_status_set(st, TW_E_NOMEM, "audit replay: out of memory");

	for (s.i = 0; s.i < log->count && code == TW_OK; s.i++)
		code = tw_replay_entry(&s);
	if (code == TW_OK && (s.phase == TW_PH_SETUP || s.phase == TW_PH_LOAD))
		out->fault = TW_AUDIT_FAULT_SEQUENCE;
	if (code == TW_OK && s.phase == TW_PH_SETUP)
		code = tw_status_set(st, TW_E_PROOF, "audit log has no auditReset command");
	if (code == TW_OK && s.phase == TW_PH_LOAD)
		code = tw_status_set(st, TW_E_PROOF, "audit log ends between Create and Load");
	if (code == TW_OK && out->attest_index != TW_AUDIT_NONE)
		code = tw_check_attested(&s);
	EVP_MD_CTX_free(s.md);
	return code;
}
