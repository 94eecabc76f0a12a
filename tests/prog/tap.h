/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Minimal TAP output for the test programs: ok(cond, fmt, ...) prints
 * "ok N - ..." or "not ok N - ...", tap_done() prints the plan and
 * returns the exit status.
 */
#ifndef TW_TAP_H
#define TW_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_failed;

static inline int __attribute__((format(printf, 2, 3))) ok(int cond, const char *fmt, ...)
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

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
