// SPDX-License-Identifier: BSD-2-Clause
/*
 * The recording BIO: libssl's only path to the socket.  Every byte sent
 * and received is kept with the time it crossed the socket and split into
 * TLS records (RFC 8446 section 5.1) as it arrives.  Received bytes wait
 * in the recorder until libssl asks for them, so the prover can pull the
 * server's whole first flight before the TPM computes the shared secret.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <tlswitness/prove.h>

#include "prover.h"

/* RFC 8446 section 5.2: no record fragment is longer than 2^14 + 256. */
#define TLS_MAX_FRAGMENT	(16384 + 256)
#define READ_CHUNK		(64 * 1024)

uint64_t tw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

void tw_transcript_init(struct tw_transcript *rec, int fd, unsigned int io_timeout_ms)
{
	memset(rec, 0, sizeof(*rec));
	rec->fd = fd;
	rec->io_timeout_ms = io_timeout_ms;
	rec->t0 = tw_now_ns();
}

void tw_transcript_release(struct tw_transcript *rec)
{
	for (int d = 0; d < 3; d++)
		free(rec->stream[d].buf);
	free(rec->recs);
	memset(rec, 0, sizeof(*rec));
	rec->fd = -1;
}

static int stream_reserve(struct tw_stream *s, size_t more)
{
	size_t cap = s->cap ? s->cap : READ_CHUNK;
	uint8_t *buf;

	if (s->len + more <= s->cap)
		return 0;
	while (cap < s->len + more)
		cap *= 2;
	buf = realloc(s->buf, cap);
	if (!buf)
		return -1;
	s->buf = buf;
	s->cap = cap;
	return 0;
}

/* Note every record that the last bytes of direction @d completed. */
static int split_records(struct tw_transcript *rec, enum tw_dir d, uint64_t now)
{
	struct tw_stream *s = &rec->stream[d];

	while (!s->malformed && s->len - s->rec_start >= 5) {
		size_t frag = s->buf[s->rec_start + 3] << 8 | s->buf[s->rec_start + 4];
		struct tw_wire_record *r;

		if (frag > TLS_MAX_FRAGMENT) {
			s->malformed = true;
			break;
		}
		if (s->len - s->rec_start < 5 + frag)
			break;
		if (rec->count == TW_PROOF_MAX_RECORDS) {
			rec->err = EFBIG;	/* more records than a proof may hold */
			return -1;
		}
		if (rec->count == rec->cap) {
			size_t cap = rec->cap ? 2 * rec->cap : 64;

			r = realloc(rec->recs, cap * sizeof(*r));
			if (!r)
				return -1;
			rec->recs = r;
			rec->cap = cap;
		}
		r = &rec->recs[rec->count++];
		r->dir = d;
		r->offset = s->rec_start;
		r->len = 5 + frag;
		r->time_ns = now - rec->t0;
		s->rec_start += 5 + frag;
	}
	return 0;
}

/* Wait up to @ns for @events; 1 ready, 0 timed out, -1 error (rec->err). */
static int wait_socket(struct tw_transcript *rec, short events, uint64_t ns)
{
	struct pollfd pfd = { .fd = rec->fd, .events = events };
	struct timespec ts = { .tv_sec = ns / 1000000000u, .tv_nsec = ns % 1000000000u };
	uint64_t start = tw_now_ns();
	int n;

	do
		n = ppoll(&pfd, 1, &ts, NULL);
	while (n < 0 && errno == EINTR);
	rec->wait_ns += tw_now_ns() - start;
	if (n < 0) {
		rec->err = errno;
		return -1;
	}
	return n;
}

/* Take what the socket holds now; 1 got bytes, 0 nothing yet, -1 error or EOF. */
static int receive_now(struct tw_transcript *rec)
{
	struct tw_stream *s = &rec->stream[TW_DIR_SERVER];
	ssize_t n;

	if (s->len >= TW_PROVE_MAX_SERVER_BYTES) {
		rec->err = EFBIG;	/* more than a proof may hold */
		return -1;
	}
	if (stream_reserve(s, READ_CHUNK)) {
		rec->err = ENOMEM;
		return -1;
	}
	do
		n = recv(rec->fd, s->buf + s->len, s->cap - s->len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0) {
		rec->err = errno;
		return -1;
	}
	if (n == 0) {
		rec->eof = true;
		return -1;
	}
	s->len += n;
	if (split_records(rec, TW_DIR_SERVER, tw_now_ns())) {
		if (!rec->err)
			rec->err = ENOMEM;
		return -1;
	}
	return 1;
}

/*
 * Has the server's Finished arrived?  Its record cannot be read before
 * ZGen, but its size gives it away: the ServerHello names the cipher
 * suite, hence the hash length, and a Finished record holds the
 * handshake header, verify_data of that length, the inner content type
 * and a 16-byte tag (RFC 8446 sections 4.4.4 and 5.2).  No record of the
 * flight before it can be that short from the third protected record
 * on: EncryptedExtensions comes first, then Certificate and
 * CertificateVerify, both longer.  A server that pads its Finished, or
 * packs messages into fewer records, is only waited for the whole
 * settle time.
 */
static bool finished_seen(const struct tw_transcript *rec)
{
	const uint8_t *buf = rec->stream[TW_DIR_SERVER].buf;
	size_t i, fin_len = 0, protected = 0;

	for (i = 0; i < rec->count; i++) {
		const struct tw_wire_record *r = &rec->recs[i];
		const uint8_t *p = buf + r->offset;

		if (r->dir != TW_DIR_SERVER)
			continue;
		/* A ServerHello: type, length, version, random, session id, suite. */
		if (p[0] == 22 && r->len >= 5 + 4 + 2 + 32 + 1 && p[5] == 2) {
			size_t sid = p[5 + 4 + 2 + 32], at = 5 + 4 + 2 + 32 + 1 + sid;

			if (r->len < at + 2)
				return false;
			fin_len = 5 + 4 + (p[at] == 0x13 && p[at + 1] == 0x02 ? 48 : 32) + 1 + 16;
			protected = 0;
		} else if (p[0] == 23 && fin_len && ++protected >= 3 && r->len == fin_len) {
			return true;
		}
	}
	return false;
}

int tw_transcript_pull(struct tw_transcript *rec, unsigned int settle_us,
		       unsigned int after_finished_us)
{
	struct tw_stream *s = &rec->stream[TW_DIR_SERVER];
	uint64_t deadline = tw_now_ns() + (uint64_t)rec->io_timeout_ms * 1000000u;

	for (;;) {
		uint64_t now = tw_now_ns(), wait;
		bool boundary;
		int n;

		while ((n = receive_now(rec)) > 0)
			;
		if (n < 0)
			return rec->eof ? 0 : -1;
		boundary = s->rec_start == s->len;

		/*
		 * The rest of a started record is certainly on its way; after a
		 * record boundary, only a quiet settle time says the flight ended.
		 */
		if (now >= deadline)
			return boundary ? 0 : (rec->err = ETIMEDOUT, -1);
		if (boundary && settle_us > after_finished_us && finished_seen(rec))
			settle_us = after_finished_us;
		wait = boundary ? (uint64_t)settle_us * 1000u : deadline - now;
		if (wait > deadline - now)
			wait = deadline - now;
		n = wait_socket(rec, POLLIN, wait);
		if (n < 0)
			return -1;
		if (n == 0 && boundary)
			return 0;
	}
}

static int bio_read(BIO *b, char *out, size_t want, size_t *got)
{
	struct tw_transcript *rec = BIO_get_data(b);
	struct tw_stream *s = &rec->stream[TW_DIR_SERVER];
	size_t avail;

	BIO_clear_retry_flags(b);
	while (rec->served == s->len) {
		int n;

		if (rec->eof)
			return 0;
		n = receive_now(rec);
		if (n < 0)
			return rec->eof ? 0 : -1;
		if (n > 0)
			break;
		n = wait_socket(rec, POLLIN, (uint64_t)rec->io_timeout_ms * 1000000u);
		if (n < 0)
			return -1;
		if (n == 0) {
			rec->err = ETIMEDOUT;
			return -1;
		}
	}
	avail = s->len - rec->served;
	if (want > avail)
		want = avail;
	memcpy(out, s->buf + rec->served, want);
	rec->served += want;
	*got = want;
	return 1;
}

static int bio_write(BIO *b, const char *in, size_t len, size_t *done)
{
	struct tw_transcript *rec = BIO_get_data(b);
	struct tw_stream *s = &rec->stream[TW_DIR_CLIENT];
	size_t sent = 0;

	BIO_clear_retry_flags(b);
	while (sent < len) {
		ssize_t n = send(rec->fd, in + sent, len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int w = wait_socket(rec, POLLOUT,
					    (uint64_t)rec->io_timeout_ms * 1000000u);

			if (w < 0)
				return -1;
			if (w == 0) {
				rec->err = ETIMEDOUT;
				return -1;
			}
			continue;
		}
		if (n < 0) {
			rec->err = errno;
			return -1;
		}
		sent += n;
	}
	if (stream_reserve(s, len)) {
		rec->err = ENOMEM;
		return -1;
	}
	memcpy(s->buf + s->len, in, len);
	s->len += len;
	if (split_records(rec, TW_DIR_CLIENT, tw_now_ns())) {
		if (!rec->err)
			rec->err = ENOMEM;
		return -1;
	}
	*done = len;
	return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct tw_transcript *rec = BIO_get_data(b);

	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_PENDING:
		return rec->stream[TW_DIR_SERVER].len - rec->served;
	case BIO_CTRL_WPENDING:
		return 0;
	case BIO_CTRL_EOF:
		return rec->eof && rec->served == rec->stream[TW_DIR_SERVER].len;
	case BIO_CTRL_GET_CLOSE:
		return BIO_get_shutdown(b);
	case BIO_CTRL_SET_CLOSE:
		BIO_set_shutdown(b, (int)num);
		return 1;
	default:
		return 0;
	}
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* BIO type indexes are few (BIO_get_new_index), so one method serves all. */
static BIO_METHOD *transcript_method;
static pthread_once_t transcript_once = PTHREAD_ONCE_INIT;

static void transcript_method_init(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
				     "tlswitness transcript");

	if (!m || !BIO_meth_set_read_ex(m, bio_read) || !BIO_meth_set_write_ex(m, bio_write) ||
	    !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create)) {
		BIO_meth_free(m);
		return;
	}
	transcript_method = m;
}

BIO *tw_transcript_bio(struct tw_transcript *rec)
{
	BIO *b;

	pthread_once(&transcript_once, transcript_method_init);
	if (!transcript_method)
		return NULL;
	b = BIO_new(transcript_method);
	if (b)
		BIO_set_data(b, rec);
	return b;
}
