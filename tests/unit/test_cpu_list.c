// SPDX-License-Identifier: MIT
/*
 * test_cpu_list.c - the user-space environment's reading of a Linux CPU
 * list (/sys/devices/system/cpu/possible): the span of CPU ids, holes
 * included, and 0 for anything that is not such a list (the caller then
 * falls back).  It tests that environment, not the API: it links the
 * static library, where the reader is, and declares it as
 * src/env/user/cpu_list.h does, since no file outside src/ includes a
 * private header.
 */
#include <stdio.h>
#include <string.h>

/* As declared in src/env/user/cpu_list.h. */
int _grb_env_cpu_list_span(const char *text, size_t len);

#include "check.h"

static void expect(const char *text, int span)
{
	int got = _grb_env_cpu_list_span(text, strlen(text));

	if (got != span)
		fprintf(stderr, "\"%s\": %d, expected %d\n", text, got, span);
	CHECK(got == span);
}

int main(void)
{
	char buf[1024];
	FILE *f;

	/* Lists, with and without their newline. */
	expect("0-3,8-11", 12);
	expect("0-3,8-11\n", 12);
	expect("0", 1);
	expect("0\n", 1);
	expect("0,2", 3);
	expect("0-1\n", 2);
	expect("5", 6);
	expect("8-11,0-3", 12);
	expect("0-4095\n", 4096);
	expect("0,1,2,3,63", 64);
	expect("7-7", 8);
	/* Not lists. */
	expect("", 0);
	expect("\n", 0);
	expect("x", 0);
	expect("0-3,8-11x", 0);
	expect("3-1", 0);
	expect("0-", 0);
	expect("-1", 0);
	expect(",0", 0);
	expect("0,", 0);
	expect("0,,1", 0);
	expect("0 1", 0);
	expect("0-7:2/4", 0);
	expect("0\n1", 0);
	expect("99999999999999999999", 0);
	expect("0-4194304", 0);
	/* len bounds the text; a NUL ends it. */
	CHECK(_grb_env_cpu_list_span("0-3,8-11", 3) == 4);
	CHECK(_grb_env_cpu_list_span("0-3,8-11", 4) == 0);
	CHECK(_grb_env_cpu_list_span("0-3\0,99", 8) == 4);
	CHECK(_grb_env_cpu_list_span("12", 0) == 0);

	/* This machine's list reads as one. */
	f = fopen("/sys/devices/system/cpu/possible", "r");
	if (f) {
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);

		fclose(f);
		buf[len] = 0;
		printf("this machine's possible CPUs: %.*s, span %d\n", (int)strcspn(buf, "\n"),
		       buf, _grb_env_cpu_list_span(buf, len));
		CHECK(_grb_env_cpu_list_span(buf, len) > 0);
	}
	return check_exit("test_cpu_list");
}
