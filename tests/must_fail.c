// SPDX-License-Identifier: GPL-2.0-only
/*
 * must_fail - a guest suite that fails on purpose. Only the runner's own
 * self-test runs it, to prove that a failing guest test is reported as a
 * failure by make check, and a skipped one as skipped.
 */
#include "kselftest_harness.h"

TEST(passes)
{
	EXPECT_EQ(1, 1);
}

TEST(fails_on_purpose)
{
	EXPECT_EQ(1, 2) TH_LOG("this failure is expected by the runner self-test");
}

TEST(skips_on_purpose)
{
	SKIP(return, "this skip is expected by the runner self-test");
}

TEST_HARNESS_MAIN
