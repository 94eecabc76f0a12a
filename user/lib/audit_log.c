// SPDX-License-Identifier: BSD-2-Clause
/*
 * The audit log: an array of raw (command, response) pairs, owned copies.
 */
#include <stdlib.h>
#include <string.h>
#include <tlswitness/audit.h>

enum tw_code tw_audit_log_append(struct tw_audit_log *log, const uint8_t *cmd, size_t cmd_len,
				 const uint8_t *rsp, size_t rsp_len, struct tw_status *st)
{
	struct tw_audit_entry *e;

	if (log->count == log->cap) {
		size_t cap = log->cap ? log->cap * 2 : 16;

		e = realloc(log->entries, cap * sizeof(*e));
		if (!e)
			return tw_status_set(st, TW_E_NOMEM, "audit log: out of memory");
		log->entries = e;
		log->cap = cap;
	}
	e = &log->entries[log->count];
	e->cmd = malloc(cmd_len ? cmd_len : 1);
	e->rsp = malloc(rsp_len ? rsp_len : 1);
	if (!e->cmd || !e->rsp) {
		free(e->cmd);
		free(e->rsp);
		return tw_status_set(st, TW_E_NOMEM, "audit log: out of memory");
	}
	memcpy(e->cmd, cmd, cmd_len);
	memcpy(e->rsp, rsp, rsp_len);
	e->cmd_len = cmd_len;
	e->rsp_len = rsp_len;
	log->count++;
	return TW_OK;
}

void tw_audit_log_clear(struct tw_audit_log *log)
{
	size_t i;

	for (i = 0; i < log->count; i++) {
		free(log->entries[i].cmd);
		free(log->entries[i].rsp);
	}
	free(log->entries);
	memset(log, 0, sizeof(*log));
}
