// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests of the TPM layer's pure parts, no TPM needed: the HMAC the
 * audit session uses (RFC 4231 vectors and OpenSSL's HMAC), command
 * framing rejections, the replay on empty and foreign logs, TPM status
 * decoding, and the retry helper.
 */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <tlswitness/audit.h>
#include <tlswitness/window.h>
#include "../../user/lib/tpm_wire.h"
#include "../prog/tap.h"

static int tw_hex_eq(const uint8_t *b, const char *hex)
{
	char s[65];
	int i;

	for (i = 0; i < 32; i++)
		sprintf(s + 2 * i, "%02x", b[i]);
	return !strcmp(s, hex);
}

/* OpenSSL's own HMAC-SHA256, for comparison with tw_hmac(). */
static int tw_openssl_hmac(const uint8_t *key, size_t klen, const uint8_t *m, size_t mlen,
			   uint8_t out[32])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = { OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
				OSSL_PARAM_END };
	size_t len = 0;
	int good = ctx && EVP_MAC_init(ctx, key, klen, params) && EVP_MAC_update(ctx, m, mlen) &&
		   EVP_MAC_final(ctx, out, &len, 32) && len == 32;

	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return good;
}

static void tw_test_hmac(EVP_MD_CTX *md)
{
	uint8_t key[64], out[32], ref[32], msg[200];
	int i, same = 1;

	/* RFC 4231 test cases 1 and 2. */
	memset(key, 0x0b, 20);
	ok(!tw_hmac(md, key, 20, (const uint8_t *)"Hi There", 8, NULL, 0, NULL, 0, NULL, 0, out) &&
		   tw_hex_eq(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
	   "HMAC-SHA256: RFC 4231 test case 1");
	ok(!tw_hmac(md, (const uint8_t *)"Jefe", 4, (const uint8_t *)"what do ya want ", 16,
		    (const uint8_t *)"for nothing?", 12, NULL, 0, NULL, 0, out) &&
		   tw_hex_eq(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
	   "HMAC-SHA256: RFC 4231 test case 2, message in pieces");

	/* The audit session's case: an empty key. */
	for (i = 0; i < 50 && same; i++) {
		size_t klen = i % 3 ? (size_t)(i % 65) : 0, mlen = (size_t)i * 4;

		RAND_bytes(key, sizeof(key));
		RAND_bytes(msg, sizeof(msg));
		same = !tw_hmac(md, klen ? key : NULL, klen, msg, mlen / 2, msg + mlen / 2,
				mlen - mlen / 2, NULL, 0, NULL, 0, out) &&
		       tw_openssl_hmac(klen ? key : (const uint8_t *)"", klen, msg, mlen, ref) &&
		       !memcmp(out, ref, 32);
	}
	ok(same, "HMAC-SHA256 equals OpenSSL's for 50 random keys (empty ones too) and messages");
	ok(tw_hmac(md, key, 65, msg, 1, NULL, 0, NULL, 0, NULL, 0, out) != 0,
	   "a key longer than the block is refused, not hashed silently");
}

static void tw_test_framing(void)
{
	/* TPM2_Hash with no sessions: header, data (2 bytes), SHA-256, TPM_RH_NULL. */
	uint8_t cmd[] = { 0x80, 0x01, 0, 0, 0, 0x14, 0, 0, 0x01, 0x7d,
			  0, 2, 'h', 'i', 0, 0x0b, 0x40, 0, 0, 7 };
	uint8_t sess[64];
	struct tw_cmd_view v;
	struct tw_status st;

	ok(tw_cmd_parse(cmd, sizeof(cmd), &v, &st) == TW_OK && v.cc == 0x17d && v.nauths == 0 &&
		   v.params_len == 10,
	   "a session-less TPM2_Hash parses");
	ok(tw_cmd_parse(cmd, sizeof(cmd) - 1, &v, &st) == TW_E_PROOF,
	   "size field longer than the buffer: rejected (%s)", st.msg);
	cmd[1] = 0x03;
	ok(tw_cmd_parse(cmd, sizeof(cmd), &v, &st) == TW_E_PROOF, "unknown tag: rejected (%s)",
	   st.msg);
	cmd[1] = 0x01;
	cmd[9] = 0x7b;
	ok(tw_cmd_parse(cmd, sizeof(cmd), &v, &st) == TW_E_PROOF && strstr(st.msg, "not part"),
	   "TPM2_GetRandom: rejected (%s)", st.msg);
	ok(tw_cmd_parse(cmd, 9, &v, &st) == TW_E_PROOF, "shorter than a header: rejected");

	/* TPM2_Hash with sessions whose authorization size runs past the end. */
	memset(sess, 0, sizeof(sess));
	memcpy(sess, "\x80\x02\x00\x00\x00\x12\x00\x00\x01\x7d\x00\x00\x01\x00", 14);
	ok(tw_cmd_parse(sess, 18, &v, &st) == TW_E_PROOF, "authorization size too large: rejected");
	/* Four empty password sessions: more than the sequence ever uses. */
	memcpy(sess, "\x80\x02\x00\x00\x00\x32\x00\x00\x01\x7d\x00\x00\x00\x24", 14);
	for (int i = 0; i < 4; i++)
		memcpy(sess + 14 + 9 * i, "\x40\x00\x00\x09\x00\x00\x00\x00\x00", 9);
	ok(tw_cmd_parse(sess, 50, &v, &st) == TW_E_PROOF && strstr(st.msg, "sessions"),
	   "four sessions: rejected (%s)", st.msg);
}

static void tw_test_replay_edges(void)
{
	static struct tw_audit_replay rep;
	struct tw_audit_log log = { 0 };
	struct tw_status st;
	uint8_t rsp[10] = { 0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0 };
	uint8_t cmd[] = { 0x80, 0x01, 0, 0, 0, 0x14, 0, 0, 0x01, 0x7d,
			  0, 2, 'h', 'i', 0, 0x0b, 0x40, 0, 0, 7 };

	ok(tw_audit_replay(NULL, &rep, &st) == TW_E_USAGE, "no log: usage error");
	ok(tw_audit_replay(&log, &rep, &st) == TW_E_PROOF && strstr(st.msg, "auditReset"),
	   "empty log: rejected (%s)", st.msg);
	tw_audit_log_append(&log, cmd, sizeof(cmd), rsp, sizeof(rsp), &st);
	ok(tw_audit_replay(&log, &rep, &st) == TW_E_PROOF,
	   "an unaudited TPM2_Hash before any session: rejected (%s)", st.msg);
	tw_audit_log_clear(&log);
	ok(log.count == 0 && log.entries == NULL, "a cleared log is empty");
}

static enum tw_code tw_lose(void *arg, unsigned int attempt, struct tw_status *st)
{
	unsigned int *win_at = arg;

	if (attempt < *win_at)
		return tw_status_tpm(st, 0x121, "ECDH_ZGen");
	return TW_OK;
}

static void tw_log_count(void *arg, const char *line)
{
	(*(int *)arg)++;
}

static void tw_test_status_and_retry(void)
{
	struct tw_status st;
	unsigned int win_at;
	int lines;

	ok(tw_status_tpm(&st, 0x121, "ECDH_ZGen") == TW_E_EXCLUSIVE && st.tpm_rc == 0x121 &&
		   strstr(st.msg, "ECDH_ZGen: ") && strstr(st.msg, "exclusiv"),
	   "0x121 is TW_E_EXCLUSIVE, decoded (%s)", st.msg);
	ok(tw_status_tpm(&st, 0x922, "CreateLoaded") == TW_E_TPM && strstr(st.msg, "0x922"),
	   "0x922 is TW_E_TPM (%s)", st.msg);

	win_at = 3;
	lines = 0;
	ok(tw_attempt_run(5, tw_lose, &win_at, tw_log_count, &lines, &st) == TW_OK && lines == 2,
	   "two lost attempts, two log lines, then success");
	win_at = 10;
	lines = 0;
	ok(tw_attempt_run(3, tw_lose, &win_at, tw_log_count, &lines, &st) == TW_E_EXCLUSIVE &&
		   lines == 3 && st.tpm_rc == 0x121,
	   "three lost attempts out of three: TW_E_EXCLUSIVE");
	ok(tw_attempt_run(0, tw_lose, &win_at, NULL, NULL, &st) == TW_E_USAGE,
	   "zero attempts: usage error");
}

int main(void)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	tw_test_hmac(md);
	tw_test_framing();
	tw_test_replay_edges();
	tw_test_status_and_retry();
	EVP_MD_CTX_free(md);
	return tap_done();
}
