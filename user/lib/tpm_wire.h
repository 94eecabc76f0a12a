/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internal: TPM 2.0 command and response framing shared by the window
 * (which builds commands) and the audit replay (which parses them).
 * TPM 2.0 Part 1, Command/Response Structure, and Part 3's command
 * layout: header, handles, authorization area, parameters.
 */
#ifndef TW_TPM_WIRE_H
#define TW_TPM_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>
#include <tlswitness/status.h>

#define TW_TPM_BUF	  4096	/* TPM2_MAX_COMMAND_SIZE of every TPM we target */
#define TW_MAX_HANDLES	  3
#define TW_MAX_SESSIONS	  3
#define TW_NONCE_LEN	  32	/* nonceCaller: the session hash's digest size */

/* What the proving sequence knows about each command code it sends. */
struct tw_cc_info {
	uint32_t cc;
	const char *name;
	uint8_t cmd_handles;	/* handles in the command's handle area */
	uint8_t rsp_handles;	/* handles in the response's handle area */
};

/* One authorization-area entry of a command or response (Part 1, Authorization Area). */
struct tw_auth {
	uint32_t handle;	/* command side only */
	const uint8_t *nonce;
	uint16_t nonce_len;
	uint8_t attrs;
	const uint8_t *hmac;
	uint16_t hmac_len;
};

struct tw_cmd_view {
	uint16_t tag;
	uint32_t cc;
	const struct tw_cc_info *info;
	uint32_t handles[TW_MAX_HANDLES];
	unsigned int nhandles;
	struct tw_auth auths[TW_MAX_SESSIONS];
	unsigned int nauths;
	const uint8_t *params;
	size_t params_len;
};

struct tw_rsp_view {
	uint16_t tag;
	uint32_t rc;
	uint32_t handle;	/* valid when info->rsp_handles is 1 and rc is success */
	const uint8_t *params;
	size_t params_len;
	struct tw_auth auths[TW_MAX_SESSIONS];
	unsigned int nauths;
};

/* tw_cc_lookup - the proving sequence's entry for @cc, or NULL. */
const struct tw_cc_info *tw_cc_lookup(uint32_t cc);

/* tw_cmd_parse - split a raw command; rejects unknown codes and stray bytes. */
enum tw_code tw_cmd_parse(const uint8_t *buf, size_t len, struct tw_cmd_view *v,
			  struct tw_status *st);
/*
 * tw_rsp_parse - split a raw response to the command @cmd; a successful
 * response carries exactly as many authorization entries as @cmd did.
 */
enum tw_code tw_rsp_parse(const uint8_t *buf, size_t len, const struct tw_cmd_view *cmd,
			  struct tw_rsp_view *v, struct tw_status *st);

/* A TPM object name: nameAlg || H(publicArea), or a 4-byte handle. */
struct tw_name {
	uint8_t buf[2 + 64];
	uint16_t len;
};

void tw_name_of_handle(struct tw_name *n, uint32_t handle);

/*
 * tw_public_exact, tw_point_exact - unmarshal a whole TPM2B_PUBLIC or
 * TPM2B_ECC_POINT that fills exactly @len bytes.  tss2-mu does not hold
 * the structure inside to the outer size field; these do.  0 or -1.
 */
int tw_public_exact(const uint8_t *raw, size_t len, TPM2B_PUBLIC *out);
int tw_point_exact(const uint8_t *raw, size_t len, TPM2B_ECC_POINT *out);
/* tw_name_of_public - name of a SHA-256 object from its raw TPMT_PUBLIC bytes. */
int tw_name_of_public(struct tw_name *n, EVP_MD_CTX *md, const uint8_t *pub, size_t len);

/*
 * Part 1, cpHash and rpHash, with SHA-256:
 *   cpHash = H(commandCode || names || parameters)
 *   rpHash = H(responseCode || commandCode || parameters)
 */
int tw_cp_hash(EVP_MD_CTX *md, uint32_t cc, const struct tw_name *names, unsigned int nnames,
	       const uint8_t *params, size_t len, uint8_t out[32]);
int tw_rp_hash(EVP_MD_CTX *md, uint32_t rc, uint32_t cc, const uint8_t *params, size_t len,
	       uint8_t out[32]);
/* Part 1, Session Audit: digest = H(digest || cpHash || rpHash). */
int tw_audit_extend(EVP_MD_CTX *md, uint8_t digest[32], const uint8_t cp[32],
		    const uint8_t rp[32]);
/* SHA-256 for EVP_DigestInit_ex, fetched once per process. */
const EVP_MD *tw_sha256(void);
/* HMAC-SHA-256 over up to four pieces (NULL pieces skipped), key at most 64 bytes. */
int tw_hmac(EVP_MD_CTX *md, const uint8_t *key, size_t key_len, const uint8_t *p1, size_t l1,
	    const uint8_t *p2, size_t l2, const uint8_t *p3, size_t l3, const uint8_t *p4,
	    size_t l4, uint8_t out[32]);

static inline uint32_t tw_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void tw_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

#endif
