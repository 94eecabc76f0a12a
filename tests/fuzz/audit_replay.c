// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for the audit replay (tw_audit_replay()), the verifier's
 * parser of raw TPM commands and responses.
 *
 * Input: the log as tests/prog/tpm-sequence --save-log writes it: per
 * entry a 4-byte big-endian command length, a 4-byte response length, the
 * command bytes and the response bytes.  A length beyond what is left
 * ends the log.  Any outcome but a crash, a leak or undefined behaviour
 * is fine; a rejected log must say which kind of rule it broke.
 *
 * Seeds in tests/fuzz/corpus/audit_replay/: the logs of proofs the prover
 * made on swtpm, and of forged proofs written by tests/prog/forge.
 */
#include <stdlib.h>
#include <tlswitness/audit.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tw_audit_replay out;
	struct tw_audit_log log = {0};
	struct tw_status st;
	size_t off = 0;

	while (size - off >= 8 && log.count < 64) {
		size_t cl = be32(data + off), rl = be32(data + off + 4);

		if (cl > size - off - 8 || rl > size - off - 8 - cl)
			break;
		if (tw_audit_log_append(&log, data + off + 8, cl, data + off + 8 + cl, rl, &st))
			break;
		off += 8 + cl + rl;
	}
	if (tw_audit_replay(&log, &out, &st) == TW_E_PROOF && out.fault == TW_AUDIT_FAULT_NONE)
		abort();
	tw_audit_log_clear(&log);
	return 0;
}
