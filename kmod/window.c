// SPDX-License-Identifier: GPL-2.0-only
/*
 * The window thread.  Every in-kernel path to a TPM chip (/dev/tpm0,
 * /dev/tpmrm0, hwrng, IMA, sysfs, suspend) goes through tpm_try_get_ops(),
 * which takes the chip's tpm_mutex.  A window is a kernel thread that
 * takes the chip's ops when the window begins, transmits the owner's
 * commands with tpm_transmit_cmd() and gives the ops back when the window
 * ends, so every other user waits in tpm_try_get_ops() for that time.
 * The mutex must be released by the task that took it, hence a thread
 * rather than the owner's own system calls.
 *
 * A window queues behind the users already waiting for the chip, so none
 * of them waits through more than one window: see window_wait_turn().
 */
#include <linux/kthread.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/tpmreserve.h>

#include "tpmreserve.h"

static bool window_has_work(struct tpmreserve_window *win)
{
	bool work;

	spin_lock(&win->owner->lock);
	work = win->end_requested || win->io == IO_QUEUED;
	spin_unlock(&win->owner->lock);
	return work;
}

/* Run the queued command; a negative return means the chip failed. */
static int window_transmit(struct tpmreserve_window *win)
{
	struct tpmreserve_dev *dev = win->dev;
	ssize_t rc;

	rc = tpm_transmit_cmd(dev->chip, &win->buf, 0, NULL);
	if (rc < 0) {
		dev_warn_ratelimited(&dev->chip->dev,
				     "tpmreserve: command 0x%x failed: %zd\n",
				     win->cmd_cc, rc);
		return rc;
	}

	win->commands++;
	spin_lock(&dev->stats_lock);
	dev->commands_passed++;
	spin_unlock(&dev->stats_lock);
	win->len = tpm_buf_length(&win->buf);
	if (rc == 0)
		tpmreserve_note_response(win);
	return 0;
}

/* Caller holds owner->lock: no more commands after this. */
static u32 window_end_locked(struct tpmreserve_window *win, u32 how)
{
	win->state = WINDOW_ENDED;
	win->how = how;
	return how;
}

/*
 * The timer wheel rounds a timeout up to the granularity of the level it
 * lands in: at HZ=250 a 60 s sleep may last 62 s.  Timeouts below 64
 * jiffies sit in its first level, exact to the jiffy, so the thread
 * sleeps at most that long at a time and ends the window on time.
 */
#define WINDOW_SLEEP_JIFFIES	63

/* Serve the owner's commands until the window ends; returns how it ended. */
static u32 window_serve(struct tpmreserve_window *win)
{
	struct tpmreserve_file *owner = win->owner;
	long left;
	u32 how;
	int rc;

	for (;;) {
		left = min_t(long, win->deadline - jiffies, WINDOW_SLEEP_JIFFIES);
		if (left > 0)
			wait_event_idle_timeout(owner->wq, window_has_work(win), left);

		spin_lock(&owner->lock);
		if (win->end_requested) {
			how = window_end_locked(win, TPMRESERVE_END_BY_OWNER);
			spin_unlock(&owner->lock);
			return how;
		}
		if (time_after_eq(jiffies, win->deadline)) {
			how = window_end_locked(win, TPMRESERVE_END_EXPIRED);
			spin_unlock(&owner->lock);
			return how;
		}
		if (win->io != IO_QUEUED) {
			spin_unlock(&owner->lock);
			continue;
		}
		win->io = IO_RUNNING;
		spin_unlock(&owner->lock);

		rc = window_transmit(win);

		spin_lock(&owner->lock);
		win->rsp_err = rc < 0 ? -EIO : 0;
		win->read_off = 0;
		win->io = IO_DONE;
		if (rc < 0)
			window_end_locked(win, TPMRESERVE_END_CHIP_ERROR);
		spin_unlock(&owner->lock);
		/* The thread sleeps next, so the owner may run on this CPU. */
		__wake_up_sync(&owner->wq, TASK_NORMAL);

		if (rc < 0)
			return TPMRESERVE_END_CHIP_ERROR;
	}
}

/*
 * Flush every handle the window created and did not flush itself.  A
 * handle the TPM already dropped (a session ended by its last use, say)
 * just fails; nobody but the window can have received that handle again
 * while the window held the chip.  After a transport error the first
 * flush fails the same way and the rest are not tried.
 */
static void window_flush(struct tpmreserve_window *win)
{
	struct tpm_buf *buf = &win->flush_buf;
	unsigned int i;
	ssize_t rc;

	for (i = 0; i < win->nr_handles; i++) {
		tpm_buf_reset(buf, TPM2_ST_NO_SESSIONS, TPM2_CC_FLUSH_CONTEXT);
		tpm_buf_append_u32(buf, win->handles[i]);
		rc = tpm_transmit_cmd(win->dev->chip, buf, 0, NULL);
		if (rc < 0)
			break;
		if (rc == 0)
			win->flushed++;
	}
}

static void window_account(struct tpmreserve_window *win, bool opened)
{
	struct tpmreserve_dev *dev = win->dev;

	spin_lock(&dev->stats_lock);
	if (opened) {
		dev->windows_begun++;
		dev->owner_pid = pid_nr(win->owner_tgid);
	} else {
		dev->windows_ended++;
		if (win->how == TPMRESERVE_END_EXPIRED)
			dev->windows_expired++;
		dev->owner_pid = 0;
		dev->total_hold_us += win->hold_us;
		if (win->hold_us > dev->longest_hold_us)
			dev->longest_hold_us = win->hold_us;
	}
	spin_unlock(&dev->stats_lock);
}

/*
 * Let every user that holds or waits for the chip go first.  Each of them
 * holds the chip's ops_sem for reading from tpm_try_get_ops() to
 * tpm_put_ops().  The rwsem grants a writer only once they are all done,
 * and users that arrive meanwhile queue behind the writer.  Taking it for
 * writing and giving it back at once therefore puts the window behind
 * everyone already waiting.  The chip's mutex alone would not: a task that
 * calls mutex_lock() while the mutex is free, or spins on its owner, may
 * take it ahead of the waiter the last release woke, and a waiter deep in
 * the queue could so see one window after another go first.
 *
 * This is the one use of the TPM core's locks outside its exported
 * functions; tpm_chip_unregister() takes the same rwsem for writing.
 */
static void window_wait_turn(struct tpm_chip *chip)
{
	down_write(&chip->ops_sem);
	up_write(&chip->ops_sem);
}

static int window_thread(void *data)
{
	struct tpmreserve_window *win = data;
	struct tpmreserve_dev *dev = win->dev;
	struct tpmreserve_file *owner = win->owner;
	u32 how;
	int rc;

	window_wait_turn(dev->chip);
	rc = tpm_try_get_ops(dev->chip);

	spin_lock(&owner->lock);
	if (rc) {
		win->start_err = -ENODEV;
		window_end_locked(win, TPMRESERVE_END_CHIP_ERROR);
	} else {
		win->held_since = ktime_get();
		/*
		 * One jiffy more: the current one is partly gone, and the
		 * owner is granted at least timeout_ms.
		 */
		win->deadline = jiffies + msecs_to_jiffies(win->timeout_ms) + 1;
		win->state = WINDOW_OPEN;
	}
	spin_unlock(&owner->lock);
	complete(&win->started);
	if (rc)
		goto out_release_slot;

	window_account(win, true);
	dev_dbg(dev->misc.this_device, "window begins for %u ms\n",
		win->timeout_ms);
	how = window_serve(win);
	window_flush(win);
	tpm_put_ops(dev->chip);

	win->hold_us = ktime_us_delta(ktime_get(), win->held_since);
	window_account(win, false);
	dev_dbg(dev->misc.this_device,
		"window ends (%u) after %llu us, %u commands, %u handles flushed\n",
		how, win->hold_us, win->commands, win->flushed);
	wake_up_all(&owner->wq);

out_release_slot:
	up(&dev->window_sem);
	kthread_complete_and_exit(&win->done, 0);
}

/**
 * tpmreserve_window_start() - start the thread that reserves the chip
 * @dev:	the device
 * @owner:	the open file the window belongs to
 * @timeout_ms:	window length, already capped
 *
 * The caller holds @dev->window_sem; the thread releases it when the
 * window ends.  Wait for @win->started to learn whether the chip is held.
 *
 * Return: the window, or an ERR_PTR.
 */
struct tpmreserve_window *tpmreserve_window_start(struct tpmreserve_dev *dev,
						  struct tpmreserve_file *owner,
						  unsigned int timeout_ms)
{
	struct tpmreserve_window *win;
	struct task_struct *thread;
	int rc;

	win = kzalloc(sizeof(*win), GFP_KERNEL);
	if (!win)
		return ERR_PTR(-ENOMEM);
	rc = tpm_buf_init(&win->buf, TPM2_ST_NO_SESSIONS, 0);
	if (rc)
		goto out_free_win;
	rc = tpm_buf_init(&win->flush_buf, TPM2_ST_NO_SESSIONS, 0);
	if (rc)
		goto out_free_buf;

	win->dev = dev;
	win->owner = owner;
	win->timeout_ms = timeout_ms;
	win->owner_tgid = get_pid(task_tgid(current));
	win->state = WINDOW_WAITING;
	win->io = IO_IDLE;
	init_completion(&win->started);
	init_completion(&win->done);

	thread = kthread_run(window_thread, win, "tpmreserve/%d",
			     task_tgid_nr(current));
	if (IS_ERR(thread)) {
		rc = PTR_ERR(thread);
		goto out_put_pid;
	}
	return win;

out_put_pid:
	put_pid(win->owner_tgid);
	tpm_buf_destroy(&win->flush_buf);
out_free_buf:
	tpm_buf_destroy(&win->buf);
out_free_win:
	kfree(win);
	return ERR_PTR(rc);
}

/**
 * tpmreserve_window_request_end() - ask the thread to end the window
 * @win: the window
 *
 * Returns at once; wait for @win->done to know the chip is released.
 */
void tpmreserve_window_request_end(struct tpmreserve_window *win)
{
	spin_lock(&win->owner->lock);
	win->end_requested = true;
	spin_unlock(&win->owner->lock);
	wake_up_all(&win->owner->wq);
}

/**
 * tpmreserve_window_free() - free a window whose thread is done
 * @win: the window; @win->done must have completed
 */
void tpmreserve_window_free(struct tpmreserve_window *win)
{
	put_pid(win->owner_tgid);
	tpm_buf_destroy(&win->flush_buf);
	tpm_buf_destroy(&win->buf);
	kfree(win);
}
