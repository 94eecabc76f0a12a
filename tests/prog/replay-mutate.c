// SPDX-License-Identifier: BSD-2-Clause
/*
 * The audit replay against damaged logs: a log recorded from swtpm (by
 * tpm-sequence --save-log) is dropped, swapped, bit-flipped, truncated,
 * extended and relabelled, and every damaged log must be rejected, either
 * by the replay itself or by the AK signature over the attestation the
 * replay extracts.
 *
 *   replay-mutate LOG
 *
 * LOG: per entry, 4-byte big-endian command length, 4-byte response
 * length, command bytes, response bytes.
 */
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_mu.h>
#include <tlswitness/ak.h>
#include <tlswitness/audit.h>
#include "tap.h"
#include "../../user/lib/tpm_wire.h"

static uint8_t ak_pub[TW_AK_PUBLIC_MAX];
static size_t ak_len;

static int tw_read_log(const char *path, struct tw_audit_log *log)
{
	FILE *f = fopen(path, "rb");
	uint8_t n[8], *cmd, *rsp;
	size_t cl, rl;
	int good = f != NULL;

	while (good && fread(n, 8, 1, f) == 1) {
		cl = (size_t)n[0] << 24 | n[1] << 16 | n[2] << 8 | n[3];
		rl = (size_t)n[4] << 24 | n[5] << 16 | n[6] << 8 | n[7];
		cmd = malloc(cl + 1);
		rsp = malloc(rl + 1);
		good = cmd && rsp && cl <= 4096 && rl <= 4096 && fread(cmd, 1, cl, f) == cl &&
		       fread(rsp, 1, rl, f) == rl &&
		       tw_audit_log_append(log, cmd, cl, rsp, rl, NULL) == TW_OK;
		free(cmd);
		free(rsp);
	}
	if (f)
		fclose(f);
	return good && log->count > 0;
}

/* A deep copy, so that each mutation starts from the recorded log. */
static void tw_copy(struct tw_audit_log *dst, const struct tw_audit_log *src)
{
	size_t i;

	tw_audit_log_clear(dst);
	for (i = 0; i < src->count; i++)
		tw_audit_log_append(dst, src->entries[i].cmd, src->entries[i].cmd_len,
				    src->entries[i].rsp, src->entries[i].rsp_len, NULL);
}

/* Accepted only if the replay succeeds and the AK's signature holds. */
static int tw_accepted(const struct tw_audit_log *log, struct tw_status *st)
{
	static struct tw_audit_replay rep;

	if (tw_audit_replay(log, &rep, st) != TW_OK)
		return 0;
	if (rep.attest_index == TW_AUDIT_NONE) {
		tw_status_set(st, TW_E_PROOF, "no attestation");
		return 0;
	}
	return tw_ak_verify(ak_pub, ak_len, rep.attest, rep.attest_len, rep.signature,
			    rep.signature_len, st) == TW_OK;
}

static uint32_t tw_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/* A failed command ran nothing; its bytes carry no claim. */
static int tw_failed(const struct tw_audit_entry *e)
{
	return e->rsp_len < 10 || tw_be32(e->rsp + 6) != 0;
}

/*
 * Bytes no check can see, and which carry no claim: the nonceCaller of
 * TPM2_StartAuthSession (the session is unsalted, so it feeds nothing),
 * and the HMAC of a primary's creationTicket (keyed with a hierarchy
 * proof only the TPM holds).  Documentation/audit-log.rst lists them.
 */
static int tw_no_claim(const struct tw_audit_entry *e, int response, size_t byte)
{
	uint32_t cc = tw_be32(e->cmd + 6);
	size_t n, end;

	if (!response && cc == 0x176 && e->cmd_len > 20) {
		n = (size_t)e->cmd[18] << 8 | e->cmd[19];
		return byte >= 20 && byte < 20 + n;
	}
	if (response && cc == 0x131 && e->rsp_len > 5 + 36 + 8) {
		/* Before the end: the name (2 + 34 bytes), the password session's reply (5). */
		end = e->rsp_len - 5 - 36;
		for (n = 1; n <= 64 && n + 8 <= end; n++)
			if (((size_t)e->rsp[end - n - 2] << 8 | e->rsp[end - n - 1]) == n &&
			    e->rsp[end - n - 8] == 0x80 && e->rsp[end - n - 7] == 0x21)
				return byte >= end - n && byte < end;
	}
	return 0;
}

static void tw_drop(struct tw_audit_log *log, size_t i)
{
	free(log->entries[i].cmd);
	free(log->entries[i].rsp);
	memmove(&log->entries[i], &log->entries[i + 1],
		(log->count - i - 1) * sizeof(log->entries[0]));
	log->count--;
}

/* Set the header's size field of a command or response to its length. */
static void tw_fix_size(uint8_t *p, size_t len)
{
	tw_put32(p + 2, (uint32_t)len);
}

/* The index of the first successful entry with command code @cc, or the count. */
static size_t tw_find(const struct tw_audit_log *log, uint32_t cc)
{
	size_t i;

	for (i = 0; i < log->count; i++)
		if (tw_be32(log->entries[i].cmd + 6) == cc && !tw_failed(&log->entries[i]))
			break;
	return i;
}

/*
 * A StartAuthSession response whose nonceTPM is @n bytes: replayed, it
 * must be refused, never copied into the replay's fixed nonce buffer.
 */
static int tw_big_nonce(const struct tw_audit_log *orig, struct tw_audit_log *m, uint16_t n,
			struct tw_status *st)
{
	static struct tw_audit_replay rep;
	size_t i = tw_find(orig, TPM2_CC_StartAuthSession), len = 10 + 4 + 2 + n;
	uint8_t *r;

	tw_copy(m, orig);
	if (i == m->count || !(r = calloc(1, len)))
		return 0;
	memcpy(r, m->entries[i].rsp, 14);	/* header and the session handle */
	r[14] = n >> 8;
	r[15] = n & 0xff;
	memset(r + 16, 0xa5, n);
	tw_fix_size(r, len);
	free(m->entries[i].rsp);
	m->entries[i].rsp = r;
	m->entries[i].rsp_len = len;
	return tw_audit_replay(m, &rep, st) != TW_OK && strstr(st->msg, "nonceTPM");
}

/*
 * Four bytes appended to the parameters of the key's creation command,
 * with the size field and the audit session's command HMAC made right
 * again (the session's key is empty): the replay itself must refuse the
 * parameters, not only the signature afterwards.
 */
static int tw_inner_trailing(const struct tw_audit_log *orig, struct tw_audit_log *m,
			     struct tw_status *st)
{
	static struct tw_audit_replay rep;
	size_t s = tw_find(orig, TPM2_CC_StartAuthSession), i = tw_find(orig, TPM2_CC_CreateLoaded);
	struct tw_cmd_view cv;
	struct tw_name names[1];
	uint8_t cp[32], *c, *hmac;
	const uint8_t *nonce_tpm;
	uint16_t nonce_tpm_len;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t len, k, p;
	int ret = 0, named = 0;

	if (i == orig->count)
		i = tw_find(orig, TPM2_CC_Create);
	tw_copy(m, orig);
	if (!md || s == m->count || i == m->count)
		goto out;
	nonce_tpm = m->entries[s].rsp + 16;
	nonce_tpm_len = (uint16_t)(m->entries[s].rsp[14] << 8 | m->entries[s].rsp[15]);
	len = m->entries[i].cmd_len + 4;
	c = calloc(1, len);
	if (!c)
		goto out;
	memcpy(c, m->entries[i].cmd, m->entries[i].cmd_len);
	tw_fix_size(c, len);
	free(m->entries[i].cmd);
	m->entries[i].cmd = c;
	m->entries[i].cmd_len = len;
	if (tw_cmd_parse(c, len, &cv, st) != TW_OK)
		goto out;
	/* The parent's name, from the CreatePrimary that made it (the first one). */
	for (k = 0; k < m->count; k++) {
		const struct tw_audit_entry *e = &m->entries[k];

		if (tw_be32(e->cmd + 6) == TPM2_CC_CreatePrimary && tw_be32(e->rsp + 10) ==
		    cv.handles[0]) {
			p = 10 + 4 + 4;	/* header, handle, parameterSize */
			if (tw_name_of_public(&names[0], md, e->rsp + p + 2,
					      (size_t)e->rsp[p] << 8 | e->rsp[p + 1]))
				goto out;
			named = 1;
			break;
		}
	}
	for (k = 0; k < cv.nauths && cv.auths[k].handle != tw_be32(m->entries[s].rsp + 10); k++)
		;
	if (!named || k == cv.nauths ||
	    tw_cp_hash(md, cv.cc, names, 1, cv.params, cv.params_len, cp))
		goto out;
	hmac = (uint8_t *)cv.auths[k].hmac;
	if (tw_hmac(md, NULL, 0, cp, 32, cv.auths[k].nonce, cv.auths[k].nonce_len, nonce_tpm,
		    nonce_tpm_len, &cv.auths[k].attrs, 1, hmac))
		goto out;
	/* Refused at that entry, for its parameters: not by a later digest or HMAC check. */
	ret = tw_audit_replay(m, &rep, st) != TW_OK &&
	      (strstr(st->msg, "(CreateLoaded)") || strstr(st->msg, "(Create)")) &&
	      !strstr(st->msg, "HMAC");
out:
	EVP_MD_CTX_free(md);
	return ret;
}

int main(int argc, char **argv)
{
	struct tw_audit_log orig = { 0 }, m = { 0 };
	static struct tw_audit_replay rep;
	struct tw_status st = { 0 };
	size_t i, bit, last, tried, escaped;
	char first[300] = "";
	size_t off = 0;

	if (argc != 2 || !tw_read_log(argv[1], &orig)) {
		printf("not ok 1 - read the recorded log\n1..1\n");
		return 1;
	}
	if (!ok(tw_audit_replay(&orig, &rep, &st) == TW_OK && rep.have_ak_public &&
			rep.attest_index != TW_AUDIT_NONE,
		"the recorded log replays (%s)", st.msg))
		return tap_done();
	Tss2_MU_TPM2B_PUBLIC_Marshal(&rep.ak_public, ak_pub, sizeof(ak_pub), &off);
	ak_len = off;
	ok(tw_accepted(&orig, &st), "the recorded log is accepted with its signature (%s)",
	   st.msg);
	last = rep.attest_index;

	/*
	 * Every successful entry up to the attestation matters; flushes after
	 * it carry no claim, nor do failed commands.
	 */
	for (i = 0, escaped = 0; i <= last; i++) {
		if (tw_failed(&orig.entries[i]))
			continue;
		tw_copy(&m, &orig);
		tw_drop(&m, i);
		if (tw_accepted(&m, &st) && !escaped++)
			snprintf(first, sizeof(first), "entry %zu", i);
	}
	ok(!escaped, "dropping any one of entries 0..%zu is rejected %s", last, first);

	/* The set-up's order is free; everything from the reset on is not. */
	for (i = 0, escaped = 0; i < last; i++) {
		struct tw_audit_entry e;

		if (i + 1 < rep.reset_index || tw_failed(&orig.entries[i]) ||
		    tw_failed(&orig.entries[i + 1]))
			continue;
		tw_copy(&m, &orig);
		e = m.entries[i];
		m.entries[i] = m.entries[i + 1];
		m.entries[i + 1] = e;
		if (tw_accepted(&m, &st) && !escaped++)
			snprintf(first, sizeof(first), "entries %zu, %zu", i, i + 1);
	}
	ok(!escaped, "swapping neighbours from the reset to the attestation is rejected %s", first);

	/* Bit flips in every entry that the claims rest on. */
	for (i = 0, escaped = 0, tried = 0, first[0] = '\0'; i <= last; i++) {
		int side;

		if (tw_failed(&orig.entries[i]))
			continue;
		for (side = 0; side < 2; side++) {
			size_t len = side ? orig.entries[i].rsp_len : orig.entries[i].cmd_len;

			for (bit = 0; bit < len * 8; bit++) {
				uint8_t *p;

				if (tw_no_claim(&orig.entries[i], side, bit / 8))
					continue;
				tw_copy(&m, &orig);
				p = side ? m.entries[i].rsp : m.entries[i].cmd;
				p[bit / 8] ^= 1u << (bit % 8);
				tried++;
				if (tw_accepted(&m, &st)) {
					if (!escaped++)
						snprintf(first, sizeof(first),
							 "first: entry %zu %s byte %zu", i,
							 side ? "response" : "command", bit / 8);
					printf("# accepted: entry %zu %s byte %zu bit %zu\n", i,
					       side ? "response" : "command", bit / 8, bit % 8);
				}
			}
		}
	}
	ok(!escaped && tried > 10000,
	   "all %zu one-bit flips in entries 0..%zu are rejected (%zu accepted) %s", tried, last,
	   escaped, first);

	for (i = 0, escaped = 0, first[0] = '\0'; i <= last; i++) {
		size_t cut;

		for (cut = 1; cut <= orig.entries[i].cmd_len + orig.entries[i].rsp_len; cut++) {
			tw_copy(&m, &orig);
			if (cut <= m.entries[i].cmd_len)
				m.entries[i].cmd_len -= cut;
			else
				m.entries[i].rsp_len -= cut - m.entries[i].cmd_len;
			if (tw_accepted(&m, &st) && !escaped++)
				snprintf(first, sizeof(first), "entry %zu cut %zu", i, cut);
		}
	}
	ok(!escaped, "every truncated command or response is rejected %s", first);

	for (i = 0, escaped = 0; i < orig.count; i++) {
		uint8_t *p;

		tw_copy(&m, &orig);
		p = realloc(m.entries[i].rsp, m.entries[i].rsp_len + 1);
		if (!p)
			break;
		p[m.entries[i].rsp_len++] = 0;
		m.entries[i].rsp = p;
		if (tw_accepted(&m, &st))
			escaped++;
	}
	ok(!escaped, "a trailing byte after any response is rejected");

	/* An unknown command code: TPM2_GetRandom in place of each command. */
	for (i = 0, escaped = 0; i < orig.count; i++) {
		tw_copy(&m, &orig);
		m.entries[i].cmd[6] = 0x00;
		m.entries[i].cmd[7] = 0x00;
		m.entries[i].cmd[8] = 0x01;
		m.entries[i].cmd[9] = 0x7b;
		if (tw_audit_replay(&m, &rep, &st) == TW_OK || !strstr(st.msg, "not part of"))
			escaped++;
	}
	ok(!escaped, "an unknown command code anywhere is rejected as such");

	/* An unaudited command between the reset and the attestation: a Hash without sessions. */
	tw_copy(&m, &orig);
	{
		static const uint8_t cmd[] = { 0x80, 0x01, 0, 0, 0, 0x14, 0, 0, 0x01, 0x7d,
					       0, 2, 'h', 'i', 0, 0x0b, 0x40, 0, 0, 7 };
		uint8_t rsp[10 + 2 + 32 + 2 + 4 + 2] = { 0x80, 0x01, 0, 0, 0, sizeof(rsp) };
		struct tw_audit_entry e;

		rsp[11] = 32;
		rsp[44] = 0x80;
		rsp[45] = 0x24;
		rsp[46] = 0x40;
		rsp[49] = 7;
		tw_audit_log_append(&m, cmd, sizeof(cmd), rsp, sizeof(rsp), NULL);
		e = m.entries[m.count - 1];
		memmove(&m.entries[last + 1], &m.entries[last],
			(m.count - 1 - last) * sizeof(e));
		m.entries[last] = e;
	}
	ok(tw_audit_replay(&m, &rep, &st) != TW_OK && strstr(st.msg, "not audited"),
	   "an unaudited command before the attestation is rejected (%s)", st.msg);

	ok(tw_big_nonce(&orig, &m, 3000, &st),
	   "a StartAuthSession response with a 3000-byte nonceTPM is rejected (%s)", st.msg);
	ok(tw_big_nonce(&orig, &m, 200, &st),
	   "a StartAuthSession response with a 200-byte nonceTPM is rejected (%s)", st.msg);
	ok(tw_inner_trailing(&orig, &m, &st),
	   "bytes after the creation command's parameters, HMAC made right, are rejected (%s)",
	   st.msg);

	tw_audit_log_clear(&m);
	tw_audit_log_clear(&orig);
	return tap_done();
}
