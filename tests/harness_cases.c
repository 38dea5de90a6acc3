// SPDX-License-Identifier: GPL-2.0-only
/*
 * harness_cases - prints every case of a kselftest_harness program, one per
 * line, named as the harness names it when it runs the case:
 * fixture[.variant].test. Built with the program's own source included
 * (HARNESS_PROGRAM), so the list always matches the binary; the upstream
 * selftest's runner uses it to report each case it does not run as a SKIP
 * with a reason, so every case appears in the results.
 *
 * The harness's fixture list is walked the way test_harness_run() walks it:
 * fixtures, then their variants (a fixture without one has a single unnamed
 * variant), then the fixture's tests.
 */
#include "kselftest_harness.h"

/* the program's own main() is not wanted: this file brings its own */
#undef TEST_HARNESS_MAIN
#define TEST_HARNESS_MAIN
#include HARNESS_PROGRAM

int main(void)
{
	struct __fixture_variant_metadata no_variant = { .name = "" };
	struct __fixture_variant_metadata *v;
	struct __fixture_metadata *f;
	struct __test_metadata *t;

	for (f = __fixture_list; f; f = f->next)
		for (v = f->variant ? f->variant : &no_variant; v; v = v->next)
			for (t = f->tests; t; t = t->next)
				printf("%s%s%s.%s\n", f->name, v->name[0] ? "." : "",
				       v->name, t->name);
	return 0;
}
