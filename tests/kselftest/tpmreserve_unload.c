// SPDX-License-Identifier: BSD-2-Clause
/*
 * tpmreserve's life cycle: rmmod is refused while the device is open,
 * load and unload repeat cleanly, and a chip that goes away during a
 * window (a vTPM whose swtpm dies) fails the window without harm.  Runs
 * last: it reloads the module and leaves it loaded with default settings.
 * TPMRESERVE_KO names the module file (default kmod/tpmreserve.ko).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "tpm_helpers.h"

#define RESERVE	"/dev/tpmreserve0"

static const char *module_file(void)
{
	const char *ko = getenv("TPMRESERVE_KO");

	return ko ? ko : "kmod/tpmreserve.ko";
}

static int module_unload(void)
{
	return system("rmmod tpmreserve 2>/dev/null");
}

static int module_load(const char *params)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "insmod %s %s", module_file(), params);
	return system(cmd);
}

/* A window that passes one command: the module works. */
static int window_works(void)
{
	int fd = open(RESERVE, O_RDWR), rc;

	if (fd < 0)
		return -errno;
	rc = window_begin(fd, 1000);
	if (!rc)
		rc = (int)tpm_get_random(fd, 8);
	if (!rc)
		rc = window_end(fd, NULL);
	close(fd);
	return rc;
}

/* Test 9: rmmod is refused while the device is open; 20 load/unload cycles. */
TEST(rmmod)
{
	int fd, i;

	ASSERT_EQ(0, window_works());
	fd = open(RESERVE, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, window_begin(fd, 5000));
	EXPECT_NE(0, module_unload());
	EXPECT_EQ(0, tpm_get_random(fd, 8));
	EXPECT_EQ(0, window_end(fd, NULL));
	EXPECT_NE(0, module_unload());
	close(fd);

	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, module_unload());
		ASSERT_EQ(0, module_load(""));
		ASSERT_EQ(0, window_works());
	}
}

/* Start swtpm on a new vTPM proxy chip; returns its pid and sets *chip. */
static pid_t start_vtpm(int *chip)
{
	char line[256], dir[] = "/tmp/vtpm.XXXXXX";
	FILE *out;
	int p[2], i;
	pid_t pid;

	if (system("modprobe tpm_vtpm_proxy") || !mkdtemp(dir) || pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		char state[64];

		snprintf(state, sizeof(state), "dir=%s", dir);
		dup2(p[1], 1);
		close(p[0]);
		execlp("swtpm", "swtpm", "chardev", "--vtpm-proxy", "--tpm2",
		       "--tpmstate", state, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	out = fdopen(p[0], "r");
	*chip = -1;
	/* swtpm: "New TPM device: /dev/tpm1 (major/minor = 253/1)" */
	while (out && fgets(line, sizeof(line), out))
		if (sscanf(line, "New TPM device: /dev/tpm%d", chip) == 1)
			break;
	if (out)
		fclose(out);
	if (*chip < 0)
		return -1;

	/* The proxy registers the chip once swtpm has answered its Startup. */
	snprintf(line, sizeof(line), "/sys/class/tpm/tpm%d", *chip);
	for (i = 0; i < 100 && access(line, F_OK); i++)
		usleep(50 * 1000);
	return access(line, F_OK) ? -1 : pid;
}

/* Test 10: the vTPM disappears during a window; the window fails cleanly. */
TEST(vtpm_removed)
{
	struct tpmreserve_end res;
	char params[32], path[32];
	struct stat st;
	int chip, fd, i, status;
	pid_t swtpm;

	swtpm = start_vtpm(&chip);
	ASSERT_LT(0, swtpm) TH_LOG("cannot start swtpm on a vTPM proxy");
	ASSERT_EQ(0, module_unload());
	snprintf(params, sizeof(params), "chip=%d", chip);
	ASSERT_EQ(0, module_load(params));

	fd = open(RESERVE, O_RDWR);
	EXPECT_LE(0, fd);
	EXPECT_EQ(0, window_begin(fd, 10000));
	EXPECT_EQ(0, tpm_get_random(fd, 8));

	/*
	 * swtpm's exit closes the proxy, which unregisters the chip; that
	 * waits for the window, so swtpm is reaped only after the window
	 * has failed.
	 */
	kill(swtpm, SIGKILL);
	usleep(300 * 1000);
	EXPECT_EQ(-EIO, tpm_get_random(fd, 8));
	EXPECT_EQ(-EIO, window_end(fd, &res));
	EXPECT_EQ(TPMRESERVE_END_CHIP_ERROR, res.how);
	EXPECT_GT(5000000, res.hold_us);
	waitpid(swtpm, &status, 0);

	snprintf(path, sizeof(path), "/dev/tpm%d", chip);
	for (i = 0; i < 50 && stat(path, &st) == 0; i++)
		usleep(100 * 1000);
	EXPECT_NE(0, stat(path, &st)) TH_LOG("%s still exists", path);
	EXPECT_EQ(-ENODEV, window_begin(fd, 1000));
	close(fd);

	EXPECT_EQ(0, module_unload());
	EXPECT_EQ(0, module_load(""));
	EXPECT_EQ(0, window_works());
}

TEST_HARNESS_MAIN
