/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the tpmreserve kselftests ask of the module and of other
 * processes: its sysfs counters, the TPM's handles seen from a window,
 * and whether a child process is asleep in a system call.  Header-only.
 */
#ifndef WINDOW_HELPERS_H
#define WINDOW_HELPERS_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "load_helpers.h"

#define RESERVE		"/dev/tpmreserve0"
#define RESERVE_SYSFS	"/sys/class/misc/tpmreserve0/"
#define MAX_WINDOW_MS	"/sys/module/tpmreserve/parameters/max_window_ms"

/* A number from a sysfs file; -1 if unreadable. */
static inline long long sysfs_number(const char *path)
{
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* One of the module's counters under /sys/class/misc/tpmreserve0/. */
static inline long long reserve_counter(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), RESERVE_SYSFS "%s", name);
	return sysfs_number(path);
}

/* Write @text to a sysfs file; 0 or -errno. */
static inline int sysfs_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY), rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Transient objects and sessions in the TPM, seen from inside a window. */
static inline int handles_in_tpm(void)
{
	int fd = open(RESERVE, O_RDWR), n = -1;

	if (fd < 0)
		return -1;
	if (window_begin(fd, 2000) == 0) {
		n = tpm_count_handles(fd);
		window_end(fd, NULL);
	}
	close(fd);
	return n;
}

/* The state letter in /proc/PID/stat (R, S, D, ...), or 0. */
static inline char proc_state(pid_t pid)
{
	char path[64], line[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = 0;
	p = strrchr(line, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * Wait up to @ms for @pid to be asleep in state @state ('S' interruptible,
 * 'D' uninterruptible); 0 once it is, -1 if it never was.
 */
static inline int wait_asleep(pid_t pid, char state, int ms)
{
	int i;

	for (i = 0; i < ms; i++) {
		if (proc_state(pid) == state)
			return 0;
		usleep(1000);
	}
	return -1;
}

/* Memory that forked children share with the test. */
static inline void *shared_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

#endif /* WINDOW_HELPERS_H */
