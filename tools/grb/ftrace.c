// SPDX-License-Identifier: MIT
/*
 * ftrace.c - `grb ftrace show [--graph] [-t] FILE`: print a trace.dat that
 * grb's ftrace client wrote (libgrb-ftrace's reader: every offset and
 * length of the file is checked), as ftrace's trace file prints events,
 * or as its function_graph tracer prints function entries and exits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grb/grb.h>
#include <grb/ftrace.h>

#include "grb_tool.h"

const char ftrace_usage[] =
	"usage: grb ftrace show [--graph] [-t|--ns] FILE\n"
	"       grb ftrace record [-o FILE] [--preload LIST] [--pipe] -- PROGRAM [ARGS...]\n"
	"       (grb ftrace record --help for its options)\n"
	"\n"
	"Print the events of the trace.dat FILE (written by grb's ftrace client)\n"
	"in time order across CPUs, as ftrace's trace file does:\n"
	"  comm-pid [cpu] seconds.microseconds: event: fields\n"
	"  -t, --ns   full nanosecond timestamps\n"
	"  --graph    the function graph of funcgraph_entry/funcgraph_exit events\n"
	"             (nested calls with their durations), other events as comments\n"
	"\n"
	"trace-cmd report FILE reads the same files.\n";

/* The whole file in memory (NULL: said why). */
static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	size_t cap = 1 << 20, n = 0;
	char *buf = NULL, *nb;

	if (!fp) {
		fprintf(stderr, "grb ftrace show: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		size_t got;

		if (!buf || n == cap) {
			if (buf)
				cap *= 2;
			nb = (char *)realloc(buf, cap);
			if (!nb) {
				fprintf(stderr, "grb ftrace show: %s: out of memory\n", path);
				free(buf);
				fclose(fp);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, fp);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(fp)) {
		fprintf(stderr, "grb ftrace show: %s: read error\n", path);
		free(buf);
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	*len = n;
	return buf;
}

int cmd_ftrace(int argc, char **argv)
{
	const char *path = NULL;
	size_t len;
	char *buf;
	unsigned int flags = 0;
	int i, ret;

	if (argc >= 2 && !strcmp(argv[1], "record"))
		return cmd_ftrace_record(argc - 1, argv + 1);
	if (argc < 2 || strcmp(argv[1], "show")) {
		fputs(ftrace_usage,
		      argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? stdout :
											    stderr);
		return argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? 0 : 2;
	}
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--graph")) {
			flags |= GRB_FTRACE_SHOW_GRAPH;
		} else if (!strcmp(argv[i], "-t") || !strcmp(argv[i], "--ns")) {
			flags |= GRB_FTRACE_SHOW_NS;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(ftrace_usage, stdout);
			return 0;
		} else if (argv[i][0] == '-' || path) {
			fprintf(stderr, "grb ftrace show: unexpected argument '%s'\n\n", argv[i]);
			fputs(ftrace_usage, stderr);
			return 2;
		} else {
			path = argv[i];
		}
	}
	if (!path) {
		fputs(ftrace_usage, stderr);
		return 2;
	}
	buf = read_file(path, &len);
	if (!buf)
		return 1;
	ret = grb_ftrace_show(buf, len, stdout, flags);
	free(buf);
	if (ret) {
		fflush(stdout);
		fprintf(stderr, "grb ftrace show: %s: %s\n", path, grb_last_error());
		return 1;
	}
	if (fflush(stdout)) {
		fprintf(stderr, "grb ftrace show: writing: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
