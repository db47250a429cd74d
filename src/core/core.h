/* SPDX-License-Identifier: MIT */
/*
 * core.h - what the core's files share: the private half of a
 * channel and the slow-path helpers.
 */
#ifndef GRB_CORE_CORE_H
#define GRB_CORE_CORE_H

#include <grb/grb.h>
#include "env.h"

/* owner value of a per-thread stream locked by a remote flush. */
#define GRB_OWNER_FLUSHING 0xffffffffu

struct grb_timer;

struct grb_channel_priv {
	struct grb_channel *next; /* registry list */
	struct grb_channel_attr attr;
	char name[64];
	/* Counted by writers (relaxed adds), so not in struct grb_channel,
	 * whose line every writer reads: here at least a line away from both
	 * ends of this structure, and so from the channel's allocation. */
	uint64_t filtered_cpu; /* records from CPUs outside the CPU set */
	int32_t *cpu_map;
	uint32_t nr_readers; /* under the registry lock */
	uint32_t destroyed;
	struct grb_timer *switch_timer;
	uint64_t max_payload;
	/* rseq sync: restartable sequences unusable, the streams use atomics. */
	uint32_t rseq_fallback;
	/* Per-thread alloc without a thread-exit hook: claims and flushes
	 * find the streams of exited threads (_grb_stream_lock_exited). */
	uint32_t no_exit_hook;
	/* attr's blocking_timeout_us and read_timer_us in ns, saturated:
	 * UINT64_MAX means forever (_grb_us_to_ns). */
	uint64_t blocking_timeout_ns;
	uint64_t read_timer_ns;
	char rseq_why[128]; /* why */
	/* grb_channel_fd(): -1 with GRB_WAKEUP_NONE. */
	int event_fd;
	/* GRB_WAKEUP_TIMER: signals event_fd when a stream published more. */
	struct grb_timer *read_timer;
	uint64_t *timer_seen; /* per stream: commit_pos + delivered_records seen */
	/* Shared backings (attr.backing): each stream's descriptor, -1 for
	 * none; the directory and the files' name (GRB_BACKING_DIR). */
	int *fds;
	/* Per stream: the physical index of the sub-buffer a consuming reader
	 * of this process owns (its spare, swapped in at each take).  In this
	 * process's memory: the consumer page's reader_spare is a copy for
	 * observers that no reader reads back, since any process that maps
	 * the stream can write it.  NULL for an attached channel (it copies,
	 * never swaps). */
	uint64_t *spare;
	char shm_path[256];
	char file_name[64];
	/* Written into every stream's header: the client's fingerprint
	 * (_grb_config_hash) and the writing process. */
	uint64_t client_hash;
	uint64_t writer_start;
	uint32_t writer_pid;
	/* A consumer's view of another process's streams (grb_channel_attach):
	 * it changes nothing there but its consumer pages.  orphaned: the
	 * writing process is gone (grb_channel_owner_alive() saw it), so
	 * readers end with -ENODATA once they have read everything committed. */
	uint32_t attached;
	uint32_t orphaned;
	/* An attached channel's per-stream _grb_env_guard_add() handles, -1
	 * for a sealed memory file (it cannot shrink); NULL otherwise. */
	int32_t *guards;
};

/* The parts of a stream's mapping (grb/static/layout.h). */
struct grb_stream_layout {
	uint64_t consumer_off, slots_off, data_off, map_size;
};

/* write.c */
int _grb_stream_flush(const struct grb_config *cfg, struct grb_stream *s);
void _grb_count_lost(struct grb_stream *s, enum grb_lost_cause cause);
uint64_t _grb_clear_noref(struct grb_stream *s, uint32_t slot);
void _grb_commit_bytes(const struct grb_config *cfg, struct grb_stream *s, uint64_t pos,
		       uint64_t add);
uint64_t _grb_lost_snapshot(const struct grb_stream *s);

/* A record lost because its thread has no stream (GRB_LOST_NO_STREAM):
 * counted in the mapping of the channel's first stream, where a consumer
 * in another process reads it.  relaxed: a statistic; the atomic add, as
 * writers of every stream may count at once. */
static inline void _grb_count_no_stream(struct grb_channel *ch)
{
	_grb_add_relaxed(&ch->streams[0].shm->lost[GRB_LOST_NO_STREAM], 1);
	_GRB_TP(LOST_COUNTED);
}
void _grb_invariant_failure(struct grb_stream *s, const char *what);

/* config.c */
int _grb_is_pow2(uint64_t v);
uint32_t _grb_log2(uint64_t v);
int _grb_config_validate(const struct grb_config *c);
int _grb_attr_validate(const struct grb_config *c, const struct grb_channel_attr *a);
uint32_t _grb_max_header(const struct grb_config *c); /* the largest record header */
/* The client's fingerprint: a hash of its record format, which a consumer
 * in another process must decode the same way. */
uint64_t _grb_config_hash(const struct grb_config *c);

/* stream.c: the layout of a stream of this geometry on pages of page
 * bytes: 0, or -EINVAL for a geometry no channel has. */
int _grb_stream_layout(uint32_t sb_order, uint32_t count_order, uint64_t page,
		       struct grb_stream_layout *l);
/* stream.c: lays out stream index of ch. */
int _grb_stream_init(struct grb_channel *ch, const struct grb_config *c, uint32_t index,
		     uint32_t cpu);

/* write.c: the calling thread's per-thread streams. */
_GRB_TLS_DECLARE(struct _grb_tls_stream[GRB_TLS_STREAMS], _grb_tls_streams);
/* select.c: the calling thread's per-thread stream of ch, claimed at its
 * first record; NULL (counted GRB_LOST_NO_STREAM) when none is free. */
struct grb_stream *_grb_stream_for_thread(struct grb_channel *ch);
/* select.c: gives the calling thread's per-thread streams back. */
void _grb_thread_exit(void);
/* select.c: locks s if its owner, a thread, has exited; 1 when locked. */
int _grb_stream_lock_exited(struct grb_stream *s, uint32_t owner);

/* reader.c: grb_reader_create() with its error as a negative errno. */
int _grb_reader_open(struct grb_channel *ch, uint32_t stream, uint32_t flags,
		     struct grb_reader **out);
/* reader.c: a consuming reader's next committed record of the open packet
 * (0, -EAGAIN, 1: look for a delivered packet again, -EPROTO, -ESHUTDOWN). */
int _grb_reader_next_in_place(struct grb_reader *r, struct grb_record *rec);
/* reader.c: fills a returned record's tid, lost and rflags. */
void _grb_reader_annotate(struct grb_reader *r, struct grb_record *rec);
/* reader.c: whether a consuming reader has something to read now. */
int _grb_reader_ready(struct grb_reader *r);
/* reader.c: raises (1) or lowers (0) the stream's waiting-reader flag. */
void _grb_reader_arm(struct grb_reader *r, uint32_t on);

/* Reads of memory writers may be changing, checked afterwards: out of the
 * thread sanitizer's sight (the check, not the access, makes them safe). */
#define _GRB_NO_SANITIZE_THREAD __attribute__((no_sanitize("thread")))

/*
 * After such a copy, before the loads that validate it ([S1], [R12]): an
 * acquire fence, so the copy's loads come before them.  ThreadSanitizer
 * models no fence (gcc warns: -Wtsan, an error with -Werror) and never sees
 * the copy's loads; under it a compiler barrier keeps their program order,
 * which x86-64 keeps for loads in hardware.
 */
#if defined(__SANITIZE_THREAD__)
#define _GRB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define _GRB_TSAN 1
#endif
#endif
#ifdef _GRB_TSAN
#define _grb_copy_fence() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#else
#define _grb_copy_fence() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#endif

/* channel.c */
void _grb_channel_free(struct grb_channel *ch); /* unmaps, frees */
uint64_t _grb_channel_next_uid(void); /* under the registry lock */
struct grb_channel *_grb_registry_find(uint64_t uid); /* under the registry lock */
void _grb_channel_get(struct grb_channel *ch);
void _grb_channel_put(struct grb_channel *ch);
int _grb_channel_flush_stream(struct grb_channel *ch, struct grb_stream *s);

/* Places the channel's writer cache entry (after its uid is set): every
 * channel has one, attached or not, so no fast path ever uses an offset
 * left at 0, which would name the thread's control block. */
static inline void _grb_channel_set_writer(struct grb_channel *ch)
{
	ch->tls_slot = (uint32_t)(ch->uid % GRB_TLS_STREAMS);
#ifdef GRB_ENV_TLS_OFFSET
	ch->tls_off = (char *)&_grb_tls(_grb_tls_writers)[ch->tls_slot] - _grb_env_thread_pointer();
#endif
}

/* Copies the string src into dst of size n (n > 0), always terminated. */
static inline void _grb_strlcpy(char *dst, const char *src, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n && src[i]; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

/* The length of s, at most n. */
static inline size_t _grb_strnlen(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i]; i++)
		;
	return i;
}

/* Microseconds to nanoseconds, UINT64_MAX (forever) when they do not fit. */
static inline uint64_t _grb_us_to_ns(uint64_t us)
{
	return us > UINT64_MAX / 1000 ? UINT64_MAX : us * 1000;
}

/* now + ns, UINT64_MAX (never) when it does not fit. */
static inline uint64_t _grb_deadline(uint64_t now, uint64_t ns)
{
	return ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
}

static inline uint64_t _grb_buf_size(const struct grb_stream *s)
{
	return s->sb_size << s->count_order;
}

static inline uint32_t _grb_lap_tag(const struct grb_stream *s, uint64_t pos)
{
	return (uint32_t)(pos >> (s->sb_order + s->count_order));
}

#endif /* GRB_CORE_CORE_H */
