/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tpmreserve: what the device, the window thread and the command checks
 * share.  See Documentation/tpmreserve.rst for the user-visible rules.
 */
#ifndef TPMRESERVE_H
#define TPMRESERVE_H

#include <linux/completion.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/semaphore.h>
#include <linux/spinlock.h>
#include <linux/tpm.h>
#include <linux/types.h>
#include <linux/wait.h>

/*
 * More than any TPM can hold at once (swtpm: 3 loaded objects and 64
 * active sessions), so a window that plays by the TPM's rules never fills it.
 */
#define TPMRESERVE_MAX_HANDLES	128

/* The largest command or response, as on /dev/tpm0 (TPM_BUFSIZE in the TPM core). */
#define TPMRESERVE_BUFSIZE	4096

/* TPM 2.0 Part 2, 7.2: the handle type is the handle's top octet. */
#define TPM2_HT_PCR		0x00
#define TPM2_HT_NV_INDEX	0x01
#define TPM2_HT_HMAC_SESSION	0x02
#define TPM2_HT_POLICY_SESSION	0x03
#define TPM2_HT_PERMANENT	0x40
#define TPM2_HT_TRANSIENT	0x80
#define TPM2_HT_PERSISTENT	0x81

/**
 * struct tpmreserve_dev - the reserved channel to one chip
 * @chip:	the chip, with a reference on chip->dev
 * @cc_attrs:	TPMA_CC of every command the chip implements, read from the
 *		chip at load; the chip's own table is devres memory that
 *		goes away with its device, so the module keeps a copy
 * @nr_commands: entries in @cc_attrs
 * @window_sem:	one window at a time; waiters queue in order
 * @misc:	/dev/tpmreserve0
 * @stats_lock:	protects the counters below
 */
struct tpmreserve_dev {
	struct tpm_chip *chip;
	u32 *cc_attrs;
	unsigned int nr_commands;
	struct semaphore window_sem;
	struct miscdevice misc;

	spinlock_t stats_lock;	/* the counters below */
	u64 windows_begun;
	u64 windows_ended;
	u64 windows_expired;
	u64 commands_passed;
	u64 commands_refused;
	pid_t owner_pid;
	u64 longest_hold_us;
	u64 total_hold_us;
};

enum tpmreserve_state {
	WINDOW_WAITING,		/* the thread waits for the chip */
	WINDOW_OPEN,		/* the thread holds the chip */
	WINDOW_ENDED,		/* no more commands; the chip is or will be released */
};

/*
 * Who may touch the command buffer: the owner fills it in IO_IDLE, the
 * thread owns it in IO_QUEUED and IO_RUNNING, the owner reads it in IO_DONE.
 */
enum tpmreserve_io {
	IO_IDLE,
	IO_QUEUED,
	IO_RUNNING,
	IO_DONE,
};

struct tpmreserve_file;

/**
 * struct tpmreserve_window - one reservation of the chip
 * @dev:	the device
 * @owner:	the open file that began it; outlives the thread
 * @started:	the thread holds the chip, or failed to get it
 * @done:	the thread released the chip and is about to exit
 * @state:	under owner->lock
 * @io:		under owner->lock
 * @end_requested: under owner->lock; the owner ended or abandoned it
 * @how:	TPMRESERVE_END_*; valid once @state is WINDOW_ENDED
 * @start_err:	why the thread could not get the chip
 * @rsp_err:	negative errno when the last command got no response
 * @owner_tgid:	thread group of the task that began it; its closes end the window
 * @timeout_ms:	granted length
 * @deadline:	in jiffies, set when the thread gets the chip
 * @held_since:	when the thread got the chip
 * @hold_us:	how long it held the chip
 * @buf:	one page: the command, then its response
 * @flush_buf:	one page for the flushes at the end, so they need no allocation
 * @len:	command length, then response length
 * @read_off:	bytes of the response already read
 * @cmd_cc:	command code of the queued command
 * @cmd_attrs:	its TPMA_CC
 * @cmd_forget:	the handle a successful command removes, or 0
 * @handles:	handles the window's commands created
 * @nr_handles:	entries in @handles
 * @commands:	commands passed to the TPM
 * @refused:	commands refused
 * @flushed:	handles flushed at the end
 */
struct tpmreserve_window {
	struct tpmreserve_dev *dev;
	struct tpmreserve_file *owner;
	struct completion started;
	struct completion done;

	enum tpmreserve_state state;
	enum tpmreserve_io io;
	bool end_requested;
	u32 how;
	int start_err;
	int rsp_err;

	struct pid *owner_tgid;
	unsigned int timeout_ms;
	unsigned long deadline;
	ktime_t held_since;
	u64 hold_us;

	struct tpm_buf buf;
	struct tpm_buf flush_buf;
	size_t len;
	size_t read_off;
	u32 cmd_cc;
	u32 cmd_attrs;
	u32 cmd_forget;

	u32 handles[TPMRESERVE_MAX_HANDLES];
	unsigned int nr_handles;

	u32 commands;
	u32 refused;
	u32 flushed;
};

/**
 * struct tpmreserve_file - one open /dev/tpmreserve0
 * @io_lock:	serializes the owner's read, write and ioctl calls
 * @lock:	protects @window and the window's @state, @io, @end_requested
 * @wq:		the owner waits here for responses and the window's end;
 *		the thread waits here for commands
 * @window:	the current or last window, or NULL
 */
struct tpmreserve_file {
	struct mutex io_lock;	/* one owner call at a time */
	spinlock_t lock;	/* window pointer and window state */
	wait_queue_head_t wq;
	struct tpmreserve_window *window;
};

struct tpmreserve_window *tpmreserve_window_start(struct tpmreserve_dev *dev,
						  struct tpmreserve_file *owner,
						  unsigned int timeout_ms);
void tpmreserve_window_request_end(struct tpmreserve_window *win);
void tpmreserve_window_free(struct tpmreserve_window *win);

int tpmreserve_check_command(struct tpmreserve_window *win, const char **why);
int tpmreserve_read_commands(struct tpmreserve_dev *dev);
void tpmreserve_note_response(struct tpmreserve_window *win);

#endif /* TPMRESERVE_H */
