/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The audit log: raw TPM command and response bytes recorded in a window,
 * and their replay into a session audit digest (DESIGN.md sections 1, 5).
 * The replay is shared by the prover's self-check and the verifier.
 */
#ifndef TLSWITNESS_AUDIT_H
#define TLSWITNESS_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>
#include <tlswitness/status.h>

struct tw_audit_entry {
	uint8_t *cmd;
	size_t cmd_len;
	uint8_t *rsp;
	size_t rsp_len;
};

struct tw_audit_log {
	struct tw_audit_entry *entries;
	size_t count;
	size_t cap;
};

enum tw_code tw_audit_log_append(struct tw_audit_log *log, const uint8_t *cmd, size_t cmd_len,
				 const uint8_t *rsp, size_t rsp_len, struct tw_status *st);
void tw_audit_log_clear(struct tw_audit_log *log);

#define TW_AUDIT_NONE		((size_t)-1)	/* an index for "not in the log" */
#define TW_AUDIT_MAX_COMMITS	16

/* One commit: a TPM2_Hash whose data parameter is the committed digest. */
struct tw_audit_commit {
	size_t index;		/* log index of the command */
	uint8_t digest[32];
	int after_zgen;		/* 1 when it came after ECDH_ZGen */
};

/*
 * Which kind of rule a rejected log broke, so that a verifier can name the
 * check: set by tw_audit_replay() on every TW_E_PROOF it returns.
 */
enum tw_audit_fault {
	TW_AUDIT_FAULT_NONE = 0,
	TW_AUDIT_FAULT_FRAMING,		/* a buffer or parameter is malformed */
	TW_AUDIT_FAULT_CHAIN,		/* an HMAC, a name or a creation hash does not match */
	TW_AUDIT_FAULT_SEQUENCE,	/* a command out of the proving sequence's shape */
	TW_AUDIT_FAULT_KEY,		/* the created key is not a SHA-256 ECC P-256 object */
	TW_AUDIT_FAULT_ATTEST,		/* the attestation does not fit its command or AK */
	TW_AUDIT_FAULT_DIGEST,		/* the attested digest is not the replayed one */
};

/* What the replay learned from the log; filled by tw_audit_replay(). */
struct tw_audit_replay {
	enum tw_audit_fault fault;	/* why the log was rejected; NONE on success */
	uint8_t digest[32];	/* SHA-256 session audit digest after the last audited entry */
	size_t reset_index;	/* log index of the auditReset command */
	size_t audited;		/* number of audited entries */
	uint32_t session;	/* the audit session's handle */

	/* The storage parent (TPM2_CreatePrimary in TPM_RH_NULL) and the key created under it. */
	TPM2B_PUBLIC parent_public;
	TPM2B_PUBLIC key_public;
	uint8_t key_point[65];	/* the key's public point, uncompressed */
	size_t create_index;	/* CreateLoaded, or Create (then Load at create_index + 1) */

	/* ECDH_ZGen; zgen_index is TW_AUDIT_NONE when the log has none. */
	size_t zgen_index;
	uint8_t zgen_in[65];	/* the peer point, uncompressed */
	uint8_t z[32];		/* the X coordinate the TPM returned */

	struct tw_audit_commit commits[TW_AUDIT_MAX_COMMITS];
	size_t commit_count;

	/* The AK, when the log holds its TPM2_CreatePrimary in the endorsement hierarchy. */
	int have_ak_public;
	TPM2B_PUBLIC ak_public;

	/*
	 * TPM2_GetSessionAuditDigest; attest_index is TW_AUDIT_NONE when the
	 * log has none.  attest[] holds the signed TPMS_ATTEST bytes (the
	 * TPM2B_ATTEST contents), signature[] the marshalled TPMT_SIGNATURE.
	 * The signed sessionDigest covers the audited entries from
	 * reset_index up to the one before attest_index.
	 */
	size_t attest_index;
	uint32_t sign_handle;
	uint8_t digest_at_attest[32];	/* the replayed digest the attestation must carry */
	uint8_t attest[sizeof(TPMS_ATTEST)];
	size_t attest_len;
	TPMS_ATTEST attest_info;
	uint8_t signature[sizeof(TPMT_SIGNATURE)];
	size_t signature_len;
	TPMT_SIGNATURE signature_info;
};

/*
 * tw_audit_replay - recompute the session audit digest from @log alone.
 * Accepts only the command codes of the proving sequence and rejects
 * anything malformed with a reason in @st.  Documentation/audit-log.rst
 * lists the rules.  A pure function of @log: it keeps no state.
 */
enum tw_code tw_audit_replay(const struct tw_audit_log *log, struct tw_audit_replay *out,
			     struct tw_status *st);

#endif
