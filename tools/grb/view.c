// SPDX-License-Identifier: MIT
/*
 * view.c - `grb view DIR`: run babeltrace2 on the trace; without it, print
 * a per-packet summary of every stream file, read with libgrb-ctf's
 * trace-reading API (the clock from the metadata, the packet indexes).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <grb/grb.h>
#include <grb/ctf.h>

#include "grb_tool.h"

const char view_usage[] =
	"usage: grb view DIR [babeltrace2 arguments...]\n"
	"\n"
	"Print the events of the CTF trace in DIR with babeltrace2 (extra arguments\n"
	"are passed to it).  Without babeltrace2, print a per-packet summary read\n"
	"from the trace's index files.\n";

static void print_time(const struct grb_ctf_clock_info *clk, uint64_t cycles)
{
	uint64_t c = cycles + clk->offset;
	int64_t s = clk->offset_s + (int64_t)(c / clk->freq);
	uint64_t ns = (c % clk->freq) * 1000000000u / clk->freq;
	time_t tt = (time_t)s;
	struct tm tm;
	char buf[32];

	localtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
	printf("%s.%09" PRIu64, buf, ns);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A per-packet summary from index/<file>.idx of every stream file. */
static int view_index(const char *dir)
{
	struct grb_ctf_clock_info clk = { 1000000000u, 0, 0 };
	struct dirent *de;
	char **names = NULL;
	size_t nr = 0, i;
	uint64_t all_packets = 0, all_bytes = 0;
	int bad = 0;
	DIR *d = opendir(dir);

	if (!d) {
		fprintf(stderr, "grb view: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		char path[4096];
		struct stat sb;
		char **nn;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "metadata"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &sb) || !S_ISREG(sb.st_mode) || !sb.st_size)
			continue;
		nn = (char **)realloc(names, (nr + 1) * sizeof(*names));
		if (!nn)
			break;
		names = nn;
		names[nr] = strdup(de->d_name);
		if (names[nr])
			nr++;
	}
	closedir(d);
	qsort(names, nr, sizeof(*names), cmp_names);
	if (grb_ctf_read_clock(dir, &clk))
		fprintf(stderr, "grb view: %s (times below assume a 1 GHz clock from the epoch)\n",
			grb_last_error());
	printf("%-14s %8s %12s %10s  %-18s  %-18s %10s\n", "stream", "seq", "offset", "bytes",
	       "begin", "end", "discarded");
	for (i = 0; i < nr; i++) {
		char path[4096];
		struct grb_ctf_index_entry e;
		struct grb_ctf_index *idx;
		uint64_t sum = 0, packets = 0;
		struct stat sb;
		int ret;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &sb))
			continue;
		ret = grb_ctf_index_open(dir, names[i], &idx);
		if (ret) {
			if (ret == -EBADMSG)
				printf("%-14s (index too short)\n", names[i]);
			else if (ret == -EPROTO || ret == -EPROTONOSUPPORT)
				printf("%-14s (not a CTF packet index)\n", names[i]);
			else
				printf("%-14s (no index: %s)\n", names[i], strerror(-ret));
			bad = 1;
			continue;
		}
		while ((ret = grb_ctf_index_next(idx, &e)) == 0) {
			printf("%-14s %8" PRIu64 " %12" PRIu64 " %10" PRIu64 "  ", names[i],
			       e.packet_seq_num, e.offset, e.packet_size / 8);
			print_time(&clk, e.timestamp_begin);
			printf("  ");
			print_time(&clk, e.timestamp_end);
			printf(" %10" PRIu64 "\n", e.events_discarded);
			sum += e.packet_size / 8;
			packets++;
		}
		if (ret != -ENODATA)
			bad = 1; /* a truncated or unreadable index: the sizes differ */
		grb_ctf_index_close(idx);
		all_packets += packets;
		all_bytes += sum;
		if (sum != (uint64_t)sb.st_size) {
			printf("%-14s index covers %" PRIu64 " of %" PRIu64 " bytes\n", names[i],
			       sum, (uint64_t)sb.st_size);
			bad = 1;
		}
	}
	printf("%zu stream files, %" PRIu64 " packets, %" PRIu64 " bytes\n", nr, all_packets,
	       all_bytes);
	for (i = 0; i < nr; i++)
		free(names[i]);
	free(names);
	return bad;
}

int cmd_view(int argc, char **argv)
{
	char path[4096];
	struct stat sb;
	char **args;
	int i;

	if (argc < 2) {
		fputs(view_usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(view_usage, stdout);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/metadata", argv[1]);
	if (stat(path, &sb)) {
		fprintf(stderr, "grb view: %s is not a CTF trace directory (%s: %s)\n", argv[1],
			path, strerror(errno));
		return 1;
	}
	args = (char **)calloc((size_t)argc + 1, sizeof(*args));
	if (!args) {
		fprintf(stderr, "grb view: out of memory\n");
		return 1;
	}
	args[0] = (char *)"babeltrace2";
	args[1] = argv[1];
	for (i = 2; i < argc; i++)
		args[i] = argv[i];
	fflush(stdout);
	execvp("babeltrace2", args);
	free(args);
	if (errno != ENOENT) {
		fprintf(stderr, "grb view: running babeltrace2: %s\n", strerror(errno));
		return 1;
	}
	fprintf(stderr, "babeltrace2 is not installed (Debian: apt-get install babeltrace2)\n");
	fprintf(stderr, "grb view: a per-packet summary from the index files follows\n");
	view_index(argv[1]);
	return 1;
}
