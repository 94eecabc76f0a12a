// SPDX-License-Identifier: BSD-2-Clause
/*
 * TLS 1.3 transcript verification (RFC 8446).
 *
 * The two recorded streams are replayed in protocol order: the ClientHello
 * from the client's stream, the ServerHello (and a HelloRetryRequest with
 * the second ClientHello) and the server's encrypted flight from the
 * server's stream, the client's Finished from the client's, then whatever
 * follows in each direction.  Each step checks what RFC 8446 requires of
 * that message and names the first failure in the status.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "tls13.h"

/* Largest handshake message the verifier buffers (a long certificate chain). */
#define TLS13_MAX_MESSAGE (1u << 18)

/* ExtensionType (4.2) values the verifier reads. */
#define EXT_SERVER_NAME		 0
#define EXT_MAX_FRAGMENT_LENGTH	 1
#define EXT_STATUS_REQUEST	 5
#define EXT_SUPPORTED_GROUPS	 10
#define EXT_SIGNATURE_ALGORITHMS 13
#define EXT_ALPN		 16
#define EXT_SCT			 18
#define EXT_PADDING		 21
#define EXT_RECORD_SIZE_LIMIT	 28
#define EXT_PRE_SHARED_KEY	 41
#define EXT_EARLY_DATA		 42
#define EXT_SUPPORTED_VERSIONS	 43
#define EXT_COOKIE		 44
#define EXT_KEY_SHARE		 51

#define TLS13_VERSION  0x0304
#define LEGACY_VERSION 0x0303

/* 4.1.3: the ServerHello.random of a HelloRetryRequest, SHA-256("HelloRetryRequest"). */
static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

enum phase {
	PHASE_HANDSHAKE, /* alerts and application data are failures */
	PHASE_POST,	 /* after both Finished messages */
};

/* What a ClientHello offered (4.1.2); the readers point into @body. */
struct offer {
	uint8_t *body;
	size_t len;
	uint16_t legacy_version;
	uint8_t random[32];
	struct tls13_reader session_id;
	struct tls13_reader suites;
	struct tls13_reader shares;
	struct tls13_reader groups;
	struct tls13_reader sig_algs;
	struct tls13_reader alpn;
	struct tls13_reader cookie;
	struct tls13_reader sni;
	struct tls13_reader exts;   /* the whole extensions block, in order */
	uint16_t record_size_limit; /* 0 when not offered */
	uint8_t seen[65536 / 8];    /* extension types present */
};

/* The state of one direction's stream. */
struct side {
	enum tw_tls_dir dir;
	const uint8_t *buf;
	size_t len;
	size_t pos;
	struct tw_tls_direction *out;
	size_t nrec; /* records processed so far */
	struct tls13_aead aead;
	enum tw_tls_protection prot;
	uint8_t secret[TW_TLS_MAX_HASH]; /* the current traffic secret */
	uint8_t *hs;			 /* buffered handshake bytes */
	size_t hs_len;
	size_t hs_off;
	size_t hs_cap;
	size_t hs_start_record; /* record that holds byte hs_off */
	size_t inner_limit;	/* largest TLSInnerPlaintext it may send */
	int first_message;	/* its first handshake message went by */
	int finished;		/* its Finished went by */
	int alerted;
};

/* A handshake message taken from a side's buffer. */
struct message {
	uint8_t type;
	const uint8_t *raw; /* header + body */
	size_t raw_len;
	struct tls13_reader body;
	size_t index; /* in session->messages */
};

struct verifier {
	const struct tw_tls_params *p;
	struct tw_tls_session *s;
	struct tw_status *st;
	struct side side[2];
	const struct tls13_suite *suite;
	struct tls13_kdf kdf;
	int kdf_ready;
	EVP_MD_CTX *transcript;
	EVP_MD_CTX *scratch;
	struct offer offer[2]; /* the ClientHellos: [1] after a HelloRetryRequest */
	int offers;
	uint16_t hrr_group; /* 0 when the HelloRetryRequest asked for none */
	int cert_request;
	uint8_t cr_context[255];
	size_t cr_context_len;
	X509 *leaf;		/* chain[0] */
	STACK_OF(X509) * chain; /* the server's certificates, parsed once */
	size_t msg_cap;
	char record_name[64]; /* the record a failure names */
};

static const char *side_name(const struct side *sd)
{
	return tw_tls_dir_name(sd->dir);
}

const char *tw_tls_dir_name(enum tw_tls_dir dir)
{
	return dir == TW_TLS_CLIENT ? "client" : "server";
}

/*
 * How a failure names the record @index of @sd's stream, which starts at
 * @offset: "server record 8", or "record 12 (server record 8)" when the
 * caller numbers the record that starts there (the verifier: the proof's
 * records, in the order of its report).
 */
static const char *record_name(struct verifier *v, const struct side *sd, size_t index,
			       size_t offset)
{
	size_t number;

	if (v->p->record_number && !v->p->record_number(v->p->arg, sd->dir, offset, &number))
		snprintf(v->record_name, sizeof(v->record_name), "record %zu (%s record %zu)",
			 number, side_name(sd), index);
	else
		snprintf(v->record_name, sizeof(v->record_name), "%s record %zu", side_name(sd),
			 index);
	return v->record_name;
}

static const char *rec_name(struct verifier *v, const struct side *sd,
			    const struct tw_tls_record *rec)
{
	return record_name(v, sd, rec->index, rec->offset);
}

const char *tw_tls_content_type_name(uint8_t type)
{
	switch (type) {
	case TW_TLS_CT_CHANGE_CIPHER_SPEC:
		return "change_cipher_spec";
	case TW_TLS_CT_ALERT:
		return "alert";
	case TW_TLS_CT_HANDSHAKE:
		return "handshake";
	case TW_TLS_CT_APPLICATION_DATA:
		return "application_data";
	}
	return "unknown content type";
}

const char *tw_tls_handshake_type_name(unsigned int type)
{
	switch (type) {
	case TW_TLS_HS_CLIENT_HELLO:
		return "client_hello";
	case TW_TLS_HS_SERVER_HELLO:
		return "server_hello";
	case TW_TLS_HS_HELLO_RETRY_REQUEST:
		return "hello_retry_request";
	case TW_TLS_HS_NEW_SESSION_TICKET:
		return "new_session_ticket";
	case 5:
		return "end_of_early_data";
	case TW_TLS_HS_ENCRYPTED_EXTENSIONS:
		return "encrypted_extensions";
	case TW_TLS_HS_CERTIFICATE:
		return "certificate";
	case TW_TLS_HS_CERTIFICATE_REQUEST:
		return "certificate_request";
	case TW_TLS_HS_CERTIFICATE_VERIFY:
		return "certificate_verify";
	case TW_TLS_HS_FINISHED:
		return "finished";
	case TW_TLS_HS_KEY_UPDATE:
		return "key_update";
	case 254:
		return "message_hash";
	}
	return "unknown handshake type";
}

const char *tw_tls_alert_name(uint8_t desc)
{
	/* 6: AlertDescription */
	switch (desc) {
	case 0:
		return "close_notify";
	case 10:
		return "unexpected_message";
	case 20:
		return "bad_record_mac";
	case 22:
		return "record_overflow";
	case 40:
		return "handshake_failure";
	case 42:
		return "bad_certificate";
	case 43:
		return "unsupported_certificate";
	case 44:
		return "certificate_revoked";
	case 45:
		return "certificate_expired";
	case 46:
		return "certificate_unknown";
	case 47:
		return "illegal_parameter";
	case 48:
		return "unknown_ca";
	case 49:
		return "access_denied";
	case 50:
		return "decode_error";
	case 51:
		return "decrypt_error";
	case 70:
		return "protocol_version";
	case 71:
		return "insufficient_security";
	case 80:
		return "internal_error";
	case 86:
		return "inappropriate_fallback";
	case 90:
		return "user_canceled";
	case 109:
		return "missing_extension";
	case 110:
		return "unsupported_extension";
	case 112:
		return "unrecognized_name";
	case 113:
		return "bad_certificate_status_response";
	case 115:
		return "unknown_psk_identity";
	case 116:
		return "certificate_required";
	case 120:
		return "no_application_protocol";
	}
	return "unknown alert";
}

static enum tw_code fail(struct verifier *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static enum tw_code fail(struct verifier *v, const char *fmt, ...)
{
	va_list ap;

	if (v->st) {
		v->st->code = TW_E_VERIFY;
		v->st->tpm_rc = 0;
		va_start(ap, fmt);
		vsnprintf(v->st->msg, sizeof(v->st->msg), fmt, ap);
		va_end(ap);
	}
	return TW_E_VERIFY;
}

static enum tw_code nomem(struct verifier *v, const char *what)
{
	return tw_status_set(v->st, TW_E_NOMEM, "out of memory (%s)", what);
}

static enum tw_code crypto_fail(struct verifier *v, const char *what)
{
	return tw_status_set(v->st, TW_E_NOMEM, "OpenSSL failed: %s", what);
}

static int seen(const uint8_t *bitmap, uint16_t type)
{
	return bitmap[type >> 3] & (1u << (type & 7));
}

/* Two readers hold the same bytes (either may be empty, with a NULL pointer). */
static int same_bytes(struct tls13_reader a, struct tls13_reader b)
{
	return a.len == b.len && (a.len == 0 || !memcmp(a.p, b.p, a.len));
}

static int list_has_u16(struct tls13_reader list, uint16_t want)
{
	uint16_t v;

	while (!tls13_get_u16(&list, &v))
		if (v == want)
			return 1;
	return 0;
}

/* ---- framing: the record headers of a stream (5.1) ---- */

static enum tw_code frame_stream(struct verifier *v, struct side *sd, size_t *count)
{
	size_t pos = 0, last = 0, n = 0, len;

	while (pos < sd->len) {
		if (sd->len - pos < TLS13_HEADER_LEN && n == 0)
			return fail(v, "%s stream: its %zu bytes are not a record header",
				    side_name(sd), sd->len);
		if (sd->len - pos < TLS13_HEADER_LEN)
			return fail(v,
				    "%s: the %zu trailing bytes after it are not a record header",
				    record_name(v, sd, n - 1, last), sd->len - pos);
		len = (size_t)sd->buf[pos + 3] << 8 | sd->buf[pos + 4];
		if (len > TLS13_MAX_CIPHERTEXT)
			return fail(v, "%s: length %zu exceeds 2^14+256",
				    record_name(v, sd, n, pos), len);
		if (sd->len - pos - TLS13_HEADER_LEN < len)
			return fail(v, "%s: its length %zu runs past the end of the stream",
				    record_name(v, sd, n, pos), len);
		last = pos;
		pos += TLS13_HEADER_LEN + len;
		n++;
	}
	*count = n;
	return TW_OK;
}

/* ---- handshake reassembly (5.1) ---- */

static enum tw_code hs_append(struct verifier *v, struct side *sd, const uint8_t *data, size_t len)
{
	size_t need;
	uint8_t *nb;

	if (sd->hs_off) {
		memmove(sd->hs, sd->hs + sd->hs_off, sd->hs_len - sd->hs_off);
		sd->hs_len -= sd->hs_off;
		sd->hs_off = 0;
	}
	if (sd->hs_len == 0)
		sd->hs_start_record = sd->nrec - 1;
	need = sd->hs_len + len;
	if (need > TLS13_MAX_MESSAGE + TLS13_MAX_INNER)
		return fail(v, "%s: handshake data exceeds the verifier's limit",
			    rec_name(v, sd, &sd->out->records[sd->nrec - 1]));
	if (need > sd->hs_cap) {
		size_t cap = sd->hs_cap ? sd->hs_cap : 4096;

		while (cap < need)
			cap *= 2;
		nb = realloc(sd->hs, cap);
		if (!nb)
			return nomem(v, "handshake buffer");
		sd->hs = nb;
		sd->hs_cap = cap;
	}
	memcpy(sd->hs + sd->hs_len, data, len);
	sd->hs_len += len;
	return TW_OK;
}

/* Take one complete message off @sd's buffer; *got is 0 when none is complete. */
static enum tw_code hs_take(struct verifier *v, struct side *sd, struct message *m, int *got)
{
	size_t avail = sd->hs_len - sd->hs_off;
	struct tw_tls_message *tm;
	const uint8_t *h;
	uint32_t len;

	*got = 0;
	if (avail < 4)
		return TW_OK;
	h = sd->hs + sd->hs_off;
	len = (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	if (len > TLS13_MAX_MESSAGE)
		return fail(v,
			    "%s handshake message %s of %u bytes exceeds the verifier's "
			    "limit",
			    side_name(sd), tw_tls_handshake_type_name(h[0]), len);
	if (avail < 4 + (size_t)len)
		return TW_OK;

	if (v->s->nmessages == v->msg_cap) {
		size_t cap = v->msg_cap ? 2 * v->msg_cap : 16;

		tm = realloc(v->s->messages, cap * sizeof(*tm));
		if (!tm)
			return nomem(v, "message list");
		v->s->messages = tm;
		v->msg_cap = cap;
	}
	tm = &v->s->messages[v->s->nmessages];
	tm->dir = sd->dir;
	tm->type = h[0];
	tm->length = len;
	tm->first_record = sd->hs_start_record;
	tm->last_record = sd->nrec - 1;

	m->type = h[0];
	m->raw = h;
	m->raw_len = 4 + (size_t)len;
	m->body.p = h + 4;
	m->body.len = len;
	m->index = v->s->nmessages++;

	sd->hs_off += m->raw_len;
	if (sd->hs_off == sd->hs_len)
		sd->hs_off = sd->hs_len = 0;
	else
		sd->hs_start_record = sd->nrec - 1;
	*got = 1;
	return TW_OK;
}

/* ---- records (5) ---- */

static enum tw_code take_alert(struct verifier *v, struct side *sd, struct tw_tls_record *rec,
			       const uint8_t *content, size_t len, enum phase phase)
{
	/* 5.1: exactly one alert per record; 6: level and description */
	if (len != 2)
		return fail(v, "%s: alert record of %zu bytes, not 2", rec_name(v, sd, rec), len);
	rec->alert_level = content[0];
	rec->alert_desc = content[1];
	sd->alerted = 1;
	if (content[1] == 0)
		sd->out->close_notify = 1;
	if (phase == PHASE_HANDSHAKE)
		return fail(v,
			    "%s: the %s sent alert %s (level %u) during the "
			    "handshake",
			    rec_name(v, sd, rec), side_name(sd), tw_tls_alert_name(content[1]),
			    content[0]);
	return TW_OK;
}

/* 5.1, 5.4, D.4: a compatibility change_cipher_spec record. */
static enum tw_code take_ccs(struct verifier *v, struct side *sd, struct tw_tls_record *rec,
			     const uint8_t *frag, size_t len)
{
	int allowed;

	if (len != 1 || frag[0] != 1)
		return fail(v,
			    "%s: change_cipher_spec record is not the single "
			    "byte 0x01",
			    rec_name(v, sd, rec));
	/* After the first ClientHello, before the sender's Finished. */
	allowed = !sd->finished && (sd->dir == TW_TLS_SERVER || sd->first_message);
	if (!allowed)
		return fail(v,
			    "%s: change_cipher_spec record outside the "
			    "handshake",
			    rec_name(v, sd, rec));
	if (sd->hs_len - sd->hs_off)
		return fail(v,
			    "%s: change_cipher_spec inside a fragmented "
			    "handshake message",
			    rec_name(v, sd, rec));
	rec->type = TW_TLS_CT_CHANGE_CIPHER_SPEC;
	rec->content_len = 1;
	return TW_OK;
}

/* Remove the padding of a TLSInnerPlaintext (5.4); returns the content type or 0. */
static uint8_t strip_padding(const uint8_t *inner, size_t len, size_t *content_len)
{
	while (len > 0 && inner[len - 1] == 0)
		len--;
	if (len == 0)
		return 0;
	*content_len = len - 1;
	return inner[len - 1];
}

/* Read, authenticate and dispatch the next record of @sd. */
static enum tw_code read_record(struct verifier *v, struct side *sd, enum phase phase)
{
	const uint8_t *hdr = sd->buf + sd->pos, *frag = hdr + TLS13_HEADER_LEN, *content;
	size_t len = (size_t)hdr[3] << 8 | hdr[4], inner_len, content_len = 0;
	uint16_t version = (uint16_t)(hdr[1] << 8 | hdr[2]);
	struct tw_tls_record *rec = &sd->out->records[sd->nrec];
	struct tw_tls_direction *d = sd->out;
	enum tw_code rc;
	uint8_t type;

	memset(rec, 0, sizeof(*rec));
	rec->dir = sd->dir;
	rec->index = sd->nrec;
	rec->offset = sd->pos;
	rec->length = TLS13_HEADER_LEN + len;
	rec->protection = TW_TLS_PLAINTEXT;
	sd->pos += rec->length;
	sd->nrec++;
	d->nrecords = sd->nrec;

	if (sd->alerted)
		return fail(v, "%s follows an alert", rec_name(v, sd, rec));

	if (hdr[0] == TW_TLS_CT_CHANGE_CIPHER_SPEC) {
		if (version != LEGACY_VERSION && version != 0x0301)
			return fail(v, "%s: legacy_record_version 0x%04x", rec_name(v, sd, rec),
				    version);
		return take_ccs(v, sd, rec, frag, len);
	}

	if (sd->aead.keyed) {
		/* 5.2: TLSCiphertext */
		if (hdr[0] != TW_TLS_CT_APPLICATION_DATA)
			return fail(v,
				    "%s: unprotected %s record after the keys "
				    "changed",
				    rec_name(v, sd, rec), tw_tls_content_type_name(hdr[0]));
		if (version != LEGACY_VERSION)
			return fail(v,
				    "%s: legacy_record_version 0x%04x, not "
				    "0x0303",
				    rec_name(v, sd, rec), version);
		if (len < TLS13_TAG_LEN + 1)
			return fail(v,
				    "%s: protected record of %zu bytes is too "
				    "short",
				    rec_name(v, sd, rec), len);
		rec->protection = sd->prot;
		rec->key_generation = d->key_updates;
		rec->seq = sd->aead.seq;
		/* Decrypt straight into the direction's application data: the
		 * bytes stay there only if the record is application data. */
		if (tls13_aead_open(&sd->aead, hdr, frag, len, d->app_data + d->app_len))
			return fail(v, "%s AEAD tag invalid", rec_name(v, sd, rec));
		inner_len = len - TLS13_TAG_LEN;
		if (inner_len > sd->inner_limit)
			return fail(v,
				    "%s: TLSInnerPlaintext of %zu bytes exceeds "
				    "the limit of %zu",
				    rec_name(v, sd, rec), inner_len, sd->inner_limit);
		content = d->app_data + d->app_len;
		type = strip_padding(content, inner_len, &content_len);
		if (!type)
			return fail(v,
				    "%s: decrypted record has no content type "
				    "(all padding)",
				    rec_name(v, sd, rec));
		rec->padding_len = inner_len - content_len - 1;
		if (type == TW_TLS_CT_CHANGE_CIPHER_SPEC)
			return fail(v, "%s: protected change_cipher_spec", rec_name(v, sd, rec));
	} else {
		/* 5.1: TLSPlaintext, only before the sender's keys change */
		type = hdr[0];
		content = frag;
		content_len = len;
		if (version != LEGACY_VERSION && version != 0x0301)
			return fail(v, "%s: legacy_record_version 0x%04x", rec_name(v, sd, rec),
				    version);
		if (len > TLS13_MAX_PLAINTEXT)
			return fail(v,
				    "%s: plaintext record of %zu bytes exceeds "
				    "2^14",
				    rec_name(v, sd, rec), len);
		if (type == TW_TLS_CT_APPLICATION_DATA)
			return fail(v,
				    "%s: application data before the keys were "
				    "established (early data is not supported)",
				    rec_name(v, sd, rec));
	}
	rec->type = type;
	rec->content_len = content_len;

	/* 5.1: a fragmented handshake message admits no other record between. */
	if (type != TW_TLS_CT_HANDSHAKE && sd->hs_len - sd->hs_off)
		return fail(v,
			    "%s: %s record inside a fragmented handshake "
			    "message",
			    rec_name(v, sd, rec), tw_tls_content_type_name(type));

	switch (type) {
	case TW_TLS_CT_HANDSHAKE:
		if (content_len == 0)
			return fail(v, "%s: zero-length handshake fragment", rec_name(v, sd, rec));
		rc = hs_append(v, sd, content, content_len);
		if (rc)
			return rc;
		return TW_OK;
	case TW_TLS_CT_ALERT:
		return take_alert(v, sd, rec, content, content_len, phase);
	case TW_TLS_CT_APPLICATION_DATA:
		if (phase == PHASE_HANDSHAKE || sd->prot != TW_TLS_APPLICATION_KEYS)
			return fail(v,
				    "%s: application data before the handshake "
				    "completed",
				    rec_name(v, sd, rec));
		rec->app_offset = d->app_len;
		d->app_len += content_len;
		return TW_OK;
	}
	return fail(v, "%s: unknown content type %u", rec_name(v, sd, rec), type);
}

/* The next handshake message of @sd, reading records as needed. */
static enum tw_code next_message(struct verifier *v, struct side *sd, const char *expected,
				 struct message *m)
{
	enum tw_code rc;
	int got;

	for (;;) {
		rc = hs_take(v, sd, m, &got);
		if (rc)
			return rc;
		if (got) {
			sd->first_message = 1;
			return TW_OK;
		}
		if (sd->pos == sd->len)
			return fail(v, "%s stream ends before its %s", side_name(sd), expected);
		rc = read_record(v, sd, PHASE_HANDSHAKE);
		if (rc)
			return rc;
	}
}

static enum tw_code expect_type(struct verifier *v, struct side *sd, struct message *m,
				uint8_t type)
{
	if (m->type != type)
		return fail(v, "%s sent %s where %s was expected", side_name(sd),
			    tw_tls_handshake_type_name(m->type), tw_tls_handshake_type_name(type));
	return TW_OK;
}

/* 5.1: a message that precedes a key change must end its record. */
static enum tw_code expect_boundary(struct verifier *v, struct side *sd, const char *what)
{
	if (sd->hs_len - sd->hs_off)
		return fail(v, "%s: the %s does not end at a record boundary",
			    rec_name(v, sd, &sd->out->records[sd->nrec - 1]), what);
	return TW_OK;
}

/* ---- transcript hash (4.4.1) ---- */

static enum tw_code transcript_add(struct verifier *v, const uint8_t *data, size_t len)
{
	if (EVP_DigestUpdate(v->transcript, data, len) != 1)
		return crypto_fail(v, "transcript hash");
	return TW_OK;
}

static enum tw_code transcript_hash(struct verifier *v, uint8_t *out)
{
	if (EVP_MD_CTX_copy_ex(v->scratch, v->transcript) != 1 ||
	    EVP_DigestFinal_ex(v->scratch, out, NULL) != 1)
		return crypto_fail(v, "transcript hash");
	return TW_OK;
}

/* Fix the cipher suite: from here on its hash runs the transcript and keys. */
static enum tw_code choose_suite(struct verifier *v, uint16_t id)
{
	v->suite = tls13_suite_find(id);
	if (!v->suite)
		return fail(v,
			    "ServerHello selects cipher suite 0x%04x, which the verifier does "
			    "not support",
			    id);
	if (tls13_kdf_init(&v->kdf, v->suite))
		return crypto_fail(v, "HKDF for the cipher suite");
	v->kdf_ready = 1;
	v->s->cipher_suite = id;
	v->s->secrets.hash_len = v->suite->hash_len;
	if (EVP_DigestInit_ex(v->transcript, v->kdf.md, NULL) != 1)
		return crypto_fail(v, "transcript hash");
	if (tls13_aead_init(&v->side[0].aead, v->suite) ||
	    tls13_aead_init(&v->side[1].aead, v->suite))
		return crypto_fail(v, "AEAD for the cipher suite");
	return TW_OK;
}

/* ---- ClientHello (4.1.2) ---- */

static enum tw_code parse_client_hello(struct verifier *v, struct offer *o, const struct message *m)
{
	struct tls13_reader r, comp, exts, ext, x;
	uint16_t type, ver, last_type = 0;
	uint8_t b;
	int has_versions = 0, n = 0;

	memset(o, 0, sizeof(*o));
	o->body = malloc(m->body.len ? m->body.len : 1);
	if (!o->body)
		return nomem(v, "ClientHello");
	memcpy(o->body, m->body.p, m->body.len);
	o->len = m->body.len;
	r.p = o->body;
	r.len = o->len;

	if (tls13_get_u16(&r, &o->legacy_version) || tls13_get_bytes(&r, 32, &x) ||
	    tls13_get_vec(&r, 1, 0, 32, &o->session_id) ||
	    tls13_get_vec(&r, 2, 2, 0xfffe, &o->suites) || (o->suites.len & 1) ||
	    tls13_get_vec(&r, 1, 1, 255, &comp) || tls13_get_vec(&r, 2, 8, 0xffff, &exts) || r.len)
		return fail(v, "ClientHello is malformed");
	memcpy(o->random, x.p, 32);
	if (o->legacy_version != LEGACY_VERSION)
		return fail(v, "ClientHello legacy_version is 0x%04x, not 0x0303",
			    o->legacy_version);
	if (comp.len != 1 || comp.p[0] != 0)
		return fail(v, "ClientHello offers compression methods other than null");

	o->exts = exts;
	while (exts.len) {
		if (tls13_get_u16(&exts, &type) || tls13_get_vec(&exts, 2, 0, 0xffff, &ext))
			return fail(v, "ClientHello extensions are malformed");
		/* 4.2: no type twice */
		if (seen(o->seen, type))
			return fail(v, "ClientHello carries extension %u twice", type);
		o->seen[type >> 3] |= (uint8_t)(1u << (type & 7));
		last_type = type;
		n++;

		switch (type) {
		case EXT_SUPPORTED_VERSIONS:
			/* 4.2.1 */
			if (tls13_get_vec(&ext, 1, 2, 254, &x) || (x.len & 1) || ext.len)
				return fail(v, "ClientHello supported_versions is malformed");
			has_versions = list_has_u16(x, TLS13_VERSION);
			break;
		case EXT_KEY_SHARE:
			/* 4.2.8: KeyShareEntry client_shares<0..2^16-1> */
			if (tls13_get_vec(&ext, 2, 0, 0xffff, &o->shares) || ext.len)
				return fail(v, "ClientHello key_share is malformed");
			x = o->shares;
			while (x.len) {
				struct tls13_reader ke;

				if (tls13_get_u16(&x, &ver) || tls13_get_vec(&x, 2, 1, 0xffff, &ke))
					return fail(v, "ClientHello key_share entry is malformed");
			}
			break;
		case EXT_SUPPORTED_GROUPS:
			if (tls13_get_vec(&ext, 2, 2, 0xfffe, &o->groups) || (o->groups.len & 1) ||
			    ext.len)
				return fail(v, "ClientHello supported_groups is malformed");
			break;
		case EXT_SIGNATURE_ALGORITHMS:
			if (tls13_get_vec(&ext, 2, 2, 0xfffe, &o->sig_algs) ||
			    (o->sig_algs.len & 1) || ext.len)
				return fail(v, "ClientHello signature_algorithms is malformed");
			break;
		case EXT_ALPN:
			/* RFC 7301 3.1: ProtocolName protocol_name_list<2..2^16-1> */
			if (tls13_get_vec(&ext, 2, 2, 0xffff, &o->alpn) || ext.len)
				return fail(v, "ClientHello ALPN is malformed");
			x = o->alpn;
			while (x.len) {
				struct tls13_reader name;

				if (tls13_get_vec(&x, 1, 1, 255, &name))
					return fail(v, "ClientHello ALPN name is malformed");
			}
			break;
		case EXT_SERVER_NAME:
			/* RFC 6066 3: server_name_list<1..2^16-1> */
			if (tls13_get_vec(&ext, 2, 1, 0xffff, &x) || ext.len)
				return fail(v, "ClientHello server_name is malformed");
			while (x.len) {
				struct tls13_reader name;

				if (tls13_get_u8(&x, &b) || tls13_get_vec(&x, 2, 1, 0xffff, &name))
					return fail(v, "ClientHello server_name is malformed");
				if (b == 0 && !o->sni.p)
					o->sni = name;
			}
			break;
		case EXT_COOKIE:
			if (tls13_get_vec(&ext, 2, 1, 0xffff, &o->cookie) || ext.len)
				return fail(v, "ClientHello cookie is malformed");
			break;
		case EXT_RECORD_SIZE_LIMIT:
			/* RFC 8449 4 */
			if (tls13_get_u16(&ext, &o->record_size_limit) || ext.len ||
			    o->record_size_limit < 64)
				return fail(v, "ClientHello record_size_limit is malformed");
			break;
		case EXT_EARLY_DATA:
			return fail(v, "ClientHello offers early data, which the verifier does not "
				       "support");
		default:
			/* Offers the server does not take up change nothing we check. */
			break;
		}
	}
	/* 4.2.11: pre_shared_key comes last */
	if (seen(o->seen, EXT_PRE_SHARED_KEY) && last_type != EXT_PRE_SHARED_KEY)
		return fail(v, "ClientHello pre_shared_key is not the last extension");
	if (!has_versions)
		return fail(v, "ClientHello does not offer TLS 1.3 (supported_versions)");
	if (!o->shares.p)
		return fail(v, "ClientHello has no key_share extension");
	if (!o->sig_algs.p)
		return fail(v, "ClientHello has no signature_algorithms extension");
	(void)n;
	return TW_OK;
}

/* Find the client's share of @group in @o. */
static int find_share(const struct offer *o, uint16_t group, struct tls13_reader *ke)
{
	struct tls13_reader x = o->shares;
	uint16_t g;

	while (x.len) {
		if (tls13_get_u16(&x, &g) || tls13_get_vec(&x, 2, 1, 0xffff, ke))
			return 0;
		if (g == group)
			return 1;
	}
	return 0;
}

/* ---- ServerHello and HelloRetryRequest (4.1.3, 4.1.4) ---- */

struct server_hello {
	int is_hrr;
	uint8_t random[32];
	uint16_t suite;
	uint16_t group; /* key_share: the server's share, or the HRR's selected_group */
	struct tls13_reader share;
	struct tls13_reader cookie;
	int has_key_share;
};

static enum tw_code parse_server_hello(struct verifier *v, const struct offer *o,
				       struct tls13_reader r, struct server_hello *sh)
{
	struct tls13_reader sid, exts, ext, x;
	uint16_t ver, type, sv = 0;
	uint8_t comp, seen_ext[65536 / 8];
	const char *what;

	memset(sh, 0, sizeof(*sh));
	memset(seen_ext, 0, sizeof(seen_ext));
	if (tls13_get_u16(&r, &ver) || tls13_get_bytes(&r, 32, &x) ||
	    tls13_get_vec(&r, 1, 0, 32, &sid) || tls13_get_u16(&r, &sh->suite) ||
	    tls13_get_u8(&r, &comp) || tls13_get_vec(&r, 2, 6, 0xffff, &exts) || r.len)
		return fail(v, "ServerHello is malformed");
	memcpy(sh->random, x.p, 32);
	sh->is_hrr = !memcmp(sh->random, hrr_random, 32);
	what = sh->is_hrr ? "HelloRetryRequest" : "ServerHello";

	if (ver != LEGACY_VERSION)
		return fail(v, "%s legacy_version is 0x%04x", what, ver);
	if (!same_bytes(sid, o->session_id))
		return fail(v, "%s legacy_session_id_echo differs from the ClientHello's", what);
	if (comp != 0)
		return fail(v, "%s legacy_compression_method is %u", what, comp);
	if (!list_has_u16(o->suites, sh->suite))
		return fail(v, "%s selects cipher suite 0x%04x, which the client did not offer",
			    what, sh->suite);

	while (exts.len) {
		if (tls13_get_u16(&exts, &type) || tls13_get_vec(&exts, 2, 0, 0xffff, &ext))
			return fail(v, "%s extensions are malformed", what);
		if (seen(seen_ext, type))
			return fail(v, "%s carries extension %u twice", what, type);
		seen_ext[type >> 3] |= (uint8_t)(1u << (type & 7));
		/* 4.2: only what the client offered */
		if (type != EXT_COOKIE && !seen(o->seen, type))
			return fail(v, "%s carries extension %u, which the client did not offer",
				    what, type);

		switch (type) {
		case EXT_SUPPORTED_VERSIONS:
			if (tls13_get_u16(&ext, &sv) || ext.len)
				return fail(v, "%s supported_versions is malformed", what);
			break;
		case EXT_KEY_SHARE:
			sh->has_key_share = 1;
			if (sh->is_hrr) {
				/* 4.2.8: KeyShareHelloRetryRequest: selected_group */
				if (tls13_get_u16(&ext, &sh->group) || ext.len)
					return fail(v, "HelloRetryRequest key_share is malformed");
			} else if (tls13_get_u16(&ext, &sh->group) ||
				   tls13_get_vec(&ext, 2, 1, 0xffff, &sh->share) || ext.len) {
				return fail(v, "ServerHello key_share is malformed");
			}
			break;
		case EXT_COOKIE:
			if (!sh->is_hrr)
				return fail(v, "ServerHello carries a cookie");
			if (tls13_get_vec(&ext, 2, 1, 0xffff, &sh->cookie) || ext.len)
				return fail(v, "HelloRetryRequest cookie is malformed");
			break;
		case EXT_PRE_SHARED_KEY:
			return fail(v,
				    "%s accepts a pre-shared key; resumption is not supported "
				    "by the verifier",
				    what);
		default:
			return fail(v, "%s carries extension %u, which is not allowed there", what,
				    type);
		}
	}
	/* 4.2.1: without supported_versions = 1.3 the server negotiated 1.2 or lower */
	if (sv != TLS13_VERSION)
		return fail(v, "the server negotiated a TLS version other than 1.3 (0x%04x)",
			    sv ? sv : ver);
	if (!sh->has_key_share && !sh->is_hrr)
		return fail(v, "ServerHello has no key_share (PSK-only modes are not supported)");
	return TW_OK;
}

/* 4.1.4: the HelloRetryRequest must change the ClientHello in a way it allows. */
static enum tw_code check_hello_retry(struct verifier *v, const struct server_hello *hrr)
{
	struct tls13_reader ke;

	if (!hrr->has_key_share && !hrr->cookie.p)
		return fail(v, "HelloRetryRequest would not change the ClientHello");
	if (hrr->has_key_share) {
		if (!list_has_u16(v->offer[0].groups, hrr->group))
			return fail(v,
				    "HelloRetryRequest selects group 0x%04x, which the client "
				    "did not offer",
				    hrr->group);
		if (find_share(&v->offer[0], hrr->group, &ke))
			return fail(v,
				    "HelloRetryRequest selects group 0x%04x, for which the "
				    "client already sent a share",
				    hrr->group);
	}
	return TW_OK;
}

/*
 * 4.1.2: what a second ClientHello may change after a HelloRetryRequest.
 * key_share only when the HRR selected a group, cookie only to echo the
 * HRR's (both checked apart), early_data only by removing it (refused in
 * any ClientHello), pre_shared_key only when the first offered one (its
 * ages and binders change), padding freely (RFC 7685).
 */
static int may_change(uint16_t type, const struct offer *first, const struct server_hello *hrr)
{
	switch (type) {
	case EXT_KEY_SHARE:
		return hrr->has_key_share;
	case EXT_PRE_SHARED_KEY:
		return seen(first->seen, EXT_PRE_SHARED_KEY);
	case EXT_COOKIE:
	case EXT_EARLY_DATA:
	case EXT_PADDING:
		return 1;
	}
	return 0;
}

/* The next extension of @exts that may not change, in *@type and *@body; 0 at the end. */
static int next_fixed(struct tls13_reader *exts, const struct offer *first,
		      const struct server_hello *hrr, uint16_t *type, struct tls13_reader *body)
{
	while (exts->len) {
		if (tls13_get_u16(exts, type) || tls13_get_vec(exts, 2, 0, 0xffff, body))
			return 0;
		if (!may_change(*type, first, hrr))
			return 1;
	}
	return 0;
}

/*
 * 4.1.2: every other extension of the second ClientHello is the first's,
 * with the same body, in the same order.  Both blocks were parsed whole.
 */
static enum tw_code check_same_extensions(struct verifier *v, const struct server_hello *hrr)
{
	const struct offer *a = &v->offer[0], *b = &v->offer[1];
	struct tls13_reader xa = a->exts, xb = b->exts, ba, bb;
	uint16_t ta, tb;
	int more_a, more_b;

	if (seen(b->seen, EXT_PRE_SHARED_KEY) && !seen(a->seen, EXT_PRE_SHARED_KEY))
		return fail(v, "second ClientHello adds a pre_shared_key extension");
	for (;;) {
		more_a = next_fixed(&xa, a, hrr, &ta, &ba);
		more_b = next_fixed(&xb, a, hrr, &tb, &bb);
		if (!more_a && !more_b)
			return TW_OK;
		if (!more_b)
			return fail(v, "second ClientHello drops extension %u", ta);
		if (!more_a)
			return fail(v, "second ClientHello adds extension %u", tb);
		if (ta != tb)
			return fail(v,
				    "second ClientHello carries extension %u where the first "
				    "carries %u",
				    tb, ta);
		if (!same_bytes(ba, bb))
			return fail(v, "second ClientHello changes extension %u", ta);
	}
}

/* 4.1.2: the second ClientHello repeats the first but for what the HRR changed. */
static enum tw_code check_second_hello(struct verifier *v, const struct server_hello *hrr)
{
	const struct offer *a = &v->offer[0], *b = &v->offer[1];
	struct tls13_reader x = b->shares, ke;
	uint16_t g;

	if (memcmp(a->random, b->random, 32))
		return fail(v, "second ClientHello has a different random");
	if (!same_bytes(a->session_id, b->session_id))
		return fail(v, "second ClientHello has a different legacy_session_id");
	if (!same_bytes(a->suites, b->suites))
		return fail(v, "second ClientHello offers different cipher suites");
	if (hrr->has_key_share) {
		if (tls13_get_u16(&x, &g) || tls13_get_vec(&x, 2, 1, 0xffff, &ke) || x.len ||
		    g != hrr->group)
			return fail(v, "second ClientHello does not carry exactly one key share "
				       "of the group the HelloRetryRequest selected");
	}
	if (hrr->cookie.p && !same_bytes(b->cookie, hrr->cookie))
		return fail(v, "second ClientHello does not echo the HelloRetryRequest cookie");
	if (!hrr->cookie.p && b->cookie.p)
		return fail(v, "second ClientHello carries a cookie nobody sent");
	return check_same_extensions(v, hrr);
}

/* Size of an ECDHE share and of Z for @group (4.2.8.1, 4.2.8.2, 7.4.2). */
static int group_sizes(uint16_t group, size_t *share_len, size_t *z_len, const char **ec_name,
		       int *nid)
{
	*ec_name = NULL;
	*nid = NID_undef;
	switch (group) {
	case TW_TLS_GROUP_SECP256R1:
		*share_len = 65, *z_len = 32, *ec_name = "P-256", *nid = NID_X9_62_prime256v1;
		return 0;
	case TW_TLS_GROUP_SECP384R1:
		*share_len = 97, *z_len = 48, *ec_name = "P-384", *nid = NID_secp384r1;
		return 0;
	case TW_TLS_GROUP_SECP521R1:
		*share_len = 133, *z_len = 66, *ec_name = "P-521", *nid = NID_secp521r1;
		return 0;
	case TW_TLS_GROUP_X25519:
		*share_len = 32, *z_len = 32;
		return 0;
	case TW_TLS_GROUP_X448:
		*share_len = 56, *z_len = 56;
		return 0;
	}
	return -1;
}

/* 4.2.8.2: an uncompressed point that lies on the curve (cofactor 1: enough). */
static int ec_point_valid(const EC_GROUP *group, const uint8_t *point, size_t len)
{
	EC_POINT *pt;
	int ok;

	if (len == 0 || point[0] != 0x04)
		return 0;
	pt = EC_POINT_new(group);
	ok = pt && EC_POINT_oct2point(group, pt, point, len, NULL) == 1 &&
	     !EC_POINT_is_at_infinity(group, pt);
	EC_POINT_free(pt);
	return ok;
}

/* 4.2.8: the two shares of the chosen group, and Z of the right size. */
static enum tw_code check_key_shares(struct verifier *v, const struct server_hello *sh)
{
	const struct offer *o = &v->offer[v->offers - 1];
	struct tw_tls_session *s = v->s;
	struct tls13_reader ke;
	size_t share_len, z_len;
	const char *curve;
	int nid;

	if (!find_share(o, sh->group, &ke))
		return fail(v, "ServerHello key share group 0x%04x matches no ClientHello share",
			    sh->group);
	if (v->hrr_group && sh->group != v->hrr_group)
		return fail(v, "ServerHello group 0x%04x differs from the HelloRetryRequest's",
			    sh->group);
	if (v->p->require_group && sh->group != v->p->require_group)
		return fail(v, "key exchange group is 0x%04x, not the required 0x%04x", sh->group,
			    v->p->require_group);
	if (group_sizes(sh->group, &share_len, &z_len, &curve, &nid))
		return fail(v, "key exchange group 0x%04x is not supported by the verifier",
			    sh->group);
	if (ke.len != share_len)
		return fail(v, "ClientHello key share has %zu bytes, not %zu", ke.len, share_len);
	if (sh->share.len != share_len)
		return fail(v, "ServerHello key share has %zu bytes, not %zu", sh->share.len,
			    share_len);
	if (curve) {
		EC_GROUP *g = EC_GROUP_new_by_curve_name_ex(NULL, NULL, nid);
		int client_ok, server_ok;

		if (!g)
			return crypto_fail(v, "curve of the key exchange group");
		client_ok = ec_point_valid(g, ke.p, ke.len);
		server_ok = ec_point_valid(g, sh->share.p, sh->share.len);
		EC_GROUP_free(g);
		if (!client_ok)
			return fail(v, "ClientHello key share is not a valid %s point", curve);
		if (!server_ok)
			return fail(v, "ServerHello key share is not a valid %s point", curve);
	}
	if (v->p->z_len != z_len)
		return fail(v, "shared secret has %zu bytes; group 0x%04x needs %zu", v->p->z_len,
			    sh->group, z_len);

	s->group = sh->group;
	memcpy(s->client_share, ke.p, ke.len);
	s->client_share_len = ke.len;
	memcpy(s->server_share, sh->share.p, sh->share.len);
	s->server_share_len = sh->share.len;
	return TW_OK;
}

/* ---- key schedule (7.1) ---- */

static enum tw_code handshake_keys(struct verifier *v)
{
	struct tw_tls_secrets *k = &v->s->secrets;
	uint8_t early[TW_TLS_MAX_HASH], derived[TW_TLS_MAX_HASH], h[TW_TLS_MAX_HASH];
	uint8_t empty[TW_TLS_MAX_HASH];
	enum tw_code rc;

	rc = transcript_hash(v, h);
	if (rc)
		return rc;
	if (tls13_hkdf_extract(&v->kdf, NULL, NULL, 0, early) ||
	    tls13_hash(&v->kdf, NULL, 0, empty) ||
	    tls13_derive_secret(&v->kdf, early, "derived", empty, derived) ||
	    tls13_hkdf_extract(&v->kdf, derived, v->p->z, v->p->z_len, k->handshake_secret) ||
	    tls13_derive_secret(&v->kdf, k->handshake_secret, "c hs traffic", h,
				k->client_handshake_traffic) ||
	    tls13_derive_secret(&v->kdf, k->handshake_secret, "s hs traffic", h,
				k->server_handshake_traffic))
		return crypto_fail(v, "handshake key schedule");
	if (tls13_aead_set_secret(&v->side[TW_TLS_CLIENT].aead, &v->kdf,
				  k->client_handshake_traffic) ||
	    tls13_aead_set_secret(&v->side[TW_TLS_SERVER].aead, &v->kdf,
				  k->server_handshake_traffic))
		return crypto_fail(v, "handshake traffic keys");
	memcpy(v->side[TW_TLS_CLIENT].secret, k->client_handshake_traffic, k->hash_len);
	memcpy(v->side[TW_TLS_SERVER].secret, k->server_handshake_traffic, k->hash_len);
	v->side[TW_TLS_CLIENT].prot = TW_TLS_HANDSHAKE_KEYS;
	v->side[TW_TLS_SERVER].prot = TW_TLS_HANDSHAKE_KEYS;
	OPENSSL_cleanse(early, sizeof(early));
	return TW_OK;
}

/* After the server Finished: master secret and application traffic secrets. */
static enum tw_code application_secrets(struct verifier *v)
{
	struct tw_tls_secrets *k = &v->s->secrets;
	uint8_t derived[TW_TLS_MAX_HASH], empty[TW_TLS_MAX_HASH], h[TW_TLS_MAX_HASH];
	enum tw_code rc;

	rc = transcript_hash(v, h);
	if (rc)
		return rc;
	if (tls13_hash(&v->kdf, NULL, 0, empty) ||
	    tls13_derive_secret(&v->kdf, k->handshake_secret, "derived", empty, derived) ||
	    tls13_hkdf_extract(&v->kdf, derived, NULL, 0, k->master_secret) ||
	    tls13_derive_secret(&v->kdf, k->master_secret, "c ap traffic", h,
				k->client_application_traffic_0) ||
	    tls13_derive_secret(&v->kdf, k->master_secret, "s ap traffic", h,
				k->server_application_traffic_0) ||
	    tls13_derive_secret(&v->kdf, k->master_secret, "exp master", h, k->exporter_master))
		return crypto_fail(v, "application key schedule");
	return TW_OK;
}

static enum tw_code switch_to_application(struct verifier *v, struct side *sd,
					  const uint8_t *secret)
{
	if (tls13_aead_set_secret(&sd->aead, &v->kdf, secret))
		return crypto_fail(v, "application traffic keys");
	memcpy(sd->secret, secret, v->suite->hash_len);
	sd->prot = TW_TLS_APPLICATION_KEYS;
	return TW_OK;
}

/* ---- EncryptedExtensions (4.3.1) ---- */

static enum tw_code parse_encrypted_extensions(struct verifier *v, const struct offer *o,
					       struct tls13_reader r)
{
	struct tls13_reader exts, ext, x, name;
	uint8_t seen_ext[65536 / 8];
	uint16_t type, limit;

	memset(seen_ext, 0, sizeof(seen_ext));
	if (tls13_get_vec(&r, 2, 0, 0xffff, &exts) || r.len)
		return fail(v, "EncryptedExtensions is malformed");
	while (exts.len) {
		if (tls13_get_u16(&exts, &type) || tls13_get_vec(&exts, 2, 0, 0xffff, &ext))
			return fail(v, "EncryptedExtensions is malformed");
		if (seen(seen_ext, type))
			return fail(v, "EncryptedExtensions carries extension %u twice", type);
		seen_ext[type >> 3] |= (uint8_t)(1u << (type & 7));
		if (!seen(o->seen, type))
			return fail(v,
				    "EncryptedExtensions carries extension %u, which the client "
				    "did not offer",
				    type);

		switch (type) {
		case EXT_SERVER_NAME:
			/* RFC 6066 3: the server's answer is empty */
			if (ext.len)
				return fail(v, "EncryptedExtensions server_name is not empty");
			break;
		case EXT_SUPPORTED_GROUPS:
			/* 4.2.7: the server's preference, for later connections */
			if (tls13_get_vec(&ext, 2, 2, 0xfffe, &x) || (x.len & 1) || ext.len)
				return fail(v, "EncryptedExtensions supported_groups is malformed");
			break;
		case EXT_ALPN:
			/* RFC 7301 3.1: exactly one name, one the client offered */
			if (tls13_get_vec(&ext, 2, 2, 0xffff, &x) ||
			    tls13_get_vec(&x, 1, 1, 255, &name) || x.len || ext.len)
				return fail(v, "EncryptedExtensions ALPN is not one protocol name");
			{
				struct tls13_reader list = o->alpn, c;
				int found = 0;

				while (!found && !tls13_get_vec(&list, 1, 1, 255, &c))
					found = same_bytes(c, name);
				if (!found)
					return fail(v, "the server selected an ALPN protocol the "
						       "client did not offer");
			}
			memcpy(v->s->alpn, name.p, name.len);
			v->s->alpn_len = name.len;
			break;
		case EXT_RECORD_SIZE_LIMIT:
			/* RFC 8449 4: it bounds what the client may send */
			if (tls13_get_u16(&ext, &limit) || ext.len || limit < 64)
				return fail(v,
					    "EncryptedExtensions record_size_limit is malformed");
			if (limit < v->side[TW_TLS_CLIENT].inner_limit)
				v->side[TW_TLS_CLIENT].inner_limit = limit;
			if (o->record_size_limit < v->side[TW_TLS_SERVER].inner_limit)
				v->side[TW_TLS_SERVER].inner_limit = o->record_size_limit;
			break;
		default:
			return fail(v,
				    "EncryptedExtensions carries extension %u, which the "
				    "verifier does not support",
				    type);
		}
	}
	return TW_OK;
}

/* ---- CertificateRequest (4.3.2) ---- */

static enum tw_code parse_certificate_request(struct verifier *v, struct tls13_reader r)
{
	struct tls13_reader ctx, exts, ext;
	uint16_t type;
	int sig_algs = 0;

	if (tls13_get_vec(&r, 1, 0, 255, &ctx) || tls13_get_vec(&r, 2, 2, 0xffff, &exts) || r.len)
		return fail(v, "CertificateRequest is malformed");
	if (ctx.len)
		return fail(v, "CertificateRequest in the handshake has a non-empty context");
	while (exts.len) {
		if (tls13_get_u16(&exts, &type) || tls13_get_vec(&exts, 2, 0, 0xffff, &ext))
			return fail(v, "CertificateRequest extensions are malformed");
		if (type == EXT_SIGNATURE_ALGORITHMS)
			sig_algs = 1;
	}
	if (!sig_algs)
		return fail(v, "CertificateRequest has no signature_algorithms");
	v->cert_request = 1;
	v->cr_context_len = 0;
	return TW_OK;
}

/* ---- Certificate (4.4.2) ---- */

static enum tw_code parse_certificate(struct verifier *v, const struct offer *o,
				      struct tls13_reader r, int from_server)
{
	struct tls13_reader ctx, list, data, exts, ext;
	struct tw_tls_session *s = v->s;
	struct tw_tls_cert *certs;
	const uint8_t *der;
	uint16_t type;
	size_t n = 0;
	X509 *x;

	if (tls13_get_vec(&r, 1, 0, 255, &ctx) || tls13_get_vec(&r, 3, 0, 0xffffff, &list) || r.len)
		return fail(v, "%s Certificate is malformed", from_server ? "server" : "client");
	if (!from_server) {
		if (ctx.len != v->cr_context_len ||
		    (ctx.len && memcmp(ctx.p, v->cr_context, ctx.len)))
			return fail(v, "client Certificate context differs from the request's");
		if (list.len)
			return fail(v, "the client authenticated with a certificate, which the "
				       "verifier does not support");
		return TW_OK;
	}
	if (ctx.len)
		return fail(v, "server Certificate has a non-empty request context");
	if (!list.len)
		return fail(v, "server Certificate is empty");

	while (list.len) {
		if (tls13_get_vec(&list, 3, 1, 0xffffff, &data) ||
		    tls13_get_vec(&list, 2, 0, 0xffff, &exts))
			return fail(v, "server Certificate entry %zu is malformed", n);
		while (exts.len) {
			if (tls13_get_u16(&exts, &type) || tls13_get_vec(&exts, 2, 0, 0xffff, &ext))
				return fail(v,
					    "server Certificate entry %zu extensions are "
					    "malformed",
					    n);
			/* 4.4.2.1: OCSP and SCT answers, only if asked for */
			if ((type != EXT_STATUS_REQUEST && type != EXT_SCT) || !seen(o->seen, type))
				return fail(v,
					    "server Certificate entry %zu carries extension %u, "
					    "which is not allowed there",
					    n, type);
		}
		der = data.p;
		x = d2i_X509(NULL, &der, (long)data.len);
		if (!x || der != data.p + data.len) {
			X509_free(x);
			return fail(v, "server certificate %zu is not one DER X.509 certificate",
				    n);
		}
		if (!v->chain)
			v->chain = sk_X509_new_null();
		if (!v->chain || !sk_X509_push(v->chain, x)) {
			X509_free(x);
			return nomem(v, "certificate list");
		}
		if (n == 0)
			v->leaf = x;

		certs = realloc(s->certs, (n + 1) * sizeof(*certs));
		if (!certs)
			return nomem(v, "certificate list");
		s->certs = certs;
		certs[n].der = malloc(data.len);
		if (!certs[n].der)
			return nomem(v, "certificate");
		memcpy(certs[n].der, data.p, data.len);
		certs[n].len = data.len;
		s->ncerts = ++n;
	}
	return TW_OK;
}

/* The server's chain against the trust store, and the host name. */
static enum tw_code check_server_identity(struct verifier *v)
{
	const struct tw_tls_params *p = v->p;
	STACK_OF(X509) *untrusted = NULL;
	X509_STORE_CTX *ctx = NULL;
	unsigned char ip[16];
	enum tw_code rc = TW_OK;
	size_t i;
	int err, ok;

	if (!(p->flags & TW_TLS_SKIP_CHAIN)) {
		/* The certificates after the leaf, borrowed from v->chain. */
		untrusted = sk_X509_new_null();
		ctx = X509_STORE_CTX_new();
		if (!untrusted || !ctx) {
			rc = nomem(v, "certificate chain");
			goto out;
		}
		for (i = 1; i < (size_t)sk_X509_num(v->chain); i++) {
			if (!sk_X509_push(untrusted, sk_X509_value(v->chain, (int)i))) {
				rc = nomem(v, "certificate chain");
				goto out;
			}
		}
		if (X509_STORE_CTX_init(ctx, p->trust, v->leaf, untrusted) != 1 ||
		    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER) != 1) {
			rc = crypto_fail(v, "certificate verification context");
			goto out;
		}
		if (p->verify_time)
			X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), p->verify_time);
		if (X509_verify_cert(ctx) != 1) {
			err = X509_STORE_CTX_get_error(ctx);
			rc = fail(v, "certificate chain does not verify: %s (depth %d)",
				  X509_verify_cert_error_string(err),
				  X509_STORE_CTX_get_error_depth(ctx));
			goto out;
		}
	}

	if (!(p->flags & TW_TLS_SKIP_HOST)) {
		/* RFC 6125: subjectAltName only, no wildcard inside a label */
		if (inet_pton(AF_INET, p->host, ip) == 1 || inet_pton(AF_INET6, p->host, ip) == 1)
			ok = X509_check_ip_asc(v->leaf, p->host, 0);
		else
			ok = X509_check_host(v->leaf, p->host, 0,
					     X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
						     X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
					     NULL);
		if (ok != 1)
			rc = fail(v,
				  "host name mismatch: the server certificate is not valid for "
				  "%s",
				  p->host);
	}
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	return rc;
}

/* ---- CertificateVerify (4.4.3) ---- */

struct sig_scheme {
	uint16_t id;
	const char *digest;   /* NULL for EdDSA */
	const char *key_type; /* OpenSSL key type name */
	const char *curve;    /* ECDSA: the curve the scheme names */
	int pss;
};

/* 4.2.3: the schemes TLS 1.3 allows in CertificateVerify */
static const struct sig_scheme sig_schemes[] = {
	{0x0403, "SHA256", "EC", "prime256v1", 0}, {0x0503, "SHA384", "EC", "secp384r1", 0},
	{0x0603, "SHA512", "EC", "secp521r1", 0},  {0x0804, "SHA256", "RSA", NULL, 1},
	{0x0805, "SHA384", "RSA", NULL, 1},	   {0x0806, "SHA512", "RSA", NULL, 1},
	{0x0807, NULL, "ED25519", NULL, 0},	   {0x0808, NULL, "ED448", NULL, 0},
	{0x0809, "SHA256", "RSA-PSS", NULL, 1},	   {0x080a, "SHA384", "RSA-PSS", NULL, 1},
	{0x080b, "SHA512", "RSA-PSS", NULL, 1},
};

static enum tw_code verify_signature(struct verifier *v, const struct sig_scheme *ss,
				     const uint8_t *content, size_t content_len, const uint8_t *sig,
				     size_t sig_len)
{
	EVP_PKEY *pkey = X509_get0_pubkey(v->leaf);
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	char curve[64];
	enum tw_code rc;

	if (!pkey || !EVP_PKEY_is_a(pkey, ss->key_type))
		return fail(v,
			    "CertificateVerify scheme 0x%04x does not match the certificate "
			    "key",
			    ss->id);
	if (ss->curve && (EVP_PKEY_get_group_name(pkey, curve, sizeof(curve), NULL) != 1 ||
			  strcmp(curve, ss->curve)))
		return fail(v,
			    "CertificateVerify scheme 0x%04x names another curve than the "
			    "certificate key's",
			    ss->id);
	mctx = EVP_MD_CTX_new();
	if (!mctx)
		return nomem(v, "signature check");
	if (EVP_DigestVerifyInit_ex(mctx, &pctx, ss->digest, NULL, NULL, pkey, NULL) != 1 ||
	    (ss->pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
			 EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
			 EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, ss->digest, NULL) != 1))) {
		rc = fail(v,
			  "CertificateVerify scheme 0x%04x cannot be used with the "
			  "certificate key",
			  ss->id);
		goto out;
	}
	if (EVP_DigestVerify(mctx, sig, sig_len, content, content_len) != 1)
		rc = fail(v, "CertificateVerify signature invalid");
	else
		rc = TW_OK;
out:
	EVP_MD_CTX_free(mctx);
	return rc;
}

static enum tw_code check_certificate_verify(struct verifier *v, const struct offer *o,
					     struct tls13_reader r)
{
	static const char context[] = "TLS 1.3, server CertificateVerify";
	uint8_t content[64 + sizeof(context) + TW_TLS_MAX_HASH];
	const struct sig_scheme *ss = NULL;
	struct tls13_reader sig;
	size_t hl = v->suite->hash_len, i;
	uint16_t scheme;
	enum tw_code rc;

	if (tls13_get_u16(&r, &scheme) || tls13_get_vec(&r, 2, 0, 0xffff, &sig) || r.len)
		return fail(v, "CertificateVerify is malformed");
	for (i = 0; i < sizeof(sig_schemes) / sizeof(sig_schemes[0]); i++)
		if (sig_schemes[i].id == scheme)
			ss = &sig_schemes[i];
	if (!ss)
		return fail(v,
			    "CertificateVerify uses signature scheme 0x%04x, which TLS 1.3 or "
			    "the verifier does not allow",
			    scheme);
	if (!list_has_u16(o->sig_algs, scheme))
		return fail(v,
			    "CertificateVerify uses signature scheme 0x%04x, which the client "
			    "did not offer",
			    scheme);
	v->s->sig_scheme = scheme;

	/* 64 spaces, the context string, a zero byte, Transcript-Hash(CH..Certificate) */
	memset(content, 0x20, 64);
	memcpy(content + 64, context, sizeof(context));
	rc = transcript_hash(v, content + 64 + sizeof(context));
	if (rc)
		return rc;
	return verify_signature(v, ss, content, 64 + sizeof(context) + hl, sig.p, sig.len);
}

/* ---- Finished (4.4.4) ---- */

static enum tw_code check_finished(struct verifier *v, struct side *sd, const uint8_t *base_key,
				   struct tls13_reader r)
{
	uint8_t h[TW_TLS_MAX_HASH], mac[TW_TLS_MAX_HASH];
	size_t hl = v->suite->hash_len;
	enum tw_code rc;

	if (r.len != hl)
		return fail(v, "%s Finished has %zu bytes, not %zu", side_name(sd), r.len, hl);
	rc = transcript_hash(v, h);
	if (rc)
		return rc;
	if (tls13_finished_mac(&v->kdf, base_key, h, mac))
		return crypto_fail(v, "Finished MAC");
	if (CRYPTO_memcmp(mac, r.p, hl))
		return fail(v, "%s Finished does not verify", side_name(sd));
	return TW_OK;
}

/* ---- the handshake, in protocol order ---- */

static enum tw_code client_hello(struct verifier *v, int which)
{
	struct side *c = &v->side[TW_TLS_CLIENT];
	struct message m;
	enum tw_code rc;

	rc = next_message(v, c, which ? "second ClientHello" : "ClientHello", &m);
	if (rc)
		return rc;
	rc = expect_type(v, c, &m, TW_TLS_HS_CLIENT_HELLO);
	if (rc)
		return rc;
	rc = parse_client_hello(v, &v->offer[which], &m);
	if (rc)
		return rc;
	v->offers = which + 1;
	return expect_boundary(v, c, "ClientHello");
}

/* Add ClientHello @which, header and body, to the transcript. */
static enum tw_code hash_hello(struct verifier *v, int which)
{
	const struct offer *o = &v->offer[which];
	uint8_t hdr[4] = {TW_TLS_HS_CLIENT_HELLO, (uint8_t)(o->len >> 16), (uint8_t)(o->len >> 8),
			  (uint8_t)o->len};
	enum tw_code rc;

	rc = transcript_add(v, hdr, 4);
	return rc ? rc : transcript_add(v, o->body, o->len);
}

/* 4.4.1: after a HelloRetryRequest, ClientHello1 is replaced by message_hash. */
static enum tw_code hash_first_hello_replaced(struct verifier *v)
{
	const struct offer *o = &v->offer[0];
	uint8_t hdr[4] = {TW_TLS_HS_CLIENT_HELLO, (uint8_t)(o->len >> 16), (uint8_t)(o->len >> 8),
			  (uint8_t)o->len};
	uint8_t mh[4 + TW_TLS_MAX_HASH];
	size_t hl = v->suite->hash_len;

	if (EVP_DigestInit_ex(v->scratch, v->kdf.md, NULL) != 1 ||
	    EVP_DigestUpdate(v->scratch, hdr, 4) != 1 ||
	    EVP_DigestUpdate(v->scratch, o->body, o->len) != 1 ||
	    EVP_DigestFinal_ex(v->scratch, mh + 4, NULL) != 1)
		return crypto_fail(v, "message_hash");
	mh[0] = 254;
	mh[1] = 0;
	mh[2] = 0;
	mh[3] = (uint8_t)hl;
	return transcript_add(v, mh, 4 + hl);
}

static enum tw_code hellos(struct verifier *v)
{
	struct side *c = &v->side[TW_TLS_CLIENT], *s = &v->side[TW_TLS_SERVER];
	struct server_hello sh, hrr;
	struct message m;
	enum tw_code rc;

	rc = client_hello(v, 0);
	if (rc)
		return rc;

	rc = next_message(v, s, "ServerHello", &m);
	if (rc)
		return rc;
	rc = expect_type(v, s, &m, TW_TLS_HS_SERVER_HELLO);
	if (rc)
		return rc;
	rc = parse_server_hello(v, &v->offer[0], m.body, &sh);
	if (rc)
		return rc;
	rc = choose_suite(v, sh.suite);
	if (rc)
		return rc;

	if (sh.is_hrr) {
		/* 4.1.4 */
		v->s->hello_retry = 1;
		v->s->messages[m.index].type = TW_TLS_HS_HELLO_RETRY_REQUEST;
		rc = check_hello_retry(v, &sh);
		if (rc)
			return rc;
		hrr = sh;
		/* The cookie reader points into the server's buffer: keep a copy. */
		if (hrr.cookie.p) {
			uint8_t *copy = malloc(hrr.cookie.len);

			if (!copy)
				return nomem(v, "cookie");
			memcpy(copy, hrr.cookie.p, hrr.cookie.len);
			hrr.cookie.p = copy;
		}
		v->hrr_group = hrr.has_key_share ? hrr.group : 0;
		rc = hash_first_hello_replaced(v);
		if (!rc)
			rc = transcript_add(v, m.raw, m.raw_len);
		if (!rc)
			rc = client_hello(v, 1);
		if (!rc)
			rc = check_second_hello(v, &hrr);
		free((void *)hrr.cookie.p);
		if (rc)
			return rc;
		rc = hash_hello(v, 1);
		if (rc)
			return rc;

		rc = next_message(v, s, "ServerHello", &m);
		if (rc)
			return rc;
		rc = expect_type(v, s, &m, TW_TLS_HS_SERVER_HELLO);
		if (rc)
			return rc;
		rc = parse_server_hello(v, &v->offer[1], m.body, &sh);
		if (rc)
			return rc;
		if (sh.is_hrr)
			return fail(v, "the server sent a second HelloRetryRequest");
		if (sh.suite != hrr.suite)
			return fail(v, "ServerHello cipher suite differs from the "
				       "HelloRetryRequest's");
	} else {
		rc = hash_hello(v, 0);
		if (rc)
			return rc;
	}
	memcpy(v->s->client_random, v->offer[v->offers - 1].random, 32);
	memcpy(v->s->server_random, sh.random, 32);
	if (v->offer[v->offers - 1].sni.p) {
		const struct tls13_reader *n = &v->offer[v->offers - 1].sni;

		if (n->len >= sizeof(v->s->sni) || memchr(n->p, 0, n->len))
			return fail(v, "ClientHello server_name is not a usable host name");
		memcpy(v->s->sni, n->p, n->len);
		v->s->sni[n->len] = 0;
	}

	rc = check_key_shares(v, &sh);
	if (rc)
		return rc;
	if (v->p->on_key_shares) {
		rc = v->p->on_key_shares(v->p->arg, v->s, v->st);
		if (rc)
			return rc;
	}
	rc = transcript_add(v, m.raw, m.raw_len);
	if (rc)
		return rc;
	rc = expect_boundary(v, s, "ServerHello");
	if (rc)
		return rc;
	(void)c;
	return handshake_keys(v);
}

static enum tw_code server_flight(struct verifier *v)
{
	struct side *s = &v->side[TW_TLS_SERVER];
	const struct offer *o = &v->offer[v->offers - 1];
	struct message m;
	enum tw_code rc;

	/* 4.3.1 */
	rc = next_message(v, s, "EncryptedExtensions", &m);
	if (!rc)
		rc = expect_type(v, s, &m, TW_TLS_HS_ENCRYPTED_EXTENSIONS);
	if (!rc)
		rc = parse_encrypted_extensions(v, o, m.body);
	if (!rc)
		rc = transcript_add(v, m.raw, m.raw_len);
	if (rc)
		return rc;

	/* 4.3.2, 4.4.2 */
	rc = next_message(v, s, "Certificate", &m);
	if (rc)
		return rc;
	if (m.type == TW_TLS_HS_CERTIFICATE_REQUEST) {
		rc = parse_certificate_request(v, m.body);
		if (!rc)
			rc = transcript_add(v, m.raw, m.raw_len);
		if (!rc)
			rc = next_message(v, s, "Certificate", &m);
		if (rc)
			return rc;
	}
	rc = expect_type(v, s, &m, TW_TLS_HS_CERTIFICATE);
	if (!rc)
		rc = parse_certificate(v, o, m.body, 1);
	if (!rc)
		rc = transcript_add(v, m.raw, m.raw_len);
	if (!rc)
		rc = check_server_identity(v);
	if (rc)
		return rc;

	/* 4.4.3 */
	rc = next_message(v, s, "CertificateVerify", &m);
	if (!rc)
		rc = expect_type(v, s, &m, TW_TLS_HS_CERTIFICATE_VERIFY);
	if (!rc)
		rc = check_certificate_verify(v, o, m.body);
	if (!rc)
		rc = transcript_add(v, m.raw, m.raw_len);
	if (rc)
		return rc;

	/* 4.4.4 */
	rc = next_message(v, s, "Finished", &m);
	if (!rc)
		rc = expect_type(v, s, &m, TW_TLS_HS_FINISHED);
	if (!rc)
		rc = check_finished(v, s, v->s->secrets.server_handshake_traffic, m.body);
	if (!rc)
		rc = transcript_add(v, m.raw, m.raw_len);
	if (!rc)
		rc = expect_boundary(v, s, "server Finished");
	if (rc)
		return rc;
	s->finished = 1;
	s->out->finished_end = s->pos;

	rc = application_secrets(v);
	if (rc)
		return rc;
	return switch_to_application(v, s, v->s->secrets.server_application_traffic_0);
}

static enum tw_code client_flight(struct verifier *v)
{
	struct side *c = &v->side[TW_TLS_CLIENT];
	struct tw_tls_secrets *k = &v->s->secrets;
	uint8_t h[TW_TLS_MAX_HASH];
	struct message m;
	enum tw_code rc;

	if (v->cert_request) {
		rc = next_message(v, c, "Certificate", &m);
		if (!rc)
			rc = expect_type(v, c, &m, TW_TLS_HS_CERTIFICATE);
		if (!rc)
			rc = parse_certificate(v, NULL, m.body, 0);
		if (!rc)
			rc = transcript_add(v, m.raw, m.raw_len);
		if (rc)
			return rc;
	}

	rc = next_message(v, c, "Finished", &m);
	if (!rc)
		rc = expect_type(v, c, &m, TW_TLS_HS_FINISHED);
	if (!rc)
		rc = check_finished(v, c, k->client_handshake_traffic, m.body);
	if (!rc)
		rc = transcript_add(v, m.raw, m.raw_len);
	if (!rc)
		rc = expect_boundary(v, c, "client Finished");
	if (rc)
		return rc;
	c->finished = 1;
	c->out->finished_end = c->pos;

	/* 7.1: resumption_master_secret, over ClientHello..client Finished */
	rc = transcript_hash(v, h);
	if (rc)
		return rc;
	if (tls13_derive_secret(&v->kdf, k->master_secret, "res master", h, k->resumption_master))
		return crypto_fail(v, "resumption master secret");
	return switch_to_application(v, c, k->client_application_traffic_0);
}

/* ---- after the handshake (4.6) ---- */

static enum tw_code new_session_ticket(struct verifier *v, struct side *sd, struct tls13_reader r)
{
	struct tls13_reader nonce, ticket, exts, ext;
	uint32_t lifetime, age_add;
	uint16_t type;

	/* 4.6.1 */
	if (sd->dir != TW_TLS_SERVER)
		return fail(v, "the client sent a NewSessionTicket");
	if (tls13_get_u32(&r, &lifetime) || tls13_get_u32(&r, &age_add) ||
	    tls13_get_vec(&r, 1, 0, 255, &nonce) || tls13_get_vec(&r, 2, 1, 0xffff, &ticket) ||
	    tls13_get_vec(&r, 2, 0, 0xfffe, &exts) || r.len)
		return fail(v, "NewSessionTicket is malformed");
	if (lifetime > 604800)
		return fail(v, "NewSessionTicket lifetime exceeds seven days");
	while (exts.len)
		if (tls13_get_u16(&exts, &type) || tls13_get_vec(&exts, 2, 0, 0xffff, &ext))
			return fail(v, "NewSessionTicket extensions are malformed");
	v->s->tickets++;
	return TW_OK;
}

static enum tw_code key_update(struct verifier *v, struct side *sd, struct tls13_reader r)
{
	uint8_t next[TW_TLS_MAX_HASH], request;
	size_t hl = v->suite->hash_len;

	/* 4.6.3 */
	if (tls13_get_u8(&r, &request) || r.len || request > 1)
		return fail(v, "%s KeyUpdate is malformed", side_name(sd));
	/* 5.1: it must end its record, the keys change after it */
	if (sd->hs_len - sd->hs_off)
		return fail(v, "%s: KeyUpdate does not end its record",
			    rec_name(v, sd, &sd->out->records[sd->nrec - 1]));
	/* 7.2: application_traffic_secret_N+1 */
	if (tls13_expand_label(&v->kdf, sd->secret, "traffic upd", NULL, 0, next, hl) ||
	    tls13_aead_set_secret(&sd->aead, &v->kdf, next))
		return crypto_fail(v, "KeyUpdate");
	memcpy(sd->secret, next, hl);
	OPENSSL_cleanse(next, sizeof(next));
	sd->out->key_updates++;
	return TW_OK;
}

static enum tw_code post_handshake(struct verifier *v, struct side *sd)
{
	struct message m;
	enum tw_code rc;
	int got;

	while (sd->pos < sd->len) {
		rc = read_record(v, sd, PHASE_POST);
		if (rc)
			return rc;
		for (;;) {
			rc = hs_take(v, sd, &m, &got);
			if (rc)
				return rc;
			if (!got)
				break;
			if (m.type == TW_TLS_HS_NEW_SESSION_TICKET)
				rc = new_session_ticket(v, sd, m.body);
			else if (m.type == TW_TLS_HS_KEY_UPDATE)
				rc = key_update(v, sd, m.body);
			else
				rc = fail(v, "%s sent %s after the handshake", side_name(sd),
					  tw_tls_handshake_type_name(m.type));
			if (rc)
				return rc;
		}
	}
	if (sd->hs_len - sd->hs_off)
		return fail(v, "%s stream ends inside a handshake message", side_name(sd));
	return TW_OK;
}

/* ---- the session description ---- */

static void link_messages(struct tw_tls_session *s)
{
	size_t i, r;

	for (i = 0; i < s->nmessages; i++) {
		struct tw_tls_message *m = &s->messages[i];
		struct tw_tls_direction *d = &s->dir[m->dir];

		for (r = m->first_record; r <= m->last_record && r < d->nrecords; r++) {
			if (!d->records[r].msg_count)
				d->records[r].msg_first = i;
			d->records[r].msg_count++;
		}
	}
}

void tw_tls13_session_free(struct tw_tls_session *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->ncerts; i++)
		free(s->certs[i].der);
	free(s->certs);
	free(s->messages);
	for (i = 0; i < 2; i++) {
		free(s->dir[i].records);
		free(s->dir[i].app_data);
	}
	OPENSSL_cleanse(&s->secrets, sizeof(s->secrets));
	free(s);
}

static enum tw_code setup(struct verifier *v)
{
	struct tw_tls_session *s = v->s;
	enum tw_code rc;
	size_t count = 0;
	int i;

	v->transcript = EVP_MD_CTX_new();
	v->scratch = EVP_MD_CTX_new();
	if (!v->transcript || !v->scratch)
		return nomem(v, "transcript");
	for (i = 0; i < 2; i++) {
		struct side *sd = &v->side[i];

		sd->dir = (enum tw_tls_dir)i;
		sd->buf = v->p->stream[i];
		sd->len = v->p->stream_len[i];
		sd->out = &s->dir[i];
		sd->inner_limit = TLS13_MAX_INNER;
		rc = frame_stream(v, sd, &count);
		if (rc)
			return rc;
		/* Exactly as many records as the framing found; and room for
		 * all the plaintext, which is never longer than the stream. */
		sd->out->records = calloc(count ? count : 1, sizeof(*sd->out->records));
		sd->out->app_data = malloc(sd->len ? sd->len : 1);
		if (!sd->out->records || !sd->out->app_data)
			return nomem(v, "record list");
	}
	return TW_OK;
}

static void teardown(struct verifier *v)
{
	int i;

	for (i = 0; i < 2; i++) {
		tls13_aead_free(&v->side[i].aead);
		free(v->side[i].hs);
		OPENSSL_cleanse(v->side[i].secret, sizeof(v->side[i].secret));
		free(v->offer[i].body);
	}
	if (v->kdf_ready)
		tls13_kdf_free(&v->kdf);
	EVP_MD_CTX_free(v->transcript);
	EVP_MD_CTX_free(v->scratch);
	sk_X509_pop_free(v->chain, X509_free);
}

static enum tw_code check_params(const struct tw_tls_params *p, struct tw_status *st)
{
	if (!p || !p->stream[0] || !p->stream[1] || !p->z || !p->z_len)
		return tw_status_set(st, TW_E_USAGE, "TLS verification needs both streams and Z");
	if (!(p->flags & TW_TLS_SKIP_CHAIN) && !p->trust)
		return tw_status_set(st, TW_E_USAGE, "TLS verification needs a trust store");
	if (!(p->flags & TW_TLS_SKIP_HOST) && (!p->host || !*p->host))
		return tw_status_set(st, TW_E_USAGE, "TLS verification needs a host name");
	return TW_OK;
}

enum tw_code tw_tls13_verify(const struct tw_tls_params *p, struct tw_tls_session **out,
			     struct tw_status *st)
{
	struct verifier *v;
	enum tw_code rc;

	if (out)
		*out = NULL;
	rc = check_params(p, st);
	if (rc)
		return rc;
	if (!out)
		return tw_status_set(st, TW_E_USAGE,
				     "TLS verification needs somewhere to put "
				     "the session");
	v = calloc(1, sizeof(*v));
	if (!v)
		return tw_status_set(st, TW_E_NOMEM, "out of memory (verifier)");
	v->p = p;
	v->st = st;
	v->s = calloc(1, sizeof(*v->s));
	if (!v->s) {
		free(v);
		return tw_status_set(st, TW_E_NOMEM, "out of memory (session)");
	}

	rc = setup(v);
	if (!rc)
		rc = hellos(v);
	if (!rc)
		rc = server_flight(v);
	if (!rc)
		rc = client_flight(v);
	if (!rc)
		rc = post_handshake(v, &v->side[TW_TLS_SERVER]);
	if (!rc)
		rc = post_handshake(v, &v->side[TW_TLS_CLIENT]);

	teardown(v);
	if (rc) {
		tw_tls13_session_free(v->s);
	} else {
		link_messages(v->s);
		*out = v->s;
		if (st) {
			st->code = TW_OK;
			st->tpm_rc = 0;
			st->msg[0] = 0;
		}
	}
	free(v);
	return rc;
}

/* ---- for the fuzz target ---- */

enum tw_code tls13_fuzz_message(unsigned int type, const uint8_t *body, size_t len,
				struct tw_status *st)
{
	struct tw_tls_params p = {.flags = TW_TLS_SKIP_CHAIN | TW_TLS_SKIP_HOST};
	struct tls13_reader r = {body, len};
	struct server_hello sh;
	struct message m;
	struct verifier *v;
	enum tw_code rc;

	v = calloc(1, sizeof(*v));
	if (!v)
		return TW_E_NOMEM;
	v->s = calloc(1, sizeof(*v->s));
	if (!v->s) {
		free(v);
		return TW_E_NOMEM;
	}
	v->p = &p;
	v->st = st;
	v->side[0].inner_limit = v->side[1].inner_limit = TLS13_MAX_INNER;
	m.body = r;
	/* An offer that allows every extension, so the parsers run to the end. */
	memset(v->offer[0].seen, 0xff, sizeof(v->offer[0].seen));
	switch (type) {
	case TW_TLS_HS_CLIENT_HELLO:
		rc = parse_client_hello(v, &v->offer[1], &m);
		break;
	case TW_TLS_HS_SERVER_HELLO:
		rc = parse_server_hello(v, &v->offer[0], r, &sh);
		break;
	case TW_TLS_HS_ENCRYPTED_EXTENSIONS:
		rc = parse_encrypted_extensions(v, &v->offer[0], r);
		break;
	case TW_TLS_HS_CERTIFICATE:
		rc = parse_certificate(v, &v->offer[0], r, 1);
		break;
	case TW_TLS_HS_CERTIFICATE_REQUEST:
		rc = parse_certificate_request(v, r);
		break;
	case TW_TLS_HS_NEW_SESSION_TICKET:
		v->side[1].dir = TW_TLS_SERVER;
		rc = new_session_ticket(v, &v->side[1], r);
		break;
	default:
		rc = TW_OK;
		break;
	}
	free(v->offer[1].body);
	sk_X509_pop_free(v->chain, X509_free);
	tw_tls13_session_free(v->s);
	free(v);
	return rc;
}
