// SPDX-License-Identifier: BSD-2-Clause
/*
 * Windows on the reserved channel that outlive their timeout, for the VM
 * with the tpmreserve module loaded.  The module ends such a window
 * itself and fails every later call with ETIME, END included
 * (Documentation/tpmreserve.rst, Errors): the window's next command and
 * its end must both say "the reserved window expired" (TW_E_WINDOW).
 *
 *   window-expiry [TCTI]        (default: tpmreserve)
 *
 * The timeouts are generous for a TCG guest, where a whole prover's window
 * takes well under a second: the timeout is 2 s and the wait past it 4.5 s.
 */
#include <string.h>
#include <time.h>
#include <tlswitness/window.h>
#include "tap.h"

#define EXPIRED "the reserved window expired"
#define WINDOW_MS 2000
#define PAST_MS 4500

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

/* @msg ends with @tail. */
static int ends_with(const char *msg, const char *tail)
{
	size_t m = strlen(msg), t = strlen(tail);

	return m >= t && !strcmp(msg + m - t, tail);
}

/* The control: the same steps within the window succeed on the reserved channel. */
static void test_in_time(const char *tcti)
{
	struct tw_window_opts opts = { .tcti = tcti, .timeout_ms = WINDOW_MS };
	struct tw_status st = { 0 };
	struct tw_window *w = NULL;
	enum tw_code code;
	uint8_t pub[65];

	code = tw_window_begin(&w, &opts, &st);
	ok(code == TW_OK && tw_window_reserved(w),
	   "control: a %u ms window begins on the reserved channel (%s)", WINDOW_MS, st.msg);
	if (code != TW_OK)
		return;
	code = tw_window_setup(w, &st);
	if (code == TW_OK)
		code = tw_window_create_key(w, pub, &st);
	if (code == TW_OK)
		code = tw_window_end(w, &st);
	ok(code == TW_OK, "control: set-up, key and end within the window (%s)", st.msg);
	tw_window_free(w);
}

/* The window expires between the set-up and the key: that command fails, and the end. */
static void test_command_after_expiry(const char *tcti)
{
	struct tw_window_opts opts = { .tcti = tcti, .timeout_ms = WINDOW_MS };
	struct tw_status st = { 0 };
	struct tw_window *w = NULL;
	enum tw_code code;
	uint8_t pub[65];

	code = tw_window_begin(&w, &opts, &st);
	if (code == TW_OK)
		code = tw_window_setup(w, &st);
	ok(code == TW_OK, "set-up within a %u ms window (%s)", WINDOW_MS, st.msg);
	if (!w)
		return;
	sleep_ms(PAST_MS);
	code = tw_window_create_key(w, pub, &st);
	ok(code == TW_E_WINDOW && !strcmp(st.msg, "CreateLoaded (ECDH key): " EXPIRED),
	   "the first command after the timeout: \"%s\" (code %d)", st.msg, code);
	st = (struct tw_status){ 0 };
	code = tw_window_end(w, &st);
	ok(code == TW_E_WINDOW && ends_with(st.msg, EXPIRED),
	   "ending that window reports it expired: \"%s\" (code %d)", st.msg, code);
	tw_window_free(w);
}

/* Nothing sent after the timeout: the end alone reports the expiry. */
static void test_end_after_expiry(const char *tcti)
{
	struct tw_window_opts opts = { .tcti = tcti, .timeout_ms = WINDOW_MS };
	struct tw_status st = { 0 };
	struct tw_window *w = NULL;
	enum tw_code code;

	code = tw_window_begin(&w, &opts, &st);
	ok(code == TW_OK, "a %u ms window begins (%s)", WINDOW_MS, st.msg);
	if (code != TW_OK)
		return;
	sleep_ms(PAST_MS);
	st = (struct tw_status){ 0 };
	code = tw_window_end(w, &st);
	ok(code == TW_E_WINDOW && !strcmp(st.msg, EXPIRED),
	   "its end after the timeout: \"%s\" (code %d)", st.msg, code);
	tw_window_free(w);
}

int main(int argc, char **argv)
{
	const char *tcti = argc > 1 ? argv[1] : "tpmreserve";

	test_in_time(tcti);
	test_command_after_expiry(tcti);
	test_end_after_expiry(tcti);
	return tap_done();
}
