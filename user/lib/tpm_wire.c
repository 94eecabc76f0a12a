// SPDX-License-Identifier: BSD-2-Clause
/*
 * TPM 2.0 command and response framing, names and the hashes of session
 * audit.  Every read goes through tss2-mu, which checks bounds; the
 * parsers here add the structure rules of TPM 2.0 Part 1, Command/Response
 * Structure.
 */
#include <pthread.h>
#include <string.h>
#include <tss2/tss2_mu.h>
#include "tpm_wire.h"

/*
 * SHA-256 fetched once: tw_sha256() makes OpenSSL 3 look the algorithm
 * up again at every EVP_DigestInit_ex(), a measurable part of the few
 * microseconds an audited command costs the library.
 */
static EVP_MD *tw_sha256_md;
static pthread_once_t tw_sha256_once = PTHREAD_ONCE_INIT;

static void tw_sha256_fetch(void)
{
	tw_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *tw_sha256(void)
{
	pthread_once(&tw_sha256_once, tw_sha256_fetch);
	return tw_sha256_md ? tw_sha256_md : EVP_sha256();
}

/* The command codes of the proving sequence (DESIGN.md section 2), Part 3. */
static const struct tw_cc_info tw_ccs[] = {
	{ TPM2_CC_StartAuthSession, "StartAuthSession", 2, 1 },
	{ TPM2_CC_CreatePrimary, "CreatePrimary", 1, 1 },
	{ TPM2_CC_CreateLoaded, "CreateLoaded", 1, 1 },
	{ TPM2_CC_Create, "Create", 1, 0 },
	{ TPM2_CC_Load, "Load", 1, 1 },
	{ TPM2_CC_Hash, "Hash", 0, 0 },
	{ TPM2_CC_ECDH_ZGen, "ECDH_ZGen", 1, 0 },
	{ TPM2_CC_GetSessionAuditDigest, "GetSessionAuditDigest", 3, 0 },
	{ TPM2_CC_FlushContext, "FlushContext", 0, 0 },
};

const struct tw_cc_info *tw_cc_lookup(uint32_t cc)
{
	size_t i;

	for (i = 0; i < sizeof(tw_ccs) / sizeof(tw_ccs[0]); i++)
		if (tw_ccs[i].cc == cc)
			return &tw_ccs[i];
	return NULL;
}

/* A TPM2B of bytes inside @buf: a 16-bit size, then that many bytes. */
static int tw_take_2b(const uint8_t *buf, size_t len, size_t *off, const uint8_t **p,
		      uint16_t *n, uint16_t max)
{
	if (Tss2_MU_UINT16_Unmarshal(buf, len, off, n) != TSS2_RC_SUCCESS)
		return -1;
	if (*n > max || len - *off < *n)
		return -1;
	*p = buf + *off;
	*off += *n;
	return 0;
}

/* One authorization entry (Part 1, Authorization Area): handle only on the command side. */
static int tw_take_auth(const uint8_t *buf, size_t len, size_t *off, int with_handle,
			struct tw_auth *a)
{
	memset(a, 0, sizeof(*a));
	if (with_handle && Tss2_MU_UINT32_Unmarshal(buf, len, off, &a->handle))
		return -1;
	if (tw_take_2b(buf, len, off, &a->nonce, &a->nonce_len, sizeof(TPMU_HA)))
		return -1;
	if (Tss2_MU_UINT8_Unmarshal(buf, len, off, &a->attrs))
		return -1;
	return tw_take_2b(buf, len, off, &a->hmac, &a->hmac_len, sizeof(TPMU_HA));
}

enum tw_code tw_cmd_parse(const uint8_t *buf, size_t len, struct tw_cmd_view *v,
			  struct tw_status *st)
{
	size_t off = 0, auth_end;
	uint32_t size, auth_size;
	unsigned int i;

	memset(v, 0, sizeof(*v));
	if (Tss2_MU_UINT16_Unmarshal(buf, len, &off, &v->tag) ||
	    Tss2_MU_UINT32_Unmarshal(buf, len, &off, &size) ||
	    Tss2_MU_UINT32_Unmarshal(buf, len, &off, &v->cc))
		return tw_status_set(st, TW_E_PROOF, "command shorter than its header");
	if (size != len)
		return tw_status_set(st, TW_E_PROOF, "command size field %u but %zu bytes", size,
				     len);
	if (v->tag != TPM2_ST_NO_SESSIONS && v->tag != TPM2_ST_SESSIONS)
		return tw_status_set(st, TW_E_PROOF, "command tag 0x%x is not a command tag",
				     v->tag);
	v->info = tw_cc_lookup(v->cc);
	if (!v->info)
		return tw_status_set(st, TW_E_PROOF,
				     "command code 0x%x is not part of the proving sequence", v->cc);

	v->nhandles = v->info->cmd_handles;
	for (i = 0; i < v->nhandles; i++)
		if (Tss2_MU_UINT32_Unmarshal(buf, len, &off, &v->handles[i]))
			return tw_status_set(st, TW_E_PROOF, "%s: handle area truncated",
					     v->info->name);

	if (v->tag == TPM2_ST_SESSIONS) {
		if (Tss2_MU_UINT32_Unmarshal(buf, len, &off, &auth_size) ||
		    auth_size > len - off)
			return tw_status_set(st, TW_E_PROOF,
					     "%s: authorization size runs past the command",
					     v->info->name);
		auth_end = off + auth_size;
		while (off < auth_end) {
			if (v->nauths == TW_MAX_SESSIONS)
				return tw_status_set(st, TW_E_PROOF, "%s: more than %d sessions",
						     v->info->name, TW_MAX_SESSIONS);
			if (tw_take_auth(buf, auth_end, &off, 1, &v->auths[v->nauths++]))
				return tw_status_set(st, TW_E_PROOF,
						     "%s: malformed authorization entry",
						     v->info->name);
		}
		if (v->nauths == 0)
			return tw_status_set(st, TW_E_PROOF,
					     "%s: session tag with an empty authorization area",
					     v->info->name);
	}
	v->params = buf + off;
	v->params_len = len - off;
	return TW_OK;
}

enum tw_code tw_rsp_parse(const uint8_t *buf, size_t len, const struct tw_cmd_view *cmd,
			  struct tw_rsp_view *v, struct tw_status *st)
{
	const char *name = cmd->info->name;
	size_t off = 0, param_end;
	uint32_t size, param_size;

	memset(v, 0, sizeof(*v));
	if (Tss2_MU_UINT16_Unmarshal(buf, len, &off, &v->tag) ||
	    Tss2_MU_UINT32_Unmarshal(buf, len, &off, &size) ||
	    Tss2_MU_UINT32_Unmarshal(buf, len, &off, &v->rc))
		return tw_status_set(st, TW_E_PROOF, "%s: response shorter than its header", name);
	if (size != len)
		return tw_status_set(st, TW_E_PROOF, "%s: response size field %u but %zu bytes",
				     name, size, len);
	if (v->rc != TPM2_RC_SUCCESS) {
		/* Part 1, Response Structure: an error response is the header alone. */
		if (v->tag != TPM2_ST_NO_SESSIONS || len != off)
			return tw_status_set(st, TW_E_PROOF, "%s: malformed error response", name);
		return TW_OK;
	}
	if (v->tag != cmd->tag)
		return tw_status_set(st, TW_E_PROOF, "%s: response tag 0x%x for command tag 0x%x",
				     name, v->tag, cmd->tag);
	if (cmd->info->rsp_handles &&
	    Tss2_MU_UINT32_Unmarshal(buf, len, &off, &v->handle))
		return tw_status_set(st, TW_E_PROOF, "%s: response handle truncated", name);

	if (v->tag == TPM2_ST_NO_SESSIONS) {
		v->params = buf + off;
		v->params_len = len - off;
		return TW_OK;
	}
	if (Tss2_MU_UINT32_Unmarshal(buf, len, &off, &param_size) || param_size > len - off)
		return tw_status_set(st, TW_E_PROOF, "%s: parameter size runs past the response",
				     name);
	v->params = buf + off;
	v->params_len = param_size;
	param_end = off + param_size;
	off = param_end;
	while (off < len) {
		if (v->nauths == cmd->nauths)
			return tw_status_set(st, TW_E_PROOF,
					     "%s: more response sessions than command sessions",
					     name);
		if (tw_take_auth(buf, len, &off, 0, &v->auths[v->nauths++]))
			return tw_status_set(st, TW_E_PROOF,
					     "%s: malformed response authorization entry", name);
	}
	if (v->nauths != cmd->nauths)
		return tw_status_set(st, TW_E_PROOF, "%s: %u response sessions for %u in the command",
				     name, v->nauths, cmd->nauths);
	return TW_OK;
}

void tw_name_of_handle(struct tw_name *n, uint32_t handle)
{
	tw_put32(n->buf, handle);
	n->len = 4;
}

/* The size field of a TPM2B at @raw, which must be followed by exactly that many bytes. */
static int tw_2b_fills(const uint8_t *raw, size_t len)
{
	return len >= 2 && ((size_t)raw[0] << 8 | raw[1]) == len - 2 ? 0 : -1;
}

int tw_public_exact(const uint8_t *raw, size_t len, TPM2B_PUBLIC *out)
{
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	if (!raw || tw_2b_fills(raw, len) ||
	    Tss2_MU_TPMT_PUBLIC_Unmarshal(raw + 2, len - 2, &off, &out->publicArea) ||
	    off != len - 2)
		return -1;
	out->size = (uint16_t)(len - 2);
	return 0;
}

int tw_point_exact(const uint8_t *raw, size_t len, TPM2B_ECC_POINT *out)
{
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	if (!raw || tw_2b_fills(raw, len) ||
	    Tss2_MU_TPMS_ECC_POINT_Unmarshal(raw + 2, len - 2, &off, &out->point) ||
	    off != len - 2)
		return -1;
	out->size = (uint16_t)(len - 2);
	return 0;
}

int tw_name_of_public(struct tw_name *n, EVP_MD_CTX *md, const uint8_t *pub, size_t len)
{
	unsigned int dlen = 0;

	/* TPMT_PUBLIC starts with type (2 bytes) and nameAlg (2 bytes). */
	if (len < 4 || pub[2] != 0x00 || pub[3] != TPM2_ALG_SHA256)
		return -1;
	n->buf[0] = 0x00;
	n->buf[1] = TPM2_ALG_SHA256;
	if (!EVP_DigestInit_ex(md, tw_sha256(), NULL) || !EVP_DigestUpdate(md, pub, len) ||
	    !EVP_DigestFinal_ex(md, n->buf + 2, &dlen))
		return -1;
	n->len = 2 + dlen;
	return 0;
}

int tw_cp_hash(EVP_MD_CTX *md, uint32_t cc, const struct tw_name *names, unsigned int nnames,
	       const uint8_t *params, size_t len, uint8_t out[32])
{
	uint8_t be[4];
	unsigned int i, dlen;

	tw_put32(be, cc);
	if (!EVP_DigestInit_ex(md, tw_sha256(), NULL) || !EVP_DigestUpdate(md, be, 4))
		return -1;
	for (i = 0; i < nnames; i++)
		if (!EVP_DigestUpdate(md, names[i].buf, names[i].len))
			return -1;
	if (!EVP_DigestUpdate(md, params, len) || !EVP_DigestFinal_ex(md, out, &dlen))
		return -1;
	return 0;
}

int tw_rp_hash(EVP_MD_CTX *md, uint32_t rc, uint32_t cc, const uint8_t *params, size_t len,
	       uint8_t out[32])
{
	uint8_t be[8];
	unsigned int dlen;

	tw_put32(be, rc);
	tw_put32(be + 4, cc);
	if (!EVP_DigestInit_ex(md, tw_sha256(), NULL) || !EVP_DigestUpdate(md, be, 8) ||
	    !EVP_DigestUpdate(md, params, len) || !EVP_DigestFinal_ex(md, out, &dlen))
		return -1;
	return 0;
}

int tw_audit_extend(EVP_MD_CTX *md, uint8_t digest[32], const uint8_t cp[32],
		    const uint8_t rp[32])
{
	unsigned int dlen;

	if (!EVP_DigestInit_ex(md, tw_sha256(), NULL) || !EVP_DigestUpdate(md, digest, 32) ||
	    !EVP_DigestUpdate(md, cp, 32) || !EVP_DigestUpdate(md, rp, 32) ||
	    !EVP_DigestFinal_ex(md, digest, &dlen))
		return -1;
	return 0;
}

/* RFC 2104 HMAC over SHA-256 (block 64 bytes), built on the reused digest context. */
int tw_hmac(EVP_MD_CTX *md, const uint8_t *key, size_t key_len, const uint8_t *p1, size_t l1,
	    const uint8_t *p2, size_t l2, const uint8_t *p3, size_t l3, const uint8_t *p4,
	    size_t l4, uint8_t out[32])
{
	uint8_t pad[64], inner[32];
	unsigned int i, dlen;

	if (key_len > sizeof(pad))
		return -1;
	memset(pad, 0, sizeof(pad));
	if (key_len)
		memcpy(pad, key, key_len);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36;
	if (!EVP_DigestInit_ex(md, tw_sha256(), NULL) || !EVP_DigestUpdate(md, pad, 64) ||
	    (p1 && !EVP_DigestUpdate(md, p1, l1)) || (p2 && !EVP_DigestUpdate(md, p2, l2)) ||
	    (p3 && !EVP_DigestUpdate(md, p3, l3)) || (p4 && !EVP_DigestUpdate(md, p4, l4)) ||
	    !EVP_DigestFinal_ex(md, inner, &dlen))
		return -1;
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	if (!EVP_DigestInit_ex(md, tw_sha256(), NULL) || !EVP_DigestUpdate(md, pad, 64) ||
	    !EVP_DigestUpdate(md, inner, 32) || !EVP_DigestFinal_ex(md, out, &dlen))
		return -1;
	return 0;
}
