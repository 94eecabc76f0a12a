// SPDX-License-Identifier: BSD-2-Clause
/*
 * The prover (DESIGN.md section 2): connect, begin the window, run the
 * TLS 1.3 handshake with the key share in the TPM, commit the server's
 * first flight before ZGen, sign the session's audit digest over the
 * handshake as recorded so far, and end the window; then, with the TPM
 * free for everyone else, make one HTTP/1.1 request, and check the proof
 * before anyone sees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <tss2/tss2_mu.h>

#include <tlswitness/audit.h>
#include <tlswitness/prove.h>
#include <tlswitness/window.h>

#include "prover.h"

#define RESERVED_DEVICE	"/dev/tpmreserve0"

/* TPM 2.0 Part 2 section 6.5.2 */
#define CC_CREATE		0x00000153
#define CC_CREATE_LOADED	0x00000191
#define CC_ECDH_ZGEN		0x00000154

/* One try: a connection, a window, a handshake, a request. */
struct attempt {
	const struct tw_prove_opts *o;
	const struct tw_url *url;
	struct tw_prove_result *res;
	struct tw_window *w;
	struct tw_transcript tr;
	int fd;
	bool reserved;		/* the window ran on the reserved channel */

	/* what the provider did, through tpm_create_key and tpm_derive */
	struct tw_status tpm_st;
	bool tpm_failed;
	int keys_made;
	bool derived;
	size_t reset_entry, zgen_entry;
	uint8_t key_point[65];	/* the key share libssl sent */
	uint8_t peer[65];	/* the server's share libssl received */
	struct tw_proof_commit commit;
	uint64_t settle_ns;
	uint8_t qualifying[32];	/* what the AK signed over */
};

static void note(const struct tw_prove_opts *o, const char *fmt, ...)
{
	char line[300];
	va_list ap;

	if (!o->note)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	o->note(o->note_arg, line);
}

static enum tw_code fail(struct attempt *a, enum tw_prove_stage stage, struct tw_status *st,
			 enum tw_code code, const char *fmt, ...)
{
	va_list ap;

	a->res->stage = stage;
	if (st) {
		st->code = code;
		st->tpm_rc = 0;
		va_start(ap, fmt);
		vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* @code's message is already in @st: note only where the attempt stopped. */
static enum tw_code stop(struct attempt *a, enum tw_prove_stage stage, enum tw_code code)
{
	a->res->stage = stage;
	return code;
}

static uint32_t command_code(const struct tw_audit_entry *e)
{
	return e->cmd_len >= 10 ? (uint32_t)e->cmd[6] << 24 | e->cmd[7] << 16 | e->cmd[8] << 8 |
					  e->cmd[9]
				: 0;
}

static uint32_t response_code(const struct tw_audit_entry *e)
{
	return e->rsp_len >= 10 ? (uint32_t)e->rsp[6] << 24 | e->rsp[7] << 16 | e->rsp[8] << 8 |
					  e->rsp[9]
				: UINT32_MAX;
}

/*
 * The index of the last successful entry at or after @from with command
 * code @cc1 or @cc2: the window resends a command the TPM asked to retry.
 */
static size_t find_entry(const struct tw_audit_log *log, size_t from, uint32_t cc1, uint32_t cc2)
{
	for (size_t i = log->count; i-- > from;) {
		uint32_t cc = command_code(&log->entries[i]);

		if ((cc == cc1 || cc == cc2) && response_code(&log->entries[i]) == 0)
			return i;
	}
	return SIZE_MAX;
}

/* ---- what the provider calls (inside SSL_connect) ---- */

/* DESIGN.md section 2, step 2: the key share is created in the TPM under auditReset. */
static enum tw_code tpm_create_key(void *arg, uint8_t pub[65])
{
	struct attempt *a = arg;
	size_t before = tw_window_log(a->w)->count;
	enum tw_code rc;

	if (a->keys_made++) {
		a->tpm_failed = true;
		return tw_status_set(&a->tpm_st, TW_E_TLS, "libssl asked for a second key share");
	}
	rc = tw_window_create_key(a->w, pub, &a->tpm_st);
	if (rc) {
		a->tpm_failed = true;
		return rc;
	}
	/* With Create + Load the reset is on Create, the first of the two. */
	a->reset_entry = find_entry(tw_window_log(a->w), before, CC_CREATE_LOADED, CC_CREATE);
	memcpy(a->key_point, pub, 65);
	return TW_OK;
}

/*
 * DESIGN.md section 2, steps 4 and 5: libssl has read the ServerHello.
 * Pull whatever else the server has sent (the rest of its first flight and
 * any data right behind it), commit the digest of every server byte
 * received so far, and only then let the TPM compute Z.
 */
static enum tw_code tpm_derive(void *arg, const uint8_t peer[65], uint8_t z[32])
{
	struct attempt *a = arg;
	struct tw_stream *s = &a->tr.stream[TW_DIR_SERVER];
	uint8_t digest[32];
	uint64_t wait0;
	size_t before;
	enum tw_code rc;

	if (a->derived) {
		a->tpm_failed = true;
		return tw_status_set(&a->tpm_st, TW_E_TLS, "libssl asked for a second ECDH");
	}
	a->derived = true;
	memcpy(a->peer, peer, 65);

	wait0 = a->tr.wait_ns;
	/* A settle time the caller chose is kept whole; the default shrinks after Finished. */
	if (a->o->settle_us ? tw_transcript_pull(&a->tr, a->o->settle_us, a->o->settle_us)
			    : tw_transcript_pull(&a->tr, TW_PROVE_SETTLE_US,
						 TW_PROVE_SETTLE_AFTER_FINISHED_US)) {
		a->tpm_failed = true;
		return tw_status_set(&a->tpm_st, TW_E_IO, "reading the server's first flight: %s",
				     strerror(a->tr.err));
	}
	a->settle_ns = a->tr.wait_ns - wait0;
	SHA256(s->buf, s->len, digest);

	before = tw_window_log(a->w)->count;
	rc = tw_window_commit(a->w, digest, &a->tpm_st);
	if (rc)
		goto out_fail;
	a->commit.entry = tw_window_log(a->w)->count - 1;
	a->commit.server_bytes = s->len;

	before = tw_window_log(a->w)->count;
	rc = tw_window_zgen(a->w, peer, z, &a->tpm_st);
	if (rc)
		goto out_fail;
	a->zgen_entry = find_entry(tw_window_log(a->w), before, CC_ECDH_ZGEN, CC_ECDH_ZGEN);
	return TW_OK;
out_fail:
	a->tpm_failed = true;
	return rc;
}

/* ---- network ---- */

static enum tw_code connect_server(struct attempt *a, struct tw_status *st)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *list, *ai;
	int rc, err = 0, one = 1;

	rc = getaddrinfo(a->url->host, a->url->port, &hints, &list);
	if (rc)
		return fail(a, TW_STAGE_RESOLVE, st, TW_E_IO, "cannot resolve %s: %s",
			    a->url->host, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	for (ai = list; ai; ai = ai->ai_next) {
		struct pollfd pfd = { .events = POLLOUT };
		socklen_t len = sizeof(err);
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);

		if (fd < 0) {
			err = errno;
			continue;
		}
		pfd.fd = fd;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			err = 0;
		} else if (errno != EINPROGRESS) {
			err = errno;
		} else if (poll(&pfd, 1, a->o->io_timeout_ms) != 1) {
			err = ETIMEDOUT;
		} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)) {
			err = errno;
		}
		if (!err) {
			/* Each TLS flight leaves at once: no Nagle delay inside the window. */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			a->fd = fd;
			break;
		}
		close(fd);
	}
	freeaddrinfo(list);
	if (a->fd < 0)
		return fail(a, TW_STAGE_CONNECT, st, TW_E_IO,
			    "cannot connect to %s port %s: %s (is the server up and the URL right?)",
			    a->url->host, a->url->port, strerror(err ? err : ECONNREFUSED));
	return TW_OK;
}

/* ---- TLS ---- */

static enum tw_code make_ssl(struct attempt *a, OSSL_LIB_CTX *libctx, SSL_CTX **ctxp,
			     SSL **sslp, struct tw_status *st)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *bio;
	int ok;

	ctx = SSL_CTX_new_ex(libctx, a->o->plain ? NULL : TW_PROVIDER_PROPQ, TLS_client_method());
	*ctxp = ctx;
	if (!ctx)
		return fail(a, TW_STAGE_TLS, st, TW_E_TLS, "cannot make an SSL_CTX");

	/* TLS 1.3 only, P-256 only, no resumption: the handshake is always a full one. */
	ok = SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) &&
	     SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) &&
	     SSL_CTX_set1_groups_list(ctx, "P-256");
	if (!ok)
		return fail(a, TW_STAGE_TLS, st, TW_E_TLS, "cannot limit TLS to 1.3 with P-256");
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	ok = a->o->ca_file ? SSL_CTX_load_verify_file(ctx, a->o->ca_file)
			   : SSL_CTX_set_default_verify_paths(ctx);
	if (!ok)
		return fail(a, TW_STAGE_USAGE, st, TW_E_USAGE,
			    "cannot load trusted certificates%s%s: %s",
			    a->o->ca_file ? " from " : "", a->o->ca_file ? a->o->ca_file : "",
			    ERR_reason_error_string(ERR_peek_last_error()));

	ssl = SSL_new(ctx);
	*sslp = ssl;
	bio = ssl ? tw_transcript_bio(&a->tr) : NULL;
	if (!bio)
		return fail(a, TW_STAGE_TLS, st, TW_E_NOMEM, "cannot make the TLS connection");
	SSL_set_bio(ssl, bio, bio);
	ok = SSL_set1_host(ssl, a->url->host) && !SSL_set_alpn_protos(ssl, alpn, sizeof(alpn) - 1);
	if (ok && !a->url->numeric)
		ok = SSL_set_tlsext_host_name(ssl, a->url->host);
	if (!ok)
		return fail(a, TW_STAGE_TLS, st, TW_E_TLS, "cannot set the server name %s",
			    a->url->host);
	return TW_OK;
}

/*
 * Ask the server again without the TPM and without our limits, to say
 * plainly why it refused: no TLS 1.3, or TLS 1.3 without P-256.
 */
static const char *probe_why(const struct attempt *a, char *buf, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	const char *why = NULL;
	SSL *ssl = NULL;
	int fd = -1;

	if (!ctx || getaddrinfo(a->url->host, a->url->port, &hints, &ai))
		goto out;
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen))
		goto out;
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd))
		goto out;
	if (!a->url->numeric)
		SSL_set_tlsext_host_name(ssl, a->url->host);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (SSL_connect(ssl) != 1)
		goto out;
	if (SSL_version(ssl) != TLS1_3_VERSION) {
		snprintf(buf, len, "the server does not support TLS 1.3 (it offers %s)",
			 SSL_get_version(ssl));
		why = buf;
	} else if (SSL_get_negotiated_group(ssl) != NID_X9_62_prime256v1) {
		snprintf(buf, len, "the server does not accept the P-256 group for TLS 1.3 "
				   "(it chose %s)",
			 OBJ_nid2sn(SSL_get_negotiated_group(ssl) & ~TLSEXT_nid_unknown));
		why = buf;
	}
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
	ERR_clear_error();
	return why;
}

/*
 * The certificate check's reason; when no trusted CA issued the server's
 * certificate (a self-signed one, a private CA), how to trust it.
 */
static enum tw_code certificate_error(struct attempt *a, SSL *ssl, struct tw_status *st)
{
	long v = SSL_get_verify_result(ssl);
	bool unknown_ca = v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
			  v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
			  v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
			  v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
			  v == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;

	return fail(a, TW_STAGE_TLS, st, TW_E_TLS, "certificate check failed: %s%s",
		    X509_verify_cert_error_string(v),
		    unknown_ca ? " (no trusted CA issued it: give the server's CA certificate "
				 "with --ca-file)"
			       : "");
}

/* Name the reason a handshake failed in one line. */
static enum tw_code handshake_error(struct attempt *a, SSL *ssl, struct tw_status *st)
{
	unsigned long e = ERR_peek_last_error();
	int reason = ERR_GET_REASON(e);
	char why[160];
	const char *probe;

	if (a->tpm_failed) {
		a->res->stage = TW_STAGE_TPM;
		*st = a->tpm_st;
		return st->code;
	}
	if (a->tr.err == ETIMEDOUT)
		return fail(a, TW_STAGE_TLS, st, TW_E_IO,
			    "the server did not answer within %u ms during the TLS handshake",
			    a->o->io_timeout_ms);
	if (a->tr.err)
		return fail(a, TW_STAGE_TLS, st, TW_E_IO, "TLS handshake: %s",
			    strerror(a->tr.err));
	if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED)
		return certificate_error(a, ssl, st);
	if (reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION ||
	    reason == SSL_R_WRONG_SSL_VERSION)
		return fail(a, TW_STAGE_TLS, st, TW_E_TLS, "the server does not support TLS 1.3");
	if (a->tr.eof && a->tr.stream[TW_DIR_SERVER].len == 0)
		return fail(a, TW_STAGE_TLS, st, TW_E_TLS,
			    "the server closed the connection without answering the ClientHello");
	if (a->tr.eof)
		return fail(a, TW_STAGE_TLS, st, TW_E_TLS,
			    "the server closed the connection during the TLS handshake");
	if (ERR_GET_LIB(e) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET &&
	    reason < SSL_AD_REASON_OFFSET + 256) {
		probe = reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE ||
				reason == SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY
			? probe_why(a, why, sizeof(why))
			: NULL;
		if (probe)
			return fail(a, TW_STAGE_TLS, st, TW_E_TLS, "%s", probe);
		return fail(a, TW_STAGE_TLS, st, TW_E_TLS, "the server sent TLS alert \"%s\"",
			    SSL_alert_desc_string_long(reason - SSL_AD_REASON_OFFSET));
	}
	/* What a plain HTTP server's answer looks like as a TLS record header. */
	if (ERR_GET_LIB(e) == ERR_LIB_SSL && reason == SSL_R_WRONG_VERSION_NUMBER)
		return fail(a, TW_STAGE_TLS, st, TW_E_TLS, "TLS handshake failed: %s "
			    "(is this an HTTPS port?)", ERR_reason_error_string(e));
	return fail(a, TW_STAGE_TLS, st, TW_E_TLS, "TLS handshake failed: %s",
		    e ? ERR_reason_error_string(e) : "no reason given");
}

/* ---- HTTP ---- */

static enum tw_code exchange(struct attempt *a, SSL *ssl, const uint8_t *req, size_t req_len,
			     struct tw_http_response *resp, struct tw_status *st)
{
	uint8_t buf[16384];
	size_t n;

	if (SSL_write_ex(ssl, req, req_len, &n) != 1 || n != req_len)
		return fail(a, TW_STAGE_HTTP, st, TW_E_IO, "sending the HTTP request failed: %s",
			    a->tr.err ? strerror(a->tr.err) : "TLS error");
	while (!resp->done) {
		enum tw_code rc;
		int ret = SSL_read_ex(ssl, buf, sizeof(buf), &n);

		if (ret != 1) {
			int err = SSL_get_error(ssl, 0);

			if (err == SSL_ERROR_ZERO_RETURN) {
				rc = tw_http_eof(resp, st);
				return rc ? stop(a, TW_STAGE_HTTP, rc) : TW_OK;
			}
			if (a->tr.err == ETIMEDOUT)
				return fail(a, TW_STAGE_HTTP, st, TW_E_IO,
					    "the server did not answer within %u ms",
					    a->o->io_timeout_ms);
			if (a->tr.err == EFBIG)
				return fail(a, TW_STAGE_PROOF, st, TW_E_PROOF,
					    "the response is too large for a proof (at most %u MiB "
					    "and %u records from the server)",
					    TW_PROVE_MAX_SERVER_BYTES >> 20, TW_PROOF_MAX_RECORDS);
			return fail(a, TW_STAGE_HTTP, st, TW_E_TLS,
				    "reading the HTTP response failed: %s",
				    a->tr.err ? strerror(a->tr.err)
					      : ERR_reason_error_string(ERR_peek_last_error()));
		}
		rc = tw_http_feed(resp, buf, n, st);
		if (rc)
			return stop(a, TW_STAGE_HTTP, rc);
	}
	return TW_OK;
}

/* ---- the proof ---- */

/* Append to the proof every record completed since the last call. */
static enum tw_code copy_records(struct attempt *a, struct tw_proof *p, struct tw_status *st)
{
	struct tw_proof_record *recs;

	recs = realloc(p->records, (a->tr.count ? a->tr.count : 1) * sizeof(*recs));
	if (!recs)
		return fail(a, TW_STAGE_PROOF, st, TW_E_NOMEM, "out of memory for the records");
	p->records = recs;
	for (size_t i = p->record_count; i < a->tr.count; i++) {
		const struct tw_wire_record *w = &a->tr.recs[i];
		struct tw_proof_record *r = &p->records[i];

		r->data = malloc(w->len);
		if (!r->data)
			return fail(a, TW_STAGE_PROOF, st, TW_E_NOMEM, "out of memory for records");
		memcpy(r->data, a->tr.stream[w->dir].buf + w->offset, w->len);
		r->len = w->len;
		r->dir = w->dir;
		r->offset = w->offset;
		r->time_ns = w->time_ns;
		p->record_count = i + 1;
	}
	return TW_OK;
}

/*
 * The proof holds what libssl read, no more: server records that arrived
 * after the response was complete (behind a close_notify, or anything a
 * server sends once the body is in) were never checked by libssl and
 * may not even verify; they would make a proof the verifier refuses.
 * They are the tail of the server's stream, after every bound record.
 */
static enum tw_code drop_unread(struct attempt *a, struct tw_proof *p, struct tw_status *st)
{
	size_t i, kept = 0, dropped = 0;

	for (i = 0; i < p->record_count; i++) {
		struct tw_proof_record *r = &p->records[i];

		if (r->dir == TW_DIR_SERVER && r->offset + r->len > a->tr.served) {
			if (i < p->bound_records)
				return fail(a, TW_STAGE_PROOF, st, TW_E_PROOF,
					    "a handshake record was never read by the TLS library");
			dropped += r->len;
			free(r->data);
			continue;
		}
		p->records[kept++] = *r;
	}
	if (kept < p->record_count)
		note(a->o, "left out of the proof: %zu server records (%zu bytes) that arrived "
		     "after the response and that the TLS library never read",
		     p->record_count - kept, dropped);
	p->record_count = kept;
	return TW_OK;
}

static enum tw_code copy_tpm(struct attempt *a, struct tw_proof *p, struct tw_status *st)
{
	const struct tw_audit_log *log = tw_window_log(a->w);
	const uint8_t *att, *sig, *ak;
	size_t att_len, sig_len, ak_len;

	for (size_t i = 0; i < log->count; i++) {
		const struct tw_audit_entry *e = &log->entries[i];
		enum tw_code rc = tw_audit_log_append(&p->log, e->cmd, e->cmd_len, e->rsp,
						      e->rsp_len, st);

		if (rc)
			return stop(a, TW_STAGE_PROOF, rc);
	}
	if (tw_window_attestation(a->w, &att, &att_len, &sig, &sig_len) ||
	    tw_window_ak_public(a->w, &ak, &ak_len))
		return fail(a, TW_STAGE_PROOF, st, TW_E_PROOF, "the window has no attestation");
	p->attest = malloc(att_len);
	p->signature = malloc(sig_len);
	p->ak_public = malloc(ak_len);
	p->commits = malloc(sizeof(*p->commits));
	if (!p->attest || !p->signature || !p->ak_public || !p->commits)
		return fail(a, TW_STAGE_PROOF, st, TW_E_NOMEM, "out of memory for the proof");
	memcpy(p->attest, att, att_len);
	p->attest_len = att_len;
	memcpy(p->signature, sig, sig_len);
	p->signature_len = sig_len;
	memcpy(p->ak_public, ak, ak_len);
	p->ak_public_len = ak_len;
	p->commits[0] = a->commit;
	p->commit_count = 1;
	p->reset_entry = a->reset_entry;
	p->zgen_entry = a->zgen_entry;
	return TW_OK;
}

/*
 * Check what will be handed out: the replayed digest is the signed one,
 * the session was exclusive, and qualifyingData binds the nonce and the
 * bound records of the finished proof, which hold the whole handshake.
 */
static enum tw_code self_check(struct attempt *a, const struct tw_proof *p,
			       struct tw_status *st)
{
	struct tw_audit_replay *rp = calloc(1, sizeof(*rp));
	TPMS_ATTEST info = { 0 };
	uint8_t th[32], qd[32];
	size_t off = 0;
	enum tw_code rc;

	tw_proof_transcript_hash(p, p->bound_records, th);
	tw_proof_qualifying_data(p->nonce, p->nonce_len, th, qd);
	if (!rp)
		return fail(a, TW_STAGE_PROOF, st, TW_E_NOMEM, "out of memory checking the proof");
	rc = tw_audit_replay(&p->log, rp, st);
	if (rc) {
		free(rp);
		return stop(a, TW_STAGE_PROOF, rc);
	}
	if (Tss2_MU_TPMS_ATTEST_Unmarshal(p->attest, p->attest_len, &off, &info) ||
	    off != p->attest_len) {
		rc = fail(a, TW_STAGE_PROOF, st, TW_E_PROOF, "self-check: malformed TPMS_ATTEST");
	} else if (info.attested.sessionAudit.exclusiveSession != TPM2_YES) {
		rc = fail(a, TW_STAGE_TPM, st, TW_E_EXCLUSIVE,
			  "the audit session was not exclusive when it was signed");
	} else if (info.attested.sessionAudit.sessionDigest.size != 32 ||
		   memcmp(info.attested.sessionAudit.sessionDigest.buffer, rp->digest_at_attest,
			  32)) {
		rc = fail(a, TW_STAGE_PROOF, st, TW_E_PROOF,
			  "self-check: the replayed audit digest is not the signed one");
	} else if (info.extraData.size != 32 || memcmp(info.extraData.buffer, qd, 32) ||
		   memcmp(a->qualifying, qd, 32)) {
		rc = fail(a, TW_STAGE_PROOF, st, TW_E_PROOF,
			  "self-check: the signed qualifyingData is not the transcript's");
	} else if (rp->reset_index != p->reset_entry || rp->zgen_index != p->zgen_entry ||
		   rp->commit_count != 1 || rp->commits[0].index != a->commit.entry) {
		rc = fail(a, TW_STAGE_PROOF, st, TW_E_PROOF,
			  "self-check: the replay finds the reset, commit or ZGen elsewhere");
	} else if (memcmp(rp->key_point, a->key_point, 65) || memcmp(rp->zgen_in, a->peer, 65)) {
		rc = fail(a, TW_STAGE_PROOF, st, TW_E_PROOF,
			  "self-check: the logged key or ZGen input is not libssl's");
	}
	free(rp);
	return rc;
}

/*
 * DESIGN.md section 2, step 7: the handshake is complete (ZGen done, the
 * server's Finished verified by libssl, ours sent).  Sign the audit digest
 * with qualifyingData over the nonce and every record recorded so far, and
 * take the TPM's half of the proof out of the window.
 */
static enum tw_code attest(struct attempt *a, SSL *ssl, struct tw_status *st)
{
	struct tw_proof *p = &a->res->proof;
	const unsigned char *alpn;
	unsigned int alpn_len;
	uint8_t th[32];
	enum tw_code rc;

	p->version = TW_PROOF_VERSION;
	p->server_name = strdup(a->url->host);
	SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
	if (alpn_len)
		p->alpn = strndup((const char *)alpn, alpn_len);
	p->cipher_suite = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(ssl));
	memcpy(p->nonce, a->o->nonce, a->o->nonce_len);
	p->nonce_len = a->o->nonce_len;
	if (!p->server_name || (alpn_len && !p->alpn))
		return fail(a, TW_STAGE_PROOF, st, TW_E_NOMEM, "out of memory for the proof");
	rc = copy_records(a, p, st);
	if (rc)
		return rc;

	p->bound_records = p->record_count;
	tw_proof_transcript_hash(p, p->bound_records, th);
	tw_proof_qualifying_data(p->nonce, p->nonce_len, th, a->qualifying);
	rc = tw_window_attest(a->w, a->qualifying, sizeof(a->qualifying), st);
	if (rc)
		return stop(a, TW_STAGE_TPM, rc);
	p->channel = tw_window_reserved(a->w) ? TW_CHANNEL_RESERVED : TW_CHANNEL_FALLBACK;
	return copy_tpm(a, p, st);
}

/* ---- one attempt ---- */

/* SSL_connect, then fail closed: TLS 1.3 on P-256 with the TPM's key share and Z. */
static enum tw_code handshake(struct attempt *a, SSL *ssl, struct tw_status *st)
{
	ERR_clear_error();
	if (SSL_connect(ssl) != 1)
		return handshake_error(a, ssl, st);
	if (SSL_version(ssl) != TLS1_3_VERSION ||
	    SSL_get_negotiated_group(ssl) != NID_X9_62_prime256v1)
		return fail(a, TW_STAGE_TLS, st, TW_E_TLS, "the server did not agree to TLS 1.3 "
							   "with P-256");
	if (!a->o->plain && (a->keys_made != 1 || !a->derived))
		return fail(a, TW_STAGE_TLS, st, TW_E_TLS, "the handshake did not use the TPM's "
							   "key share: no proof");
	return TW_OK;
}

/* The HTTP/1.1 request and its response, then our close_notify. */
/* Has a whole server record arrived that libssl has not read yet? */
static bool record_waiting(const struct attempt *a)
{
	for (size_t i = a->tr.count; i-- > 0;) {
		const struct tw_wire_record *r = &a->tr.recs[i];

		if (r->dir == TW_DIR_SERVER)
			return r->offset >= a->tr.served;
	}
	return false;
}

/*
 * The response is complete; what the server sent behind it and has
 * already arrived (its close_notify, typically) is read too, record by
 * record, as long as libssl accepts it.  A record libssl refuses is
 * counted as unread, so drop_unread() leaves it out of the proof.
 */
static void read_trailing(struct attempt *a, SSL *ssl)
{
	uint8_t buf[256];
	size_t got;

	while (record_waiting(a)) {
		size_t before = a->tr.served;

		if (SSL_read_ex(ssl, buf, sizeof(buf), &got) == 1)
			continue;
		if (SSL_get_error(ssl, 0) != SSL_ERROR_ZERO_RETURN)
			a->tr.served = before;
		ERR_clear_error();
		return;
	}
}

static enum tw_code fetch(struct attempt *a, SSL *ssl, const uint8_t *req, size_t req_len,
			  struct tw_status *st)
{
	struct tw_http_response resp = { 0 };
	enum tw_code rc;

	rc = exchange(a, ssl, req, req_len, &resp, st);
	if (rc) {
		tw_http_response_release(&resp);
		return rc;
	}
	read_trailing(a, ssl);
	SSL_shutdown(ssl);
	a->res->http_status = resp.status;
	a->res->body = resp.body;
	a->res->body_len = resp.body_len;
	resp.body = NULL;
	tw_http_response_release(&resp);
	return TW_OK;
}

/*
 * The window: from begin through the handshake to the attestation and
 * the flushes, one network round trip plus a handful of TPM commands.
 */
static enum tw_code attested_handshake(struct attempt *a, SSL *ssl, struct tw_status *st)
{
	struct tw_window_opts wo = {
		.tcti = a->o->tcti,
		.timeout_ms = a->o->window_ms,
	};
	struct tw_status end_st;
	uint64_t t0, net0;
	enum tw_code rc, erc;

	/*
	 * The hold starts when begin returns: opening the TCTI comes first,
	 * and on the reserved channel the module's window starts at its end.
	 */
	rc = tw_window_begin(&a->w, &wo, st);
	t0 = tw_now_ns();
	net0 = a->tr.wait_ns;
	if (rc) {
		a->res->stage = TW_STAGE_TPM;
		return rc;
	}
	a->reserved = tw_window_reserved(a->w);
	rc = tw_window_setup(a->w, st);
	if (rc)
		a->res->stage = TW_STAGE_TPM;
	if (!rc)
		rc = handshake(a, ssl, st);
	if (!rc)
		rc = attest(a, ssl, st);

	erc = tw_window_end(a->w, &end_st);
	if (erc && !rc) {
		*st = end_st;
		rc = erc;
		a->res->stage = TW_STAGE_TPM;
	}
	a->res->stats.window_ns = tw_now_ns() - t0;
	a->res->stats.tpm_ns = tw_window_tpm_ns(a->w);
	a->res->stats.net_ns = a->tr.wait_ns - net0;
	a->res->stats.settle_ns = a->settle_ns;
	tw_window_free(a->w);
	a->w = NULL;
	return rc;
}

static enum tw_code attempt_once(struct attempt *a, const uint8_t *req, size_t req_len,
				 struct tw_status *st)
{
	struct tw_tpm_ops ops = { tpm_create_key, tpm_derive, a };
	OSSL_LIB_CTX *libctx = NULL;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	enum tw_code rc;

	rc = connect_server(a, st);
	if (rc)
		return rc;
	tw_transcript_init(&a->tr, a->fd, a->o->io_timeout_ms);

	/* Everything that needs no TPM is made before the window begins. */
	if (a->o->plain) {
		libctx = OSSL_LIB_CTX_new();
		rc = libctx && OSSL_PROVIDER_load(libctx, "default")
			? TW_OK
			: tw_status_set(st, TW_E_TLS, "cannot load the default provider");
	} else {
		rc = tw_provider_libctx(&ops, &libctx, st);
		if (!rc)
			rc = tw_provider_check(libctx, st);
	}
	if (rc) {
		a->res->stage = TW_STAGE_TLS;
		goto out;
	}
	rc = make_ssl(a, libctx, &ctx, &ssl, st);
	if (rc)
		goto out;

	if (a->o->plain) {
		rc = handshake(a, ssl, st);
		if (!rc)
			rc = fetch(a, ssl, req, req_len, st);
		goto out;
	}

	/* The TPM is free again before the request is sent. */
	rc = attested_handshake(a, ssl, st);
	if (!rc)
		rc = fetch(a, ssl, req, req_len, st);
	if (!rc)
		rc = copy_records(a, &a->res->proof, st);
	if (!rc)
		rc = drop_unread(a, &a->res->proof, st);
	if (!rc)
		rc = self_check(a, &a->res->proof, st);
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	OSSL_LIB_CTX_free(libctx);
	tw_transcript_release(&a->tr);
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	return rc;
}

struct run {
	unsigned int attempt, max;	/* the attempt that ran last, of how many */
	const struct tw_prove_opts *o;
	const struct tw_url *url;
	struct tw_prove_result *res;
	const uint8_t *req;
	size_t req_len;
};

/*
 * Without the reserved channel another TPM user may break the audit
 * session's exclusivity; the TPM then answers TPM_RC_EXCLUSIVE and
 * tw_attempt_run starts the whole attempt again on a new connection.  On
 * the reserved channel that cannot happen and is a hard error.
 */
static enum tw_code run_attempt(void *arg, unsigned int n, struct tw_status *st)
{
	struct run *r = arg;
	struct attempt a = { .o = r->o, .url = r->url, .res = r->res, .fd = -1 };
	enum tw_code rc;

	r->attempt = n;
	tw_proof_clear(&r->res->proof);
	free(r->res->body);
	r->res->body = NULL;
	r->res->body_len = 0;
	r->res->http_status = 0;
	rc = attempt_once(&a, r->req, r->req_len, st);
	if (rc == TW_E_EXCLUSIVE && a.reserved)
		st->code = rc = TW_E_TPM;
	r->res->proof.retries = n - 1;
	return rc;
}

/*
 * Retries are noted; the last lost attempt is not, since its failure is
 * the one line the caller reports.
 */
static void note_retry(void *arg, const char *line)
{
	struct run *r = arg;

	if (r->attempt < r->max && r->o->note)
		r->o->note(r->o->note_arg, line);
}

/*
 * The CA file, read before anything is sent: a missing file or one without
 * a certificate would otherwise show only once the connection is made.
 */
static enum tw_code check_ca_file(const char *path, struct tw_status *st)
{
	FILE *f = fopen(path, "r");
	struct stat sb;
	X509 *cert;

	if (!f)
		return tw_status_set(st, TW_E_USAGE, "cannot load trusted certificates from %s: %s",
				     path, strerror(errno));
	if (!fstat(fileno(f), &sb) && S_ISDIR(sb.st_mode)) {
		fclose(f);
		return tw_status_set(st, TW_E_USAGE, "cannot load trusted certificates from %s: "
				     "it is a directory", path);
	}
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!cert)
		return tw_status_set(st, TW_E_USAGE, "cannot load trusted certificates from %s: "
				     "no PEM certificate in it", path);
	X509_free(cert);
	return TW_OK;
}

static bool reserved_default(const struct tw_prove_opts *o)
{
	return !o->tcti && access(RESERVED_DEVICE, F_OK) == 0;
}

enum tw_code tw_prove(const struct tw_prove_opts *opts, struct tw_prove_result *res,
		      struct tw_status *st)
{
	struct tw_prove_opts o = *opts;
	struct run run;
	struct tw_url url;
	uint8_t *req = NULL;
	size_t req_len;
	enum tw_code rc;
	uint64_t t0 = tw_now_ns();

	memset(res, 0, sizeof(*res));
	res->stage = TW_STAGE_USAGE;
	if (!o.io_timeout_ms)
		o.io_timeout_ms = TW_PROVE_IO_TIMEOUT_MS;
	if (!o.window_ms)
		o.window_ms = TW_PROVE_WINDOW_MS;
	if (o.max_retries < 0)
		o.max_retries = TW_PROVE_RETRIES;
	if (o.nonce_len > TW_PROOF_MAX_NONCE)
		return tw_status_set(st, TW_E_USAGE, "the nonce is longer than %d bytes",
				     TW_PROOF_MAX_NONCE);
	rc = tw_url_parse(o.url, &url, st);
	if (rc)
		return rc;
	if (o.ca_file) {
		rc = check_ca_file(o.ca_file, st);
		if (rc)
			goto out;
	}
	rc = tw_http_request(&url, o.headers, o.header_count, o.body, o.body_len, &req, &req_len,
			     st);
	if (rc)
		goto out;
	run = (struct run){ 0, o.max_retries + 1, &o, &url, res, req, req_len };
	if (!o.plain && !o.tcti && !reserved_default(&o))
		note(&o, "warning: no reserved channel (%s): using /dev/tpmrm0 in fallback mode; "
			 "another TPM user can force retries", RESERVED_DEVICE);

	rc = tw_attempt_run(run.max, run_attempt, &run, note_retry, &run, st);
	if (!rc)
		res->stage = TW_STAGE_DONE;
	res->stats.total_ns = tw_now_ns() - t0;
out:
	free(req);
	tw_url_release(&url);
	return rc;
}

void tw_prove_result_release(struct tw_prove_result *res)
{
	free(res->body);
	tw_proof_clear(&res->proof);
	memset(res, 0, sizeof(*res));
}
