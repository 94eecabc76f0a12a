/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Raw TPM 2.0 commands for the tpmreserve kselftests: enough to run an
 * audited exclusive sequence, make a signing key and list handles, on
 * /dev/tpmreserve0 or /dev/tpmrm0.  Header-only so every test shares it.
 * Structure references are to TPM 2.0 Library Part 2 (structures) and
 * Part 3 (commands); the HMAC of Part 1, 19.6.
 */
#ifndef TPM_HELPERS_H
#define TPM_HELPERS_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <linux/tpmreserve.h>

#define TPM_MAX_CMD		4096
#define TPM_HDR			10

#define TPM_ST_NO_SESSIONS	0x8001
#define TPM_ST_SESSIONS		0x8002

#define TPM_CC_CREATE_PRIMARY		0x0131
#define TPM_CC_SEQUENCE_COMPLETE	0x013E
#define TPM_CC_CREATE			0x0153
#define TPM_CC_LOAD			0x0157
#define TPM_CC_CONTEXT_LOAD		0x0161
#define TPM_CC_CONTEXT_SAVE		0x0162
#define TPM_CC_FLUSH_CONTEXT		0x0165
#define TPM_CC_READ_PUBLIC		0x0173
#define TPM_CC_START_AUTH_SESSION	0x0176
#define TPM_CC_GET_CAPABILITY		0x017A
#define TPM_CC_GET_RANDOM		0x017B
#define TPM_CC_GET_SESSION_AUDIT_DIGEST	0x014D
#define TPM_CC_STARTUP			0x0144
#define TPM_CC_SHUTDOWN			0x0145
#define TPM_CC_EVENT_SEQUENCE_COMPLETE	0x0185
#define TPM_CC_HASH_SEQUENCE_START	0x0186
#define TPM_CC_CREATE_LOADED		0x0191

#define TPM_RH_OWNER		0x40000001
#define TPM_RH_NULL		0x40000007
#define TPM_RH_ENDORSEMENT	0x4000000B
#define TPM_RS_PW		0x40000009

#define TPM_RC_SUCCESS		0x000
#define TPM_RC_EXCLUSIVE	0x121
#define TPM_RC_HANDLE		0x08B	/* format 1: the parameter number is or'ed in */

#define TPM_HT_LOADED_SESSION	0x02000000
#define TPM_HT_SAVED_SESSION	0x03000000
#define TPM_HT_TRANSIENT	0x80000000

/* Part 2, 8.4: TPMA_SESSION. */
#define TPMA_SESSION_CONTINUE	0x01
#define TPMA_SESSION_EXCLUSIVE	0x02
#define TPMA_SESSION_RESET	0x04
#define TPMA_SESSION_AUDIT	0x80

/* Part 2, 10.12.8: TPMS_ATTEST magic and the session audit type. */
#define TPM_GENERATED_VALUE	0xff544347
#define TPM_ST_ATTEST_SESSION_AUDIT 0x8016

struct tpm_cmd {
	uint8_t b[TPM_MAX_CMD];
	size_t n;
};

static inline void put8(struct tpm_cmd *c, uint8_t v)
{
	if (c->n < sizeof(c->b))
		c->b[c->n++] = v;
}

static inline void put16(struct tpm_cmd *c, uint16_t v)
{
	put8(c, v >> 8);
	put8(c, v);
}

static inline void put32(struct tpm_cmd *c, uint32_t v)
{
	put16(c, v >> 16);
	put16(c, v);
}

static inline void put_bytes(struct tpm_cmd *c, const void *p, size_t len)
{
	if (c->n + len <= sizeof(c->b)) {
		memcpy(c->b + c->n, p, len);
		c->n += len;
	}
}

static inline void put_tpm2b(struct tpm_cmd *c, const void *p, uint16_t len)
{
	put16(c, len);
	put_bytes(c, p, len);
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void cmd_start(struct tpm_cmd *c, uint16_t tag, uint32_t cc)
{
	c->n = 0;
	put16(c, tag);
	put32(c, 0);
	put32(c, cc);
}

/* Part 3, 5.2: fill in commandSize once the command is complete. */
static inline void cmd_finish(struct tpm_cmd *c)
{
	c->b[2] = c->n >> 24;
	c->b[3] = c->n >> 16;
	c->b[4] = c->n >> 8;
	c->b[5] = c->n;
}

static inline uint32_t rsp_code(const uint8_t *rsp)
{
	return get32(rsp + 6);
}

/*
 * Send a command and read its response.  Returns the response length, or
 * -errno of the failing write or read.
 */
static inline ssize_t tpm_xfer(int fd, const struct tpm_cmd *c, uint8_t *rsp, size_t cap)
{
	ssize_t n;

	n = write(fd, c->b, c->n);
	if (n < 0)
		return -errno;
	if ((size_t)n != c->n)
		return -EIO;
	n = read(fd, rsp, cap);
	if (n < 0)
		return -errno;
	if (n < TPM_HDR)
		return -EIO;
	return n;
}

/*
 * Send @c and read its response: the TPM's response code, or -errno of
 * the transfer.  On success, the response's first handle goes to
 * *@handle when @handle is not NULL (commands that create one).
 */
static inline int64_t tpm_call(int fd, const struct tpm_cmd *c, uint32_t *handle)
{
	uint8_t rsp[TPM_MAX_CMD];
	ssize_t n;

	n = tpm_xfer(fd, c, rsp, sizeof(rsp));
	if (n < 0)
		return n;
	if (handle && rsp_code(rsp) == TPM_RC_SUCCESS)
		*handle = get32(rsp + TPM_HDR);
	return rsp_code(rsp);
}

/* A password session with an empty password (Part 1, 19.8.4). */
static inline void put_pw_session(struct tpm_cmd *c)
{
	put32(c, TPM_RS_PW);
	put16(c, 0);
	put8(c, TPMA_SESSION_CONTINUE);
	put16(c, 0);
}

/* TPM2_GetRandom without sessions (Part 3, 16.1); returns the TPM's rc or -errno. */
static inline int64_t tpm_get_random(int fd, uint16_t bytes)
{
	struct tpm_cmd c;

	cmd_start(&c, TPM_ST_NO_SESSIONS, TPM_CC_GET_RANDOM);
	put16(&c, bytes);
	cmd_finish(&c);
	return tpm_call(fd, &c, NULL);
}

/* TPM2_FlushContext (Part 3, 28.4). */
static inline int64_t tpm_flush(int fd, uint32_t handle)
{
	struct tpm_cmd c;

	cmd_start(&c, TPM_ST_NO_SESSIONS, TPM_CC_FLUSH_CONTEXT);
	put32(&c, handle);
	cmd_finish(&c);
	return tpm_call(fd, &c, NULL);
}

/*
 * TPM2_GetCapability(TPM_CAP_HANDLES) from @first (Part 3, 30.2): the
 * number of handles of that type, at most @max stored in @out; -errno or
 * -1000 - rc on failure.
 */
static inline int tpm_list_handles(int fd, uint32_t first, uint32_t *out, int max)
{
	struct tpm_cmd c;
	uint8_t rsp[TPM_MAX_CMD];
	uint32_t count, i, h;
	ssize_t n;
	int found = 0;

	cmd_start(&c, TPM_ST_NO_SESSIONS, TPM_CC_GET_CAPABILITY);
	put32(&c, 1);		/* TPM_CAP_HANDLES */
	put32(&c, first);
	put32(&c, 64);
	cmd_finish(&c);
	n = tpm_xfer(fd, &c, rsp, sizeof(rsp));
	if (n < 0)
		return (int)n;
	if (rsp_code(rsp))
		return -1000 - (int)rsp_code(rsp);
	count = get32(rsp + TPM_HDR + 5);
	for (i = 0; i < count && TPM_HDR + 9 + 4 * (i + 1) <= (uint32_t)n; i++) {
		h = get32(rsp + TPM_HDR + 9 + 4 * i);
		/* Saved sessions are listed with their session type, 0x02 or 0x03. */
		if ((h & 0xff000000) != (first & 0xff000000) &&
		    !(first >> 24 == 0x03 && h >> 24 == 0x02))
			break;
		if (found < max && out)
			out[found] = h;
		found++;
	}
	return found;
}

/* Every transient object and session the TPM holds, saved or loaded. */
static inline int tpm_count_handles(int fd)
{
	int objs = tpm_list_handles(fd, TPM_HT_TRANSIENT, NULL, 0);
	int loaded = tpm_list_handles(fd, TPM_HT_LOADED_SESSION, NULL, 0);
	int saved = tpm_list_handles(fd, TPM_HT_SAVED_SESSION, NULL, 0);

	if (objs < 0 || loaded < 0 || saved < 0)
		return -1;
	return objs + loaded + saved;
}

/* TPMT_PUBLIC of an ECDSA P-256 signing key, restricted or not (Part 2, 12.2.4). */
static inline void put_signing_template(struct tpm_cmd *pub, int restricted)
{
	pub->n = 0;
	put16(pub, 0x0023);		/* TPM_ALG_ECC */
	put16(pub, 0x000B);		/* nameAlg SHA-256 */
	/* fixedTPM fixedParent sensitiveDataOrigin userWithAuth sign, restricted */
	put32(pub, restricted ? 0x00050072 : 0x00040072);
	put16(pub, 0);			/* authPolicy */
	put16(pub, 0x0010);		/* symmetric: TPM_ALG_NULL */
	put16(pub, 0x0018);		/* scheme: ECDSA */
	put16(pub, 0x000B);		/*   with SHA-256 */
	put16(pub, 0x0003);		/* curve NIST P-256 */
	put16(pub, 0x0010);		/* kdf: TPM_ALG_NULL */
	put16(pub, 0);			/* unique.x */
	put16(pub, 0);			/* unique.y */
}

/* TPMT_PUBLIC of a P-256 storage parent: restricted decrypt, AES-128-CFB. */
static inline void put_storage_template(struct tpm_cmd *pub)
{
	pub->n = 0;
	put16(pub, 0x0023);		/* TPM_ALG_ECC */
	put16(pub, 0x000B);		/* nameAlg SHA-256 */
	/* fixedTPM fixedParent sensitiveDataOrigin userWithAuth restricted decrypt */
	put32(pub, 0x00030072);
	put16(pub, 0);			/* authPolicy */
	put16(pub, 0x0006);		/* symmetric: AES */
	put16(pub, 128);		/*   128 bits */
	put16(pub, 0x0043);		/*   CFB */
	put16(pub, 0x0010);		/* scheme: TPM_ALG_NULL */
	put16(pub, 0x0003);		/* curve NIST P-256 */
	put16(pub, 0x0010);		/* kdf: TPM_ALG_NULL */
	put16(pub, 0);			/* unique.x */
	put16(pub, 0);			/* unique.y */
}

/*
 * TPM2_CreatePrimary (Part 3, 24.1) in @hierarchy from the template in
 * @pub.  Sets *handle; returns the TPM's rc or -errno.
 */
static inline int64_t tpm_create_primary(int fd, uint32_t hierarchy, const struct tpm_cmd *pub,
					 uint32_t *handle)
{
	struct tpm_cmd c;

	cmd_start(&c, TPM_ST_SESSIONS, TPM_CC_CREATE_PRIMARY);
	put32(&c, hierarchy);
	put32(&c, 9);
	put_pw_session(&c);
	put16(&c, 4);			/* inSensitive: empty userAuth and data */
	put16(&c, 0);
	put16(&c, 0);
	put_tpm2b(&c, pub->b, pub->n);
	put16(&c, 0);			/* outsideInfo */
	put32(&c, 0);			/* creationPCR: none */
	cmd_finish(&c);
	return tpm_call(fd, &c, handle);
}

/* A restricted ECDSA P-256 signing primary in @hierarchy. */
static inline int64_t tpm_create_signing_primary(int fd, uint32_t hierarchy, uint32_t *handle)
{
	struct tpm_cmd pub;

	put_signing_template(&pub, 1);
	return tpm_create_primary(fd, hierarchy, &pub, handle);
}

/* A P-256 storage parent in @hierarchy. */
static inline int64_t tpm_create_storage_primary(int fd, uint32_t hierarchy, uint32_t *handle)
{
	struct tpm_cmd pub;

	put_storage_template(&pub);
	return tpm_create_primary(fd, hierarchy, &pub, handle);
}

/* A key's outPrivate and outPublic from TPM2_Create, as TPM2B with their size fields. */
struct tpm_key_blobs {
	uint8_t priv[1024];
	size_t priv_len;
	uint8_t pub[1024];
	size_t pub_len;
};

/* Copy the TPM2B at @p (bounded by @end) into @out; returns its length with the size field. */
static inline ssize_t take_tpm2b(const uint8_t *p, const uint8_t *end, uint8_t *out, size_t cap)
{
	size_t len;

	if (p + 2 > end)
		return -EPROTO;
	len = 2 + get16(p);
	if (p + len > end || len > cap)
		return -EPROTO;
	memcpy(out, p, len);
	return len;
}

/*
 * TPM2_Create (Part 3, 12.1) of an unrestricted P-256 signing key under
 * @parent.  Fills @k; returns the TPM's rc, -errno or -EPROTO.
 */
static inline int64_t tpm_create_signing_key(int fd, uint32_t parent, struct tpm_key_blobs *k)
{
	struct tpm_cmd c, pub;
	uint8_t rsp[TPM_MAX_CMD];
	const uint8_t *p, *end;
	ssize_t n;

	put_signing_template(&pub, 0);
	cmd_start(&c, TPM_ST_SESSIONS, TPM_CC_CREATE);
	put32(&c, parent);
	put32(&c, 9);
	put_pw_session(&c);
	put16(&c, 4);			/* inSensitive: empty userAuth and data */
	put16(&c, 0);
	put16(&c, 0);
	put_tpm2b(&c, pub.b, pub.n);
	put16(&c, 0);			/* outsideInfo */
	put32(&c, 0);			/* creationPCR: none */
	cmd_finish(&c);
	n = tpm_xfer(fd, &c, rsp, sizeof(rsp));
	if (n < 0)
		return n;
	if (rsp_code(rsp))
		return rsp_code(rsp);

	p = rsp + TPM_HDR + 4;		/* parameterSize */
	end = rsp + n;
	n = take_tpm2b(p, end, k->priv, sizeof(k->priv));
	if (n < 0)
		return n;
	k->priv_len = n;
	n = take_tpm2b(p + n, end, k->pub, sizeof(k->pub));
	if (n < 0)
		return n;
	k->pub_len = n;
	return 0;
}

/* TPM2_Load (Part 3, 12.2) of @k under @parent.  Sets *handle; returns the rc or -errno. */
static inline int64_t tpm_load(int fd, uint32_t parent, const struct tpm_key_blobs *k,
			       uint32_t *handle)
{
	struct tpm_cmd c;

	cmd_start(&c, TPM_ST_SESSIONS, TPM_CC_LOAD);
	put32(&c, parent);
	put32(&c, 9);
	put_pw_session(&c);
	put_bytes(&c, k->priv, k->priv_len);
	put_bytes(&c, k->pub, k->pub_len);
	cmd_finish(&c);
	return tpm_call(fd, &c, handle);
}

/*
 * TPM2_CreateLoaded (Part 3, 12.9) of an unrestricted P-256 signing key
 * under @parent; the template is a TPMT_PUBLIC.  Sets *handle.
 */
static inline int64_t tpm_create_loaded(int fd, uint32_t parent, uint32_t *handle)
{
	struct tpm_cmd c, pub;

	put_signing_template(&pub, 0);
	cmd_start(&c, TPM_ST_SESSIONS, TPM_CC_CREATE_LOADED);
	put32(&c, parent);
	put32(&c, 9);
	put_pw_session(&c);
	put16(&c, 4);			/* inSensitive: empty userAuth and data */
	put16(&c, 0);
	put16(&c, 0);
	put_tpm2b(&c, pub.b, pub.n);
	cmd_finish(&c);
	return tpm_call(fd, &c, handle);
}

/* TPM2_ReadPublic (Part 3, 12.4) of @handle; returns the TPM's rc or -errno. */
static inline int64_t tpm_read_public(int fd, uint32_t handle)
{
	struct tpm_cmd c;

	cmd_start(&c, TPM_ST_NO_SESSIONS, TPM_CC_READ_PUBLIC);
	put32(&c, handle);
	cmd_finish(&c);
	return tpm_call(fd, &c, NULL);
}

/*
 * TPM2_HashSequenceStart (Part 3, 17.3) with an empty auth: SHA-256, or
 * an event sequence when @event.  Sets *handle; returns the rc or -errno.
 */
static inline int64_t tpm_hash_sequence_start(int fd, int event, uint32_t *handle)
{
	struct tpm_cmd c;

	cmd_start(&c, TPM_ST_NO_SESSIONS, TPM_CC_HASH_SEQUENCE_START);
	put16(&c, 0);				/* auth */
	put16(&c, event ? 0x0010 : 0x000B);	/* TPM_ALG_NULL or SHA-256 */
	cmd_finish(&c);
	return tpm_call(fd, &c, handle);
}

/* TPM2_SequenceComplete (Part 3, 17.5) of a hash sequence, with a last block. */
static inline int64_t tpm_sequence_complete(int fd, uint32_t seq)
{
	struct tpm_cmd c;

	cmd_start(&c, TPM_ST_SESSIONS, TPM_CC_SEQUENCE_COMPLETE);
	put32(&c, seq);
	put32(&c, 9);
	put_pw_session(&c);
	put_tpm2b(&c, "abc", 3);		/* buffer */
	put32(&c, TPM_RH_NULL);			/* hierarchy: no ticket */
	cmd_finish(&c);
	return tpm_call(fd, &c, NULL);
}

/*
 * TPM2_EventSequenceComplete (Part 3, 17.6) of an event sequence into no
 * PCR: handles pcrHandle then sequenceHandle, one password session each.
 */
static inline int64_t tpm_event_sequence_complete(int fd, uint32_t seq)
{
	struct tpm_cmd c;

	cmd_start(&c, TPM_ST_SESSIONS, TPM_CC_EVENT_SEQUENCE_COMPLETE);
	put32(&c, TPM_RH_NULL);			/* pcrHandle */
	put32(&c, seq);
	put32(&c, 2 * 9);
	put_pw_session(&c);
	put_pw_session(&c);
	put_tpm2b(&c, "abc", 3);		/* buffer */
	cmd_finish(&c);
	return tpm_call(fd, &c, NULL);
}

/* A saved context, TPMS_CONTEXT as the TPM marshals it. */
struct tpm_context {
	uint8_t b[2048];
	size_t n;
};

/* TPM2_ContextSave (Part 3, 28.2) of @handle into @ctx; returns the rc or -errno. */
static inline int64_t tpm_context_save(int fd, uint32_t handle, struct tpm_context *ctx)
{
	struct tpm_cmd c;
	uint8_t rsp[TPM_MAX_CMD];
	ssize_t n;

	cmd_start(&c, TPM_ST_NO_SESSIONS, TPM_CC_CONTEXT_SAVE);
	put32(&c, handle);
	cmd_finish(&c);
	n = tpm_xfer(fd, &c, rsp, sizeof(rsp));
	if (n < 0)
		return n;
	if (rsp_code(rsp))
		return rsp_code(rsp);
	if ((size_t)n - TPM_HDR > sizeof(ctx->b))
		return -EPROTO;
	ctx->n = n - TPM_HDR;
	memcpy(ctx->b, rsp + TPM_HDR, ctx->n);
	return 0;
}

/* TPM2_ContextLoad (Part 3, 28.3) of @ctx.  Sets *handle; returns the rc or -errno. */
static inline int64_t tpm_context_load(int fd, const struct tpm_context *ctx, uint32_t *handle)
{
	struct tpm_cmd c;

	cmd_start(&c, TPM_ST_NO_SESSIONS, TPM_CC_CONTEXT_LOAD);
	put_bytes(&c, ctx->b, ctx->n);
	cmd_finish(&c);
	return tpm_call(fd, &c, handle);
}

/* An HMAC session used for audit only (Part 1, 19.6 and 19.5.7). */
struct audit_session {
	uint32_t handle;
	uint8_t nonce_tpm[64];
	uint16_t nonce_tpm_len;
};

/*
 * TPM2_StartAuthSession (Part 3, 11.1): HMAC, unbound, unsalted, no
 * symmetric, SHA-256.  Returns the TPM's rc or -errno.
 */
static inline int64_t tpm_start_audit_session(int fd, struct audit_session *s)
{
	struct tpm_cmd c;
	uint8_t rsp[TPM_MAX_CMD], nonce[32];
	uint16_t len;
	ssize_t n;

	RAND_bytes(nonce, sizeof(nonce));
	cmd_start(&c, TPM_ST_NO_SESSIONS, TPM_CC_START_AUTH_SESSION);
	put32(&c, TPM_RH_NULL);		/* tpmKey */
	put32(&c, TPM_RH_NULL);		/* bind */
	put_tpm2b(&c, nonce, sizeof(nonce));
	put16(&c, 0);			/* encryptedSalt */
	put8(&c, 0x00);			/* TPM_SE_HMAC */
	put16(&c, 0x0010);		/* symmetric: TPM_ALG_NULL */
	put16(&c, 0x000B);		/* authHash SHA-256 */
	cmd_finish(&c);
	n = tpm_xfer(fd, &c, rsp, sizeof(rsp));
	if (n < 0)
		return n;
	if (rsp_code(rsp))
		return rsp_code(rsp);
	s->handle = get32(rsp + TPM_HDR);
	len = get16(rsp + TPM_HDR + 4);
	if (len > sizeof(s->nonce_tpm) || (size_t)TPM_HDR + 6 + len > (size_t)n)
		return -EIO;
	memcpy(s->nonce_tpm, rsp + TPM_HDR + 6, len);
	s->nonce_tpm_len = len;
	return 0;
}

/*
 * Append @s as an audit session to command @c, whose handles took
 * @handle_bytes after the header and whose parameters are @params.
 * Part 1, 19.6.5: the HMAC key is sessionKey || authValue, both empty for
 * an unbound, unsalted session that authorizes nothing; the HMAC covers
 * cpHash || nonceCaller || nonceTPM || sessionAttributes, and cpHash is
 * SHA-256(commandCode || parameters) when no handle is named.
 */
static inline void put_audit_session(struct tpm_cmd *c, const struct audit_session *s,
				     uint8_t attrs, const uint8_t *params, size_t params_len)
{
	uint8_t nonce[32], cp_hash[32], mac[32], cc[4];
	unsigned int mac_len = sizeof(mac);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t msg[32 + 32 + 64 + 1];
	size_t m = 0;

	memcpy(cc, c->b + 6, 4);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, cc, 4);
	EVP_DigestUpdate(md, params, params_len);
	EVP_DigestFinal_ex(md, cp_hash, NULL);
	EVP_MD_CTX_free(md);

	RAND_bytes(nonce, sizeof(nonce));
	memcpy(msg + m, cp_hash, 32);
	m += 32;
	memcpy(msg + m, nonce, 32);
	m += 32;
	memcpy(msg + m, s->nonce_tpm, s->nonce_tpm_len);
	m += s->nonce_tpm_len;
	msg[m++] = attrs;
	HMAC(EVP_sha256(), "", 0, msg, m, mac, &mac_len);

	put32(c, 4 + 2 + 32 + 1 + 2 + 32);	/* authorizationSize */
	put32(c, s->handle);
	put_tpm2b(c, nonce, 32);
	put8(c, attrs);
	put_tpm2b(c, mac, 32);
}

/* Take nonceTPM from a response with one session and @handles response handles. */
static inline int take_nonce(struct audit_session *s, const uint8_t *rsp, size_t n, int handles)
{
	size_t off = TPM_HDR + 4 * handles;
	uint16_t len;

	if (off + 4 > n)
		return -EIO;
	off += 4 + get32(rsp + off);	/* parameterSize, parameters */
	if (off + 2 > n)
		return -EIO;
	len = get16(rsp + off);
	if (len > sizeof(s->nonce_tpm) || off + 2 + len > n)
		return -EIO;
	memcpy(s->nonce_tpm, rsp + off + 2, len);
	s->nonce_tpm_len = len;
	return 0;
}

/*
 * TPM2_GetRandom audited by @s with @attrs (TPMA_SESSION_*).  Returns the
 * TPM's rc or -errno.
 */
static inline int64_t tpm_audited_get_random(int fd, struct audit_session *s, uint8_t attrs)
{
	struct tpm_cmd c;
	uint8_t rsp[TPM_MAX_CMD], params[2] = { 0, 16 };
	ssize_t n;

	cmd_start(&c, TPM_ST_SESSIONS, TPM_CC_GET_RANDOM);
	put_audit_session(&c, s, attrs, params, sizeof(params));
	put_bytes(&c, params, sizeof(params));
	cmd_finish(&c);
	n = tpm_xfer(fd, &c, rsp, sizeof(rsp));
	if (n < 0)
		return n;
	if (rsp_code(rsp))
		return rsp_code(rsp);
	return take_nonce(s, rsp, n, 0);
}

/*
 * TPM2_GetSessionAuditDigest (Part 3, 18.5) signed by @key; *exclusive
 * gets the attest's exclusiveSession (Part 2, 10.12.5).  Returns the TPM's
 * rc, -errno, or -EPROTO when the attest does not parse.
 */
static inline int64_t tpm_session_audit_digest(int fd, const struct audit_session *s,
					       uint32_t key, int *exclusive)
{
	struct tpm_cmd c;
	uint8_t rsp[TPM_MAX_CMD];
	const uint8_t *a, *end;
	ssize_t n;

	cmd_start(&c, TPM_ST_SESSIONS, TPM_CC_GET_SESSION_AUDIT_DIGEST);
	put32(&c, TPM_RH_ENDORSEMENT);	/* privacyAdminHandle */
	put32(&c, key);			/* signHandle */
	put32(&c, s->handle);		/* sessionHandle */
	put32(&c, 2 * 9);
	put_pw_session(&c);
	put_pw_session(&c);
	put16(&c, 0);			/* qualifyingData */
	put16(&c, 0x0010);		/* inScheme: the key's own */
	cmd_finish(&c);
	n = tpm_xfer(fd, &c, rsp, sizeof(rsp));
	if (n < 0)
		return n;
	if (rsp_code(rsp))
		return rsp_code(rsp);

	/* parameterSize, TPM2B_ATTEST { TPMS_ATTEST } */
	a = rsp + TPM_HDR + 4 + 2;
	end = rsp + n;
	if (a + 6 > end || get32(a) != TPM_GENERATED_VALUE ||
	    get16(a + 4) != TPM_ST_ATTEST_SESSION_AUDIT)
		return -EPROTO;
	a += 6;
	if (a + 2 > end)
		return -EPROTO;
	a += 2 + get16(a);		/* qualifiedSigner */
	if (a + 2 > end)
		return -EPROTO;
	a += 2 + get16(a);		/* extraData */
	a += 17 + 8;			/* clockInfo, firmwareVersion */
	if (a + 1 > end)
		return -EPROTO;
	*exclusive = a[0];
	return 0;
}

/* Begin a window on @fd; returns 0 or -errno. */
static inline int window_begin(int fd, unsigned int ms)
{
	struct tpmreserve_begin b = { .timeout_ms = ms };

	return ioctl(fd, TPMRESERVE_IOC_BEGIN, &b) ? -errno : 0;
}

/* End the window on @fd; returns 0 or -errno (the ioctl's). */
static inline int window_end(int fd, struct tpmreserve_end *res)
{
	struct tpmreserve_end dummy;

	return ioctl(fd, TPMRESERVE_IOC_END, res ? res : &dummy) ? -errno : 0;
}

#endif /* TPM_HELPERS_H */
