// SPDX-License-Identifier: BSD-2-Clause
/*
 * Just enough HTTP/1.1 (RFC 9112) for one request per connection: the
 * URL, the request with "Connection: close", and a response parser fed
 * with the bytes libssl decrypts (Content-Length, chunked, or until close).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "prover.h"

#define MAX_HEAD	(64 * 1024)

enum {
	HTTP_HEAD,
	HTTP_BODY_LENGTH,
	HTTP_BODY_CLOSE,
	HTTP_CHUNK_SIZE,
	HTTP_CHUNK_DATA,
	HTTP_CHUNK_END,
	HTTP_TRAILER,
	HTTP_DONE,
};

void tw_url_release(struct tw_url *u)
{
	free(u->host);
	free(u->port);
	free(u->target);
	free(u->authority);
	memset(u, 0, sizeof(*u));
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* RFC 3986 section 3: https://host[:port][/path][?query][#fragment] */
enum tw_code tw_url_parse(const char *url, struct tw_url *u, struct tw_status *st)
{
	const char *auth, *end, *host, *colon = NULL;
	struct in_addr v4;
	size_t host_len, len;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "https://", 8))
		return tw_status_set(st, TW_E_USAGE, "URL must start with https://: %s", url);
	auth = url + 8;
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', end - auth))
		return tw_status_set(st, TW_E_USAGE, "URL with user information: %s", url);
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return tw_status_set(st, TW_E_USAGE, "URL has a space or control byte");

	host = auth;
	if (*auth == '[') {
		const char *close = memchr(auth, ']', end - auth);

		if (!close || close == auth + 1)
			return tw_status_set(st, TW_E_USAGE, "bad IPv6 literal in URL: %s", url);
		host = auth + 1;
		host_len = close - host;
		if (close + 1 < end) {
			if (close[1] != ':')
				return tw_status_set(st, TW_E_USAGE, "bad URL authority: %s", url);
			colon = close + 1;
		}
		u->numeric = true;
	} else {
		colon = memchr(auth, ':', end - auth);
		host_len = (colon ? colon : end) - auth;
	}
	if (host_len == 0)
		return tw_status_set(st, TW_E_USAGE, "URL has no host: %s", url);
	if (colon && (!all_digits(colon + 1, end - colon - 1) || end - colon - 1 > 5 ||
		      atoi(colon + 1) < 1 || atoi(colon + 1) > 65535))
		return tw_status_set(st, TW_E_USAGE, "bad port in URL: %s", url);

	u->host = strndup(host, host_len);
	u->port = colon ? strndup(colon + 1, end - colon - 1) : strdup("443");
	u->authority = strndup(auth, end - auth);
	len = strcspn(end, "#");
	if (len == 0)
		u->target = strdup("/");
	else if (*end == '?' && asprintf(&u->target, "/%.*s", (int)len, end) < 0)
		u->target = NULL;
	else if (*end != '?')
		u->target = strndup(end, len);
	if (!u->host || !u->port || !u->authority || !u->target) {
		tw_url_release(u);
		return tw_status_set(st, TW_E_NOMEM, "out of memory parsing the URL");
	}
	/* RFC 6066 section 3: an IPv4 literal is never sent as a server name. */
	if (!u->numeric && inet_pton(AF_INET, u->host, &v4) == 1)
		u->numeric = true;
	return TW_OK;
}

/* RFC 9110 section 5.6.2: a field name is a token. */
static bool token_char(char c)
{
	return isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~", c);
}

static bool header_is(const char *h, size_t name_len, const char *name)
{
	return name_len == strlen(name) && !strncasecmp(h, name, name_len);
}

struct buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const void *data, size_t len)
{
	if (b->oom)
		return;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 512;
		uint8_t *p;

		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

enum tw_code tw_http_request(const struct tw_url *u, const char *const *headers,
			     size_t header_count, const uint8_t *body, size_t body_len,
			     uint8_t **req, size_t *req_len, struct tw_status *st)
{
	bool own_host = true, own_agent = true, own_accept = true, own_type = true;
	struct buf b = { 0 };
	char line[64];

	for (size_t i = 0; i < header_count; i++) {
		const char *h = headers[i], *colon = strchr(h, ':');
		size_t n = colon ? (size_t)(colon - h) : 0;

		if (!colon || n == 0 || strpbrk(h, "\r\n"))
			return tw_status_set(st, TW_E_USAGE, "header is not 'Name: value': %s", h);
		for (size_t j = 0; j < n; j++)
			if (!token_char(h[j]))
				return tw_status_set(st, TW_E_USAGE, "bad header name: %s", h);
		if (header_is(h, n, "Connection") || header_is(h, n, "Content-Length") ||
		    header_is(h, n, "Transfer-Encoding"))
			return tw_status_set(st, TW_E_USAGE, "header %.*s is set by tlswitness",
					     (int)n, h);
		own_host &= !header_is(h, n, "Host");
		own_agent &= !header_is(h, n, "User-Agent");
		own_accept &= !header_is(h, n, "Accept");
		own_type &= !header_is(h, n, "Content-Type");
	}

	puts_(&b, body ? "POST " : "GET ");
	puts_(&b, u->target);
	puts_(&b, " HTTP/1.1\r\n");
	if (own_host) {
		puts_(&b, "Host: ");
		puts_(&b, u->authority);
		puts_(&b, "\r\n");
	}
	if (own_agent)
		puts_(&b, "User-Agent: tlswitness/1\r\n");
	if (own_accept)
		puts_(&b, "Accept: */*\r\n");
	puts_(&b, "Connection: close\r\n");
	if (body) {
		snprintf(line, sizeof(line), "Content-Length: %zu\r\n", body_len);
		puts_(&b, line);
		if (own_type)
			puts_(&b, "Content-Type: application/octet-stream\r\n");
	}
	for (size_t i = 0; i < header_count; i++) {
		puts_(&b, headers[i]);
		puts_(&b, "\r\n");
	}
	puts_(&b, "\r\n");
	if (body)
		put(&b, body, body_len);
	if (b.oom) {
		free(b.p);
		return tw_status_set(st, TW_E_NOMEM, "out of memory building the request");
	}
	*req = b.p;
	*req_len = b.len;
	return TW_OK;
}

void tw_http_response_release(struct tw_http_response *r)
{
	free(r->body);
	free(r->head);
	memset(r, 0, sizeof(*r));
}

static int body_put(struct tw_http_response *r, const uint8_t *p, size_t n)
{
	struct buf b = { r->body, r->body_len, r->body_cap, false };

	put(&b, p, n);
	if (b.oom)
		return -1;
	r->body = b.p;
	r->body_len = b.len;
	r->body_cap = b.cap;
	return 0;
}

/* Find a header's value in the head (CRLF lines after the status line). */
static const char *head_value(const struct tw_http_response *r, const char *name, size_t *len)
{
	const char *p = (const char *)r->head, *end = p + r->head_len;
	size_t nlen = strlen(name);

	p = memchr(p, '\n', end - p);
	while (p && ++p < end) {
		const char *eol = memchr(p, '\n', end - p);

		if (!eol)
			break;
		if ((size_t)(eol - p) > nlen && !strncasecmp(p, name, nlen) && p[nlen] == ':') {
			const char *v = p + nlen + 1;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			*len = eol - v;
			while (*len && (v[*len - 1] == '\r' || v[*len - 1] == ' '))
				(*len)--;
			return v;
		}
		p = eol;
	}
	return NULL;
}

/* RFC 9112 sections 4 and 6.3: status line, then how the body is framed. */
static enum tw_code parse_head(struct tw_http_response *r, struct tw_status *st)
{
	const char *h = (const char *)r->head, *te, *cl;
	size_t te_len, cl_len;
	int major, minor, status;

	if (sscanf(h, "HTTP/%d.%d %3d", &major, &minor, &status) != 3 || major != 1 ||
	    status < 100 || status > 999)
		return tw_status_set(st, TW_E_IO, "server sent a malformed HTTP status line");
	if (status >= 100 && status < 200) {
		/* An interim response; the real one follows. */
		r->head_len = 0;
		return TW_OK;
	}
	r->status = status;
	te = head_value(r, "Transfer-Encoding", &te_len);
	cl = head_value(r, "Content-Length", &cl_len);
	if (status == 204 || status == 304) {
		r->state = HTTP_DONE;
	} else if (te && te_len >= 7 && !strncasecmp(te + te_len - 7, "chunked", 7)) {
		r->chunked = true;
		r->state = HTTP_CHUNK_SIZE;
	} else if (cl) {
		if (!cl_len || !all_digits(cl, cl_len))
			return tw_status_set(st, TW_E_IO, "server sent a bad Content-Length");
		r->remaining = strtoull(cl, NULL, 10);
		r->has_length = true;
		r->state = r->remaining ? HTTP_BODY_LENGTH : HTTP_DONE;
	} else {
		r->state = HTTP_BODY_CLOSE;
	}
	r->done = r->state == HTTP_DONE;
	return TW_OK;
}

/* Collect one line (of the head, a chunk size or a trailer) in r->head. */
static int take_line_byte(struct tw_http_response *r, uint8_t c)
{
	if (r->head_len + 2 > r->head_cap) {
		size_t cap = r->head_cap ? 2 * r->head_cap : 1024;
		uint8_t *p;

		if (cap > MAX_HEAD)
			return -1;
		p = realloc(r->head, cap);
		if (!p)
			return -1;
		r->head = p;
		r->head_cap = cap;
	}
	r->head[r->head_len++] = c;
	r->head[r->head_len] = 0;
	return 0;
}

enum tw_code tw_http_feed(struct tw_http_response *r, const uint8_t *buf, size_t len,
			  struct tw_status *st)
{
	size_t i = 0;

	while (i < len && r->state != HTTP_DONE) {
		size_t n;

		switch (r->state) {
		case HTTP_HEAD:
			if (take_line_byte(r, buf[i++]))
				return tw_status_set(st, TW_E_IO, "HTTP response head too large");
			if (r->head_len >= 4 && !memcmp(r->head + r->head_len - 4, "\r\n\r\n", 4)) {
				enum tw_code rc = parse_head(r, st);

				if (rc)
					return rc;
				if (r->state != HTTP_HEAD)
					r->head_len = 0;
			}
			break;
		case HTTP_BODY_LENGTH:
		case HTTP_CHUNK_DATA:
			n = len - i < r->remaining ? len - i : r->remaining;
			if (body_put(r, buf + i, n))
				return tw_status_set(st, TW_E_NOMEM, "out of memory for the body");
			i += n;
			r->remaining -= n;
			if (r->remaining == 0)
				r->state = r->state == HTTP_CHUNK_DATA ? HTTP_CHUNK_END : HTTP_DONE;
			break;
		case HTTP_BODY_CLOSE:
			if (body_put(r, buf + i, len - i))
				return tw_status_set(st, TW_E_NOMEM, "out of memory for the body");
			i = len;
			break;
		case HTTP_CHUNK_SIZE:
		case HTTP_CHUNK_END:
		case HTTP_TRAILER:
			if (take_line_byte(r, buf[i++]))
				return tw_status_set(st, TW_E_IO, "HTTP chunk line too long");
			if (r->head[r->head_len - 1] != '\n')
				break;
			if (r->state == HTTP_CHUNK_END) {
				if (strcmp((char *)r->head + r->head_len - 2, "\r\n") ||
				    r->head_len != 2)
					return tw_status_set(st, TW_E_IO, "HTTP chunk not ended by CRLF");
				r->state = HTTP_CHUNK_SIZE;
			} else if (r->state == HTTP_TRAILER) {
				if (r->head_len == 2)
					r->state = HTTP_DONE;
			} else {
				char *end;

				if (!isxdigit(r->head[0]))
					return tw_status_set(st, TW_E_IO, "bad HTTP chunk size");
				r->remaining = strtoull((char *)r->head, &end, 16);
				if (*end != ';' && *end != '\r')
					return tw_status_set(st, TW_E_IO, "bad HTTP chunk size");
				r->state = r->remaining ? HTTP_CHUNK_DATA : HTTP_TRAILER;
			}
			r->head_len = 0;
			break;
		}
	}
	r->done = r->state == HTTP_DONE;
	return TW_OK;
}

enum tw_code tw_http_eof(struct tw_http_response *r, struct tw_status *st)
{
	if (r->state == HTTP_BODY_CLOSE)
		r->state = HTTP_DONE;
	r->done = r->state == HTTP_DONE;
	if (!r->done)
		return tw_status_set(st, TW_E_IO, "server closed the connection before the end "
						  "of the HTTP response");
	return TW_OK;
}
