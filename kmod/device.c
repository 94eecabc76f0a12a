// SPDX-License-Identifier: GPL-2.0-only
/*
 * tpmreserve: /dev/tpmreserve0, a reserved channel to one TPM 2.0 chip.
 *
 * The owner begins a window with TPMRESERVE_IOC_BEGIN, then writes
 * commands and reads responses as on /dev/tpm0 while every other user of
 * the chip waits, and ends the window with TPMRESERVE_IOC_END or close().
 * Documentation/tpmreserve.rst describes the interface.
 */
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/tpmreserve.h>
#include <linux/uaccess.h>

#include "tpmreserve.h"

#define TPMRESERVE_WINDOW_MS_LIMIT	60000

static int chip = -1;
module_param(chip, int, 0444);
MODULE_PARM_DESC(chip, "number N of the /dev/tpmN chip to reserve (default: the first)");

static int max_window_ms_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, TPMRESERVE_WINDOW_MS_LIMIT);
}

static const struct kernel_param_ops max_window_ms_ops = {
	.set = max_window_ms_set,
	.get = param_get_uint,
};

static unsigned int max_window_ms = 10000;
module_param_cb(max_window_ms, &max_window_ms_ops, &max_window_ms, 0644);
MODULE_PARM_DESC(max_window_ms, "longest window in ms (default 10000, at most 60000)");

static struct tpmreserve_dev tpmreserve;

/* The errno the owner gets once its window has ended. */
static int window_errno(const struct tpmreserve_window *win)
{
	switch (win->how) {
	case TPMRESERVE_END_EXPIRED:
		return -ETIME;
	case TPMRESERVE_END_CHIP_ERROR:
		return -EIO;
	default:
		return -ENOTCONN;
	}
}

static void count_refusal(struct tpmreserve_window *win, const char *why)
{
	struct tpmreserve_dev *dev = win->dev;

	win->refused++;
	spin_lock(&dev->stats_lock);
	dev->commands_refused++;
	spin_unlock(&dev->stats_lock);
	dev_warn_ratelimited(dev->misc.this_device,
			     "refused command 0x%x from pid %d: %s\n",
			     win->cmd_cc, task_tgid_nr(current), why);
}

/* The owner may write a command: the window is open and nothing is in flight. */
static int owner_may_write(struct tpmreserve_file *fp, struct tpmreserve_window *win)
{
	int rc = 0;

	if (!win)
		return -ENOTCONN;
	spin_lock(&fp->lock);
	if (win->io != IO_IDLE)
		rc = -EBUSY;
	else if (win->state == WINDOW_ENDED)
		rc = window_errno(win);
	else if (win->state != WINDOW_OPEN)
		rc = -ENOTCONN;
	spin_unlock(&fp->lock);
	return rc;
}

/* The command in flight has run, or will never run. */
static bool owner_io_settled(struct tpmreserve_file *fp, struct tpmreserve_window *win)
{
	bool settled;

	spin_lock(&fp->lock);
	settled = win->io == IO_IDLE || win->io == IO_DONE ||
		  (win->io == IO_QUEUED && win->state == WINDOW_ENDED);
	spin_unlock(&fp->lock);
	return settled;
}

/*
 * After the wait: a command that never ran gives the window's errno, a
 * command the chip failed gives -EIO; either way the buffer is free again.
 */
static int owner_collect_failure(struct tpmreserve_file *fp, struct tpmreserve_window *win)
{
	int rc = 0;

	spin_lock(&fp->lock);
	if (win->io == IO_QUEUED && win->state == WINDOW_ENDED) {
		win->io = IO_IDLE;
		rc = window_errno(win);
	} else if (win->io == IO_DONE && win->rsp_err) {
		win->io = IO_IDLE;
		rc = win->rsp_err;
	}
	spin_unlock(&fp->lock);
	return rc;
}

static ssize_t tpmreserve_write(struct file *file, const char __user *ubuf, size_t len,
				loff_t *off)
{
	struct tpmreserve_file *fp = file->private_data;
	struct tpmreserve_window *win;
	const char *why;
	ssize_t rc;

	if (mutex_lock_interruptible(&fp->io_lock))
		return -EINTR;
	win = fp->window;
	rc = owner_may_write(fp, win);
	if (rc)
		goto out_unlock;

	if (len < TPM_HEADER_SIZE || len > TPMRESERVE_BUFSIZE) {
		win->cmd_cc = 0;
		rc = -EINVAL;
		count_refusal(win, "command size out of range");
		goto out_unlock;
	}
	if (copy_from_user(win->buf.data, ubuf, len)) {
		rc = -EFAULT;
		goto out_unlock;
	}
	win->len = len;
	rc = tpmreserve_check_command(win, &why);
	if (rc) {
		count_refusal(win, why);
		goto out_unlock;
	}

	spin_lock(&fp->lock);
	if (win->state == WINDOW_OPEN)
		win->io = IO_QUEUED;
	else
		rc = window_errno(win);
	spin_unlock(&fp->lock);
	if (rc)
		goto out_unlock;
	/* A sync wake-up: the owner sleeps next, so the thread may run here. */
	__wake_up_sync(&fp->wq, TASK_NORMAL);

	if (!(file->f_flags & O_NONBLOCK)) {
		rc = wait_event_killable(fp->wq, owner_io_settled(fp, win));
		if (rc)
			goto out_unlock;
		rc = owner_collect_failure(fp, win);
		if (rc)
			goto out_unlock;
	}
	rc = len;

out_unlock:
	mutex_unlock(&fp->io_lock);
	return rc;
}

/* Copy out what is left of a response; the last byte frees the buffer. */
static ssize_t owner_read_response(struct tpmreserve_file *fp, struct tpmreserve_window *win,
				   char __user *ubuf, size_t count)
{
	size_t n = min(count, win->len - win->read_off);

	if (copy_to_user(ubuf, win->buf.data + win->read_off, n))
		return -EFAULT;

	spin_lock(&fp->lock);
	win->read_off += n;
	if (win->read_off == win->len)
		win->io = IO_IDLE;
	spin_unlock(&fp->lock);
	return n;
}

static ssize_t tpmreserve_read(struct file *file, char __user *ubuf, size_t count, loff_t *off)
{
	struct tpmreserve_file *fp = file->private_data;
	struct tpmreserve_window *win;
	enum tpmreserve_io io;
	ssize_t rc;

	if (mutex_lock_interruptible(&fp->io_lock))
		return -EINTR;
	win = fp->window;
	rc = -ENOTCONN;
	if (!win)
		goto out_unlock;

	if (!owner_io_settled(fp, win)) {
		rc = -EAGAIN;
		if (file->f_flags & O_NONBLOCK)
			goto out_unlock;
		rc = wait_event_killable(fp->wq, owner_io_settled(fp, win));
		if (rc)
			goto out_unlock;
	}
	rc = owner_collect_failure(fp, win);
	if (rc)
		goto out_unlock;

	spin_lock(&fp->lock);
	io = win->io;
	if (io == IO_IDLE && win->state == WINDOW_ENDED)
		rc = window_errno(win);
	spin_unlock(&fp->lock);
	if (io == IO_DONE)
		rc = owner_read_response(fp, win, ubuf, count);

out_unlock:
	mutex_unlock(&fp->io_lock);
	return rc;
}

static __poll_t tpmreserve_poll(struct file *file, poll_table *wait)
{
	struct tpmreserve_file *fp = file->private_data;
	struct tpmreserve_window *win;
	__poll_t mask = 0;

	poll_wait(file, &fp->wq, wait);

	spin_lock(&fp->lock);
	win = fp->window;
	if (!win)
		mask = EPOLLERR;
	else if (win->io == IO_DONE)
		mask = EPOLLIN | EPOLLRDNORM;
	else if (win->state == WINDOW_ENDED)
		mask = EPOLLERR | EPOLLHUP;
	else if (win->state == WINDOW_OPEN && win->io == IO_IDLE)
		mask = EPOLLOUT | EPOLLWRNORM;
	spin_unlock(&fp->lock);
	return mask;
}

/*
 * Wait for the file's window thread to finish, then detach the window.  The
 * thread signals @done exactly once, so this is the only wait on it.
 */
static struct tpmreserve_window *reap_window(struct tpmreserve_file *fp, bool interruptible)
{
	struct tpmreserve_window *win = fp->window;

	if (interruptible) {
		if (wait_for_completion_interruptible(&win->done))
			return ERR_PTR(-EINTR);
	} else {
		wait_for_completion(&win->done);
	}

	spin_lock(&fp->lock);
	fp->window = NULL;
	spin_unlock(&fp->lock);
	return win;
}

static long tpmreserve_begin(struct file *file, struct tpmreserve_file *fp,
			     struct tpmreserve_begin __user *arg)
{
	struct tpmreserve_dev *dev = &tpmreserve;
	struct tpmreserve_begin req;
	struct tpmreserve_window *win;
	unsigned int ms;
	bool live;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;

	/* An ended or abandoned window is reaped; a live one is in the way. */
	if (fp->window) {
		spin_lock(&fp->lock);
		live = fp->window->state != WINDOW_ENDED && !fp->window->end_requested;
		spin_unlock(&fp->lock);
		if (live)
			return -EALREADY;
		win = reap_window(fp, true);
		if (IS_ERR(win))
			return PTR_ERR(win);
		tpmreserve_window_free(win);
	}

	ms = READ_ONCE(max_window_ms);
	if (req.timeout_ms && req.timeout_ms < ms)
		ms = req.timeout_ms;

	/* Report the grant first: once the thread holds the chip nothing may fail. */
	req.granted_ms = ms;
	if (copy_to_user(arg, &req, sizeof(req)))
		return -EFAULT;

	if (file->f_flags & O_NONBLOCK) {
		if (down_trylock(&dev->window_sem))
			return -EBUSY;
	} else if (down_interruptible(&dev->window_sem)) {
		return -EINTR;
	}

	win = tpmreserve_window_start(dev, fp, ms);
	if (IS_ERR(win)) {
		up(&dev->window_sem);
		return PTR_ERR(win);
	}
	spin_lock(&fp->lock);
	fp->window = win;
	spin_unlock(&fp->lock);

	/*
	 * The thread lets the users already waiting for the chip go first,
	 * then takes it.  O_NONBLOCK cannot shorten that wait: the TPM core
	 * has no way to take a chip without waiting for its users.
	 */
	if (wait_for_completion_interruptible(&win->started)) {
		tpmreserve_window_request_end(win);
		return -EINTR;
	}
	return win->start_err;
}

static long tpmreserve_end(struct tpmreserve_file *fp, struct tpmreserve_end __user *arg)
{
	struct tpmreserve_window *win = fp->window;
	struct tpmreserve_end res = {};
	int rc;

	if (!win)
		return -ENOTCONN;

	tpmreserve_window_request_end(win);
	reap_window(fp, false);

	res.how = win->how;
	res.commands = win->commands;
	res.refused = win->refused;
	res.flushed = win->flushed;
	res.hold_us = win->hold_us;
	rc = win->how == TPMRESERVE_END_BY_OWNER ? 0 : window_errno(win);
	tpmreserve_window_free(win);

	if (copy_to_user(arg, &res, sizeof(res)))
		return -EFAULT;
	return rc;
}

static long tpmreserve_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct tpmreserve_file *fp = file->private_data;
	long rc;

	if (mutex_lock_interruptible(&fp->io_lock))
		return -EINTR;
	switch (cmd) {
	case TPMRESERVE_IOC_BEGIN:
		rc = tpmreserve_begin(file, fp, (void __user *)arg);
		break;
	case TPMRESERVE_IOC_END:
		rc = tpmreserve_end(fp, (void __user *)arg);
		break;
	default:
		rc = -ENOTTY;
		break;
	}
	mutex_unlock(&fp->io_lock);
	return rc;
}

static int tpmreserve_open(struct inode *inode, struct file *file)
{
	struct tpmreserve_file *fp;

	fp = kzalloc(sizeof(*fp), GFP_KERNEL);
	if (!fp)
		return -ENOMEM;
	mutex_init(&fp->io_lock);
	spin_lock_init(&fp->lock);
	init_waitqueue_head(&fp->wq);
	file->private_data = fp;
	return stream_open(inode, file);
}

/*
 * Every close() of a descriptor of the file comes here, the closes of a
 * process's exit included.  The owner's end the window at once, even
 * while a child it forked still holds the file; another process's do not.
 */
static int tpmreserve_flush(struct file *file, fl_owner_t id)
{
	struct tpmreserve_file *fp = file->private_data;
	struct tpmreserve_window *win;
	bool owner_closed = false;

	spin_lock(&fp->lock);
	win = fp->window;
	if (win && win->owner_tgid == task_tgid(current) && win->state != WINDOW_ENDED &&
	    !win->end_requested) {
		win->end_requested = true;
		owner_closed = true;
	}
	spin_unlock(&fp->lock);
	if (owner_closed)
		wake_up_all(&fp->wq);
	return 0;
}

/* The last close ends the window and waits until the chip is free. */
static int tpmreserve_release(struct inode *inode, struct file *file)
{
	struct tpmreserve_file *fp = file->private_data;

	if (fp->window) {
		tpmreserve_window_request_end(fp->window);
		tpmreserve_window_free(reap_window(fp, false));
	}
	mutex_destroy(&fp->io_lock);
	kfree(fp);
	return 0;
}

static const struct file_operations tpmreserve_fops = {
	.owner = THIS_MODULE,
	.open = tpmreserve_open,
	.flush = tpmreserve_flush,
	.release = tpmreserve_release,
	.read = tpmreserve_read,
	.write = tpmreserve_write,
	.poll = tpmreserve_poll,
	.unlocked_ioctl = tpmreserve_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_llseek,
};

/* The counters: each attribute's var points at its field in tpmreserve. */
static ssize_t counter_show(struct device *d, struct device_attribute *attr, char *buf)
{
	struct dev_ext_attribute *ea = container_of(attr, struct dev_ext_attribute, attr);
	u64 val;

	spin_lock(&tpmreserve.stats_lock);
	val = *(u64 *)ea->var;
	spin_unlock(&tpmreserve.stats_lock);
	return sysfs_emit(buf, "%llu\n", val);
}

static struct dev_ext_attribute dev_attr_windows_begun = {
	__ATTR(windows_begun, 0444, counter_show, NULL), &tpmreserve.windows_begun
};

static struct dev_ext_attribute dev_attr_windows_ended = {
	__ATTR(windows_ended, 0444, counter_show, NULL), &tpmreserve.windows_ended
};

static struct dev_ext_attribute dev_attr_windows_expired = {
	__ATTR(windows_expired, 0444, counter_show, NULL), &tpmreserve.windows_expired
};

static struct dev_ext_attribute dev_attr_commands_passed = {
	__ATTR(commands_passed, 0444, counter_show, NULL), &tpmreserve.commands_passed
};

static struct dev_ext_attribute dev_attr_commands_refused = {
	__ATTR(commands_refused, 0444, counter_show, NULL), &tpmreserve.commands_refused
};

static struct dev_ext_attribute dev_attr_longest_hold_us = {
	__ATTR(longest_hold_us, 0444, counter_show, NULL), &tpmreserve.longest_hold_us
};

static struct dev_ext_attribute dev_attr_total_hold_us = {
	__ATTR(total_hold_us, 0444, counter_show, NULL), &tpmreserve.total_hold_us
};

static ssize_t owner_pid_show(struct device *d, struct device_attribute *attr, char *buf)
{
	pid_t pid;

	spin_lock(&tpmreserve.stats_lock);
	pid = tpmreserve.owner_pid;
	spin_unlock(&tpmreserve.stats_lock);
	return sysfs_emit(buf, "%d\n", pid);
}
static DEVICE_ATTR_RO(owner_pid);

static ssize_t chip_show(struct device *d, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", dev_name(&tpmreserve.chip->dev));
}
static DEVICE_ATTR_RO(chip);

static struct attribute *tpmreserve_attrs[] = {
	&dev_attr_windows_begun.attr.attr,
	&dev_attr_windows_ended.attr.attr,
	&dev_attr_windows_expired.attr.attr,
	&dev_attr_commands_passed.attr.attr,
	&dev_attr_commands_refused.attr.attr,
	&dev_attr_owner_pid.attr,
	&dev_attr_longest_hold_us.attr.attr,
	&dev_attr_total_hold_us.attr.attr,
	&dev_attr_chip.attr,
	NULL,
};
ATTRIBUTE_GROUPS(tpmreserve);

/*
 * The TPM core exports no lookup by number, but every chip's device is in
 * the same class: take the class from the first chip and search it by name.
 */
static struct tpm_chip *tpmreserve_find_chip(int num)
{
	struct tpm_chip *first = tpm_default_chip();
	struct device *found;
	char name[16];

	if (!first || num < 0)
		return first;

	snprintf(name, sizeof(name), "tpm%d", num);
	found = class_find_device_by_name(first->dev.class, name);
	put_device(&first->dev);
	return found ? to_tpm_chip(found) : NULL;
}

static int __init tpmreserve_init(void)
{
	struct tpmreserve_dev *dev = &tpmreserve;
	int rc;

	dev->chip = tpmreserve_find_chip(chip);
	if (!dev->chip) {
		pr_err("tpmreserve: no TPM chip %d\n", chip);
		return -ENODEV;
	}
	rc = -ENODEV;
	if (!(dev->chip->flags & TPM_CHIP_FLAG_TPM2)) {
		dev_err(&dev->chip->dev, "tpmreserve: not a TPM 2.0 chip\n");
		goto out_put_chip;
	}
	rc = tpmreserve_read_commands(dev);
	if (rc) {
		dev_err(&dev->chip->dev, "tpmreserve: cannot read the command table: %d\n", rc);
		goto out_put_chip;
	}

	sema_init(&dev->window_sem, 1);
	spin_lock_init(&dev->stats_lock);
	dev->misc.minor = MISC_DYNAMIC_MINOR;
	dev->misc.name = "tpmreserve0";
	dev->misc.fops = &tpmreserve_fops;
	dev->misc.groups = tpmreserve_groups;
	dev->misc.mode = 0600;
	rc = misc_register(&dev->misc);
	if (rc)
		goto out_free_commands;

	dev_info(dev->misc.this_device, "reserves %s, %u commands known\n",
		 dev_name(&dev->chip->dev), dev->nr_commands);
	return 0;

out_free_commands:
	kfree(dev->cc_attrs);
out_put_chip:
	put_device(&dev->chip->dev);
	return rc;
}

static void __exit tpmreserve_exit(void)
{
	struct tpmreserve_dev *dev = &tpmreserve;

	misc_deregister(&dev->misc);
	kfree(dev->cc_attrs);
	put_device(&dev->chip->dev);
}

module_init(tpmreserve_init);
module_exit(tpmreserve_exit);

MODULE_DESCRIPTION("Reserve a TPM 2.0 chip for one process for a bounded window");
MODULE_LICENSE("GPL");
