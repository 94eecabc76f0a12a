// SPDX-License-Identifier: BSD-2-Clause
/*
 * tlswitness verify PROOF --ak AK [--ca-file F | --ca-path D] [--nonce HEX]
 *                   [--host NAME] [--time SECONDS] [--json]
 *
 * Check a proof offline (Documentation/verifier.rst) and report what the
 * TPM vouches for: the handshake, then every record with its class.  Exit
 * codes are listed below and in Documentation/tlswitness.1.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <tlswitness/verify.h>

#include "cli.h"

/* verify names the kind of failure in its exit code; 0 and 2 as for every subcommand. */
enum {
	EXIT_VERIFY_OK = TW_EXIT_OK,
	EXIT_VERIFY_REJECTED = TW_EXIT_FAIL, /* a verification check failed */
	EXIT_VERIFY_USAGE = TW_EXIT_USAGE,
	EXIT_VERIFY_MALFORMED = 3, /* the proof is not one the verifier understands */
	EXIT_VERIFY_IO = 4,	   /* a file could not be read; out of memory */
};

#define MAX_AK_FILE 16384

/* What every verified proof leaves unproved, in the report's own words. */
static const char tw_consistent_limit[] =
	"Records marked 'consistent' came after the TPM released the shared secret. They "
	"verify under the session keys, but the prover knew those keys by then and could "
	"have made these records itself: the TPM does not vouch that the server sent them. "
	"Records marked 'unauthenticated' (the compatibility change_cipher_spec) carry no "
	"AEAD tag and are outside the handshake transcript, so nothing vouches for them. "
	"Records marked 'attested' were committed before the TPM computed the shared "
	"secret, so only the server could have made them.";

static void usage(FILE *f)
{
	fprintf(f, "usage: tlswitness verify PROOF --ak AK [--ca-file FILE | --ca-path DIR] "
		   "[--nonce HEX]\n"
		   "                         [--host NAME] [--time SECONDS] [--json]\n"
		   "--host is required for a proof whose ClientHello has no SNI (an IP "
		   "address URL)\n");
}

/* One line on stderr; returns @code. */
static int __attribute__((format(printf, 2, 3))) fail_line(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tlswitness verify: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return code;
}

static int parse_hex(const char *s, uint8_t *out, size_t max, size_t *len)
{
	static const char digits[] = "0123456789abcdefABCDEF";
	size_t n = strlen(s), i;

	if (n % 2 || n / 2 > max || n == 0)
		return -1;
	for (i = 0; i < n; i++)
		if (!strchr(digits, s[i]))
			return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned int v;

		sscanf(s + 2 * i, "%2x", &v);
		out[i] = v;
	}
	*len = n / 2;
	return 0;
}

/*
 * A file named on the command line: one that cannot be read is exit 4,
 * found before any other is read.  A directory opens, and would fail
 * later in a different way for each file; it is named as one here.
 */
static int check_input(const char *what, const char *path)
{
	struct stat sb;

	if (stat(path, &sb) || access(path, R_OK))
		return fail_line(EXIT_VERIFY_IO, "cannot read the %s %s: %s", what, path,
				 strerror(errno));
	if (S_ISDIR(sb.st_mode))
		return fail_line(EXIT_VERIFY_IO, "cannot read the %s %s: it is a directory", what,
				 path);
	return 0;
}

/* OpenSSL's name for a certificate in a CA directory: 8 hex digits, '.', a number. */
static int hashed_name(const char *name)
{
	size_t i;

	for (i = 0; i < 8; i++)
		if (!isxdigit((unsigned char)name[i]))
			return 0;
	if (name[8] != '.' || !name[9])
		return 0;
	for (i = 9; name[i]; i++)
		if (!isdigit((unsigned char)name[i]))
			return 0;
	return 1;
}

/*
 * --ca-path: OpenSSL looks certificates up in it by name only when a
 * chain is built, so a directory that is missing, unreadable or without
 * such names would show only as "unable to get local issuer certificate"
 * in the TLS check.  Found here instead: exit 4 for what cannot be read,
 * 2 for a directory that holds no certificate, as for --ca-file.
 */
static int check_ca_path(const char *path)
{
	struct dirent *e;
	struct stat sb;
	int found = 0;
	DIR *d;

	if (stat(path, &sb))
		return fail_line(EXIT_VERIFY_IO, "cannot use the CA directory %s: %s", path,
				 strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return fail_line(EXIT_VERIFY_IO,
				 "cannot use the CA directory %s: it is not a directory "
				 "(--ca-file takes a file)",
				 path);
	d = access(path, R_OK | X_OK) ? NULL : opendir(path);
	if (!d)
		return fail_line(EXIT_VERIFY_IO, "cannot read the CA directory %s: %s", path,
				 strerror(errno));
	while (!found && (e = readdir(d)))
		found = hashed_name(e->d_name);
	closedir(d);
	if (!found)
		return fail_line(EXIT_VERIFY_USAGE,
				 "the CA directory %s holds no certificate under a hashed name "
				 "(HASH.0; make them with openssl rehash)",
				 path);
	return 0;
}

/*
 * --ak: a PEM public key (what `tlswitness ak -o FILE` writes to FILE), or
 * the marshalled TPM2B_PUBLIC it writes to FILE.pub.
 */
static int read_ak(const char *path, struct tw_verify_opts *o, uint8_t *buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return fail_line(EXIT_VERIFY_IO, "cannot read the AK file %s: %s", path,
				 strerror(errno));
	n = fread(buf, 1, MAX_AK_FILE, f);
	if (ferror(f)) {
		fclose(f);
		return fail_line(EXIT_VERIFY_IO, "cannot read the AK file %s", path);
	}
	fclose(f);
	if (n >= 10 && !memcmp(buf, "-----BEGIN", 10)) {
		BIO *bio = BIO_new_mem_buf(buf, (int)n);

		o->ak_key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
		if (!o->ak_key)
			return fail_line(EXIT_VERIFY_USAGE, "%s is not a PEM public key", path);
		return 0;
	}
	/* TPM 2.0 Part 2 section 12.2.5: a 2-byte size, then the public area. */
	if (n < 4 || n == MAX_AK_FILE || (size_t)(buf[0] << 8 | buf[1]) != n - 2)
		return fail_line(EXIT_VERIFY_USAGE,
				 "%s is neither a PEM public key nor a marshalled TPM2B_PUBLIC",
				 path);
	o->ak_public = buf;
	o->ak_public_len = n;
	*len = n;
	return 0;
}

/* The trust store: --ca-file or --ca-path (checked already), else the system's. */
static int load_trust(X509_STORE *store, const char *ca_file, const char *ca_path)
{
	if (!ca_file && !ca_path && X509_STORE_set_default_paths(store) != 1)
		return fail_line(EXIT_VERIFY_IO, "cannot load the system's trust store");
	if (ca_file && X509_STORE_load_file(store, ca_file) != 1)
		return fail_line(EXIT_VERIFY_USAGE, "%s holds no PEM certificate", ca_file);
	if (ca_path && X509_STORE_load_path(store, ca_path) != 1)
		return fail_line(EXIT_VERIFY_IO, "cannot use the CA directory %s", ca_path);
	return 0;
}

/* Every file and directory the command line names, before any is used. */
static int check_inputs(const char *proof, const char *ak, const char *ca_file, const char *ca_path)
{
	int ret;

	if (ca_file && ca_path)
		return fail_line(EXIT_VERIFY_USAGE,
				 "give --ca-file or --ca-path, not both: the trust anchors come "
				 "from one of them");
	ret = check_input("proof", proof);
	if (!ret)
		ret = check_input("AK file", ak);
	if (!ret && ca_file)
		ret = check_input("CA file", ca_file);
	if (!ret && ca_path)
		ret = check_ca_path(ca_path);
	return ret;
}

static int parse_time(const char *s, time_t *t)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v <= 0)
		return -1;
	*t = (time_t)v;
	return 0;
}

/* ---- the pieces of the report ---- */

static void hex(char *out, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = 0;
}

static const char *group_name(uint16_t g)
{
	switch (g) {
	case TW_TLS_GROUP_SECP256R1:
		return "secp256r1";
	case TW_TLS_GROUP_SECP384R1:
		return "secp384r1";
	case TW_TLS_GROUP_SECP521R1:
		return "secp521r1";
	case TW_TLS_GROUP_X25519:
		return "x25519";
	case TW_TLS_GROUP_X448:
		return "x448";
	}
	return "unknown";
}

/* RFC 8446 section 4.2.3: the schemes a CertificateVerify may use. */
static const char *scheme_name(uint16_t s)
{
	static const struct {
		uint16_t id;
		const char *name;
	} names[] = {
		{0x0403, "ecdsa_secp256r1_sha256"},
		{0x0503, "ecdsa_secp384r1_sha384"},
		{0x0603, "ecdsa_secp521r1_sha512"},
		{0x0804, "rsa_pss_rsae_sha256"},
		{0x0805, "rsa_pss_rsae_sha384"},
		{0x0806, "rsa_pss_rsae_sha512"},
		{0x0807, "ed25519"},
		{0x0808, "ed448"},
		{0x0809, "rsa_pss_pss_sha256"},
		{0x080a, "rsa_pss_pss_sha384"},
		{0x080b, "rsa_pss_pss_sha512"},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].id == s)
			return names[i].name;
	return "unknown";
}

/* An X509_NAME as one RFC 2253 line, into @out. */
static void name_line(const X509_NAME *name, char *out, size_t size)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int n = 0;

	out[0] = 0;
	if (bio && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0)
		n = BIO_read(bio, out, (int)size - 1);
	out[n > 0 ? n : 0] = 0;
	BIO_free(bio);
}

struct cert_names {
	char subject[512];
	char issuer[512];
};

static void cert_names(const struct tw_tls_cert *c, struct cert_names *cn)
{
	const unsigned char *p = c->der;
	X509 *x = d2i_X509(NULL, &p, (long)c->len);

	strcpy(cn->subject, "(unparsable)");
	strcpy(cn->issuer, "(unparsable)");
	if (!x)
		return;
	name_line(X509_get_subject_name(x), cn->subject, sizeof(cn->subject));
	name_line(X509_get_issuer_name(x), cn->issuer, sizeof(cn->issuer));
	X509_free(x);
}

/* What a record carried, after decryption: "handshake: server_hello, certificate". */
static void record_content(const struct tw_tls_session *s, const struct tw_tls_record *r, char *out,
			   size_t size)
{
	size_t i, n;

	n = snprintf(out, size, "%s", tw_tls_content_type_name(r->type));
	if (r->type == TW_TLS_CT_HANDSHAKE) {
		for (i = 0; i < r->msg_count && n < size; i++)
			n += snprintf(
				out + n, size - n, "%s%s", i ? ", " : ": ",
				tw_tls_handshake_type_name(s->messages[r->msg_first + i].type));
	} else if (r->type == TW_TLS_CT_APPLICATION_DATA) {
		snprintf(out + n, size - n, ": %zu bytes", r->content_len);
	} else if (r->type == TW_TLS_CT_ALERT) {
		snprintf(out + n, size - n, ": %s", tw_tls_alert_name(r->alert_desc));
	}
}

static const char *protection_name(enum tw_tls_protection p)
{
	switch (p) {
	case TW_TLS_PLAINTEXT:
		return "plaintext";
	case TW_TLS_HANDSHAKE_KEYS:
		return "handshake";
	case TW_TLS_APPLICATION_KEYS:
		return "application";
	}
	return "unknown";
}

/* ---- text ---- */

/*
 * @text in lines of at most @width columns, broken at spaces, the first
 * line after @label and the others indented as far.
 */
static void print_folded(const char *label, const char *text, size_t width)
{
	size_t indent = strlen(label);

	printf("%s", label);
	while (strlen(text) > width - indent) {
		size_t cut = width - indent;

		while (cut && text[cut] != ' ')
			cut--;
		if (!cut)
			cut = width - indent;
		printf("%.*s\n%*s", (int)cut, text, (int)indent, "");
		text += cut + (text[cut] == ' ');
	}
	printf("%s\n", text);
}

/*
 * How the transcript ends.  The records after the bound ones are signed
 * by nothing, so any of them can be dropped from the end and the rest
 * still verifies: without the server's close_notify the proof may have
 * been cut short.  With it, no more is shown: the alert came after ZGen,
 * when the prover knew the keys and could have made it (claims.rst).
 */
static void print_end(const struct tw_tls_session *s)
{
	int client = s->dir[TW_TLS_CLIENT].close_notify;
	int server = s->dir[TW_TLS_SERVER].close_notify;
	char line[512];

	snprintf(line, sizeof(line), "server close_notify %s, client close_notify %s: %s",
		 server ? "present" : "absent", client ? "present" : "absent",
		 server ? "the server's came after ZGen, when the prover knew the keys and "
			  "could have made it, so it does not show that no records were "
			  "removed from the end"
			: "the transcript may have been cut short by the prover (records after "
			  "the bound ones can be removed from its end and the rest still "
			  "verifies)");
	print_folded("  end       ", line, 78);
}

/* How many checks ran to their end and held. */
static unsigned int checks_passed(const struct tw_verify_result *r)
{
	unsigned int n = 0;
	int c;

	for (c = TW_CHECK_NONE + 1; c < TW_CHECK_COUNT; c++)
		n += r->checks[c] == TW_STATE_PASSED;
	return n;
}

/* A rejected proof: which checks ran to their end, which failed, which did not. */
static void print_rejected(const char *path, const struct tw_verify_result *r)
{
	int c;

	printf("proof       %s\n", path);
	printf("result      rejected: check %u %s failed\n\n", tw_check_step(r->failed),
	       tw_check_name(r->failed));
	printf("checks      %u of %d ran to their end and passed\n", checks_passed(r),
	       TW_CHECK_COUNT - 1);
	for (c = TW_CHECK_NONE + 1; c < TW_CHECK_COUNT; c++)
		printf("  %u %-17s %s\n", tw_check_step(c), tw_check_name(c),
		       tw_check_state_name(r->checks[c]));
}

/*
 * The table rows of the records classed attested, as "1, 3-6" into @out;
 * "none" if there is none.  Numbers run on only where the rows do.
 */
static void attested_rows(const struct tw_verify_result *r, char *out, size_t size)
{
	size_t i, first, n = 0;

	out[0] = 0;
	for (i = 0; i < r->record_count && n < size; i++) {
		if (r->records[i].cls != TW_RECORD_ATTESTED)
			continue;
		first = i;
		while (i + 1 < r->record_count && r->records[i + 1].cls == TW_RECORD_ATTESTED)
			i++;
		if (first == i)
			n += snprintf(out + n, size - n, "%s%zu", n ? ", " : "", i);
		else
			n += snprintf(out + n, size - n, "%s%zu-%zu", n ? ", " : "", first, i);
	}
	if (!n)
		snprintf(out, size, "none");
}

/*
 * The nonce line.  With --nonce the value shown is the verifier's, which
 * the signature binds (the proof's field was checked to be the same).
 * Without it the value is the proof's field: bound by the signature, but
 * chosen by the prover, so it shows nothing about when the proof was made.
 */
static void print_nonce(const struct tw_proof *p, const struct tw_verify_opts *o,
			const struct tw_verify_result *r)
{
	char nonce[2 * TW_PROOF_MAX_NONCE + 1], line[512];

	if (r->nonce_checked) {
		hex(nonce, o->nonce, o->nonce_len);
		printf("  nonce     %s: the verifier's (--nonce), so the session is fresh\n", nonce);
		return;
	}
	hex(nonce, p->nonce, p->nonce_len);
	snprintf(line, sizeof(line),
		 "%s: the proof's field, the prover's word: the signature binds it, but no "
		 "--nonce was given to check it against, so freshness unknown",
		 p->nonce_len ? nonce : "none");
	print_folded("  nonce     ", line, 78);
}

static void print_text(const char *path, const struct tw_proof *p, const struct tw_verify_opts *o,
		       const struct tw_verify_result *r)
{
	const struct tw_tls_session *s = r->tls;
	const TPMS_CLOCK_INFO *ci = &r->attest.clockInfo;
	char content[160], rows[512], line[768];
	size_t i;

	printf("proof       %s\n", path);
	printf("result      verified: all %u checks ran and passed\n\n", checks_passed(r));

	printf("handshake (attested)\n");
	if (s->sni[0])
		printf("  server    %s: certificate chain verified, host name matches (SNI %s)\n",
		       r->host, s->sni);
	else
		printf("  server    %s: certificate chain verified, host name matches (no SNI: "
		       "the name the verifier gave)\n",
		       r->host);
	for (i = 0; i < s->ncerts; i++) {
		struct cert_names cn;

		cert_names(&s->certs[i], &cn);
		printf("  chain %-3zu subject %s\n            issuer  %s\n", i, cn.subject,
		       cn.issuer);
	}
	printf("  TLS       %s, %s, %s, %s, ALPN %.*s%s\n",
	       tw_tls_cipher_suite_name(s->cipher_suite), group_name(s->group),
	       scheme_name(s->sig_scheme),
	       s->hello_retry ? "HelloRetryRequest" : "no HelloRetryRequest", (int)s->alpn_len,
	       (const char *)s->alpn, s->alpn_len ? "" : "none");
	printf("  TPM clock %" PRIu64
	       " ms at the attestation, resetCount %u, restartCount %u, safe %s\n",
	       ci->clock, ci->resetCount, ci->restartCount, ci->safe ? "yes" : "no");
	printf("  firmware  0x%016" PRIx64 "\n", r->attest.firmwareVersion);
	print_nonce(p, o, r);
	printf("  channel   %s, %u retries (the prover's word, not signed)\n",
	       p->channel == TW_CHANNEL_RESERVED ? "reserved" : "fallback", p->retries);
	printf("  log       key created at entry %zu, ZGen at entry %zu\n", r->replay->reset_index,
	       r->replay->zgen_index);
	for (i = 0; i < p->commit_count; i++)
		printf("  commit    log entry %zu: server bytes [0, %" PRIu64 "), %s ZGen\n",
		       p->commits[i].entry, p->commits[i].server_bytes,
		       r->replay->commits[i].after_zgen ? "after" : "before");
	printf("  bound     records [0, %zu) by the signed qualifyingData: the handshake "
	       "through both Finished\n",
	       p->bound_records);

	printf("\ntranscript: %zu records (%zu attested, %zu consistent, %zu client, %zu "
	       "unauthenticated)\n",
	       r->record_count, r->attested, r->consistent, r->client, r->unauthenticated);
	attested_rows(r, rows, sizeof(rows));
	snprintf(line, sizeof(line),
		 "server records %s: whole records committed before ZGen, not the CCS", rows);
	print_folded("  attested  ", line, 78);
	snprintf(line, sizeof(line),
		 "server bytes [0, %" PRIu64 ") before ZGen; a part of a record and the "
		 "change_cipher_spec among them are not attested",
		 r->committed_bytes);
	print_folded("  committed ", line, 78);
	printf("  %4s %10s %-6s %8s %6s %-11s %-15s %s\n", "#", "time ms", "dir", "offset",
	       "length", "keys", "class", "content");
	for (i = 0; i < r->record_count; i++) {
		const struct tw_verify_record *v = &r->records[i];
		const struct tw_proof_record *pr = &p->records[v->proof_index];

		record_content(s, v->tls, content, sizeof(content));
		printf("  %4zu %10.3f %-6s %8" PRIu64 " %6zu %-11s %-15s %s\n", i,
		       pr->time_ns / 1e6, tw_tls_dir_name(v->dir), pr->offset, pr->len,
		       protection_name(v->tls->protection), tw_record_class_name(v->cls), content);
	}
	print_end(s);
	printf("\n");
	print_folded("", tw_consistent_limit, 78);
}

/* ---- JSON (Documentation/verifier.rst, "JSON output") ---- */

static json_object *jstr(const char *s)
{
	return s ? json_object_new_string(s) : json_object_new_null();
}

static json_object *json_checks(const struct tw_verify_result *r)
{
	json_object *arr = json_object_new_array();
	int c;

	for (c = TW_CHECK_NONE + 1; c < TW_CHECK_COUNT; c++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "step", json_object_new_int(tw_check_step(c)));
		json_object_object_add(o, "check", jstr(tw_check_name(c)));
		json_object_object_add(o, "title", jstr(tw_check_title(c)));
		json_object_object_add(o, "result", jstr(tw_check_state_name(r->checks[c])));
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *json_handshake(const struct tw_verify_result *r)
{
	const struct tw_tls_session *s = r->tls;
	json_object *o = json_object_new_object(), *chain = json_object_new_array();
	char alpn[256];
	size_t i;

	json_object_object_add(o, "host", jstr(r->host));
	json_object_object_add(o, "host_given", json_object_new_boolean(r->host_given));
	json_object_object_add(o, "sni", jstr(s->sni[0] ? s->sni : NULL));
	for (i = 0; i < s->ncerts; i++) {
		json_object *c = json_object_new_object();
		struct cert_names cn;

		cert_names(&s->certs[i], &cn);
		json_object_object_add(c, "subject", jstr(cn.subject));
		json_object_object_add(c, "issuer", jstr(cn.issuer));
		json_object_array_add(chain, c);
	}
	json_object_object_add(o, "chain", chain);
	json_object_object_add(o, "cipher_suite", jstr(tw_tls_cipher_suite_name(s->cipher_suite)));
	json_object_object_add(o, "group", jstr(group_name(s->group)));
	json_object_object_add(o, "signature_scheme", jstr(scheme_name(s->sig_scheme)));
	json_object_object_add(o, "hello_retry", json_object_new_boolean(s->hello_retry));
	memcpy(alpn, s->alpn, s->alpn_len);
	alpn[s->alpn_len] = 0;
	json_object_object_add(o, "alpn", jstr(s->alpn_len ? alpn : NULL));
	json_object_object_add(o, "client_close_notify",
			       json_object_new_boolean(s->dir[TW_TLS_CLIENT].close_notify));
	json_object_object_add(o, "server_close_notify",
			       json_object_new_boolean(s->dir[TW_TLS_SERVER].close_notify));
	return o;
}

static json_object *json_tpm(const struct tw_proof *p, const struct tw_verify_opts *opts,
			     const struct tw_verify_result *r)
{
	const TPMS_CLOCK_INFO *ci = &r->attest.clockInfo;
	json_object *o = json_object_new_object(), *commits = json_object_new_array();
	char buf[2 * sizeof(TPMU_NAME) + 1];
	size_t i;

	json_object_object_add(o, "clock_ms", json_object_new_uint64(ci->clock));
	json_object_object_add(o, "reset_count", json_object_new_uint64(ci->resetCount));
	json_object_object_add(o, "restart_count", json_object_new_uint64(ci->restartCount));
	json_object_object_add(o, "safe", json_object_new_boolean(ci->safe == TPM2_YES));
	snprintf(buf, sizeof(buf), "0x%016" PRIx64, r->attest.firmwareVersion);
	json_object_object_add(o, "firmware_version", jstr(buf));
	hex(buf, r->attest.qualifiedSigner.name, r->attest.qualifiedSigner.size);
	json_object_object_add(o, "qualified_signer", jstr(buf));
	/* The verifier's nonce when it was checked; the proof's field otherwise. */
	if (r->nonce_checked)
		hex(buf, opts->nonce, opts->nonce_len);
	else
		hex(buf, p->nonce, p->nonce_len);
	json_object_object_add(o, "nonce", jstr(buf));
	json_object_object_add(o, "nonce_checked", json_object_new_boolean(r->nonce_checked));
	json_object_object_add(o, "channel",
			       jstr(p->channel == TW_CHANNEL_RESERVED ? "reserved" : "fallback"));
	json_object_object_add(o, "retries", json_object_new_uint64(p->retries));
	json_object_object_add(o, "reset_entry", json_object_new_uint64(r->replay->reset_index));
	json_object_object_add(o, "zgen_entry", json_object_new_uint64(r->replay->zgen_index));
	for (i = 0; i < p->commit_count; i++) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "entry", json_object_new_uint64(p->commits[i].entry));
		json_object_object_add(c, "server_bytes",
				       json_object_new_uint64(p->commits[i].server_bytes));
		json_object_object_add(c, "before_zgen",
				       json_object_new_boolean(!r->replay->commits[i].after_zgen));
		json_object_array_add(commits, c);
	}
	json_object_object_add(o, "commits", commits);
	json_object_object_add(o, "bound_records", json_object_new_uint64(p->bound_records));
	return o;
}

static json_object *json_record(const struct tw_proof *p, const struct tw_verify_result *r,
				size_t i)
{
	const struct tw_verify_record *v = &r->records[i];
	const struct tw_proof_record *pr = &p->records[v->proof_index];
	const struct tw_tls_record *t = v->tls;
	json_object *o = json_object_new_object();
	size_t k;

	json_object_object_add(o, "index", json_object_new_uint64(i));
	json_object_object_add(o, "dir", jstr(tw_tls_dir_name(v->dir)));
	json_object_object_add(o, "time_ns", json_object_new_uint64(pr->time_ns));
	json_object_object_add(o, "offset", json_object_new_uint64(pr->offset));
	json_object_object_add(o, "length", json_object_new_uint64(pr->len));
	json_object_object_add(o, "keys", jstr(protection_name(t->protection)));
	json_object_object_add(o, "type", jstr(tw_tls_content_type_name(t->type)));
	if (t->type == TW_TLS_CT_HANDSHAKE) {
		json_object *msgs = json_object_new_array();

		for (k = 0; k < t->msg_count; k++)
			json_object_array_add(msgs,
					      jstr(tw_tls_handshake_type_name(
						      r->tls->messages[t->msg_first + k].type)));
		json_object_object_add(o, "messages", msgs);
	} else if (t->type == TW_TLS_CT_APPLICATION_DATA) {
		json_object_object_add(o, "data_offset", json_object_new_uint64(t->app_offset));
		json_object_object_add(o, "data_length", json_object_new_uint64(t->content_len));
	} else if (t->type == TW_TLS_CT_ALERT) {
		json_object_object_add(o, "alert", jstr(tw_tls_alert_name(t->alert_desc)));
	}
	json_object_object_add(o, "class", jstr(tw_record_class_name(v->cls)));
	json_object_object_add(o, "bound", json_object_new_boolean(v->bound));
	return o;
}

/* The table rows of the records classed attested. */
static json_object *json_attested_records(const struct tw_verify_result *r)
{
	json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; i < r->record_count; i++)
		if (r->records[i].cls == TW_RECORD_ATTESTED)
			json_object_array_add(arr, json_object_new_uint64(i));
	return arr;
}

static void print_json(const struct tw_proof *p, const struct tw_verify_opts *opts,
		       const struct tw_verify_result *r, const struct tw_status *st, int verified)
{
	json_object *o = json_object_new_object(), *failed, *records, *counts;
	size_t i;

	json_object_object_add(o, "format", jstr("tlswitness verification"));
	json_object_object_add(o, "version", json_object_new_int(2));
	json_object_object_add(o, "verified", json_object_new_boolean(verified));
	json_object_object_add(o, "checks", json_checks(r));
	if (verified) {
		failed = json_object_new_null();
	} else {
		failed = json_object_new_object();
		json_object_object_add(failed, "step",
				       json_object_new_int(tw_check_step(r->failed)));
		json_object_object_add(failed, "check", jstr(tw_check_name(r->failed)));
		json_object_object_add(failed, "title", jstr(tw_check_title(r->failed)));
		json_object_object_add(failed, "message", jstr(st->msg));
	}
	json_object_object_add(o, "failed", failed);
	if (verified) {
		json_object_object_add(o, "handshake", json_handshake(r));
		json_object_object_add(o, "tpm", json_tpm(p, opts, r));
		json_object_object_add(o, "attested_records", json_attested_records(r));
		json_object_object_add(o, "committed_server_bytes",
				       json_object_new_uint64(r->committed_bytes));
		counts = json_object_new_object();
		json_object_object_add(counts, "attested", json_object_new_uint64(r->attested));
		json_object_object_add(counts, "consistent", json_object_new_uint64(r->consistent));
		json_object_object_add(counts, "client", json_object_new_uint64(r->client));
		json_object_object_add(counts, "unauthenticated",
				       json_object_new_uint64(r->unauthenticated));
		json_object_object_add(o, "counts", counts);
		records = json_object_new_array_ext(r->record_count);
		for (i = 0; i < r->record_count; i++)
			json_object_array_add(records, json_record(p, r, i));
		json_object_object_add(o, "records", records);
		json_object_object_add(o, "limits", jstr(tw_consistent_limit));
	}
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static int exit_code(enum tw_code code)
{
	switch (code) {
	case TW_OK:
		return EXIT_VERIFY_OK;
	case TW_E_VERIFY:
		return EXIT_VERIFY_REJECTED;
	case TW_E_PROOF:
		return EXIT_VERIFY_MALFORMED;
	case TW_E_USAGE:
		return EXIT_VERIFY_USAGE;
	default:
		return EXIT_VERIFY_IO;
	}
}

int tw_cli_verify(int argc, char **argv)
{
	static const struct option longopts[] = {{"ak", required_argument, NULL, 'a'},
						 {"ca-file", required_argument, NULL, 'c'},
						 {"ca-path", required_argument, NULL, 'C'},
						 {"nonce", required_argument, NULL, 'n'},
						 {"host", required_argument, NULL, 'H'},
						 {"time", required_argument, NULL, 't'},
						 {"json", no_argument, NULL, 'j'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	const char *ak = NULL, *ca_file = NULL, *ca_path = NULL, *path;
	struct tw_verify_opts o = {0};
	uint8_t nonce[TW_PROOF_MAX_NONCE], *ak_buf = NULL;
	struct tw_verify_result res = {0};
	struct tw_status st = {0};
	struct tw_proof proof;
	X509_STORE *store = NULL;
	size_t ak_len = 0;
	int c, json = 0, ret;
	enum tw_code code;

	memset(&proof, 0, sizeof(proof));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			ak = optarg;
			break;
		case 'c':
			ca_file = optarg;
			break;
		case 'C':
			ca_path = optarg;
			break;
		case 'n':
			if (parse_hex(optarg, nonce, sizeof(nonce), &o.nonce_len))
				return fail_line(EXIT_VERIFY_USAGE,
						 "--nonce takes 1 to 64 bytes in hex");
			o.nonce = nonce;
			break;
		case 'H':
			o.host = optarg;
			break;
		case 't':
			if (parse_time(optarg, &o.verify_time))
				return fail_line(EXIT_VERIFY_USAGE,
						 "--time takes seconds since the epoch, not '%s'",
						 optarg);
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_VERIFY_OK;
		default:
			usage(stderr);
			return EXIT_VERIFY_USAGE;
		}
	}
	if (optind == argc)
		tw_cli_bad_usage("verify", "no PROOF given: the proof file to check");
	else if (optind < argc - 1)
		tw_cli_bad_usage("verify", "one PROOF only, not also '%s'", argv[optind + 1]);
	else if (!ak)
		tw_cli_bad_usage("verify", "--ak AK is required: the AK's public key to trust");
	if (optind != argc - 1 || !ak) {
		usage(stderr);
		return EXIT_VERIFY_USAGE;
	}
	path = argv[optind];
	ret = check_inputs(path, ak, ca_file, ca_path);
	if (ret)
		return ret;

	ak_buf = malloc(MAX_AK_FILE);
	store = X509_STORE_new();
	if (!ak_buf || !store) {
		ret = fail_line(EXIT_VERIFY_IO, "out of memory");
		goto out;
	}
	ret = read_ak(ak, &o, ak_buf, &ak_len);
	if (ret)
		goto out;
	ret = load_trust(store, ca_file, ca_path);
	if (ret)
		goto out;
	o.trust = store;

	code = tw_verify_file(path, &o, &proof, &res, &st);
	if (code == TW_OK || code == TW_E_VERIFY || code == TW_E_PROOF) {
		if (json)
			print_json(&proof, &o, &res, &st, code == TW_OK);
		else if (code == TW_OK)
			print_text(path, &proof, &o, &res);
		else
			print_rejected(path, &res);
	}
	if (code != TW_OK && res.failed != TW_CHECK_NONE)
		fprintf(stderr, "tlswitness verify: check %u %s failed (%s): %s\n",
			tw_check_step(res.failed), tw_check_name(res.failed),
			tw_check_title(res.failed), st.msg);
	else if (code != TW_OK)
		tw_cli_fail("verify", &st);
	ret = exit_code(code);
out:
	tw_verify_result_free(&res);
	tw_proof_clear(&proof);
	EVP_PKEY_free(o.ak_key);
	X509_STORE_free(store);
	free(ak_buf);
	return ret;
}
