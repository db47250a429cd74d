// SPDX-License-Identifier: MIT
/*
 * channel.c - channel creation and validation, the stream layout, stream
 * selection slow paths (per-CPU, per-thread), flush, statistics.
 */
#include "core.h"

#define GRB_VERSION_STRING "0.1.0"

static struct grb_channel *registry; /* live channels, under the registry lock */
static uint64_t next_uid = 1; /* under the registry lock */

const char *grb_version(void)
{
	return GRB_VERSION_STRING;
}

const char *grb_lost_cause_name(enum grb_lost_cause cause)
{
	static const char *const names[GRB_LOST_NR] = {
		"full", "overwritten", "too_big", "nested", "timeout", "wrap", "disabled", "no_stream",
	};

	return (unsigned)cause < GRB_LOST_NR ? names[cause] : "unknown";
}

void grb_channel_attr_init(struct grb_channel_attr *attr)
{
	if (!attr)
		return;
	memset(attr, 0, sizeof(*attr));
	attr->size = sizeof(*attr);
	attr->subbuf_size = 64 * 1024;
	attr->subbuf_count = 8;
	attr->nr_streams = 64;
	attr->read_timer_us = 100 * 1000;
	attr->blocking_timeout_us = 100 * 1000;
}

static int is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static uint32_t log2_u64(uint64_t v)
{
	uint32_t r = 0;

	while (v >>= 1)
		r++;
	return r;
}

#define BAD(...)                                                                           \
	do {                                                                               \
		_grb_env_set_error(__VA_ARGS__);                                           \
		return -EINVAL;                                                            \
	} while (0)

static int validate_config(const struct grb_config *c)
{
	if (!c)
		BAD("config: NULL");
	if ((c->abi & ~GRB_CONFIG_ABI_EMULATED) != GRB_CONFIG_ABI_VERSION)
		BAD("config.abi: %u, this library speaks %u", c->abi & ~GRB_CONFIG_ABI_EMULATED,
		    GRB_CONFIG_ABI_VERSION);
	if (c->alloc < GRB_ALLOC_GLOBAL || c->alloc > GRB_ALLOC_PER_THREAD)
		BAD("config.alloc: unknown value %d", (int)c->alloc);
	if (c->sync < GRB_SYNC_ATOMIC || c->sync > GRB_SYNC_PER_CPU_RSEQ)
		BAD("config.sync: unknown value %d", (int)c->sync);
	if (c->sync == GRB_SYNC_PER_CPU_RSEQ && c->alloc != GRB_ALLOC_PER_CPU)
		BAD("config.sync: per-CPU restartable sequences need alloc per-CPU");
	if (c->sync == GRB_SYNC_PER_CPU_RSEQ &&
	    (c->abi & GRB_CONFIG_ABI_EMULATED) != (GRB_CONFIG_ABI & GRB_CONFIG_ABI_EMULATED))
		BAD("config.sync: the caller's restartable sequences are %s, the library's %s: "
		    "build both with the same sanitizer and GRB_NO_LOCAL_ASM setting",
		    (c->abi & GRB_CONFIG_ABI_EMULATED) ? "emulated with atomics" : "native",
		    (GRB_CONFIG_ABI & GRB_CONFIG_ABI_EMULATED) ? "emulated with atomics"
							       : "native");
	if (c->sync == GRB_SYNC_SINGLE_WRITER && c->alloc != GRB_ALLOC_PER_THREAD)
		BAD("config.sync: single writer needs alloc per-thread");
	if (c->mode < GRB_MODE_DISCARD || c->mode > GRB_MODE_BLOCKING)
		BAD("config.mode: unknown value %d", (int)c->mode);
	if (c->wakeup < GRB_WAKEUP_NONE || c->wakeup > GRB_WAKEUP_WRITER)
		BAD("config.wakeup: unknown value %d", (int)c->wakeup);
	if (c->ts_bits < 1 || c->ts_bits > 64)
		BAD("config.ts_bits: %u, must be 1 to 64", c->ts_bits);
	if (c->max_nesting < 1 || c->max_nesting > 16)
		BAD("config.max_nesting: %u, must be 1 to 16", c->max_nesting);
	if (!is_pow2(c->record_align) || c->record_align > 64)
		BAD("config.record_align: %u, must be a power of two up to 64", c->record_align);
	if (c->min_record_size < 1)
		BAD("config.min_record_size: must be at least 1");
	if (!c->clock_read)
		BAD("config.clock_read: NULL");
	if (!c->record_header_size || !c->record_header_write)
		BAD("config.record_header_size/record_header_write: NULL");
	if (!c->packet_begin || !c->packet_end)
		BAD("config.packet_begin/packet_end: NULL");
	if (!c->record_decode || !c->record_discard)
		BAD("config.record_decode/record_discard: NULL");
	return 0;
}

/* The largest record header the client may write. */
static uint32_t max_header(const struct grb_config *c)
{
	struct grb_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.flags = GRB_RFLAG_FULL_TS | GRB_RFLAG_PACKET_START;
	ctx.event_id = UINT32_MAX;
	return c->record_header_size(c, &ctx);
}

static int validate_attr(const struct grb_config *c, const struct grb_channel_attr *a)
{
	uint64_t hdr = max_header(c);

	if (a->size != sizeof(*a))
		BAD("attr.size: %u, expected %zu (call grb_channel_attr_init)", a->size,
		    sizeof(*a));
	if (!is_pow2(a->subbuf_size) || a->subbuf_size < 128 || a->subbuf_size > (1u << 30))
		BAD("attr.subbuf_size: %u, must be a power of two from 128 to 2^30",
		    a->subbuf_size);
	if (!is_pow2(a->subbuf_count) || a->subbuf_count < 2 || a->subbuf_count > (1u << 20))
		BAD("attr.subbuf_count: %u, must be a power of two from 2 to 2^20",
		    a->subbuf_count);
	if (c->packet_header_size + ((hdr + c->record_align - 1) & ~(uint64_t)(c->record_align - 1)) >=
	    a->subbuf_size)
		BAD("attr.subbuf_size: %u leaves no room for a record after the %u-byte packet header",
		    a->subbuf_size, c->packet_header_size);
	if (a->subbuf_size / c->min_record_size >= GRB_CC_MAX_RECORDS)
		BAD("attr.subbuf_size: %u holds 2^24 or more records of min_record_size %u",
		    a->subbuf_size, c->min_record_size);
	if (c->alloc == GRB_ALLOC_PER_THREAD && (a->nr_streams < 1 || a->nr_streams > 4096))
		BAD("attr.nr_streams: %u, must be 1 to 4096", a->nr_streams);
	if (c->mode == GRB_MODE_BLOCKING && a->blocking_timeout_us == 0)
		BAD("attr.blocking_timeout_us: 0 in blocking mode (use discard mode)");
	if (c->wakeup == GRB_WAKEUP_TIMER && a->read_timer_us == 0)
		BAD("attr.read_timer_us: 0 with the timer wake-up");
	if (a->cpu_set && !a->cpu_set_size)
		BAD("attr.cpu_set_size: 0 with a cpu_set");
	return 0;
}

static int cpu_in_set(const struct grb_channel_attr *a, int cpu)
{
	if (!a->cpu_set)
		return 1;
	if ((size_t)cpu / 8 >= a->cpu_set_size)
		return 0;
	return (a->cpu_set[cpu / 8] >> (cpu % 8)) & 1;
}

/* Lays out one stream's mapping (see grb/static/layout.h). */
static int stream_init(struct grb_channel *ch, const struct grb_config *c, uint32_t index,
		       uint32_t cpu)
{
	const struct grb_channel_attr *a = &ch->priv->attr;
	struct grb_stream *s = &ch->streams[index];
	size_t page = _grb_env_page_size();
	uint64_t count = a->subbuf_count, sb = a->subbuf_size, buf = sb * count;
	uint64_t slots_off = (sizeof(struct grb_shm_stream) + 63) & ~(uint64_t)63;
	uint64_t data_off = (slots_off + count * sizeof(struct grb_shm_slot) + page - 1) &
			    ~(uint64_t)(page - 1);
	uint64_t map_size = data_off + (count + 1) * sb, i;
	struct grb_shm_stream *shm = (struct grb_shm_stream *)_grb_env_map(map_size);

	if (!shm) {
		_grb_env_set_error("stream %u: cannot map %llu bytes", index,
				   (unsigned long long)map_size);
		return -ENOMEM;
	}
	shm->magic = GRB_SHM_MAGIC;
	shm->version = GRB_LAYOUT_VERSION;
	shm->header_size = sizeof(*shm);
	shm->byte_order = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? GRB_BYTE_ORDER_LITTLE
								    : GRB_BYTE_ORDER_BIG;
	shm->word_size = 8;
	shm->slot_size = sizeof(struct grb_shm_slot);
	shm->stream_id = index;
	shm->cpu = cpu;
	shm->sb_order = log2_u64(sb);
	shm->count_order = log2_u64(count);
	shm->packet_header_size = c->packet_header_size;
	shm->map_size = map_size;
	shm->slots_offset = slots_off;
	shm->data_offset = data_off;
	shm->mode = c->mode;
	shm->alloc = c->alloc;
	shm->sync = c->sync;
	shm->ts_bits = c->ts_bits;
	shm->channel_uid = ch->uid;
	shm->reader_spare = count;
	s->shm = shm;
	s->slots = (struct grb_shm_slot *)((char *)shm + slots_off);
	s->data = (char *)shm + data_off;
	s->sb_size = sb;
	s->sb_mask = sb - 1;
	s->sb_order = shm->sb_order;
	s->count_order = shm->count_order;
	s->count_mask = (uint32_t)count - 1;
	s->index = index;
	s->rseq_cpu = c->sync == GRB_SYNC_PER_CPU_RSEQ && !ch->priv->rseq_fallback ? cpu
										     : GRB_RSEQ_NO_CPU;
	s->chan = ch;
	s->map_size = map_size;
	for (i = 0; i < count; i++) {
		/* Lap -1 of every slot is "delivered" and empty. */
		s->slots[i].id = (0xffffffffull << GRB_ID_TAG_SHIFT) | GRB_ID_NOREF | i;
		s->slots[i].done = i * sb + sb - buf;
		s->slots[i].claimed = s->slots[i].done;
	}
	return 0;
}

static void channel_free(struct grb_channel *ch)
{
	uint32_t i;

	if (ch->streams)
		for (i = 0; i < ch->nr_streams; i++)
			if (ch->streams[i].shm)
				_grb_env_unmap(ch->streams[i].shm, ch->streams[i].map_size);
	_grb_env_free(ch->streams);
	if (ch->priv)
		_grb_env_free(ch->priv->cpu_map);
	_grb_env_free(ch->priv);
	_grb_env_free(ch);
}

static void thread_exit(void);

static void switch_timer_fn(void *arg)
{
	grb_channel_flush((struct grb_channel *)arg);
}

struct grb_channel *grb_channel_create(const struct grb_config *cfg,
				       const struct grb_channel_attr *attr)
{
	struct grb_channel_attr defaults;
	struct grb_channel *ch;
	struct grb_channel_priv *priv;
	int ret, ncpu = _grb_env_nr_cpus(), cpu;
	uint32_t n = 0, i;

	if (!attr) {
		grb_channel_attr_init(&defaults);
		attr = &defaults;
	}
	ret = validate_config(cfg);
	if (!ret)
		ret = validate_attr(cfg, attr);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	ch = (struct grb_channel *)_grb_env_zalloc(sizeof(*ch));
	priv = (struct grb_channel_priv *)_grb_env_zalloc(sizeof(*priv));
	if (!ch || !priv) {
		_grb_env_free(ch);
		_grb_env_free(priv);
		_grb_env_set_error("out of memory");
		errno = ENOMEM;
		return NULL;
	}
	ch->priv = priv;
	ch->cfg = cfg;
	priv->attr = *attr;
	priv->attr.name = NULL;
	priv->attr.cpu_set = NULL;
	if (attr->name) {
		strncpy(priv->name, attr->name, sizeof(priv->name) - 1);
		priv->attr.name = priv->name;
	}
	{
		uint64_t hdr = max_header(cfg), sb = attr->subbuf_size;
		uint64_t room = sb - cfg->packet_header_size;

		/* The largest payload whose slot fits after the packet header. */
		room &= ~(uint64_t)(cfg->record_align - 1);
		priv->max_payload = room > hdr ? room - hdr : 0;
	}
	_grb_env_registry_lock();
	ch->uid = next_uid++;
	_grb_env_registry_unlock();
	ch->tls_slot = (uint32_t)(ch->uid % GRB_TLS_STREAMS);
	if (cfg->alloc == GRB_ALLOC_PER_THREAD && _grb_env_thread_exit_init(thread_exit)) {
		_grb_env_set_error("per-thread streams: cannot create the thread-exit key");
		channel_free(ch);
		errno = EAGAIN;
		return NULL;
	}
	if (cfg->sync == GRB_SYNC_PER_CPU_RSEQ &&
	    _grb_env_rseq_check(priv->rseq_why, sizeof(priv->rseq_why)))
		priv->rseq_fallback = 1;

	switch (cfg->alloc) {
	case GRB_ALLOC_GLOBAL:
		n = 1;
		break;
	case GRB_ALLOC_PER_THREAD:
		n = attr->nr_streams;
		break;
	case GRB_ALLOC_PER_CPU:
		priv->cpu_map = (int32_t *)_grb_env_zalloc(sizeof(int32_t) * (size_t)ncpu);
		if (!priv->cpu_map)
			goto nomem;
		for (cpu = 0; cpu < ncpu; cpu++)
			priv->cpu_map[cpu] = cpu_in_set(attr, cpu) ? (int32_t)n++ : -1;
		if (!n) {
			_grb_env_set_error("attr.cpu_set: no CPU of this machine (0-%d) in the set",
					   ncpu - 1);
			channel_free(ch);
			errno = EINVAL;
			return NULL;
		}
		ch->cpu_map = priv->cpu_map;
		ch->nr_cpu_map = (uint32_t)ncpu;
		break;
	}
	ch->streams = (struct grb_stream *)_grb_env_zalloc(sizeof(struct grb_stream) * n);
	if (!ch->streams)
		goto nomem;
	ch->nr_streams = n;
	for (i = 0, cpu = 0; i < n; i++) {
		uint32_t scpu = UINT32_MAX;

		if (cfg->alloc == GRB_ALLOC_PER_CPU) {
			while (priv->cpu_map[cpu] != (int32_t)i)
				cpu++;
			scpu = (uint32_t)cpu;
		}
		ret = stream_init(ch, cfg, i, scpu);
		if (ret) {
			channel_free(ch);
			errno = -ret;
			return NULL;
		}
	}
	if (attr->switch_timer_us) {
		priv->switch_timer = _grb_timer_start(attr->switch_timer_us, switch_timer_fn, ch);
		if (!priv->switch_timer) {
			_grb_env_set_error("switch timer: cannot start its thread");
			channel_free(ch);
			errno = EAGAIN;
			return NULL;
		}
	}
	_grb_env_registry_lock();
	priv->next = registry;
	registry = ch;
	_grb_env_registry_unlock();
	_grb_store_release(&ch->enabled, 1);
	return ch;
nomem:
	channel_free(ch);
	_grb_env_set_error("out of memory");
	errno = ENOMEM;
	return NULL;
}

/* Under the registry lock. */
static struct grb_channel *registry_find(uint64_t uid)
{
	struct grb_channel *ch;

	for (ch = registry; ch; ch = ch->priv->next)
		if (ch->uid == uid)
			return ch;
	return NULL;
}

int grb_channel_destroy(struct grb_channel *ch)
{
	struct grb_channel **pp;
	int keep;

	if (!ch)
		return -EINVAL;
	_grb_store_relaxed(&ch->enabled, 0);
	if (ch->priv->switch_timer)
		_grb_timer_stop(ch->priv->switch_timer);
	ch->priv->switch_timer = NULL;
	_grb_env_registry_lock();
	for (pp = &registry; *pp; pp = &(*pp)->priv->next)
		if (*pp == ch) {
			*pp = ch->priv->next;
			break;
		}
	_grb_store_release(&ch->priv->destroyed, 1);
	keep = ch->priv->nr_readers > 0;
	_grb_env_registry_unlock();
	if (!keep)
		channel_free(ch);
	return 0;
}

void _grb_channel_get(struct grb_channel *ch)
{
	_grb_env_registry_lock();
	ch->priv->nr_readers++;
	_grb_env_registry_unlock();
}

void _grb_channel_put(struct grb_channel *ch)
{
	int free_it;

	_grb_env_registry_lock();
	free_it = --ch->priv->nr_readers == 0 && ch->priv->destroyed;
	_grb_env_registry_unlock();
	if (free_it)
		channel_free(ch);
}

int grb_channel_enable(struct grb_channel *ch)
{
	if (!ch)
		return -EINVAL;
	_grb_store_release(&ch->enabled, 1);
	return 0;
}

enum grb_sync grb_channel_sync(const struct grb_channel *ch, const char **why)
{
	if (why)
		*why = NULL;
	if (!ch)
		return (enum grb_sync)0;
	if (ch->cfg->sync == GRB_SYNC_PER_CPU_RSEQ && ch->priv->rseq_fallback) {
		if (why)
			*why = ch->priv->rseq_why;
		return GRB_SYNC_ATOMIC;
	}
	return ch->cfg->sync;
}

int grb_channel_disable(struct grb_channel *ch)
{
	if (!ch)
		return -EINVAL;
	_grb_store_release(&ch->enabled, 0);
	return 0;
}

/*
 * A single-writer stream can be changed from another thread only while no
 * thread owns it: lock it with the GRB_OWNER_FLUSHING owner, or ask the
 * owner to flush at its next reservation.
 */
int _grb_channel_flush_stream(struct grb_channel *ch, struct grb_stream *s)
{
	const struct grb_config *cfg = ch->cfg;
	uint32_t owner, me;

	if (cfg->sync != GRB_SYNC_SINGLE_WRITER)
		return _grb_stream_flush(cfg, s);
	me = _grb_env_thread_id();
	owner = _grb_load_acquire(&s->shm->owner);
	if (owner == me)
		return _grb_stream_flush(cfg, s);
	if (owner == 0) {
		/* [O1] acq_rel CAS: pairs with the release of a thread that
		 * gave the stream up [O2]: its writes precede our flush. */
		if (_grb_cas_acqrel(&s->shm->owner, &owner, GRB_OWNER_FLUSHING)) {
			int r = _grb_stream_flush(cfg, s);

			_grb_store_release(&s->shm->owner, 0); /* [O2] */
			return r;
		}
	}
	if (owner != GRB_OWNER_FLUSHING)
		_grb_store_release(&s->shm->flush_req, 1);
	return 0;
}

int grb_channel_flush(struct grb_channel *ch)
{
	uint32_t i;

	if (!ch)
		return -EINVAL;
	for (i = 0; i < ch->nr_streams; i++)
		_grb_channel_flush_stream(ch, &ch->streams[i]);
	return 0;
}

int grb_channel_finalize(struct grb_channel *ch)
{
	uint32_t i;

	if (!ch)
		return -EINVAL;
	_grb_store_release(&ch->enabled, 0);
	for (i = 0; i < ch->nr_streams; i++) {
		struct grb_stream *s = &ch->streams[i];

		/* Writers are done: flush even a stream a thread still owns. */
		_grb_stream_flush(ch->cfg, s);
		_grb_store_release(&s->shm->finalized, 1);
		__atomic_add_fetch(&s->shm->deliver_seq, 1, __ATOMIC_SEQ_CST);
		_grb_env_futex_wake(&s->shm->deliver_seq);
	}
	return 0;
}

uint32_t grb_channel_nr_streams(const struct grb_channel *ch)
{
	return ch ? ch->nr_streams : 0;
}

int grb_channel_read_stream_stats(const struct grb_channel *ch, uint32_t stream,
				  struct grb_stream_stats *st)
{
	const struct grb_shm_stream *shm;
	int i;

	if (!ch || !st || stream >= ch->nr_streams)
		return -EINVAL;
	shm = ch->streams[stream].shm;
	memset(st, 0, sizeof(*st));
	for (i = 0; i < GRB_LOST_NR; i++) {
		st->lost[i] = _grb_load_relaxed(&shm->lost[i]);
		st->lost_total += st->lost[i];
	}
	st->write_pos = _grb_load_relaxed(&shm->offset);
	st->consumed_pos = _grb_load_relaxed(&shm->consumed);
	st->invariant_failures = _grb_load_relaxed(&shm->invariant_failures);
	st->remote_commits = _grb_load_relaxed(&shm->remote_commits);
	st->fenced_flushes = _grb_load_relaxed(&shm->fenced_flushes);
	st->disabled = _grb_load_relaxed(&shm->disabled);
	st->cpu = shm->cpu;
	st->owner_tid = _grb_load_relaxed(&shm->owner);
	return 0;
}

int grb_channel_read_stats(const struct grb_channel *ch, struct grb_channel_stats *st)
{
	struct grb_stream_stats ss;
	uint32_t i;
	int c;

	if (!ch || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	for (i = 0; i < ch->nr_streams; i++) {
		grb_channel_read_stream_stats(ch, i, &ss);
		for (c = 0; c < GRB_LOST_NR; c++)
			st->lost[c] += ss.lost[c];
		st->invariant_failures += ss.invariant_failures;
		st->remote_commits += ss.remote_commits;
		st->fenced_flushes += ss.fenced_flushes;
	}
	st->lost[GRB_LOST_NO_STREAM] += _grb_load_relaxed(&ch->lost_no_stream);
	for (c = 0; c < GRB_LOST_NR; c++)
		st->lost_total += st->lost[c];
	st->filtered_cpu = _grb_load_relaxed(&ch->filtered_cpu);
	st->nr_streams = ch->nr_streams;
	return 0;
}

struct grb_stream *_grb_stream_for_cpu_slow(struct grb_channel *ch, int cpu)
{
	(void)cpu;
	/* relaxed: a statistic. */
	_grb_add_relaxed(&ch->filtered_cpu, 1);
	return NULL;
}

/* A thread's records are refused (counted nested) from here on: set while
 * it claims a stream or exits, so that a signal handler cannot use a cache
 * entry being filled or a stream being given back. */
#define GRB_NESTING_BLOCKED 0x10000u

/* Thread exit: flush and give back every per-thread stream the thread owns. */
static void thread_exit(void)
{
	uint32_t me = _grb_env_thread_id();
	int i;

	_grb_tls_nesting += GRB_NESTING_BLOCKED;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	_grb_env_registry_lock();
	for (i = 0; i < GRB_TLS_STREAMS; i++) {
		struct _grb_tls_stream *e = &_grb_tls_streams[i];
		struct grb_channel *ch = e->uid ? registry_find(e->uid) : NULL;
		struct grb_stream *s = e->stream;

		e->uid = 0;
		e->stream = NULL;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (ch && _grb_load_relaxed(&s->shm->owner) == me) {
			_grb_stream_flush(ch->cfg, s);
			_grb_store_release(&s->shm->owner, 0); /* [O2] */
		}
	}
	_grb_env_registry_unlock();
}

static struct grb_stream *claim_stream(struct grb_channel *ch, uint32_t me);

struct grb_stream *_grb_stream_for_thread(struct grb_channel *ch)
{
	uint32_t me = _grb_env_thread_id();
	struct grb_stream *s;
	int i;

	/*
	 * This runs on the thread's first record, maybe in a signal handler
	 * that interrupted the thread anywhere: it takes no lock it could
	 * wait for.
	 */
	for (i = 0; i < GRB_TLS_STREAMS; i++)
		if (_grb_tls_streams[i].uid == ch->uid)
			return _grb_tls_streams[i].stream;
	/* A signal handler interrupting a claim (or thread exit) of this
	 * thread must not claim too: it would race for the same entry. */
	if (_grb_tls_nesting >= GRB_NESTING_BLOCKED)
		goto none;
	_grb_tls_nesting += GRB_NESTING_BLOCKED;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	s = claim_stream(ch, me);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	_grb_tls_nesting -= GRB_NESTING_BLOCKED;
	if (s)
		return s;
none:
	/* relaxed: a statistic. */
	_grb_add_relaxed(&ch->lost_no_stream, 1);
	return NULL;
}

/* Claims a stream for the calling thread and fills a cache entry. */
static struct grb_stream *claim_stream(struct grb_channel *ch, uint32_t me)
{
	uint32_t n = ch->nr_streams, k;
	struct grb_stream *s = NULL;
	struct _grb_tls_stream *e = NULL;
	int i;

	/* A cache entry: the channel's own if free, else any free one, else
	 * (if the registry lock is free) one whose channel is gone. */
	if (!_grb_tls_streams[ch->tls_slot].uid)
		e = &_grb_tls_streams[ch->tls_slot];
	for (i = 0; !e && i < GRB_TLS_STREAMS; i++)
		if (!_grb_tls_streams[i].uid)
			e = &_grb_tls_streams[i];
	if (!e && _grb_env_registry_trylock() == 0) {
		for (i = 0; !e && i < GRB_TLS_STREAMS; i++)
			if (!registry_find(_grb_tls_streams[i].uid))
				e = &_grb_tls_streams[i];
		_grb_env_registry_unlock();
	}
	if (!e)
		return NULL;
	for (k = 0; k < n && !s; k++) {
		struct grb_stream *c = &ch->streams[(me + k) % n];
		int spin;

		/* A remote flush holds a free stream for a few hundred
		 * instructions: wait for it a bounded while. */
		for (spin = 0; spin < 4096 && !s; spin++) {
			uint32_t free_owner = 0;

			/* [O1] acq_rel CAS: the previous owner's records (and
			 * a remote flush) happen before this thread's. */
			if (_grb_cas_acqrel(&c->shm->owner, &free_owner, me))
				s = c;
			else if (free_owner != GRB_OWNER_FLUSHING)
				break;
		}
	}
	if (!s && ch->cfg->sync == GRB_SYNC_ATOMIC)
		s = &ch->streams[me % n]; /* atomic streams may be shared */
	if (!s)
		return NULL;
	if (_grb_env_thread_exit_arm()) {
		if (_grb_load_relaxed(&s->shm->owner) == me)
			_grb_store_release(&s->shm->owner, 0);
		return NULL;
	}
	e->stream = s;
	__atomic_signal_fence(__ATOMIC_SEQ_CST); /* the stream before the uid that finds it */
	e->uid = ch->uid;
	return s;
}
