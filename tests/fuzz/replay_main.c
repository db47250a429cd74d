// SPDX-License-Identifier: MIT
/*
 * replay_main.c - runs a fuzz target on files, without libFuzzer: each
 * argument is a file or a directory whose files (sorted by name) are
 * given to LLVMFuzzerTestOneInput one by one.  The corpora run so as unit
 * tests in every build (doc/fuzzing.md).  A target fails by aborting; no
 * input at all is a failure too, so a lost corpus cannot pass.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	/* A copy of exactly its size: reading past it is an error. */
	buf = (uint8_t *)malloc(n ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	unsigned long files = 0;
	int i, bad = 0;

	for (i = 1; i < argc; i++) {
		struct dirent **names;
		struct stat st;
		int n, j;

		if (stat(argv[i], &st)) {
			fprintf(stderr, "replay: no %s\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad |= run_file(argv[i]);
			files++;
			continue;
		}
		n = scandir(argv[i], &names, NULL, by_name);
		if (n < 0) {
			fprintf(stderr, "replay: cannot list %s\n", argv[i]);
			return 1;
		}
		for (j = 0; j < n; j++) {
			char path[4096];

			if (names[j]->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", argv[i], names[j]->d_name);
				if (!stat(path, &st) && S_ISREG(st.st_mode)) {
					bad |= run_file(path);
					files++;
				}
			}
			free(names[j]);
		}
		free(names);
	}
	if (!files) {
		fprintf(stderr, "replay: no input\n");
		return 1;
	}
	printf("replay: %lu inputs, %s\n", files, bad ? "some unreadable" : "all passed");
	return bad ? 1 : 0;
}
