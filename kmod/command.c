// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a window may send.  The window runs in the TPM's global handle
 * space, so every handle a command names is checked against the handles
 * the window created, and the handles its commands create are recorded so
 * the window's end can flush them.  References are to TPM 2.0 Library
 * Specification Part 1 (architecture), Part 2 (structures) and Part 3
 * (commands), revision 1.59.
 */
#include <linux/slab.h>
#include <linux/tpmreserve.h>
#include <asm/unaligned.h>

#include "tpmreserve.h"

/* Part 2, 8.9: TPMA_CC. */
#define TPMA_CC_COMMAND_INDEX	GENMASK(15, 0)
#define TPMA_CC_CHANDLES_SHIFT	25
#define TPMA_CC_CHANDLES	GENMASK(27, 25)
#define TPMA_CC_RHANDLE		BIT(28)
#define TPMA_CC_V		BIT(29)

#define TPM2_CC_EVENT_SEQUENCE_COMPLETE_CODE	0x0185

/* Part 1, 18.6: the smallest session: handle, empty nonce, attributes, empty hmac. */
#define TPM2_MIN_SESSION_SIZE	9

static u32 cc_of_attrs(u32 attrs)
{
	return (attrs & TPMA_CC_COMMAND_INDEX) | (attrs & TPMA_CC_V);
}

static int lookup_attrs(const struct tpmreserve_dev *dev, u32 cc, u32 *attrs)
{
	unsigned int i;

	for (i = 0; i < dev->nr_commands; i++) {
		if (cc_of_attrs(dev->cc_attrs[i]) == cc) {
			*attrs = dev->cc_attrs[i];
			return 0;
		}
	}
	return -EOPNOTSUPP;
}

static bool window_owns(const struct tpmreserve_window *win, u32 handle)
{
	unsigned int i;

	for (i = 0; i < win->nr_handles; i++)
		if (win->handles[i] == handle)
			return true;
	return false;
}

/*
 * Part 2, 7.2 and 7.4: PCR, NV index, permanent and persistent handles
 * name the TPM's shared state and are everyone's; transient objects and
 * sessions belong to whoever loaded or started them.
 */
static int check_handle(const struct tpmreserve_window *win, u32 handle)
{
	switch (handle >> 24) {
	case TPM2_HT_PCR:
	case TPM2_HT_NV_INDEX:
	case TPM2_HT_PERMANENT:
	case TPM2_HT_PERSISTENT:
		return 0;
	case TPM2_HT_HMAC_SESSION:
	case TPM2_HT_POLICY_SESSION:
	case TPM2_HT_TRANSIENT:
		return window_owns(win, handle) ? 0 : -EPERM;
	default:
		return -EPERM;
	}
}

/* Part 1, 18.6 and Part 3, 5.6: walk the authorization area. */
static int check_sessions(const struct tpmreserve_window *win, const u8 *area,
			  u32 size, const char **why)
{
	u32 off = 0;
	u16 field;

	while (off < size) {
		if (size - off < TPM2_MIN_SESSION_SIZE) {
			*why = "truncated session";
			return -EINVAL;
		}
		if (check_handle(win, get_unaligned_be32(area + off))) {
			*why = "session the window did not start";
			return -EPERM;
		}
		off += 4;

		field = get_unaligned_be16(area + off);	/* nonceCaller */
		if (size - off < 2u + field + 1 + 2) {
			*why = "truncated session nonce";
			return -EINVAL;
		}
		off += 2 + field + 1;

		field = get_unaligned_be16(area + off);	/* hmac */
		if (size - off < 2u + field) {
			*why = "truncated session hmac";
			return -EINVAL;
		}
		off += 2 + field;
	}
	return 0;
}

/*
 * Handles that commands carry as parameters rather than in the handle area:
 * FlushContext's flushHandle (Part 3, 28.4) and the savedHandle inside
 * ContextLoad's TPMS_CONTEXT (Part 3, 28.3; Part 2, 14.5).  A saved object
 * context loads as a new handle and touches nobody; a saved session is
 * someone's live session and may be loaded only by the window that has it.
 */
static int check_parameters(struct tpmreserve_window *win, const u8 *params,
			    u32 size, const char **why)
{
	u32 handle;

	switch (win->cmd_cc) {
	case TPM2_CC_FLUSH_CONTEXT:
		if (size < 4) {
			*why = "truncated FlushContext";
			return -EINVAL;
		}
		handle = get_unaligned_be32(params);
		if (check_handle(win, handle)) {
			*why = "FlushContext of a handle the window did not create";
			return -EPERM;
		}
		win->cmd_forget = handle;
		return 0;
	case TPM2_CC_CONTEXT_LOAD:
		if (size < 12) {
			*why = "truncated ContextLoad";
			return -EINVAL;
		}
		handle = get_unaligned_be32(params + 8);
		if ((handle >> 24) == TPM2_HT_HMAC_SESSION ||
		    (handle >> 24) == TPM2_HT_POLICY_SESSION) {
			if (!window_owns(win, handle)) {
				*why = "ContextLoad of a session the window did not start";
				return -EPERM;
			}
		}
		return 0;
	default:
		return 0;
	}
}

/* Successful sequence completions drop their sequence object (Part 3, 17.5, 17.6). */
static void note_sequence_end(struct tpmreserve_window *win, const u8 *cmd)
{
	if (win->cmd_cc == TPM2_CC_SEQUENCE_COMPLETE)
		win->cmd_forget = get_unaligned_be32(cmd + TPM_HEADER_SIZE);
	else if (win->cmd_cc == TPM2_CC_EVENT_SEQUENCE_COMPLETE_CODE)
		win->cmd_forget = get_unaligned_be32(cmd + TPM_HEADER_SIZE + 4);
}

/**
 * tpmreserve_check_command() - decide whether a command may reach the TPM
 * @win: the window; its buffer holds the command, @win->len bytes
 * @why: set to a short reason when the command is refused
 *
 * Called by the owner while no command is in flight, so the window's
 * handle table is stable.  Records the command's code and attributes for
 * tpmreserve_note_response().
 *
 * Return: 0, -EINVAL for a malformed command, -EPERM for a handle the
 * window may not use or a power-state command, -EOPNOTSUPP for a command
 * the chip does not implement, -ENOSPC if the window holds too many handles.
 */
int tpmreserve_check_command(struct tpmreserve_window *win, const char **why)
{
	const u8 *cmd = win->buf.data;
	u32 len = win->len;
	u32 tag, nr_handles, off, auth_size, i;
	int rc;

	/* Part 3, 5.2: tag, commandSize, commandCode. */
	if (len < TPM_HEADER_SIZE || len > TPMRESERVE_BUFSIZE) {
		*why = "command size out of range";
		return -EINVAL;
	}
	if (get_unaligned_be32(cmd + 2) != len) {
		*why = "commandSize does not match the write";
		return -EINVAL;
	}
	tag = get_unaligned_be16(cmd);
	if (tag != TPM2_ST_NO_SESSIONS && tag != TPM2_ST_SESSIONS) {
		*why = "bad tag";
		return -EINVAL;
	}

	win->cmd_cc = get_unaligned_be32(cmd + 6);
	win->cmd_forget = 0;
	if (win->cmd_cc == TPM2_CC_STARTUP || win->cmd_cc == TPM2_CC_SHUTDOWN) {
		*why = "Startup and Shutdown belong to the kernel";
		return -EPERM;
	}
	rc = lookup_attrs(win->dev, win->cmd_cc, &win->cmd_attrs);
	if (rc) {
		*why = "command the chip does not implement";
		return rc;
	}
	if ((win->cmd_attrs & TPMA_CC_RHANDLE) &&
	    win->nr_handles >= TPMRESERVE_MAX_HANDLES) {
		*why = "window holds too many handles";
		return -ENOSPC;
	}

	nr_handles = (win->cmd_attrs & TPMA_CC_CHANDLES) >> TPMA_CC_CHANDLES_SHIFT;
	off = TPM_HEADER_SIZE + 4 * nr_handles;
	if (len < off) {
		*why = "truncated handle area";
		return -EINVAL;
	}
	for (i = 0; i < nr_handles; i++) {
		if (check_handle(win, get_unaligned_be32(cmd + TPM_HEADER_SIZE + 4 * i))) {
			*why = "handle the window did not create";
			return -EPERM;
		}
	}

	if (tag == TPM2_ST_SESSIONS) {
		if (len - off < 4) {
			*why = "truncated authorizationSize";
			return -EINVAL;
		}
		auth_size = get_unaligned_be32(cmd + off);
		off += 4;
		if (auth_size < TPM2_MIN_SESSION_SIZE || auth_size > len - off) {
			*why = "authorizationSize out of range";
			return -EINVAL;
		}
		rc = check_sessions(win, cmd + off, auth_size, why);
		if (rc)
			return rc;
		off += auth_size;
	}

	rc = check_parameters(win, cmd + off, len - off, why);
	if (rc)
		return rc;
	note_sequence_end(win, cmd);
	return 0;
}

static void forget_handle(struct tpmreserve_window *win, u32 handle)
{
	unsigned int i;

	for (i = 0; i < win->nr_handles; i++) {
		if (win->handles[i] == handle) {
			win->handles[i] = win->handles[--win->nr_handles];
			return;
		}
	}
}

/**
 * tpmreserve_note_response() - update the handle table after a success
 * @win: the window; its buffer holds a TPM_RC_SUCCESS response
 *
 * Called by the window thread.  Part 3, 5.3: a command whose TPMA_CC has
 * rHandle returns one handle right after the response header.
 */
void tpmreserve_note_response(struct tpmreserve_window *win)
{
	u32 handle;

	if (win->cmd_forget)
		forget_handle(win, win->cmd_forget);

	if (!(win->cmd_attrs & TPMA_CC_RHANDLE) || win->len < TPM_HEADER_SIZE + 4)
		return;
	handle = get_unaligned_be32(win->buf.data + TPM_HEADER_SIZE);
	if (!window_owns(win, handle) && win->nr_handles < TPMRESERVE_MAX_HANDLES)
		win->handles[win->nr_handles++] = handle;
}

/**
 * tpmreserve_read_commands() - read the chip's command attributes
 * @dev: the device; its chip must be a TPM 2.0 chip
 *
 * Part 3, 30.2: TPM2_GetCapability(TPM_CAP_COMMANDS), repeated while the
 * TPM reports moreData.  Done once at load, outside any window.
 *
 * Return: 0 or a negative errno.
 */
int tpmreserve_read_commands(struct tpmreserve_dev *dev)
{
	const unsigned int cap = PAGE_SIZE / 4;
	struct tpm_buf buf;
	u32 next = TPM2_CC_FIRST, count, i;
	u8 more;
	ssize_t rc;

	dev->cc_attrs = kcalloc(cap, sizeof(u32), GFP_KERNEL);
	if (!dev->cc_attrs)
		return -ENOMEM;
	rc = tpm_buf_init(&buf, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_CAPABILITY);
	if (rc)
		goto out_free_attrs;
	rc = tpm_try_get_ops(dev->chip);
	if (rc)
		goto out_destroy_buf;

	do {
		tpm_buf_reset(&buf, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_CAPABILITY);
		tpm_buf_append_u32(&buf, TPM2_CAP_COMMANDS);
		tpm_buf_append_u32(&buf, next);
		tpm_buf_append_u32(&buf, cap - dev->nr_commands);
		rc = tpm_transmit_cmd(dev->chip, &buf, 9, "reading command attributes");
		if (rc)
			break;

		/* TPMS_CAPABILITY_DATA: moreData, capability, TPML_CCA. */
		more = buf.data[TPM_HEADER_SIZE];
		count = get_unaligned_be32(buf.data + TPM_HEADER_SIZE + 5);
		if (count > cap - dev->nr_commands ||
		    tpm_buf_length(&buf) < TPM_HEADER_SIZE + 9 + 4 * count) {
			rc = -EIO;
			break;
		}
		for (i = 0; i < count; i++) {
			dev->cc_attrs[dev->nr_commands++] =
				get_unaligned_be32(buf.data + TPM_HEADER_SIZE + 9 + 4 * i);
		}
		if (!count)
			break;
		next = cc_of_attrs(dev->cc_attrs[dev->nr_commands - 1]) + 1;
	} while (more && dev->nr_commands < cap);

	tpm_put_ops(dev->chip);
out_destroy_buf:
	tpm_buf_destroy(&buf);
	if (rc > 0)
		rc = -EIO;
	if (!rc && !dev->nr_commands)
		rc = -ENODEV;
	if (!rc)
		return 0;
out_free_attrs:
	kfree(dev->cc_attrs);
	dev->cc_attrs = NULL;
	dev->nr_commands = 0;
	return rc;
}
