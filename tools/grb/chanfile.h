/* SPDX-License-Identifier: MIT */
/*
 * chanfile.h - the description file `grb record --buffers DIR` writes
 * beside each process's stream files, DIR/<prefix>.chan (<prefix> is
 * <name>_<pid>, or <name>_<pid>.<n> after an exec): what the process's
 * CHANNEL carried (pid, program and channel names, geometry, wake-up, the
 * event descriptions in the session encoding, the mode) and which recorder
 * drains it, so that `grb record --attach` can take the streams over after
 * the recorder died, and `grb recover` decode them after both ends died
 * (doc/session.md, "Buffers in a directory").
 */
#ifndef GRB_TOOL_CHANFILE_H
#define GRB_TOOL_CHANFILE_H

#include <stddef.h>
#include <stdint.h>
#include <grb/session.h>

#define CHANFILE_MAGIC "GRBCHAN1"
#define CHANFILE_VERSION 2u
#define CHANFILE_SUFFIX ".chan"
#define CHANFILE_PREFIX_MAX 64u /* with the NUL */

/* The file: this head, then events_size bytes of event descriptions.
 * Host byte order (the buffers and their readers are on one machine). */
struct chanfile_head {
	char magic[8];
	uint32_t version;
	uint32_t size; /* bytes of the whole file */
	int32_t pid; /* the writing process */
	int32_t recorder_pid;
	uint64_t recorder_start; /* its start time, /proc/<pid>/stat field 22 */
	uint32_t nr_streams, subbuf_size, subbuf_count, wakeup;
	uint32_t nr_events, events_size;
	char name[GRB_SESSION_NAME_MAX]; /* the channel's */
	char program[GRB_SESSION_PROGRAM_MAX];
	char prefix[CHANFILE_PREFIX_MAX]; /* of the stream files: <prefix>_<i> */
	/* Version 2: the channel's mode, GRB_MODE_DISCARD or
	 * GRB_MODE_OVERWRITE (a version 1 head ends before it: discard). */
	uint32_t mode;
	uint32_t _pad;
};

/* The bytes of a version 1 head. */
#define CHANFILE_HEAD_V1_SIZE offsetof(struct chanfile_head, mode)

/* A description read back and checked (of version 1 or 2: h is a
 * version 2 head, h.size the file's). */
struct chanfile {
	struct chanfile_head h;
	const struct grb_ctf_event_desc *const *events; /* nr_events of them */
	void *events_raw; /* their h.events_size bytes, as in the file */
};

/* The start time of process pid (/proc/<pid>/stat), 0 if it is gone. */
uint64_t chanfile_proc_start(int32_t pid);

/* Write dir/<prefix>.chan, version 2 (through a temporary name, then
 * rename: it replaces one that was there).  0 or a negative errno. */
int chanfile_write(const char *dir, const struct chanfile_head *h, const void *events);

/* Read and check dir/file (a name ending in .chan).  0 and *c (free
 * with chanfile_free), or a negative errno with why (at most size). */
int chanfile_read(const char *dir, const char *file, struct chanfile *c, char *why, size_t size);

/* Check a description held in memory (buf, len): 0 and *c, or as
 * chanfile_read. */
int chanfile_parse(const void *buf, size_t len, struct chanfile *c, char *why, size_t size);

/* Write c again as dir/<prefix>.chan (version 2), naming this process as
 * the recorder that drains its streams (grb record --attach).  0 or a
 * negative errno. */
int chanfile_claim(const char *dir, struct chanfile *c);

void chanfile_free(struct chanfile *c);

/* The names in dir, sorted, hidden ones (".") left out: *nr of them, to
 * free with chanfile_names_free(); NULL (and *nr 0) when dir cannot be
 * read or is empty. */
char **chanfile_list_dir(const char *dir, uint32_t *nr);
void chanfile_names_free(char **names, uint32_t nr);

/* Does name end in CHANFILE_SUFFIX (a description)? */
int chanfile_is_desc(const char *name);

/* Is name a stream file <prefix>_<digits> of one of the descriptions
 * <prefix>.chan among names? */
int chanfile_described(char *const *names, uint32_t nr, const char *name);

/* What a reader of a buffers directory (grb recover, grb record --attach)
 * could not read or drain, one line each, said at the end. */
struct chanfile_problems {
	char **line;
	uint32_t nr;
};

/* Adds a line (dropped if memory runs out: the exit status still says
 * something went wrong through the caller's own count). */
void chanfile_problem(struct chanfile_problems *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* head, then each line indented; nothing when there is none. */
void chanfile_problems_print(const struct chanfile_problems *p, const char *head);
void chanfile_problems_free(struct chanfile_problems *p);

#endif /* GRB_TOOL_CHANFILE_H */
