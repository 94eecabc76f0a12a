// SPDX-License-Identifier: BSD-2-Clause
/*
 * The proof file: writer, strict reader and the hashes that bind it
 * (Documentation/proof-format.rst).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <tlswitness/proof.h>

/* ---- hashes ---- */

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

void tw_proof_transcript_hash(const struct tw_proof *p, size_t count, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t head[13];

	if (count > p->record_count)
		count = p->record_count;
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (size_t i = 0; i < count; i++) {
		const struct tw_proof_record *r = &p->records[i];

		head[0] = r->dir;
		put_be(head + 1, r->time_ns, 8);
		put_be(head + 9, r->len, 4);
		EVP_DigestUpdate(md, head, sizeof(head));
		EVP_DigestUpdate(md, r->data, r->len);
	}
	EVP_DigestFinal_ex(md, out, NULL);
	EVP_MD_CTX_free(md);
}

void tw_proof_qualifying_data(const uint8_t *nonce, size_t nonce_len,
			      const uint8_t transcript_hash[32], uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t n = nonce_len;

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, TW_PROOF_QD_LABEL, strlen(TW_PROOF_QD_LABEL));
	EVP_DigestUpdate(md, &n, 1);
	EVP_DigestUpdate(md, nonce, nonce_len);
	EVP_DigestUpdate(md, transcript_hash, 32);
	EVP_DigestFinal_ex(md, out, NULL);
	EVP_MD_CTX_free(md);
}

int tw_proof_server_digest(const struct tw_proof *p, uint64_t n, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t left = n;

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (size_t i = 0; i < p->record_count && left; i++) {
		const struct tw_proof_record *r = &p->records[i];
		size_t take = r->len < left ? r->len : left;

		if (r->dir != TW_DIR_SERVER)
			continue;
		EVP_DigestUpdate(md, r->data, take);
		left -= take;
	}
	EVP_DigestFinal_ex(md, out, NULL);
	EVP_MD_CTX_free(md);
	return left == 0;
}

void tw_proof_clear(struct tw_proof *p)
{
	for (size_t i = 0; i < p->record_count; i++)
		free(p->records[i].data);
	free(p->records);
	free(p->server_name);
	free(p->alpn);
	tw_audit_log_clear(&p->log);
	free(p->commits);
	free(p->attest);
	free(p->signature);
	free(p->ak_public);
	memset(p, 0, sizeof(*p));
}

/* ---- encodings ---- */

static json_object *json_b64(const uint8_t *buf, size_t len)
{
	size_t out_len = 4 * ((len + 2) / 3);
	char *s = malloc(out_len + 1);
	json_object *o;

	if (!s)
		return NULL;
	EVP_EncodeBlock((unsigned char *)s, buf, len);
	o = json_object_new_string_len(s, out_len);
	free(s);
	return o;
}

static const char hexdigits[] = "0123456789abcdef";

static json_object *json_hex(const uint8_t *buf, size_t len)
{
	char s[2 * TW_PROOF_MAX_NONCE + 1];

	for (size_t i = 0; i < len; i++) {
		s[2 * i] = hexdigits[buf[i] >> 4];
		s[2 * i + 1] = hexdigits[buf[i] & 15];
	}
	return json_object_new_string_len(s, 2 * len);
}

/*
 * Standard base64 (RFC 4648 section 4) with padding and nothing else: the
 * text must be exactly what EVP_EncodeBlock makes of the decoded bytes.
 */
static int b64_decode(const char *s, size_t slen, size_t max, uint8_t **out, size_t *out_len)
{
	size_t pad = 0, len;
	uint8_t *buf;
	char *again;

	if (slen % 4)
		return 0;
	for (size_t i = 0; i < slen; i++) {
		char c = s[i];

		if (c == '=' && i >= slen - 2) {
			pad++;
			continue;
		}
		if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return 0;
	}
	len = slen / 4 * 3 - pad;
	if (len > max)
		return 0;
	buf = malloc(slen / 4 * 3 + 1);
	again = malloc(slen + 1);
	if (!buf || !again)
		goto fail;
	if (slen && EVP_DecodeBlock(buf, (const unsigned char *)s, slen) < 0)
		goto fail;
	EVP_EncodeBlock((unsigned char *)again, buf, len);
	if (memcmp(again, s, slen))
		goto fail;
	free(again);
	*out = buf;
	*out_len = len;
	return 1;
fail:
	free(buf);
	free(again);
	return 0;
}

static int hex_value(char c)
{
	const char *p = c ? strchr(hexdigits, c) : NULL;

	return p ? p - hexdigits : -1;
}

/* ---- writer ---- */

static int add(json_object *obj, const char *key, json_object *val)
{
	if (!val)
		return -1;
	json_object_object_add(obj, key, val);
	return 0;
}

static json_object *records_json(const struct tw_proof *p)
{
	json_object *arr = json_object_new_array_ext(p->record_count);

	for (size_t i = 0; arr && i < p->record_count; i++) {
		const struct tw_proof_record *r = &p->records[i];
		json_object *o = json_object_new_object();

		if (!o || json_object_array_add(arr, o))
			goto fail;
		if (add(o, "dir", json_object_new_string(r->dir == TW_DIR_CLIENT ? "client"
										 : "server")) ||
		    add(o, "offset", json_object_new_int64(r->offset)) ||
		    add(o, "time_ns", json_object_new_int64(r->time_ns)) ||
		    add(o, "data", json_b64(r->data, r->len)))
			goto fail;
	}
	return arr;
fail:
	json_object_put(arr);
	return NULL;
}

static json_object *log_json(const struct tw_audit_log *log)
{
	json_object *arr = json_object_new_array_ext(log->count);

	for (size_t i = 0; arr && i < log->count; i++) {
		const struct tw_audit_entry *e = &log->entries[i];
		json_object *o = json_object_new_object();

		if (!o || json_object_array_add(arr, o))
			goto fail;
		if (add(o, "command", json_b64(e->cmd, e->cmd_len)) ||
		    add(o, "response", json_b64(e->rsp, e->rsp_len)))
			goto fail;
	}
	return arr;
fail:
	json_object_put(arr);
	return NULL;
}

static json_object *commits_json(const struct tw_proof *p)
{
	json_object *arr = json_object_new_array_ext(p->commit_count);

	for (size_t i = 0; arr && i < p->commit_count; i++) {
		json_object *o = json_object_new_object();

		if (!o || json_object_array_add(arr, o))
			goto fail;
		if (add(o, "entry", json_object_new_int64(p->commits[i].entry)) ||
		    add(o, "server_bytes", json_object_new_int64(p->commits[i].server_bytes)))
			goto fail;
	}
	return arr;
fail:
	json_object_put(arr);
	return NULL;
}

static json_object *proof_json(const struct tw_proof *p)
{
	json_object *root = json_object_new_object();
	json_object *tls = json_object_new_object();
	json_object *tpm = json_object_new_object();
	const char *channel = p->channel == TW_CHANNEL_RESERVED ? "reserved" : "fallback";

	if (!root || !tls || !tpm) {
		json_object_put(tls);
		json_object_put(tpm);
		goto fail;
	}
	if (add(root, "format", json_object_new_string(TW_PROOF_FORMAT)) ||
	    add(root, "version", json_object_new_int(p->version)) ||
	    add(root, "nonce", json_hex(p->nonce, p->nonce_len)))
		goto fail;
	json_object_object_add(root, "tls", tls);
	json_object_object_add(root, "tpm", tpm);

	/* json-c spells JSON null as a NULL value. */
	if (add(tls, "server_name", json_object_new_string(p->server_name)))
		goto fail;
	json_object_object_add(tls, "alpn", p->alpn ? json_object_new_string(p->alpn) : NULL);
	if (add(tls, "cipher_suite", json_object_new_int(p->cipher_suite)) ||
	    add(tls, "records", records_json(p)))
		goto fail;

	if (add(tpm, "channel", json_object_new_string(channel)) ||
	    add(tpm, "retries", json_object_new_int(p->retries)) ||
	    add(tpm, "log", log_json(&p->log)) ||
	    add(tpm, "reset", json_object_new_int64(p->reset_entry)) ||
	    add(tpm, "zgen", json_object_new_int64(p->zgen_entry)) ||
	    add(tpm, "commits", commits_json(p)) ||
	    add(tpm, "bound_records", json_object_new_int64(p->bound_records)) ||
	    add(tpm, "attest", json_b64(p->attest, p->attest_len)) ||
	    add(tpm, "signature", json_b64(p->signature, p->signature_len)) ||
	    add(tpm, "ak_public", json_b64(p->ak_public, p->ak_public_len)))
		goto fail;
	return root;
fail:
	json_object_put(root);
	return NULL;
}

enum tw_code tw_proof_to_json(const struct tw_proof *p, char **text, size_t *len,
			      struct tw_status *st)
{
	json_object *root = proof_json(p);
	const char *s;
	size_t n;

	if (!root)
		return tw_status_set(st, TW_E_NOMEM, "out of memory building the proof");
	s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN |
						     JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	*text = s ? malloc(n + 2) : NULL;
	if (!*text) {
		json_object_put(root);
		return tw_status_set(st, TW_E_NOMEM, "out of memory serialising the proof");
	}
	memcpy(*text, s, n);
	(*text)[n] = '\n';
	(*text)[n + 1] = 0;
	*len = n + 1;
	json_object_put(root);
	return TW_OK;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

enum tw_code tw_proof_write_file(const struct tw_proof *p, const char *path,
				 struct tw_status *st)
{
	char *text = NULL, *tmp = NULL, *dcopy = NULL;
	enum tw_code rc;
	size_t len;
	int fd = -1, dfd;

	rc = tw_proof_to_json(p, &text, &len, st);
	if (rc)
		return rc;
	dcopy = strdup(path);
	if (!dcopy || asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0) {
		tmp = NULL;
		rc = tw_status_set(st, TW_E_NOMEM, "out of memory writing the proof");
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = tw_status_set(st, TW_E_IO, "cannot write the proof to %s: %s", path,
				   strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0644) || write_all(fd, text, len) || fsync(fd)) {
		rc = tw_status_set(st, TW_E_IO, "cannot write the proof to %s: %s", path,
				   strerror(errno));
		goto out_unlink;
	}
	if (close(fd)) {
		fd = -1;
		rc = tw_status_set(st, TW_E_IO, "cannot write the proof to %s: %s", path,
				   strerror(errno));
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path)) {
		rc = tw_status_set(st, TW_E_IO, "cannot rename to %s: %s", path, strerror(errno));
		goto out_unlink;
	}

	/* The rename itself is durable only once the directory is synced. */
	dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = TW_OK;
	goto out;
out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(tmp);
	free(dcopy);
	free(text);
	return rc;
}

/* ---- reader ---- */

/*
 * Each reader step names the field it looks at; on failure the message
 * says "proof: <field>: <what is wrong>".  Every key and string value is
 * counted so that duplicated keys, which json-c merges silently, are found
 * (see count_quotes below).
 */
/* Below json-c's int64 clamp, so a clamped huge number is never taken. */
#define TW_PROOF_MAX_INT (1ull << 62)

struct reader {
	struct tw_status *st;
	size_t strings;		/* keys and string values seen in the tree */
};

static int bad(struct reader *rd, const char *field, const char *what)
{
	tw_status_set(rd->st, TW_E_PROOF, "proof: %s: %s", field, what);
	return -1;
}

/* @obj must be an object with exactly the @n keys in @keys. */
static int exact_keys(struct reader *rd, json_object *obj, const char *field,
		      const char *const *keys, size_t n)
{
	if (!json_object_is_type(obj, json_type_object))
		return bad(rd, field, "not an object");
	for (size_t i = 0; i < n; i++)
		if (!json_object_object_get_ex(obj, keys[i], NULL)) {
			tw_status_set(rd->st, TW_E_PROOF, "proof: %s: field \"%s\" is missing",
				      field, keys[i]);
			return -1;
		}
	if ((size_t)json_object_object_length(obj) != n)
		return bad(rd, field, "has a field the format does not define");
	rd->strings += n;
	return 0;
}

static json_object *member(json_object *obj, const char *key)
{
	json_object *v = NULL;

	json_object_object_get_ex(obj, key, &v);
	return v;
}

static int get_uint(struct reader *rd, json_object *v, const char *field, uint64_t max,
		    uint64_t *out)
{
	int64_t x;

	if (!json_object_is_type(v, json_type_int))
		return bad(rd, field, "not an integer");
	x = json_object_get_int64(v);
	if (x < 0 || (uint64_t)x > max)
		return bad(rd, field, "out of range");
	*out = x;
	return 0;
}

static int get_string(struct reader *rd, json_object *v, const char *field, const char **s,
		      size_t *len)
{
	if (!json_object_is_type(v, json_type_string))
		return bad(rd, field, "not a string");
	*s = json_object_get_string(v);
	*len = json_object_get_string_len(v);
	rd->strings++;
	return 0;
}

static int get_b64(struct reader *rd, json_object *v, const char *field, size_t min, size_t max,
		   uint8_t **out, size_t *out_len)
{
	const char *s;
	size_t len;

	if (get_string(rd, v, field, &s, &len))
		return -1;
	if (!b64_decode(s, len, max, out, out_len))
		return bad(rd, field, "not canonical base64 of an allowed size");
	if (*out_len < min) {
		free(*out);
		*out = NULL;
		return bad(rd, field, "too short");
	}
	return 0;
}

/* A name or protocol: printable ASCII without quote or backslash. */
static int get_name(struct reader *rd, json_object *v, const char *field, char **out)
{
	const char *s;
	size_t len;

	if (get_string(rd, v, field, &s, &len))
		return -1;
	if (len == 0 || len > TW_PROOF_MAX_NAME)
		return bad(rd, field, "empty or longer than 255 bytes");
	for (size_t i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\')
			return bad(rd, field, "has a character outside printable ASCII");
	*out = strdup(s);
	if (!*out) {
		tw_status_set(rd->st, TW_E_NOMEM, "out of memory reading the proof");
		return -1;
	}
	return 0;
}

static int read_nonce(struct reader *rd, json_object *v, struct tw_proof *p)
{
	const char *s;
	size_t len;

	if (get_string(rd, v, "nonce", &s, &len))
		return -1;
	if (len % 2 || len / 2 > TW_PROOF_MAX_NONCE)
		return bad(rd, "nonce", "not lower-case hex of at most 64 bytes");
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return bad(rd, "nonce", "not lower-case hex of at most 64 bytes");
		p->nonce[i] = hi << 4 | lo;
	}
	p->nonce_len = len / 2;
	return 0;
}

/* RFC 8446 section 5.1: a record is a 5-byte header and length bytes. */
static int read_records(struct reader *rd, json_object *arr, struct tw_proof *p)
{
	static const char *const keys[] = { "dir", "offset", "time_ns", "data" };
	uint64_t next[3] = { 0, 0, 0 }, last_time = 0;
	size_t n;

	if (!json_object_is_type(arr, json_type_array))
		return bad(rd, "tls.records", "not an array");
	n = json_object_array_length(arr);
	if (n == 0 || n > TW_PROOF_MAX_RECORDS)
		return bad(rd, "tls.records", "empty or too many records");
	p->records = calloc(n, sizeof(*p->records));
	if (!p->records) {
		tw_status_set(rd->st, TW_E_NOMEM, "out of memory reading the proof");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		struct tw_proof_record *r = &p->records[i];
		char field[48];
		const char *dir;
		size_t dlen;

		snprintf(field, sizeof(field), "tls.records[%zu]", i);
		if (exact_keys(rd, o, field, keys, 4))
			return -1;
		if (get_string(rd, member(o, "dir"), field, &dir, &dlen))
			return -1;
		if (!strcmp(dir, "client"))
			r->dir = TW_DIR_CLIENT;
		else if (!strcmp(dir, "server"))
			r->dir = TW_DIR_SERVER;
		else
			return bad(rd, field, "dir is neither \"client\" nor \"server\"");
		if (get_uint(rd, member(o, "offset"), field, TW_PROOF_MAX_INT, &r->offset) ||
		    get_uint(rd, member(o, "time_ns"), field, TW_PROOF_MAX_INT, &r->time_ns) ||
		    get_b64(rd, member(o, "data"), field, 5, TW_PROOF_MAX_RECORD, &r->data,
			    &r->len))
			return -1;
		p->record_count = i + 1;
		if (r->offset != next[r->dir])
			return bad(rd, field, "offset does not follow the previous record");
		if ((size_t)(r->data[3] << 8 | r->data[4]) != r->len - 5)
			return bad(rd, field, "record length field does not match its data");
		if (r->time_ns < last_time)
			return bad(rd, field, "time goes backwards");
		next[r->dir] += r->len;
		last_time = r->time_ns;
	}
	return 0;
}

static int read_log(struct reader *rd, json_object *arr, struct tw_proof *p)
{
	static const char *const keys[] = { "command", "response" };
	size_t n;

	if (!json_object_is_type(arr, json_type_array))
		return bad(rd, "tpm.log", "not an array");
	n = json_object_array_length(arr);
	if (n == 0 || n > TW_PROOF_MAX_ENTRIES)
		return bad(rd, "tpm.log", "empty or too many entries");
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		uint8_t *cmd = NULL, *rsp = NULL;
		size_t cmd_len, rsp_len;
		char field[32];
		enum tw_code rc;

		snprintf(field, sizeof(field), "tpm.log[%zu]", i);
		if (exact_keys(rd, o, field, keys, 2))
			return -1;
		/* TPM 2.0 Part 1 section 18: a 10-byte header starts both. */
		if (get_b64(rd, member(o, "command"), field, 10, TW_PROOF_MAX_TPM_BUF, &cmd,
			    &cmd_len))
			return -1;
		if (get_b64(rd, member(o, "response"), field, 10, TW_PROOF_MAX_TPM_BUF, &rsp,
			    &rsp_len)) {
			free(cmd);
			return -1;
		}
		rc = tw_audit_log_append(&p->log, cmd, cmd_len, rsp, rsp_len, rd->st);
		free(cmd);
		free(rsp);
		if (rc)
			return -1;
	}
	return 0;
}

static int read_commits(struct reader *rd, json_object *arr, struct tw_proof *p,
			uint64_t server_total)
{
	static const char *const keys[] = { "entry", "server_bytes" };
	size_t n;

	if (!json_object_is_type(arr, json_type_array))
		return bad(rd, "tpm.commits", "not an array");
	n = json_object_array_length(arr);
	if (n == 0 || n > TW_PROOF_MAX_COMMITS)
		return bad(rd, "tpm.commits", "empty or too many commits");
	p->commits = calloc(n, sizeof(*p->commits));
	if (!p->commits) {
		tw_status_set(rd->st, TW_E_NOMEM, "out of memory reading the proof");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		struct tw_proof_commit *c = &p->commits[i];
		char field[32];
		uint64_t entry;

		snprintf(field, sizeof(field), "tpm.commits[%zu]", i);
		if (exact_keys(rd, o, field, keys, 2) ||
		    get_uint(rd, member(o, "entry"), field, p->log.count - 1, &entry) ||
		    get_uint(rd, member(o, "server_bytes"), field, server_total,
			     &c->server_bytes))
			return -1;
		c->entry = entry;
		p->commit_count = i + 1;
	}
	return 0;
}

static int read_tls(struct reader *rd, json_object *tls, struct tw_proof *p)
{
	static const char *const keys[] = { "server_name", "alpn", "cipher_suite", "records" };
	json_object *alpn;
	uint64_t suite;

	if (exact_keys(rd, tls, "tls", keys, 4) ||
	    get_name(rd, member(tls, "server_name"), "tls.server_name", &p->server_name))
		return -1;
	alpn = member(tls, "alpn");
	if (alpn && get_name(rd, alpn, "tls.alpn", &p->alpn))
		return -1;
	if (get_uint(rd, member(tls, "cipher_suite"), "tls.cipher_suite", 0xffff, &suite))
		return -1;
	p->cipher_suite = suite;
	return read_records(rd, member(tls, "records"), p);
}

static int read_tpm(struct reader *rd, json_object *tpm, struct tw_proof *p)
{
	static const char *const keys[] = { "channel", "retries", "log", "reset", "zgen",
					    "commits", "bound_records", "attest", "signature",
					    "ak_public" };
	uint64_t retries, reset, zgen, bound, server_total = 0;
	const char *channel;
	size_t len;

	if (exact_keys(rd, tpm, "tpm", keys, 10) ||
	    get_string(rd, member(tpm, "channel"), "tpm.channel", &channel, &len))
		return -1;
	if (!strcmp(channel, "reserved"))
		p->channel = TW_CHANNEL_RESERVED;
	else if (!strcmp(channel, "fallback"))
		p->channel = TW_CHANNEL_FALLBACK;
	else
		return bad(rd, "tpm.channel", "neither \"reserved\" nor \"fallback\"");
	if (get_uint(rd, member(tpm, "retries"), "tpm.retries", 1000, &retries) ||
	    read_log(rd, member(tpm, "log"), p) ||
	    get_uint(rd, member(tpm, "reset"), "tpm.reset", p->log.count - 1, &reset) ||
	    get_uint(rd, member(tpm, "zgen"), "tpm.zgen", p->log.count - 1, &zgen))
		return -1;
	p->retries = retries;
	p->reset_entry = reset;
	p->zgen_entry = zgen;
	for (size_t i = 0; i < p->record_count; i++)
		if (p->records[i].dir == TW_DIR_SERVER)
			server_total += p->records[i].len;
	if (read_commits(rd, member(tpm, "commits"), p, server_total))
		return -1;
	if (get_uint(rd, member(tpm, "bound_records"), "tpm.bound_records", p->record_count,
		     &bound))
		return -1;
	if (bound == 0)
		return bad(rd, "tpm.bound_records", "binds no record");
	p->bound_records = bound;

	/* TPM 2.0 Part 2 sections 10.12.12, 11.3.4 and 12.2.5 bound these sizes. */
	if (get_b64(rd, member(tpm, "attest"), "tpm.attest", 10, 1024, &p->attest,
		    &p->attest_len) ||
	    get_b64(rd, member(tpm, "signature"), "tpm.signature", 4, 1024, &p->signature,
		    &p->signature_len) ||
	    get_b64(rd, member(tpm, "ak_public"), "tpm.ak_public", 4, 1024, &p->ak_public,
		    &p->ak_public_len))
		return -1;
	return 0;
}

/*
 * With no backslash in the text, every '"' delimits a key or a string
 * value, so the text holds exactly twice as many quotes as the tree has
 * keys and strings unless json-c merged a duplicated key.
 */
static size_t count_quotes(const char *text, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += text[i] == '"';
	return n;
}

/*
 * Why @text is not JSON, in the file's terms rather than json-c's: empty,
 * ended before the value did (a cut file), or wrong at a line and column.
 */
static void not_json(const char *text, size_t len, struct json_tokener *tok,
		     struct tw_status *st)
{
	size_t end = json_tokener_get_parse_end(tok), line = 1, column = 1, i;

	for (i = 0; i < len && strchr(" \t\r\n", text[i]); i++)
		;
	if (i == len) {
		tw_status_set(st, TW_E_PROOF, "proof: %s", len ? "only white space" : "empty file");
		return;
	}
	if (json_tokener_get_error(tok) == json_tokener_success) {
		tw_status_set(st, TW_E_PROOF, "proof: the JSON value is null, not an object");
		return;
	}
	if (json_tokener_get_error(tok) == json_tokener_continue) {
		tw_status_set(st, TW_E_PROOF, "proof: truncated JSON (ends at byte %zu)", len);
		return;
	}
	for (i = 0; i < end && i < len; i++, column++)
		if (text[i] == '\n') {
			line++;
			column = 0;
		}
	tw_status_set(st, TW_E_PROOF, "proof: not JSON at line %zu, column %zu", line, column);
}

enum tw_code tw_proof_parse(const char *text, size_t len, struct tw_proof *p,
			    struct tw_status *st)
{
	static const char *const keys[] = { "format", "version", "nonce", "tls", "tpm" };
	struct reader rd = { .st = st };
	struct json_tokener *tok;
	json_object *root = NULL;
	const char *format;
	uint64_t version;
	size_t flen;
	int err = -1;

	memset(p, 0, sizeof(*p));
	if (len > TW_PROOF_MAX_BYTES)
		return tw_status_set(st, TW_E_PROOF, "proof: larger than 256 MiB");
	if (memchr(text, '\\', len) || memchr(text, 0, len))
		return tw_status_set(st, TW_E_PROOF, "proof: has a backslash or NUL byte");
	tok = json_tokener_new_ex(8);
	if (!tok)
		return tw_status_set(st, TW_E_NOMEM, "out of memory reading the proof");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, text, len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success) {
		not_json(text, len, tok, st);
		goto out;
	}
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
		if (!strchr(" \t\r\n", text[i])) {
			bad(&rd, "file", "trailing bytes after the JSON value");
			goto out;
		}

	if (exact_keys(&rd, root, "top level", keys, 5) ||
	    get_string(&rd, member(root, "format"), "format", &format, &flen))
		goto out;
	if (strcmp(format, TW_PROOF_FORMAT)) {
		bad(&rd, "format", "not \"" TW_PROOF_FORMAT "\"");
		goto out;
	}
	if (get_uint(&rd, member(root, "version"), "version", UINT32_MAX, &version))
		goto out;
	if (version != TW_PROOF_VERSION) {
		tw_status_set(st, TW_E_PROOF, "proof: version %llu is not understood (only %d)",
			      (unsigned long long)version, TW_PROOF_VERSION);
		goto out;
	}
	p->version = version;
	if (read_nonce(&rd, member(root, "nonce"), p) ||
	    read_tls(&rd, member(root, "tls"), p) || read_tpm(&rd, member(root, "tpm"), p))
		goto out;
	if (count_quotes(text, len) != 2 * rd.strings) {
		bad(&rd, "file", "a key appears twice in one object");
		goto out;
	}
	err = 0;
out:
	json_object_put(root);
	json_tokener_free(tok);
	if (err) {
		tw_proof_clear(p);
		return st ? st->code : TW_E_PROOF;
	}
	return TW_OK;
}

enum tw_code tw_proof_read_file(const char *path, struct tw_proof *p, struct tw_status *st)
{
	enum tw_code rc;
	struct stat sb;
	char *text;
	size_t got = 0;
	int fd;

	memset(p, 0, sizeof(*p));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tw_status_set(st, TW_E_IO, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &sb)) {
		close(fd);
		return tw_status_set(st, TW_E_IO, "cannot read %s: %s", path, strerror(errno));
	}
	if (S_ISDIR(sb.st_mode)) {
		close(fd);
		return tw_status_set(st, TW_E_IO, "cannot read %s: it is a directory", path);
	}
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > TW_PROOF_MAX_BYTES) {
		close(fd);
		return tw_status_set(st, TW_E_PROOF, "%s: not a regular file of at most 256 MiB",
				     path);
	}
	text = malloc(sb.st_size + 1);
	if (!text) {
		close(fd);
		return tw_status_set(st, TW_E_NOMEM, "out of memory reading %s", path);
	}
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, text + got, sb.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	if (got != (size_t)sb.st_size) {
		free(text);
		return tw_status_set(st, TW_E_IO, "cannot read %s", path);
	}
	rc = tw_proof_parse(text, got, p, st);
	free(text);
	return rc;
}
