// SPDX-License-Identifier: BSD-2-Clause
/*
 * proof_check PROOF [--hrr] [--committed N] [--retries-min N] [--channel NAME]
 *                   [--nonce HEX]
 *
 * The prover tests' independent look at a proof file: it parses it with the
 * strict reader, replays the audit log, and checks what the prover claims:
 *   - the ClientHello key share (every ClientHello) is the TPM key's point
 *     from the audited key creation;
 *   - the ServerHello key share is the ZGen input;
 *   - the replayed digest is the signed one, exclusiveSession is YES, and
 *     qualifyingData binds the nonce and the transcript;
 *   - the commit's digest is the SHA-256 of the server bytes it claims;
 *   - the attestation came right after the handshake: the last bound record
 *     is the client's Finished (its first protected record), and the HTTP
 *     request (its second) is recorded after it;
 *   - with --hrr: the transcript has a HelloRetryRequest and two
 *     ClientHellos with the same share; with --committed N: the commit
 *     covers exactly N server bytes.
 * Prints the first failed check on stderr and exits 1; exits 0 when all
 * hold.  The TLS parsing here is its own, written for this test only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

#include <tlswitness/audit.h>
#include <tlswitness/proof.h>

static int failed(const char *what)
{
	fprintf(stderr, "proof_check: %s\n", what);
	return 1;
}

/* RFC 8446 section 4.1.3: the random of a HelloRetryRequest. */
static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

struct cursor {
	const uint8_t *p;
	size_t left;
	int bad;
};

static const uint8_t *take(struct cursor *c, size_t n)
{
	const uint8_t *p = c->p;

	if (c->bad || c->left < n) {
		c->bad = 1;
		return NULL;
	}
	c->p += n;
	c->left -= n;
	return p;
}

static size_t num(struct cursor *c, size_t n)
{
	const uint8_t *p = take(c, n);
	size_t v = 0;

	for (size_t i = 0; p && i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static struct cursor vec(struct cursor *c, size_t lenlen)
{
	size_t n = num(c, lenlen);
	struct cursor v = { take(c, n), n, c->bad };

	return v;
}

/*
 * The key_share extension's body in a ClientHello (client = 1) or
 * ServerHello (RFC 8446 sections 4.1.2, 4.1.3, 4.2.8); *hrr set for a
 * HelloRetryRequest, which has no key_share when it asks for a cookie only
 * (ks then stays empty).
 */
static int key_share(const uint8_t *msg, size_t len, int client, struct cursor *ks, int *hrr)
{
	struct cursor c = { msg, len, 0 }, exts;
	const uint8_t *random;

	if (num(&c, 1) != (client ? 1u : 2u) || num(&c, 3) != len - 4)
		return -1;
	num(&c, 2);
	random = take(&c, 32);
	vec(&c, 1);
	if (client) {
		vec(&c, 2);
		vec(&c, 1);
	} else {
		num(&c, 2);
		num(&c, 1);
	}
	exts = vec(&c, 2);
	if (c.bad || c.left)
		return -1;
	*hrr = !client && !memcmp(random, hrr_random, 32);
	while (exts.left && !exts.bad) {
		size_t type = num(&exts, 2);
		struct cursor body = vec(&exts, 2);

		if (type == 51 && !body.bad) {
			*ks = body;
			return 0;
		}
	}
	ks->p = NULL;
	ks->left = 0;
	return exts.bad || !*hrr ? -1 : 0;
}

/* The plaintext handshake records of one direction, before any encrypted one. */
static int check_hellos(const struct tw_proof *p, const uint8_t key[65], const uint8_t zin[65],
			int want_hrr)
{
	int client_hellos = 0, hrrs = 0, server_hellos = 0;

	for (size_t i = 0; i < p->record_count; i++) {
		const struct tw_proof_record *r = &p->records[i];
		struct cursor ks;
		int hrr = 0;

		if (r->data[0] != 22)
			continue;
		if (key_share(r->data + 5, r->len - 5, r->dir == TW_DIR_CLIENT, &ks, &hrr)) {
			fprintf(stderr, "proof_check: record %zu: ", i);
			return failed("a plaintext handshake record is not one Client/ServerHello");
		}
		if (r->dir == TW_DIR_CLIENT) {
			const uint8_t *body = ks.p;	/* len(2) group(2) len(2) point */
			struct cursor shares = vec(&ks, 2);

			if (num(&shares, 2) != 23 || vec(&shares, 2).left != 65 || shares.left ||
			    shares.bad)
				return failed("ClientHello does not offer exactly one P-256 share");
			if (memcmp(body + 6, key, 65))
				return failed("ClientHello key share is not the TPM key's point");
			client_hellos++;
		} else if (hrr) {
			if (ks.p && (num(&ks, 2) != 23 || ks.left))
				return failed("HelloRetryRequest asks for another group than P-256");
			hrrs++;
		} else {
			struct cursor pt;

			if (num(&ks, 2) != 23)
				return failed("ServerHello share is not P-256");
			pt = vec(&ks, 2);
			if (pt.bad || pt.left != 65 || memcmp(pt.p, zin, 65))
				return failed("ZGen input is not the ServerHello key share");
			server_hellos++;
		}
	}
	if (server_hellos != 1)
		return failed("not exactly one ServerHello");
	if (client_hellos != 1 + hrrs)
		return failed("ClientHello count does not match the HelloRetryRequests");
	if (want_hrr && hrrs != 1)
		return failed("expected a HelloRetryRequest in the transcript");
	if (!want_hrr && hrrs)
		return failed("unexpected HelloRetryRequest");
	return 0;
}

static int check_attestation(const struct tw_proof *p, const struct tw_audit_replay *rp)
{
	TPMS_ATTEST info = { 0 };
	uint8_t th[32], qd[32];
	size_t off = 0;

	if (Tss2_MU_TPMS_ATTEST_Unmarshal(p->attest, p->attest_len, &off, &info) ||
	    off != p->attest_len || info.type != TPM2_ST_ATTEST_SESSION_AUDIT)
		return failed("attest is not a session audit TPMS_ATTEST");
	if (info.attested.sessionAudit.exclusiveSession != TPM2_YES)
		return failed("exclusiveSession is not YES");
	if (info.attested.sessionAudit.sessionDigest.size != 32 ||
	    memcmp(info.attested.sessionAudit.sessionDigest.buffer, rp->digest_at_attest, 32))
		return failed("replayed audit digest differs from the signed one");
	tw_proof_transcript_hash(p, p->bound_records, th);
	tw_proof_qualifying_data(p->nonce, p->nonce_len, th, qd);
	if (info.extraData.size != 32 || memcmp(info.extraData.buffer, qd, 32))
		return failed("qualifyingData does not bind this nonce and transcript");
	if (rp->attest_len != p->attest_len || memcmp(rp->attest, p->attest, p->attest_len))
		return failed("attest field differs from the logged GetSessionAuditDigest");
	return 0;
}

/* RFC 8446 section 5.2: protected records carry the outer type application_data. */
static int check_bound(const struct tw_proof *p)
{
	size_t i, before = 0, after = 0;

	for (i = 0; i < p->record_count; i++) {
		const struct tw_proof_record *r = &p->records[i];

		if (r->dir != TW_DIR_CLIENT || r->data[0] != 23)
			continue;
		if (i < p->bound_records)
			before++;
		else
			after++;
		if (i == p->bound_records - 1 && before != 1)
			return failed("the last bound record is not the client's Finished");
	}
	if (before != 1 || p->records[p->bound_records - 1].dir != TW_DIR_CLIENT)
		return failed("the bound records do not end with the client's Finished");
	if (!after)
		return failed("the HTTP request is among the bound records");
	return 0;
}

int main(int argc, char **argv)
{
	struct tw_audit_replay *rp = calloc(1, sizeof(*rp));
	long committed = -1, retries_min = 0;
	const char *channel = NULL, *nonce = NULL;
	struct tw_status st = { 0 };
	struct tw_proof p;
	uint8_t digest[32];
	int want_hrr = 0;

	if (argc < 2 || !rp)
		return failed("usage: proof_check PROOF [--hrr] [--committed N] "
			      "[--retries-min N] [--channel NAME]");
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--hrr"))
			want_hrr = 1;
		else if (!strcmp(argv[i], "--committed") && i + 1 < argc)
			committed = atol(argv[++i]);
		else if (!strcmp(argv[i], "--retries-min") && i + 1 < argc)
			retries_min = atol(argv[++i]);
		else if (!strcmp(argv[i], "--channel") && i + 1 < argc)
			channel = argv[++i];
		else if (!strcmp(argv[i], "--nonce") && i + 1 < argc)
			nonce = argv[++i];
		else
			return failed("unknown option");
	}
	if (tw_proof_read_file(argv[1], &p, &st))
		return failed(st.msg);
	if (tw_audit_replay(&p.log, rp, &st))
		return failed(st.msg);
	if (rp->reset_index != p.reset_entry || rp->zgen_index != p.zgen_entry)
		return failed("reset or zgen entry is not where the replay finds it");
	if (check_hellos(&p, rp->key_point, rp->zgen_in, want_hrr) || check_attestation(&p, rp) ||
	    check_bound(&p))
		return 1;
	if (p.commit_count != 1 || rp->commit_count != 1 || rp->commits[0].after_zgen ||
	    rp->commits[0].index != p.commits[0].entry)
		return failed("not exactly one commit, before ZGen, at the claimed entry");
	if (!tw_proof_server_digest(&p, p.commits[0].server_bytes, digest) ||
	    memcmp(digest, rp->commits[0].digest, 32))
		return failed("commit digest is not SHA-256 of the server bytes it claims");
	if (committed >= 0 && p.commits[0].server_bytes != (uint64_t)committed) {
		fprintf(stderr, "proof_check: commit covers %llu server bytes, expected %ld\n",
			(unsigned long long)p.commits[0].server_bytes, committed);
		return 1;
	}
	if (nonce) {
		char hex[2 * TW_PROOF_MAX_NONCE + 1] = "";

		for (size_t i = 0; i < p.nonce_len; i++)
			snprintf(hex + 2 * i, 3, "%02x", p.nonce[i]);
		if (strcmp(hex, nonce))
			return failed("the proof's nonce is not the one given");
	}
	if (p.retries < retries_min)
		return failed("fewer retries than expected");
	if (channel && strcmp(channel, p.channel == TW_CHANNEL_RESERVED ? "reserved" : "fallback"))
		return failed("not the expected channel");
	printf("records %zu bound %zu committed %llu retries %u\n", p.record_count,
	       p.bound_records, (unsigned long long)p.commits[0].server_bytes, p.retries);
	tw_proof_clear(&p);
	free(rp);
	return 0;
}
