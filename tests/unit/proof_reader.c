// SPDX-License-Identifier: BSD-2-Clause
/*
 * The proof file's writer and strict reader: a proof survives the round
 * trip (in memory and through the atomic file write), and each way of
 * breaking the format is rejected with the field named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tlswitness/proof.h>

#include "../prog/tap.h"

static uint8_t *bytes(size_t len, uint8_t seed)
{
	uint8_t *p = malloc(len);

	for (size_t i = 0; i < len; i++)
		p[i] = seed + i * 7;
	return p;
}

/* A TLS record of @frag fragment bytes: header with the right length. */
static void record(struct tw_proof_record *r, enum tw_dir dir, uint64_t off, uint64_t t,
		   size_t frag, uint8_t type)
{
	r->dir = dir;
	r->offset = off;
	r->time_ns = t;
	r->len = 5 + frag;
	r->data = bytes(r->len, type);
	r->data[0] = type;
	r->data[1] = 3;
	r->data[2] = 3;
	r->data[3] = frag >> 8;
	r->data[4] = frag & 0xff;
}

static void sample(struct tw_proof *p)
{
	struct tw_status st;

	memset(p, 0, sizeof(*p));
	p->version = TW_PROOF_VERSION;
	p->server_name = strdup("localhost");
	p->alpn = strdup("http/1.1");
	p->cipher_suite = 0x1302;
	p->records = calloc(4, sizeof(*p->records));
	record(&p->records[0], TW_DIR_CLIENT, 0, 100, 200, 22);
	record(&p->records[1], TW_DIR_SERVER, 0, 200, 100, 22);
	record(&p->records[2], TW_DIR_SERVER, 105, 200, 300, 23);
	record(&p->records[3], TW_DIR_CLIENT, 205, 300, 50, 23);
	p->record_count = 4;
	p->channel = TW_CHANNEL_FALLBACK;
	p->retries = 1;
	for (int i = 0; i < 3; i++) {
		uint8_t *c = bytes(20 + i, 1 + i), *r = bytes(30 + i, 9 + i);

		tw_audit_log_append(&p->log, c, 20 + i, r, 30 + i, &st);
		free(c);
		free(r);
	}
	p->reset_entry = 0;
	p->zgen_entry = 2;
	p->commits = calloc(1, sizeof(*p->commits));
	p->commits[0].entry = 1;
	p->commits[0].server_bytes = 410;
	p->commit_count = 1;
	p->bound_records = 3;
	p->attest = bytes(p->attest_len = 120, 3);
	p->signature = bytes(p->signature_len = 72, 4);
	p->ak_public = bytes(p->ak_public_len = 90, 5);
	p->nonce_len = 4;
	memcpy(p->nonce, "\x00\x11\xab\xff", 4);
}

static int same(const struct tw_proof *a, const struct tw_proof *b)
{
	if (a->version != b->version || strcmp(a->server_name, b->server_name) ||
	    strcmp(a->alpn, b->alpn) || a->cipher_suite != b->cipher_suite ||
	    a->record_count != b->record_count || a->channel != b->channel ||
	    a->retries != b->retries || a->log.count != b->log.count ||
	    a->reset_entry != b->reset_entry || a->zgen_entry != b->zgen_entry ||
	    a->commit_count != b->commit_count || a->bound_records != b->bound_records ||
	    a->nonce_len != b->nonce_len ||
	    memcmp(a->nonce, b->nonce, a->nonce_len) || a->attest_len != b->attest_len ||
	    memcmp(a->attest, b->attest, a->attest_len) ||
	    a->signature_len != b->signature_len ||
	    memcmp(a->signature, b->signature, a->signature_len) ||
	    a->ak_public_len != b->ak_public_len ||
	    memcmp(a->ak_public, b->ak_public, a->ak_public_len) ||
	    a->commits[0].entry != b->commits[0].entry ||
	    a->commits[0].server_bytes != b->commits[0].server_bytes)
		return 0;
	for (size_t i = 0; i < a->record_count; i++)
		if (a->records[i].dir != b->records[i].dir ||
		    a->records[i].offset != b->records[i].offset ||
		    a->records[i].time_ns != b->records[i].time_ns ||
		    a->records[i].len != b->records[i].len ||
		    memcmp(a->records[i].data, b->records[i].data, a->records[i].len))
			return 0;
	for (size_t i = 0; i < a->log.count; i++)
		if (a->log.entries[i].cmd_len != b->log.entries[i].cmd_len ||
		    memcmp(a->log.entries[i].cmd, b->log.entries[i].cmd, a->log.entries[i].cmd_len) ||
		    a->log.entries[i].rsp_len != b->log.entries[i].rsp_len ||
		    memcmp(a->log.entries[i].rsp, b->log.entries[i].rsp, a->log.entries[i].rsp_len))
			return 0;
	return 1;
}

/* @text with its first @from replaced by @to (NULL if @from is absent). */
static char *edit(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out;

	if (!at)
		return NULL;
	out = malloc(strlen(text) - strlen(from) + strlen(to) + 1);
	memcpy(out, text, at - text);
	strcpy(out + (at - text), to);
	strcat(out, at + strlen(from));
	return out;
}

/* The edited text must be rejected, naming @field in the message. */
static void rejects(const char *text, const char *from, const char *to, const char *field,
		    const char *what)
{
	char *bad = edit(text, from, to);
	struct tw_status st = { 0 };
	struct tw_proof p;
	enum tw_code rc;

	if (!bad) {
		ok(0, "rejects %s (the sample has no \"%s\")", what, from);
		return;
	}
	rc = tw_proof_parse(bad, strlen(bad), &p, &st);
	ok(rc == TW_E_PROOF && strstr(st.msg, field), "rejects %s: %s", what, st.msg);
	free(bad);
}

/* @text of @len bytes is refused as not JSON, with @want as the whole message. */
static void not_json(const char *text, size_t len, const char *want, const char *what)
{
	struct tw_status st = { 0 };
	struct tw_proof p;

	ok(tw_proof_parse(text, len, &p, &st) == TW_E_PROOF && !strcmp(st.msg, want),
	   "%s: \"%s\" (%s)", what, want, st.msg);
}

int main(void)
{
	struct tw_proof p, q, r;
	struct tw_status st = { 0 };
	char path[] = "/tmp/tw-proof-reader.XXXXXX";
	char *text, file[64];
	size_t len;
	uint8_t d1[32], d2[32];
	int fd;

	sample(&p);
	len = 0;
	text = NULL;
	ok(tw_proof_to_json(&p, &text, &len, &st) == TW_OK && len == strlen(text) &&
		   text[len - 1] == '\n',
	   "the sample serialises to one line of JSON");
	ok(tw_proof_parse(text, len, &q, &st) == TW_OK && same(&p, &q),
	   "and parses back to the same proof (%s)", st.msg);

	fd = mkstemp(path);
	close(fd);
	snprintf(file, sizeof(file), "%s", path);
	ok(tw_proof_write_file(&p, file, &st) == TW_OK &&
		   tw_proof_read_file(file, &r, &st) == TW_OK && same(&p, &r),
	   "the atomic file write reads back the same (%s)", st.msg);
	tw_proof_clear(&r);
	unlink(file);
	ok(tw_proof_write_file(&p, "/nonexistent-dir/proof.json", &st) == TW_E_IO,
	   "a write into a missing directory fails: %s", st.msg);

	ok(tw_proof_server_digest(&p, 410, d1) && !tw_proof_server_digest(&p, 411, d2),
	   "the server digest covers at most the server stream");
	tw_proof_transcript_hash(&p, 4, d1);
	p.records[3].time_ns++;
	tw_proof_transcript_hash(&p, 4, d2);
	ok(memcmp(d1, d2, 32) != 0, "the transcript hash binds record times");
	tw_proof_transcript_hash(&p, 3, d1);
	p.records[3].time_ns++;
	tw_proof_transcript_hash(&p, 3, d2);
	ok(!memcmp(d1, d2, 32), "it binds only the records it is given the count of");
	tw_proof_transcript_hash(&p, 2, d2);
	ok(memcmp(d1, d2, 32) != 0, "and each of those");
	tw_proof_transcript_hash(&p, 4, d1);
	tw_proof_transcript_hash(&p, 9, d2);
	ok(!memcmp(d1, d2, 32), "a count beyond the records means all of them");
	tw_proof_qualifying_data(p.nonce, p.nonce_len, d1, d2);
	tw_proof_qualifying_data(p.nonce, p.nonce_len - 1, d1, d1);
	ok(memcmp(d1, d2, 32) != 0, "qualifyingData binds the nonce");

	rejects(text, "\"version\":1", "\"version\":2", "version", "an unknown version");
	rejects(text, "\"version\":1", "\"version\":\"1\"", "version", "a version string");
	rejects(text, "\"version\":1", "\"version\":1.0", "version", "a fractional number");
	rejects(text, "\"format\":\"tlswitness proof\"", "\"format\":\"other\"", "format",
		"another format");
	rejects(text, "{\"format\"", "{\"extra\":1,\"format\"", "top level",
		"an extra top-level field");
	rejects(text, "\"nonce\":\"0011abff\",", "", "nonce", "a missing nonce");
	rejects(text, "{\"format\"", "{\"version\":1,\"format\"", "twice", "a duplicated key");
	rejects(text, "\"nonce\":\"0011abff\"", "\"nonce\":\"0011ABFF\"", "nonce",
		"upper-case hex");
	rejects(text, "\"nonce\":\"0011abff\"", "\"nonce\":\"0011abf\"", "nonce", "odd hex");
	rejects(text, "localhost", "local\\u0068ost", "backslash", "an escape");
	rejects(text, "\"alpn\":\"http/1.1\"", "\"alpn\":11", "tls.alpn", "a numeric ALPN");
	rejects(text, "\"server_name\":\"localhost\"", "\"server_name\":null",
		"tls.server_name", "a null server name");
	rejects(text, "\"server_name\":\"localhost\"", "\"server_name\":\"local host\"",
		"tls.server_name", "a space in the server name");
	rejects(text, "\"cipher_suite\":4866", "\"cipher_suite\":-1", "tls.cipher_suite",
		"a negative number");
	rejects(text, "\"cipher_suite\":4866", "\"cipher_suite\":65536", "tls.cipher_suite",
		"a cipher suite beyond 16 bits");
	rejects(text, "\"dir\":\"client\"", "\"dir\":\"sideways\"", "tls.records[0]",
		"an unknown direction");
	rejects(text, "\"offset\":205", "\"offset\":206", "tls.records[3]",
		"records that do not tile their stream");
	rejects(text, "\"time_ns\":200,", "\"time_ns\":50,", "tls.records[1]",
		"time going backwards");
	rejects(text, "\"data\":\"F", "\"data\":\"*", "tls.records[0]", "bad base64");
	rejects(text, "\"ak_public\":\"", "\"ak_public\":\"AAB=", "tpm.ak_public",
		"base64 with non-zero padding bits");
	rejects(text, "\"server_bytes\":410", "\"server_bytes\":411", "tpm.commits[0]",
		"a commit beyond the server stream");
	rejects(text, "\"zgen\":2", "\"zgen\":3", "tpm.zgen", "a ZGen index outside the log");
	rejects(text, "\"bound_records\":3", "\"bound_records\":0", "tpm.bound_records",
		"an attestation that binds no record");
	rejects(text, "\"bound_records\":3", "\"bound_records\":5", "tpm.bound_records",
		"more bound records than records");
	rejects(text, "\"bound_records\":3,", "", "bound_records", "a missing bound_records");
	rejects(text, "\"channel\":\"fallback\"", "\"channel\":\"other\"", "tpm.channel",
		"an unknown channel");
	rejects(text, "\"log\":[", "\"log\":[{\"command\":\"AAAA\",\"response\":\"AAAA\"},",
		"tpm.log[0]", "a TPM command shorter than its header");
	rejects(text, "\"commits\":[{", "\"commits\":[{\"x\":0,", "tpm.commits[0]",
		"an extra field in a commit");
	/* json-c's strict mode already refuses a second value after the first. */
	rejects(text, "}}\n", "}}\n{}", "not JSON", "bytes after the JSON value");
	rejects(text, "}}\n", "}", "truncated JSON", "a truncated file");
	/* In the file's terms, not json-c's. */
	not_json("", 0, "proof: empty file", "an empty file");
	not_json(" \n\t\n", 4, "proof: only white space", "a file of white space");
	not_json(text, 100, "proof: truncated JSON (ends at byte 100)", "a file cut short");
	not_json("{\n  \"format\": x\n}\n", 18, "proof: not JSON at line 2, column 13",
		 "a word that is not JSON");
	not_json("null\n", 5, "proof: the JSON value is null, not an object", "null");
	ok(tw_proof_read_file("/tmp", &r, &st) == TW_E_IO && strstr(st.msg, "is a directory"),
	   "a directory cannot be read (%s)", st.msg);

	free(text);
	p.records[2].data[4]++;
	ok(tw_proof_to_json(&p, &text, &len, &st) == TW_OK &&
		   tw_proof_parse(text, len, &r, &st) == TW_E_PROOF &&
		   strstr(st.msg, "tls.records[2]"),
	   "rejects a record whose header length does not match: %s", st.msg);
	free(text);
	tw_proof_clear(&p);
	tw_proof_clear(&q);
	return tap_done();
}
