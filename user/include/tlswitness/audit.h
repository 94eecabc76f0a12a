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

/* What the replay learned from the log; filled by tw_audit_replay(). */
struct tw_audit_replay {
	uint8_t digest[32];	/* SHA-256 session audit digest after the last audited entry */
	size_t reset_index;	/* log index of the auditReset command */
	size_t audited;		/* number of audited entries */
	/* further fields (the created key's public area, ZGen input and
	 * output, commit digests, ...) are defined by the implementation */
};

/*
 * tw_audit_replay - recompute the session audit digest from @log alone.
 * Accepts only the command codes of the proving sequence and rejects
 * anything malformed with a reason in @st.
 */
enum tw_code tw_audit_replay(const struct tw_audit_log *log, struct tw_audit_replay *out,
			     struct tw_status *st);

#endif
