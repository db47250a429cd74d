/* SPDX-License-Identifier: MIT */
/*
 * check.h - the unit tests' assertion: counts failures and goes on, so
 * that one run reports every failed check; check_exit() ends the test.
 */
#ifndef GRB_TEST_CHECK_H
#define GRB_TEST_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			failures++;                                                              \
		}                                                                                \
	} while (0)

static inline int check_exit(const char *test)
{
	if (failures) {
		fprintf(stderr, "%s: %d checks failed\n", test, failures);
		return 1;
	}
	printf("%s: all checks passed\n", test);
	return 0;
}

#endif /* GRB_TEST_CHECK_H */
