// SPDX-License-Identifier: BSD-2-Clause
/*
 * The fallback without the reserved channel: an attempt that lost the
 * audit session's exclusivity is abandoned and run again from scratch.
 */
#include <stdio.h>
#include <tlswitness/window.h>

enum tw_code tw_attempt_run(unsigned int max, tw_attempt_fn fn, void *arg, tw_log_fn log,
			    void *log_arg, struct tw_status *st)
{
	struct tw_status one = { 0 };
	char line[sizeof(one.msg) + 64];
	enum tw_code code = TW_E_USAGE;
	unsigned int n;

	if (!fn || max == 0)
		return tw_status_set(st, TW_E_USAGE, "attempt: no attempt to run");
	for (n = 1; n <= max; n++) {
		one.code = TW_OK;
		one.msg[0] = '\0';
		code = fn(arg, n, &one);
		if (code != TW_E_EXCLUSIVE)
			break;
		if (log) {
			snprintf(line, sizeof(line), "attempt %u of %u lost exclusivity (%s)%s", n,
				 max, one.msg, n < max ? "; retrying" : "; giving up");
			log(log_arg, line);
		}
	}
	if (st)
		*st = one;
	return code;
}
