// SPDX-License-Identifier: MIT
/*
 * corpus_layout.c DIR - every stream mapping of the attach corpus is of the
 * current shared-memory layout.  A corpus of an older layout is refused
 * whole by the header check, so the replay test would pass without reading
 * a single packet, and fuzzing would start from nothing: a layout change
 * must bring the corpus along (gen_corpus for the seeds, the regression
 * inputs converted).
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include <grb/grb.h>
#include <grb/static/layout.h>

int main(int argc, char **argv)
{
	struct grb_shm_stream h;
	unsigned int files = 0, bad = 0;
	struct dirent *e;
	char path[4096];
	DIR *d;

	if (argc != 2 || !(d = opendir(argv[1]))) {
		fprintf(stderr, "usage: corpus_layout DIR (a readable directory)\n");
		return 1;
	}
	while ((e = readdir(d))) {
		FILE *f;
		size_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		n = fread(&h, 1, sizeof(h), f);
		fclose(f);
		files++;
		if (n != sizeof(h) || h.magic != GRB_SHM_MAGIC || h.version != GRB_LAYOUT_VERSION ||
		    h.header_size != sizeof(struct grb_shm_stream)) {
			printf("corpus_layout: %s: version %u, header %u bytes; the layout is "
			       "version %u, %zu bytes\n",
			       e->d_name, n == sizeof(h) ? h.version : 0,
			       n == sizeof(h) ? h.header_size : 0, GRB_LAYOUT_VERSION,
			       sizeof(struct grb_shm_stream));
			bad++;
		}
	}
	closedir(d);
	printf("corpus_layout: %u files, %u of another layout\n", files, bad);
	return files && !bad ? 0 : 1;
}
