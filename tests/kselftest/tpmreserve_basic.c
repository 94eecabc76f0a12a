// SPDX-License-Identifier: BSD-2-Clause
/*
 * tpmreserve basics: a window passes commands through, the rules refuse
 * what they must, and windows end by END, expiry and close.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "tpm_helpers.h"

#define RESERVE	"/dev/tpmreserve0"

TEST(begin_write_read_end)
{
	struct tpmreserve_end res;
	int fd = open(RESERVE, O_RDWR);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTCONN, tpm_get_random(fd, 8));
	ASSERT_EQ(0, window_begin(fd, 2000));
	EXPECT_EQ(0, tpm_get_random(fd, 8));
	EXPECT_EQ(0, tpm_get_random(fd, 32));
	ASSERT_EQ(0, window_end(fd, &res));
	EXPECT_EQ(TPMRESERVE_END_BY_OWNER, res.how);
	EXPECT_EQ(2, res.commands);
	EXPECT_EQ(-ENOTCONN, tpm_get_random(fd, 8));
	close(fd);
}

TEST_HARNESS_MAIN
