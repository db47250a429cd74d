// SPDX-License-Identifier: MIT
/*
 * main.c - the grb command line tool: dispatch to a command.
 *
 *	grb record [-o DIR] [--duration S] [--mode discard|overwrite]
 *		   [--subbuf-size N] [--subbuf-count N] [--threads N] [--clock C]
 *	grb record [-o DIR] [--preload LIST] [options] -- PROGRAM [ARGS...]
 *	grb record --attach BUFFERS_DIR [-o DIR] [--duration S]
 *	grb profile [-F HZ] [-o FILE] [--folded FILE] -- PROGRAM [ARGS...]
 *	grb recover BUFFERS_DIR -o DIR
 *	grb view DIR [babeltrace2 arguments...]
 *	grb ftrace show [--graph] [-t] FILE
 *	grb help [record|profile|recover|view|ftrace]
 *	grb --version
 *
 * `record` (record.c) runs a built-in workload (workload.c: a simulated
 * request-processing server, several threads writing typed CTF events as
 * fast as they can) into a per-CPU channel and writes a CTF trace that
 * babeltrace2 and Trace Compass read, or, with a PROGRAM, records it and
 * every process it starts (session.c), or, with --attach, takes over the
 * buffers of such a recording whose recorder died (takeover.c); `recover`
 * (recover.c) makes the
 * trace of the buffers such a recording left when it and its programs
 * died; `view` (view.c) shows a trace with
 * babeltrace2; `ftrace show` (ftrace.c) prints a trace.dat of the ftrace
 * client as ftrace's trace file does.
 */
#include <stdio.h>
#include <string.h>

#include <grb/grb.h>

#include "grb_tool.h"

static const char main_usage[] =
	"usage: grb <command> [options]\n"
	"\n"
	"commands:\n"
	"  record   write a CTF trace of a built-in multi-threaded workload, or of\n"
	"           a program and its processes (grb record [options] -- PROGRAM),\n"
	"           or take over a killed one's buffers (--attach BUFFERS_DIR)\n"
	"  profile  sample a program's threads on their CPU time into a perf.data\n"
	"           (grb profile [-F HZ] [-o FILE] [--folded FILE] -- PROGRAM)\n"
	"  recover  the CTF trace of the buffers a killed `grb record --buffers`\n"
	"           left (grb recover BUFFERS_DIR -o DIR)\n"
	"  view     print a CTF trace with babeltrace2\n"
	"  ftrace   ftrace show FILE: print a trace.dat of grb's ftrace client\n"
	"  help     this help (grb <command> --help for a command's options)\n"
	"\n"
	"example:\n"
	"  grb record -o /tmp/t1 --duration 1 && grb view /tmp/t1 | head\n"
	"  grb record -o /tmp/t2 --preload libc -- python3 -c 'print(1)'\n"
	"  grb profile -F 999 -o /tmp/perf.data -- xz -9 -k FILE && perf report -i /tmp/perf.data\n";

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(main_usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "record"))
		return cmd_record(argc - 1, argv + 1);
	if (!strcmp(argv[1], "profile"))
		return cmd_profile(argc - 1, argv + 1);
	if (!strcmp(argv[1], "view"))
		return cmd_view(argc - 1, argv + 1);
	if (!strcmp(argv[1], "recover"))
		return cmd_recover(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ftrace"))
		return cmd_ftrace(argc - 1, argv + 1);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		if (argc > 2 && !strcmp(argv[2], "record"))
			fputs(record_usage, stdout);
		else if (argc > 2 && !strcmp(argv[2], "profile"))
			fputs(profile_usage, stdout);
		else if (argc > 2 && !strcmp(argv[2], "view"))
			fputs(view_usage, stdout);
		else if (argc > 2 && !strcmp(argv[2], "recover"))
			fputs(recover_usage, stdout);
		else if (argc > 2 && !strcmp(argv[2], "ftrace"))
			fputs(ftrace_usage, stdout);
		else
			fputs(main_usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("grb %s\n", grb_version());
		return 0;
	}
	fprintf(stderr, "grb: unknown command '%s'\n\n", argv[1]);
	fputs(main_usage, stderr);
	return 2;
}