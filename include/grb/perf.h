/* SPDX-License-Identifier: MIT */
/*
 * grb/perf.h - the perf client (libgrb-perf): records laid out as perf's
 * ring buffer has them, a CPU-time sampler that writes them from a signal
 * handler, a consumer view with perf's data_head / data_tail, and a writer
 * of perf.data files that `perf report` and `perf script` read.
 * doc/perf.md describes the layout and what maps to what in perf.
 *
 * The channel: per-thread streams written by their own thread (the
 * single-writer sync; the thread's signal handlers nest in its
 * reservations), discard mode, no packet header.  Every record is one or
 * two perf records, each `struct perf_event_header { u32 type; u16 misc;
 * u16 size; }` then its body, 8-byte aligned:
 *
 *	PERF_RECORD_SAMPLE (9), misc PERF_RECORD_MISC_USER, sample_type
 *	GRB_PERF_SAMPLE_TYPE = IP | TID | TIME | PERIOD | CALLCHAIN:
 *		u64 ip; u32 pid, tid; u64 time; u64 period;
 *		u64 nr; u64 ips[nr] = PERF_CONTEXT_USER, ip, return addresses
 *	PERF_RECORD_LOST_SAMPLES (13), placed just before the first sample
 *	written after samples were lost on the thread's stream (the core's
 *	in-band count, struct grb_ctx.lost), with sample_id_all's trailer:
 *		u64 lost; u32 pid, tid; u64 time
 *
 * so the bytes of a record are what a perf.data file holds.
 *
 * Real-time contract:
 *
 * | function                                  | signal-safe | progress  | system calls |
 * |-------------------------------------------|-------------|-----------|--------------|
 * | grb_perf_write_sample                     | yes         | wait-free | a thread's first record: gettid, the core's |
 * | grb_perf_channel_create                   | no          | blocking  | mmap         |
 * | grb_perf_mmap_*                           | no          | lock-free (wait: blocking) | malloc (open), futex (wait) |
 * | grb_perf_sampler_create / destroy         | no          | blocking  | sigaction, malloc |
 * | grb_perf_sampler_thread_start / stop      | no          | blocking  | timer_create/settime/delete, malloc |
 * | the sampler's signal handler              | yes         | wait-free | none of its own |
 * | grb_perf_data_*                           | no          | blocking  | malloc, open, read, write |
 */
#ifndef GRB_PERF_H
#define GRB_PERF_H

#include <stdint.h>
#include <grb/config.h>
#include <grb/channel.h>
#include <grb/reader.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* perf's record types and bits this client writes (linux/perf_event.h). */
#define GRB_PERF_RECORD_MMAP 1u
#define GRB_PERF_RECORD_COMM 3u
#define GRB_PERF_RECORD_SAMPLE 9u
#define GRB_PERF_RECORD_MMAP2 10u
#define GRB_PERF_RECORD_LOST_SAMPLES 13u
#define GRB_PERF_MISC_KERNEL 1u
#define GRB_PERF_MISC_USER 2u
#define GRB_PERF_CONTEXT_USER ((uint64_t)-512)
/* IP (0x1) | TID (0x2) | TIME (0x4) | CALLCHAIN (0x20) | PERIOD (0x100). */
#define GRB_PERF_SAMPLE_TYPE 0x127ull
/* A record discarded after its reservation: never written to a file. */
#define GRB_PERF_RECORD_DISCARDED 0x47520000u

#define GRB_PERF_HEADER_SIZE 8u
#define GRB_PERF_SAMPLE_FIXED 48u /* a sample without its ips[] */
#define GRB_PERF_LOST_SIZE 32u /* LOST_SAMPLES with its trailer */
/* Most return addresses a sample carries (perf's default max stack). */
#define GRB_PERF_MAX_CALLERS 125u
/* Largest sample: a LOST_SAMPLES before a sample with the longest chain. */
#define GRB_PERF_MAX_SAMPLE \
	(GRB_PERF_LOST_SIZE + GRB_PERF_SAMPLE_FIXED + 8u * (GRB_PERF_MAX_CALLERS + 2u))
/* Room for any one perf record (its size is a u16). */
#define GRB_PERF_BOUNCE_SIZE 65536u
/* Smallest data area of a consumer view: room for any record of a stream
 * (a LOST_SAMPLES and a record of up to 64 KiB), a power of two. */
#define GRB_PERF_MMAP_MIN_SIZE 131072u

struct grb_perf_event_header {
	uint32_t type;
	uint16_t misc;
	uint16_t size;
};

/** A sample to write: what a PERF_RECORD_SAMPLE holds but its time, which
 * is the reservation's (the channel's clock, CLOCK_MONOTONIC). */
struct grb_perf_sample {
	uint64_t ip;
	uint32_t pid;
	uint32_t tid;
	uint64_t period; /* cpu-clock: the nanoseconds of CPU time it stands for */
	uint32_t nr_callers; /* at most GRB_PERF_MAX_CALLERS (more are cut) */
	uint32_t _pad;
	const uint64_t *callers; /* return addresses, innermost first */
};

/**
 * grb_perf_config() - the client's configuration (per-thread streams,
 * single-writer sync, discard mode, writer wake-ups).  Readers need not
 * name it; a writer of records of its own reserves with it
 * (grb_reserve(grb_perf_config(), ...), event_id = the perf record type,
 * client_word = its misc bits; the record's size is set from payload_len,
 * at most GRB_PERF_BOUNCE_SIZE - 8 - GRB_PERF_LOST_SIZE bytes; the record
 * must end with sample_id_all's trailer, u32 pid, tid, u64 time = ctx.ts).
 */
const struct grb_config *grb_perf_config(void);

/**
 * grb_perf_channel_attr_init() - attributes for a perf channel: sub-buffers
 * of 64 KiB, 8 of them per stream, 64 streams (threads).
 * @wake_events: like perf's wakeup_events: wake a waiting consumer every
 *	this many records of a sub-buffer (a power of two); 0: see watermark
 * @wake_watermark: like perf's wakeup_watermark: every this many committed
 *	bytes (a power of two, at most the sub-buffer size); if both are 0,
 *	at each delivered sub-buffer
 */
void grb_perf_channel_attr_init(struct grb_channel_attr *attr, uint32_t wake_events,
				uint32_t wake_watermark);

/** grb_perf_channel_create() - grb_channel_create() with the perf client's
 * configuration.  Return: the channel, or NULL with errno (as
 * grb_channel_create()). */
struct grb_channel *grb_perf_channel_create(const struct grb_channel_attr *attr);

/**
 * grb_perf_write_sample() - write one PERF_RECORD_SAMPLE into the calling
 * thread's stream.  Async-signal-safe; nests inside a reservation of the
 * same thread.
 * @ts: if not NULL, set to the sample's time
 * Return: grb_reserve()'s codes (0, -ENOSPC lost and counted, ...).
 */
int grb_perf_write_sample(struct grb_channel *ch, const struct grb_perf_sample *s, uint64_t *ts);

/** grb_perf_record_decode() - the configuration's decoder (for readers of
 * the streams who call it themselves). */
int grb_perf_record_decode(const struct grb_config *cfg, void *client_data, const void *rec,
			   size_t avail, uint64_t prev_ts, struct grb_record *out);

/*
 * The consumer view of one stream, with perf's data_head and data_tail:
 * a data area of a power-of-two size holding perf records back to back
 * (a record may wrap around the end of the area, as in perf's mmap).
 * data_head is where the records committed in the stream end, as far as
 * the area has room for them (the view copies committed records from the
 * stream, consuming them there, while they fit between data_head and
 * data_tail + size); data_tail is what the consumer has released.  Both
 * are free-running byte counts.  A consumer loops: head = data_head(),
 * read the records from its tail to head (grb_perf_mmap_event()), then
 * set_tail(head).  Records the stream lost reach it in band, as
 * PERF_RECORD_LOST_SAMPLES.  One thread at a time uses a view.
 */
struct grb_perf_mmap;

/** Return: the view, or NULL with errno (EINVAL: size not a power of two
 * at least GRB_PERF_MMAP_MIN_SIZE; as grb_iter_create()). */
struct grb_perf_mmap *grb_perf_mmap_open(struct grb_channel *ch, uint32_t stream, uint32_t size);
int grb_perf_mmap_close(struct grb_perf_mmap *m);
/** The committed position, after copying what fits. */
uint64_t grb_perf_mmap_data_head(struct grb_perf_mmap *m);
uint64_t grb_perf_mmap_data_tail(const struct grb_perf_mmap *m);
/** Release up to tail.  Return: 0; -EINVAL tail behind the current tail or
 * past data_head, or not at a record boundary. */
int grb_perf_mmap_set_tail(struct grb_perf_mmap *m, uint64_t tail);
/** The record at pos (between data_tail and data_head, at a record's
 * start); copied into bounce (GRB_PERF_BOUNCE_SIZE bytes) if it wraps.
 * Return: the record, or NULL if pos is out of range. */
const struct grb_perf_event_header *grb_perf_mmap_event(const struct grb_perf_mmap *m, uint64_t pos,
							void *bounce);
/** Sleep until the stream's wake-up policy fires (or timeout_ns passes).
 * Return: 0, -ETIMEDOUT, -ESHUTDOWN. */
int grb_perf_mmap_wait(struct grb_perf_mmap *m, uint64_t timeout_ns);
/** Sub-buffers or records the view skipped as corrupt (-EPROTO). */
uint64_t grb_perf_mmap_corrupt(const struct grb_perf_mmap *m);

/*
 * The sampler: a CPU-time timer per thread (timer_create on
 * CLOCK_THREAD_CPUTIME_ID, delivered to that thread with SIGEV_THREAD_ID),
 * so each thread is sampled for the CPU time it uses, as perf's cpu-clock
 * event.  The signal handler writes a sample with the interrupted
 * instruction pointer, the thread's ids, the time and a frame-pointer call
 * chain read only inside the thread's stack (bounds taken at
 * grb_perf_sampler_thread_start()).  One sampler at a time per process.
 */
struct grb_perf_sampler;

struct grb_perf_sampler_attr {
	uint32_t size; /* sizeof(struct grb_perf_sampler_attr) */
	uint32_t freq_hz; /* samples per second of a thread's CPU time (default 999) */
	int signo; /* the timer's signal (default SIGPROF) */
	/* The timers' clock: CLOCK_THREAD_CPUTIME_ID (default: CPU time, as
	 * perf's cpu-clock; the kernel checks such timers at its tick, so a
	 * thread takes at most HZ signals per second of CPU, each sample's
	 * period counting the periods it stands for), or CLOCK_MONOTONIC
	 * (wall time: every thread, running or not, at the full rate). */
	int clock;
};

struct grb_perf_sampler_stats {
	uint64_t written; /* samples the handler tried to write (one per run on
			   * an armed thread) */
	uint64_t committed; /* those grb_perf_write_sample() accepted */
	uint64_t refused; /* those it refused (lost, counted by the channel) */
	uint64_t threads; /* threads armed since creation */
};

void grb_perf_sampler_attr_init(struct grb_perf_sampler_attr *attr);
/** Installs the signal handler.  Return: the sampler, or NULL with errno
 * (EBUSY: another sampler exists; EINVAL). */
struct grb_perf_sampler *grb_perf_sampler_create(struct grb_channel *ch,
						 const struct grb_perf_sampler_attr *attr);
/** Arm the calling thread's timer, after taking its stack bounds.
 * Return: 0; -EALREADY; -ENOMEM; -errno of pthread_getattr_np,
 * timer_create or timer_settime. */
int grb_perf_sampler_thread_start(struct grb_perf_sampler *s);
/** Disarm and delete the calling thread's timer, and add its counts to the
 * sampler's.  Call it before the thread exits.  Return: 0; -EINVAL if the
 * thread was not started. */
int grb_perf_sampler_thread_stop(struct grb_perf_sampler *s);
/** The counts of the threads stopped so far. */
int grb_perf_sampler_stats(struct grb_perf_sampler *s, struct grb_perf_sampler_stats *st);
/** The period in ns one sample stands for (1e9 / freq_hz). */
uint64_t grb_perf_sampler_period(const struct grb_perf_sampler *s);
/** Every thread must have stopped.  Restores the previous handler.
 * Return: 0; -EBUSY a thread is still armed. */
int grb_perf_sampler_destroy(struct grb_perf_sampler *s);

/*
 * The perf.data writer: the file header, one attribute (cpu-clock), a data
 * section with COMM and MMAP2 records then the records drained from the
 * channel in time order (grb_merge), and a few header features.
 */
struct grb_perf_data;

struct grb_perf_data_attr {
	uint32_t size; /* sizeof(struct grb_perf_data_attr) */
	/* The process that writes the channel (its losses at close are
	 * reported under it); 0: this process. */
	uint32_t pid;
	uint64_t sample_freq; /* Hz the attribute says (freq flag); 0: use sample_period */
	uint64_t sample_period; /* ns, when sample_freq is 0 */
	/* The time of the COMM and MMAP2 records (at or before every sample,
	 * or perf resolves no symbol); 0: the smaller of the first drained
	 * record's time and the time of grb_perf_data_create(). */
	uint64_t start_ts;
	const char *cmdline; /* the CMDLINE feature; NULL: /proc/self/cmdline */
	/* If not NULL, also write the samples as folded stacks
	 * ("outer;...;inner count" lines, symbols resolved from the ELF
	 * files of the maps) to this path at close. */
	const char *folded_path;
};

struct grb_perf_data_stats {
	uint64_t samples; /* PERF_RECORD_SAMPLE records written */
	uint64_t lost_samples; /* the sum of the PERF_RECORD_LOST_SAMPLES counts */
	uint64_t lost_records; /* PERF_RECORD_LOST_SAMPLES records written */
	uint64_t lost_at_close; /* of lost_samples: losses no record reported,
				 * written at close */
	uint64_t corrupt; /* records or packets the merge skipped as corrupt */
	uint64_t mmaps; /* MMAP2 records */
	uint64_t comms; /* COMM records */
	uint64_t data_size; /* bytes of the data section */
};

void grb_perf_data_attr_init(struct grb_perf_data_attr *attr);
/** Creates path (truncated) and a merge over ch.  Return: the writer, or
 * NULL with errno. */
struct grb_perf_data *grb_perf_data_create(const char *path, struct grb_channel *ch,
					   const struct grb_perf_data_attr *attr);
/** A PERF_RECORD_COMM for a thread (name cut to 15 bytes).  Return: 0, -errno. */
int grb_perf_data_add_comm(struct grb_perf_data *w, uint32_t pid, uint32_t tid, const char *comm);
/** A COMM for the process and each thread the sampler armed. */
int grb_perf_data_add_sampler_threads(struct grb_perf_data *w, struct grb_perf_sampler *s);
/** A PERF_RECORD_MMAP2 for each executable file mapping of /proc/PID/maps
 * now that an earlier call did not add (same pid, address, length, offset
 * and inode).  Return: the records added, or -errno. */
int grb_perf_data_add_maps(struct grb_perf_data *w, uint32_t pid);
/**
 * grb_perf_data_add_channel() - drain another channel into the same file:
 * one another process writes (grb_channel_attach()), whose samples carry
 * its pid; the COMM and MMAP2 records of that process are added as for
 * the first.  The channel must outlive the writer.  Each channel's
 * records are in time order; perf sorts those of different channels.
 * Return: the channel's index (the first channel is 0), or -errno.
 */
int grb_perf_data_add_channel(struct grb_perf_data *w, struct grb_channel *ch, uint32_t pid);
/** The samples and losses written so far of channel idx (samples,
 * lost_samples, lost_records, lost_at_close, corrupt).  Return: 0, -EINVAL. */
int grb_perf_data_channel_stats(const struct grb_perf_data *w, uint32_t idx,
				struct grb_perf_data_stats *st);
/** Write the records readable now, in time order.  Return: the records
 * written (0: none readable yet), -ENODATA once every channel is finalized (or its owner gone)
 * and drained, -errno. */
long grb_perf_data_drain(struct grb_perf_data *w);
/** Wait for the first channel's wake-up (at most timeout_ns).  Return: as
 * grb_merge_wait(). */
int grb_perf_data_wait(struct grb_perf_data *w, uint64_t timeout_ns);
/** Drain what is left (finalize the channel first to get everything),
 * report the losses no record reported, write the features, the folded
 * stacks, patch the header, close.  Return: 0 or -errno; the writer is
 * freed either way. */
int grb_perf_data_close(struct grb_perf_data *w, struct grb_perf_data_stats *st);

/**
 * grb_perf_symtab_open() - the function symbols of an ELF file, read as
 * the folded stacks read them: a 64-bit ELF of the host's byte order; its
 * .symtab; for a stripped file the .symtab of its debug file
 * (/usr/lib/debug/.build-id/xx/yyyy.debug, by its GNU build id) where one
 * is installed, else its .dynsym.  For naming the addresses of a process's
 * file mappings (/proc/PID/maps) after the fact.
 * Return: the table (close it), or NULL with errno (ENOEXEC: not such an
 * ELF file, or no function symbol).
 */
struct grb_perf_symtab;
struct grb_perf_symtab *grb_perf_symtab_open(const char *path);
/**
 * grb_perf_symtab_find() - the function holding the byte at file offset
 * off.  An address of a mapping of the file is at file offset address -
 * the mapping's start + its offset (what /proc/PID/maps prints); the
 * PT_LOAD segments turn the offset into the file's own address.
 * Return: the function's name (valid until the table is closed), with
 * off's distance from the function's start in *into (if not NULL); NULL
 * if no segment or no function holds off.
 */
const char *grb_perf_symtab_find(const struct grb_perf_symtab *t, uint64_t off, uint64_t *into);
/** Frees the table (NULL: nothing). */
void grb_perf_symtab_close(struct grb_perf_symtab *t);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* GRB_PERF_H */
