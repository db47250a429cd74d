// SPDX-License-Identifier: MIT
/*
 * select.c - the streams of per-thread channels: a thread's first record
 * claims one, and the thread gives its streams back when it exits.
 */
#include "core.h"

/* A thread's records are refused (counted nested) from here on: set while
 * it claims a stream or exits, so that a signal handler cannot use a cache
 * entry being filled or a stream being given back. */
#define GRB_NESTING_BLOCKED 0x10000u

/* Thread exit: flush and give back every per-thread stream the thread owns. */
void _grb_thread_exit(void)
{
	uint32_t me = _grb_env_thread_id();
	int i;

	_grb_tls(_grb_tls_nesting) += GRB_NESTING_BLOCKED;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	/* The writer caches go first: none may send a record to a stream
	 * given back below (the blocked depth refuses any record anyway). */
	for (i = 0; i < GRB_TLS_STREAMS; i++)
		_grb_tls(_grb_tls_writers)[i].uid = 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	_grb_env_registry_lock();
	for (i = 0; i < GRB_TLS_STREAMS; i++) {
		struct _grb_tls_stream *e = &_grb_tls(_grb_tls_streams)[i];
		struct grb_channel *ch = e->uid ? _grb_registry_find(e->uid) : NULL;
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

/*
 * Without a thread-exit hook (priv->no_exit_hook): locks the stream s,
 * owned by the thread owner, if that thread has exited.  Return 1 with s
 * locked (owner GRB_OWNER_FLUSHING) for the caller to take over or give
 * back; 0 with s left as it was.
 */
int _grb_stream_lock_exited(struct grb_stream *s, uint32_t owner)
{
	if (owner == 0 || owner == GRB_OWNER_FLUSHING || !_grb_env_thread_exited(owner))
		return 0;
	/* [O1] acq_rel CAS: no claim, flush or other reclaim changes the
	 * owner from here. */
	if (!_grb_cas_acqrel(&s->shm->owner, &owner, GRB_OWNER_FLUSHING))
		return 0;
	/* [O3] asked again under the lock: a new thread may have got the id
	 * and the stream since.  The owner's records, local atomics included,
	 * happen before the exit this reports, and so before our use. */
	if (_grb_env_thread_exited(owner))
		return 1;
	_grb_store_release(&s->shm->owner, owner); /* [O2] */
	return 0;
}

static struct grb_stream *claim_stream(struct grb_channel *ch, uint32_t me);

struct grb_stream *_grb_stream_for_thread(struct grb_channel *ch)
{
	struct grb_stream *s;
	int i;

	/*
	 * The thread's own stream: every slow-path reservation of a
	 * per-thread channel (each packet switch, say) comes here, so no
	 * system call before the lookup (the thread id is the claim's).
	 */
	for (i = 0; i < GRB_TLS_STREAMS; i++)
		if (_grb_tls(_grb_tls_streams)[i].uid == ch->uid)
			return _grb_tls(_grb_tls_streams)[i].stream;
	/*
	 * A claim runs on the thread's first record, maybe in a signal
	 * handler that interrupted the thread anywhere: it takes no lock it
	 * could wait for.
	 */
	/* A signal handler interrupting a claim (or thread exit) of this
	 * thread must not claim too: it would race for the same entry. */
	if (_grb_tls(_grb_tls_nesting) >= GRB_NESTING_BLOCKED)
		goto none;
	_grb_tls(_grb_tls_nesting) += GRB_NESTING_BLOCKED;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	s = claim_stream(ch, _grb_env_thread_id());
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	_grb_tls(_grb_tls_nesting) -= GRB_NESTING_BLOCKED;
	if (s)
		return s;
none:
	_grb_count_no_stream(ch);
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
	if (!_grb_tls(_grb_tls_streams)[ch->tls_slot].uid)
		e = &_grb_tls(_grb_tls_streams)[ch->tls_slot];
	for (i = 0; !e && i < GRB_TLS_STREAMS; i++)
		if (!_grb_tls(_grb_tls_streams)[i].uid)
			e = &_grb_tls(_grb_tls_streams)[i];
	if (!e && _grb_env_registry_trylock() == 0) {
		for (i = 0; !e && i < GRB_TLS_STREAMS; i++)
			if (!_grb_registry_find(_grb_tls(_grb_tls_streams)[i].uid))
				e = &_grb_tls(_grb_tls_streams)[i];
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
			else if (free_owner == me)
				/* [O3] Our own id, yet not in our cache: an
				 * exited thread's stream whose id the kernel
				 * gave us.  Its records happen before its exit
				 * and so before our creation; ours follow its
				 * open packet. */
				s = c;
			else if (free_owner != GRB_OWNER_FLUSHING)
				break;
		}
	}
	/* Without a thread-exit hook: the stream of an exited thread, its
	 * open packet included (our records follow its). */
	for (k = 0; k < n && !s && ch->priv->no_exit_hook; k++) {
		struct grb_stream *c = &ch->streams[(me + k) % n];

		/* relaxed: a candidate, checked by the lock's CAS. */
		if (_grb_stream_lock_exited(c, _grb_load_relaxed(&c->shm->owner))) {
			_grb_store_release(&c->shm->owner, me); /* [O2] */
			s = c;
		}
	}
	if (!s && ch->cfg->sync == GRB_SYNC_ATOMIC)
		s = &ch->streams[me % n]; /* atomic streams may be shared */
	if (!s)
		return NULL;
	if (!ch->priv->no_exit_hook && _grb_env_thread_exit_arm()) {
		if (_grb_load_relaxed(&s->shm->owner) == me)
			_grb_store_release(&s->shm->owner, 0);
		return NULL;
	}
	e->stream = s;
	__atomic_signal_fence(__ATOMIC_SEQ_CST); /* the stream before the uid that finds it */
	e->uid = ch->uid;
	return s;
}
