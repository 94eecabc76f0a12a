// SPDX-License-Identifier: BSD-2-Clause
/*
 * The tpmreserve TCTI.  Each command is one write(2) of the whole buffer,
 * each response one read(2), as on /dev/tpm0.  The module answers a call
 * outside a window with ENOTCONN and every call after an expired window
 * with ETIME; the errno is kept for the caller's status.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/tpmreserve.h>
#include "tpmreserve.h"

#define TW_TPMRESERVE_MAGIC 0x7477727376726531ULL	/* "twrsrve1" */
#define TW_TPMRESERVE_BUF 4096

struct tw_tpmreserve {
	TSS2_TCTI_CONTEXT_COMMON_V2 common;	/* first: the TCTI ABI */
	int fd;
	int auto_window;	/* begin before the first command, end at finalize */
	uint32_t timeout_ms;
	int window_open;
	int window_used;	/* a window was begun on this context */
	int last_errno;
	int cmd_pending;
	uint8_t rsp[TW_TPMRESERVE_BUF];
	size_t rsp_len;
	int rsp_ready;
};

static struct tw_tpmreserve *tw_res(TSS2_TCTI_CONTEXT *ctx)
{
	struct tw_tpmreserve *t = (struct tw_tpmreserve *)ctx;

	if (!t || t->common.v1.magic != TW_TPMRESERVE_MAGIC)
		return NULL;
	return t;
}

int tw_tpmreserve_is(TSS2_TCTI_CONTEXT *ctx)
{
	return tw_res(ctx) != NULL;
}

int tw_tpmreserve_errno(TSS2_TCTI_CONTEXT *ctx)
{
	struct tw_tpmreserve *t = tw_res(ctx);

	return t ? t->last_errno : 0;
}

static TSS2_RC tw_res_fail(struct tw_tpmreserve *t, int err)
{
	t->last_errno = err;
	if (err == ENOMEM)
		return TSS2_TCTI_RC_MEMORY;
	if (err == EAGAIN)
		return TSS2_TCTI_RC_TRY_AGAIN;
	return TSS2_TCTI_RC_IO_ERROR;
}

TSS2_RC tw_tpmreserve_begin(TSS2_TCTI_CONTEXT *ctx, uint32_t timeout_ms, uint32_t *granted_ms)
{
	struct tw_tpmreserve *t = tw_res(ctx);
	struct tpmreserve_begin req = { .timeout_ms = timeout_ms };

	if (!t)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	if (t->window_open)
		return TSS2_TCTI_RC_BAD_SEQUENCE;
	if (ioctl(t->fd, TPMRESERVE_IOC_BEGIN, &req) < 0)
		return tw_res_fail(t, errno);
	t->window_open = 1;
	t->window_used = 1;
	t->cmd_pending = 0;
	t->rsp_ready = 0;
	if (granted_ms)
		*granted_ms = req.granted_ms;
	return TSS2_RC_SUCCESS;
}

TSS2_RC tw_tpmreserve_end(TSS2_TCTI_CONTEXT *ctx, uint32_t *how)
{
	struct tw_tpmreserve *t = tw_res(ctx);
	struct tpmreserve_end end = { 0 };

	if (!t)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	if (!t->window_open)
		return TSS2_TCTI_RC_BAD_SEQUENCE;
	t->window_open = 0;
	if (ioctl(t->fd, TPMRESERVE_IOC_END, &end) < 0)
		return tw_res_fail(t, errno);
	if (how)
		*how = end.how;
	return TSS2_RC_SUCCESS;
}

static TSS2_RC tw_res_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *command)
{
	struct tw_tpmreserve *t = tw_res(ctx);
	ssize_t n;
	TSS2_RC rc;

	if (!t)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	if (!command || size < 10 || size > TW_TPMRESERVE_BUF)
		return TSS2_TCTI_RC_BAD_VALUE;
	if (t->cmd_pending)
		return TSS2_TCTI_RC_BAD_SEQUENCE;
	if (!t->window_open && t->auto_window && !t->window_used) {
		rc = tw_tpmreserve_begin(ctx, t->timeout_ms, NULL);
		if (rc != TSS2_RC_SUCCESS)
			return rc;
	}
	do
		n = write(t->fd, command, size);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return tw_res_fail(t, errno);
	if ((size_t)n != size)
		return tw_res_fail(t, EIO);
	t->cmd_pending = 1;
	t->rsp_ready = 0;
	return TSS2_RC_SUCCESS;
}

/* Read the whole response once; the caller may first ask only for its size. */
static TSS2_RC tw_res_fill(struct tw_tpmreserve *t, int32_t timeout)
{
	struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
	ssize_t n;
	int r;

	if (timeout != TSS2_TCTI_TIMEOUT_BLOCK) {
		do
			r = poll(&pfd, 1, timeout);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return tw_res_fail(t, errno);
		if (r == 0)
			return TSS2_TCTI_RC_TRY_AGAIN;
	}
	do
		n = read(t->fd, t->rsp, sizeof(t->rsp));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return tw_res_fail(t, errno);
	if (n < 10)
		return TSS2_TCTI_RC_MALFORMED_RESPONSE;
	t->rsp_len = n;
	t->rsp_ready = 1;
	t->cmd_pending = 0;
	return TSS2_RC_SUCCESS;
}

static TSS2_RC tw_res_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *response,
			      int32_t timeout)
{
	struct tw_tpmreserve *t = tw_res(ctx);
	TSS2_RC rc;

	if (!t)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	if (!size)
		return TSS2_TCTI_RC_BAD_REFERENCE;
	if (!t->rsp_ready) {
		if (!t->cmd_pending)
			return TSS2_TCTI_RC_BAD_SEQUENCE;
		rc = tw_res_fill(t, timeout);
		if (rc != TSS2_RC_SUCCESS)
			return rc;
	}
	if (!response) {
		*size = t->rsp_len;
		return TSS2_RC_SUCCESS;
	}
	if (*size < t->rsp_len) {
		*size = t->rsp_len;
		return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
	}
	memcpy(response, t->rsp, t->rsp_len);
	*size = t->rsp_len;
	t->rsp_ready = 0;
	return TSS2_RC_SUCCESS;
}

static void tw_res_finalize(TSS2_TCTI_CONTEXT *ctx)
{
	struct tw_tpmreserve *t = tw_res(ctx);

	if (!t)
		return;
	if (t->window_open)
		tw_tpmreserve_end(ctx, NULL);
	/* Closing the file also ends a window the module still holds for it. */
	close(t->fd);
	t->fd = -1;
	t->common.v1.magic = 0;
}

static TSS2_RC tw_res_cancel(TSS2_TCTI_CONTEXT *ctx)
{
	return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}

static TSS2_RC tw_res_poll(TSS2_TCTI_CONTEXT *ctx, TSS2_TCTI_POLL_HANDLE *handles, size_t *num)
{
	struct tw_tpmreserve *t = tw_res(ctx);

	if (!t)
		return TSS2_TCTI_RC_BAD_CONTEXT;
	if (!num)
		return TSS2_TCTI_RC_BAD_REFERENCE;
	if (handles && *num < 1) {
		*num = 1;
		return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
	}
	*num = 1;
	if (handles) {
		handles[0].fd = t->fd;
		handles[0].events = POLLIN | POLLOUT;
	}
	return TSS2_RC_SUCCESS;
}

static TSS2_RC tw_res_locality(TSS2_TCTI_CONTEXT *ctx, uint8_t locality)
{
	return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}

static TSS2_RC tw_res_sticky(TSS2_TCTI_CONTEXT *ctx, TPM2_HANDLE *handle, uint8_t sticky)
{
	return TSS2_TCTI_RC_NOT_IMPLEMENTED;
}

/* "[PATH][,timeout=MS][,manual]" */
static int tw_res_conf(struct tw_tpmreserve *t, const char *conf, char *path, size_t len)
{
	const char *p = conf && *conf ? conf : TW_TPMRESERVE_DEVICE;
	const char *comma = strchr(p, ',');
	size_t n = comma ? (size_t)(comma - p) : strlen(p);
	char *end;

	if (n == 0) {
		p = TW_TPMRESERVE_DEVICE;
		n = strlen(p);
	}
	if (n >= len)
		return -1;
	memcpy(path, p, n);
	path[n] = '\0';
	while (comma) {
		const char *opt = comma + 1;

		comma = strchr(opt, ',');
		n = comma ? (size_t)(comma - opt) : strlen(opt);
		if (n == 6 && !strncmp(opt, "manual", 6)) {
			t->auto_window = 0;
		} else if (n > 8 && !strncmp(opt, "timeout=", 8)) {
			unsigned long ms = strtoul(opt + 8, &end, 10);

			if (end != opt + n || ms > UINT32_MAX)
				return -1;
			t->timeout_ms = ms;
		} else {
			return -1;
		}
	}
	return 0;
}

TSS2_RC Tss2_Tcti_Tpmreserve_Init(TSS2_TCTI_CONTEXT *ctx, size_t *size, const char *conf)
{
	struct tw_tpmreserve *t = (struct tw_tpmreserve *)ctx;
	char path[256];

	if (!size)
		return TSS2_TCTI_RC_BAD_VALUE;
	if (!ctx) {
		*size = sizeof(*t);
		return TSS2_RC_SUCCESS;
	}
	if (*size < sizeof(*t))
		return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
	memset(t, 0, sizeof(*t));
	t->auto_window = 1;
	if (tw_res_conf(t, conf, path, sizeof(path)))
		return TSS2_TCTI_RC_BAD_VALUE;
	t->fd = open(path, O_RDWR | O_CLOEXEC);
	if (t->fd < 0)
		return TSS2_TCTI_RC_NO_CONNECTION;
	t->common.v1.magic = TW_TPMRESERVE_MAGIC;
	t->common.v1.version = 2;
	t->common.v1.transmit = tw_res_transmit;
	t->common.v1.receive = tw_res_receive;
	t->common.v1.finalize = tw_res_finalize;
	t->common.v1.cancel = tw_res_cancel;
	t->common.v1.getPollHandles = tw_res_poll;
	t->common.v1.setLocality = tw_res_locality;
	t->common.makeSticky = tw_res_sticky;
	return TSS2_RC_SUCCESS;
}

static const TSS2_TCTI_INFO tw_tpmreserve_info = {
	.version = 2,
	.name = "tcti-tpmreserve",
	.description = "TCTI for the tpmreserve module's reserved TPM channel.",
	.config_help = "[PATH][,timeout=MS][,manual]: the device (default " TW_TPMRESERVE_DEVICE
		       "), the window asked for (default: the module's maximum), manual: "
		       "no window begun before the first command nor ended at finalize.",
	.init = Tss2_Tcti_Tpmreserve_Init,
};

const TSS2_TCTI_INFO *Tss2_Tcti_Info(void)
{
	return &tw_tpmreserve_info;
}
