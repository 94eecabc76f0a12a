/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Small helpers shared by the TLS 1.3 verifier's tests: TAP output, hex,
 * test vector files ("name hex" lines) and byte buffers.
 */
#ifndef TLSWITNESS_TESTS_TLS13_TEST_H
#define TLSWITNESS_TESTS_TLS13_TEST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static __attribute__((format(printf, 2, 3), unused)) int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}

static __attribute__((unused)) int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

/* A growable byte buffer. */
struct bytes {
	uint8_t *p;
	size_t len;
	size_t cap;
};

static __attribute__((unused)) void bytes_add(struct bytes *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;

		while (cap < b->len + len)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			abort();
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static __attribute__((unused)) void bytes_free(struct bytes *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

struct vector {
	char name[64];
	uint8_t *data;
	size_t len;
};

struct vectors {
	struct vector *v;
	size_t n;
};

static int hex_nibble(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Open @name in tests/unit, from the tree's top or from the binary's place. */
static __attribute__((unused)) FILE *open_test_file(const char *argv0, const char *name)
{
	char path[4096];
	const char *slash;
	FILE *f;

	snprintf(path, sizeof(path), "tests/unit/%s", name);
	f = fopen(path, "r");
	if (f)
		return f;
	slash = strrchr(argv0, '/');
	snprintf(path, sizeof(path), "%.*s/../../../tests/unit/%s",
		 slash ? (int)(slash - argv0) : 1, slash ? argv0 : ".", name);
	return fopen(path, "r");
}

/* Read "name hex" lines; '#' starts a comment line. */
static __attribute__((unused)) int vectors_load(FILE *f, struct vectors *vs)
{
	char *line = NULL, *hex;
	size_t cap = 0, i;
	ssize_t n;

	memset(vs, 0, sizeof(*vs));
	while ((n = getline(&line, &cap, f)) > 0) {
		struct vector *v;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		hex = strchr(line, ' ');
		if (!hex)
			goto bad;
		*hex++ = 0;
		vs->v = realloc(vs->v, (vs->n + 1) * sizeof(*vs->v));
		v = &vs->v[vs->n++];
		snprintf(v->name, sizeof(v->name), "%s", line);
		v->len = 0;
		v->data = malloc(strlen(hex) / 2 + 1);
		for (i = 0; hex_nibble(hex[i]) >= 0 && hex_nibble(hex[i + 1]) >= 0; i += 2)
			v->data[v->len++] =
				(uint8_t)(hex_nibble(hex[i]) << 4 | hex_nibble(hex[i + 1]));
		if (hex[i] != '\n' && hex[i] != 0)
			goto bad;
	}
	free(line);
	return 0;
bad:
	free(line);
	return -1;
}

/* The @nth vector called @name, or NULL. */
static __attribute__((unused)) const struct vector *vec(const struct vectors *vs, const char *name,
							int nth)
{
	size_t i;

	for (i = 0; i < vs->n; i++)
		if (!strcmp(vs->v[i].name, name) && nth-- == 0)
			return &vs->v[i];
	return NULL;
}

static __attribute__((unused)) int same(const struct vector *v, const uint8_t *p, size_t len)
{
	return v && v->len == len && !memcmp(v->data, p, len);
}

#endif
