// SPDX-License-Identifier: MIT
/*
 * channel.c - a channel's life: creation, the registry of live channels,
 * enable and disable, flush, finalize and destroy.
 */
#include "core.h"

static struct grb_channel *registry; /* live channels, under the registry lock */
static uint64_t next_uid = 1; /* under the registry lock */

static int cpu_in_set(const struct grb_channel_attr *a, int cpu)
{
	if (!a->cpu_set)
		return 1;
	if ((size_t)cpu / 8 >= a->cpu_set_size)
		return 0;
	return (a->cpu_set[cpu / 8] >> (cpu % 8)) & 1;
}

void _grb_channel_free(struct grb_channel *ch)
{
	struct grb_channel_priv *priv = ch->priv;
	uint32_t i;

	if (ch->streams)
		for (i = 0; i < ch->nr_streams; i++) {
			struct grb_stream *s = &ch->streams[i];

			if (priv && priv->guards && priv->guards[i] >= 0)
				_grb_env_guard_remove(priv->guards[i]);
			if (priv && priv->fds && priv->fds[i] >= 0)
				_grb_env_unmap_shared(s->shm, s->map_size, priv->fds[i],
						      priv->attr.backing == GRB_BACKING_DIR ?
							      priv->shm_path :
							      NULL,
						      priv->file_name, i);
			else if (s->shm)
				_grb_env_unmap(s->shm, s->map_size);
		}
	_grb_env_free(ch->streams);
	if (priv) {
		_grb_env_free(priv->fds);
		_grb_env_free(priv->guards);
		_grb_env_free(priv->spare);
		_grb_env_free(ch->priv->cpu_map);
		_grb_env_free(ch->priv->timer_seen);
		if (ch->priv->event_fd >= 0)
			_grb_env_event_close(ch->priv->event_fd);
	}
	_grb_env_free(ch->priv);
	_grb_env_free(ch);
}

static void switch_timer_fn(void *arg)
{
	grb_channel_flush((struct grb_channel *)arg);
}

/*
 * GRB_WAKEUP_TIMER: makes the channel's descriptor readable when a stream
 * published records since the last tick (its committed position or its
 * delivered records moved) and a reader is armed.  Writers make no system
 * call.
 */
static void read_timer_fn(void *arg)
{
	struct grb_channel *ch = (struct grb_channel *)arg;
	uint64_t *seen = ch->priv->timer_seen;
	uint32_t i;
	int more = 0, armed = 0;

	for (i = 0; i < ch->nr_streams; i++) {
		struct grb_shm_stream *shm = ch->streams[i].shm;
		/* [Q2] acquire, as a reader's: what a woken reader will find. */
		uint64_t cp = _grb_load_acquire(&shm->commit_pos);
		uint64_t dr = _grb_load_relaxed(&shm->delivered_records);

		if (cp != seen[2 * i] || dr != seen[2 * i + 1])
			more = 1;
		seen[2 * i] = cp;
		seen[2 * i + 1] = dr;
		/* [R11] seq_cst: with the reader's seq_cst store of the flag,
		 * then its own look at the streams. */
		armed |= (int)__atomic_load_n(&ch->streams[i].cons->reader_waiting,
					      __ATOMIC_SEQ_CST);
	}
	if (more && armed)
		_grb_env_event_signal(ch->priv->event_fd);
}

static int channel_open(const struct grb_config *cfg, const struct grb_channel_attr *attr,
			struct grb_channel **out)
{
	struct grb_channel_attr defaults;
	struct grb_channel *ch;
	struct grb_channel_priv *priv;
	int ret, ncpu = 0, cpu;
	uint32_t n = 0, i;

	if (!attr) {
		grb_channel_attr_init(&defaults);
		attr = &defaults;
	}
	ret = _grb_config_validate(cfg);
	if (!ret)
		ret = _grb_attr_validate(cfg, attr);
	if (!ret)
		ret = _grb_env_config_check(cfg, attr);
	if (ret)
		return ret;
	ch = (struct grb_channel *)_grb_env_zalloc(sizeof(*ch));
	priv = (struct grb_channel_priv *)_grb_env_zalloc(sizeof(*priv));
	if (!ch || !priv) {
		_grb_env_free(ch);
		_grb_env_free(priv);
		_grb_env_set_error("out of memory");
		return -ENOMEM;
	}
	ch->priv = priv;
	priv->event_fd = -1;
	ch->cfg = cfg;
	priv->attr = *attr;
	priv->attr.name = NULL;
	priv->attr.cpu_set = NULL;
	priv->attr.shm_path = NULL;
	if (attr->name) {
		_grb_strlcpy(priv->name, attr->name, sizeof(priv->name));
		priv->attr.name = priv->name;
	}
	if (attr->backing == GRB_BACKING_DIR) {
		_grb_strlcpy(priv->shm_path, attr->shm_path, sizeof(priv->shm_path));
		priv->attr.shm_path = priv->shm_path;
	}
	_grb_strlcpy(priv->file_name, attr->name ? attr->name : "grb", sizeof(priv->file_name));
	priv->client_hash = _grb_config_hash(cfg);
	_grb_env_process_self(&priv->writer_pid, &priv->writer_start);
	priv->blocking_timeout_ns = _grb_us_to_ns(attr->blocking_timeout_us);
	priv->read_timer_ns = _grb_us_to_ns(attr->read_timer_us);
	{
		uint64_t hdr = _grb_max_header(cfg), sb = attr->subbuf_size;
		uint64_t room = sb - cfg->packet_header_size;

		/* The largest payload whose slot fits after the packet header. */
		room &= ~(uint64_t)(cfg->record_align - 1);
		priv->max_payload = room > hdr ? room - hdr : 0;
	}
	_grb_env_registry_lock();
	ch->uid = _grb_channel_next_uid();
	_grb_env_registry_unlock();
	_grb_channel_set_writer(ch);
	/* Without a thread-exit hook (no thread-specific key left), the
	 * streams of exited threads are found by later claims and flushes. */
	if (cfg->alloc == GRB_ALLOC_PER_THREAD && _grb_env_thread_exit_init(_grb_thread_exit))
		priv->no_exit_hook = 1;
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
		ncpu = _grb_env_nr_cpus();
		priv->cpu_map = (int32_t *)_grb_env_zalloc(sizeof(int32_t) * (size_t)ncpu);
		if (!priv->cpu_map)
			goto nomem;
		for (cpu = 0; cpu < ncpu; cpu++)
			priv->cpu_map[cpu] = cpu_in_set(attr, cpu) ? (int32_t)n++ : -1;
		if (!n) {
			_grb_env_set_error("attr.cpu_set: no CPU of this machine (0-%d) in the set",
					   ncpu - 1);
			_grb_channel_free(ch);
			return -EINVAL;
		}
		ch->cpu_map = priv->cpu_map;
		ch->nr_cpu_map = (uint32_t)ncpu;
		break;
	}
	ch->streams = (struct grb_stream *)_grb_env_zalloc(sizeof(struct grb_stream) * n);
	priv->fds = (int *)_grb_env_zalloc(sizeof(int) * n);
	priv->spare = (uint64_t *)_grb_env_zalloc(sizeof(uint64_t) * n);
	if (!ch->streams || !priv->fds || !priv->spare)
		goto nomem;
	for (i = 0; i < n; i++)
		priv->fds[i] = -1;
	ch->nr_streams = n;
	for (i = 0, cpu = 0; i < n; i++) {
		uint32_t scpu = UINT32_MAX;

		if (cfg->alloc == GRB_ALLOC_PER_CPU) {
			while (priv->cpu_map[cpu] != (int32_t)i)
				cpu++;
			scpu = (uint32_t)cpu;
		}
		ret = _grb_stream_init(ch, cfg, i, scpu);
		if (ret) {
			_grb_channel_free(ch);
			return ret;
		}
	}
	for (i = 0; i < n; i++)
		ch->streams[i].wake_mask =
			cfg->wakeup != GRB_WAKEUP_WRITER ?
				0 :
			attr->wake_policy == GRB_WAKE_RECORDS ?
				~((uint64_t)attr->wake_every * GRB_CC_RECORD - 1) :
			attr->wake_policy == GRB_WAKE_BYTES ?
				~((uint64_t)attr->wake_every - 1) & GRB_CC_BYTES_MASK :
				0;
	if (cfg->wakeup != GRB_WAKEUP_NONE) {
		ret = _grb_env_event_create();
		if (ret < 0) {
			_grb_env_set_error("channel: cannot create its event descriptor");
			_grb_channel_free(ch);
			return ret;
		}
		priv->event_fd = ret;
	}
	if (cfg->wakeup == GRB_WAKEUP_TIMER) {
		priv->timer_seen = (uint64_t *)_grb_env_zalloc(2 * sizeof(uint64_t) * n);
		if (!priv->timer_seen)
			goto nomem;
		priv->read_timer = _grb_timer_start(priv->read_timer_ns, read_timer_fn, ch);
		if (!priv->read_timer) {
			_grb_env_set_error("read timer: cannot start its thread");
			_grb_channel_free(ch);
			return -EAGAIN;
		}
	}
	if (attr->switch_timer_us) {
		priv->switch_timer =
			_grb_timer_start(_grb_us_to_ns(attr->switch_timer_us), switch_timer_fn, ch);
		if (!priv->switch_timer) {
			if (priv->read_timer)
				_grb_timer_stop(priv->read_timer);
			_grb_env_set_error("switch timer: cannot start its thread");
			_grb_channel_free(ch);
			return -EAGAIN;
		}
	}
	_grb_env_registry_lock();
	priv->next = registry;
	registry = ch;
	_grb_env_registry_unlock();
	_grb_store_release(&ch->enabled, 1);
	*out = ch;
	return 0;
nomem:
	_grb_channel_free(ch);
	_grb_env_set_error("out of memory");
	return -ENOMEM;
}

struct grb_channel *grb_channel_create(const struct grb_config *cfg,
				       const struct grb_channel_attr *attr)
{
	struct grb_channel *ch = NULL;
	int ret = channel_open(cfg, attr, &ch);

	return _grb_env_return_ptr(ret, ch);
}

/* Under the registry lock. */
uint64_t _grb_channel_next_uid(void)
{
	return next_uid++;
}

/* Under the registry lock. */
struct grb_channel *_grb_registry_find(uint64_t uid)
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
	if (ch->priv->read_timer)
		_grb_timer_stop(ch->priv->read_timer);
	ch->priv->read_timer = NULL;
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
		_grb_channel_free(ch);
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
		_grb_channel_free(ch);
}

int grb_channel_stream_shm(const struct grb_channel *ch, uint32_t stream,
			   struct grb_stream_shm *shm)
{
	if (!ch || !shm || stream >= ch->nr_streams)
		return -EINVAL;
	if (ch->priv->attached || ch->priv->fds[stream] < 0)
		return -EOPNOTSUPP;
	shm->fd = ch->priv->fds[stream];
	shm->stream = stream;
	shm->size = ch->streams[stream].map_size;
	return 0;
}

int grb_channel_fd(const struct grb_channel *ch)
{
	if (!ch)
		return -EINVAL;
	if (ch->priv->event_fd < 0)
		return -EOPNOTSUPP;
	return ch->priv->event_fd;
}

int grb_channel_enable(struct grb_channel *ch)
{
	if (!ch)
		return -EINVAL;
	if (ch->priv->attached)
		return -EPERM; /* another process writes it */
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
	int r;

	if (cfg->sync != GRB_SYNC_SINGLE_WRITER) {
		r = _grb_stream_flush(cfg, s);
		/* Without a thread-exit hook: give back the stream of an exited
		 * thread.  relaxed: a candidate, checked by the lock's CAS. */
		if (ch->priv->no_exit_hook &&
		    _grb_stream_lock_exited(s, _grb_load_relaxed(&s->shm->owner)))
			_grb_store_release(&s->shm->owner, 0); /* [O2] */
		return r;
	}
	me = _grb_env_thread_id();
	owner = _grb_load_acquire(&s->shm->owner);
	if (owner == me)
		return _grb_stream_flush(cfg, s);
	/* A free stream: [O1] acq_rel CAS, pairs with the release of a thread
	 * that gave the stream up [O2]: its writes precede our flush.
	 * Without a thread-exit hook, an exited owner's stream is locked too:
	 * it goes back flushed, as the hook would have done. */
	if (owner == 0 ? _grb_cas_acqrel(&s->shm->owner, &owner, GRB_OWNER_FLUSHING) :
			 ch->priv->no_exit_hook && _grb_stream_lock_exited(s, owner)) {
		r = _grb_stream_flush(cfg, s);
		_grb_store_release(&s->shm->owner, 0); /* [O2] */
		return r;
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
	/* A flush writes the writers' state, and membarrier reaches only
	 * this process: the writing process flushes its own streams. */
	if (ch->priv->attached)
		return -EPERM;
	for (i = 0; i < ch->nr_streams; i++)
		_grb_channel_flush_stream(ch, &ch->streams[i]);
	return 0;
}

int grb_channel_finalize(struct grb_channel *ch)
{
	uint32_t i;

	if (!ch)
		return -EINVAL;
	if (ch->priv->attached)
		return -EPERM;
	_grb_store_release(&ch->enabled, 0);
	for (i = 0; i < ch->nr_streams; i++) {
		struct grb_stream *s = &ch->streams[i];

		/* Writers are done: flush even a stream a thread still owns. */
		_grb_stream_flush(ch->cfg, s);
		_grb_store_release(&s->shm->finalized, 1);
		__atomic_add_fetch(&s->shm->deliver_seq, 1, __ATOMIC_SEQ_CST);
		_grb_env_futex_wake(&s->shm->deliver_seq);
	}
	/* An armed merge learns the end (its next read says -ENODATA). */
	if (ch->priv->event_fd >= 0)
		_grb_env_event_signal(ch->priv->event_fd);
	return 0;
}
