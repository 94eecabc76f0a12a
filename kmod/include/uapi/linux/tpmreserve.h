/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * tpmreserve: a reserved channel to a TPM 2.0 chip for a bounded window.
 *
 * Open /dev/tpmreserve0, begin a window with TPMRESERVE_IOC_BEGIN, write
 * TPM commands and read their responses as on /dev/tpm0, and end the
 * window with TPMRESERVE_IOC_END (or close()).  While the window is open
 * every other user of the chip waits.  Documentation/tpmreserve.rst has
 * the semantics and the errno of every call.
 */
#ifndef _UAPI_LINUX_TPMRESERVE_H
#define _UAPI_LINUX_TPMRESERVE_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct tpmreserve_begin - argument of TPMRESERVE_IOC_BEGIN
 * @timeout_ms:	in: how long the window may last; 0 asks for the module's
 *		max_window_ms.  Larger values are capped to max_window_ms.
 * @granted_ms:	out: the window length actually granted.
 */
struct tpmreserve_begin {
	__u32 timeout_ms;
	__u32 granted_ms;
};

/* How a window ended, in struct tpmreserve_end.how. */
#define TPMRESERVE_END_BY_OWNER	0	/* TPMRESERVE_IOC_END */
#define TPMRESERVE_END_EXPIRED	1	/* the timeout passed */
#define TPMRESERVE_END_CHIP_ERROR 2	/* the chip failed or went away */

/**
 * struct tpmreserve_end - result of TPMRESERVE_IOC_END
 * @how:	TPMRESERVE_END_* above.
 * @commands:	commands the window passed to the TPM.
 * @refused:	commands the window refused before they reached the TPM.
 * @flushed:	handles the window created and the module flushed at its end.
 * @hold_us:	how long the window held the chip, in microseconds.
 */
struct tpmreserve_end {
	__u32 how;
	__u32 commands;
	__u32 refused;
	__u32 flushed;
	__u64 hold_us;
};

#define TPMRESERVE_IOC_MAGIC	0xA1	/* shared with the TPM's vtpm_proxy */
#define TPMRESERVE_IOC_BEGIN	_IOWR(TPMRESERVE_IOC_MAGIC, 0x40, struct tpmreserve_begin)
#define TPMRESERVE_IOC_END	_IOR(TPMRESERVE_IOC_MAGIC, 0x41, struct tpmreserve_end)

#endif /* _UAPI_LINUX_TPMRESERVE_H */
