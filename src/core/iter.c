// SPDX-License-Identifier: MIT
/*
 * iter.c - record iterators over one stream, and the merge of all streams
 * of a channel by timestamp, on top of the reader.
 */
#include "core.h"

struct grb_iter {
	struct grb_reader *r;
	struct grb_packet pkt;
	struct grb_packet_cursor cur;
	int have;
};

static int iter_open(struct grb_channel *ch, uint32_t stream, uint32_t flags, struct grb_iter **out)
{
	struct grb_iter *it = (struct grb_iter *)_grb_env_zalloc(sizeof(*it));
	int ret;

	if (!it)
		return -ENOMEM;
	ret = _grb_reader_open(ch, stream, flags, &it->r);
	if (ret) {
		_grb_env_free(it);
		return ret;
	}
	*out = it;
	return 0;
}

struct grb_iter *grb_iter_create(struct grb_channel *ch, uint32_t stream, uint32_t flags)
{
	struct grb_iter *it = NULL;
	int ret = iter_open(ch, stream, flags, &it);

	return _grb_env_return_ptr(ret, it);
}

struct grb_reader *grb_iter_reader(struct grb_iter *it)
{
	return it ? it->r : NULL;
}

int grb_iter_next(struct grb_iter *it, struct grb_record *rec)
{
	int ret, again = 0;

	if (!it || !rec)
		return -EINVAL;
	for (;;) {
		if (!it->have) {
			ret = grb_reader_get_next(it->r, &it->pkt);
			if (ret == -EAGAIN) {
				/* Nothing delivered: the committed records of the
				 * open packet, one by one. */
				ret = _grb_reader_next_in_place(it->r, rec);
				if (ret == 1 && ++again < 64)
					continue;
				if (ret == 1)
					ret = -EAGAIN;
				if (!ret)
					_grb_reader_annotate(it->r, rec);
				return ret;
			}
			if (ret)
				return ret;
			grb_packet_cursor_init(&it->pkt, &it->cur);
			it->have = 1;
		}
		ret = grb_packet_record_next(it->r, &it->pkt, &it->cur, rec);
		if (!ret) {
			_grb_reader_annotate(it->r, rec);
			return 0;
		}
		grb_reader_put(it->r, &it->pkt);
		it->have = 0;
		if (ret == -EPROTO)
			return ret;
	}
}

int grb_iter_destroy(struct grb_iter *it)
{
	if (!it)
		return -EINVAL;
	if (it->have)
		grb_reader_put(it->r, &it->pkt);
	grb_reader_destroy(it->r);
	_grb_env_free(it);
	return 0;
}

struct grb_merge {
	struct grb_channel *ch;
	uint32_t n;
	struct grb_iter **it;
	struct grb_record *cur;
	uint8_t *has;
};

int grb_merge_destroy(struct grb_merge *m)
{
	uint32_t i;

	if (!m)
		return -EINVAL;
	for (i = 0; i < m->n; i++)
		if (m->it[i])
			grb_iter_destroy(m->it[i]);
	_grb_env_free(m->it);
	_grb_env_free(m->cur);
	_grb_env_free(m->has);
	_grb_env_free(m);
	return 0;
}

static int merge_open(struct grb_channel *ch, uint32_t flags, struct grb_merge **out)
{
	struct grb_merge *m;
	uint32_t i;
	int ret;

	if (!ch)
		return -EINVAL;
	m = (struct grb_merge *)_grb_env_zalloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->ch = ch;
	m->n = ch->nr_streams;
	m->it = (struct grb_iter **)_grb_env_zalloc(sizeof(*m->it) * m->n);
	m->cur = (struct grb_record *)_grb_env_zalloc(sizeof(*m->cur) * m->n);
	m->has = (uint8_t *)_grb_env_zalloc(m->n);
	if (!m->it || !m->cur || !m->has) {
		grb_merge_destroy(m);
		return -ENOMEM;
	}
	for (i = 0; i < m->n; i++) {
		ret = iter_open(ch, i, flags, &m->it[i]);
		if (ret) {
			grb_merge_destroy(m);
			return ret;
		}
	}
	*out = m;
	return 0;
}

struct grb_merge *grb_merge_create(struct grb_channel *ch, uint32_t flags)
{
	struct grb_merge *m = NULL;
	int ret = merge_open(ch, flags, &m);

	return _grb_env_return_ptr(ret, m);
}

int grb_merge_next(struct grb_merge *m, struct grb_record *rec)
{
	uint32_t i, best = UINT32_MAX, ended = 0;
	int ret, err = 0;

	if (!m || !rec)
		return -EINVAL;
	for (i = 0; i < m->n; i++) {
		if (m->has[i])
			continue;
		ret = grb_iter_next(m->it[i], &m->cur[i]);
		if (ret == -EPROTO)
			ret = grb_iter_next(m->it[i], &m->cur[i]);
		if (!ret)
			m->has[i] = 1;
		else if (ret == -ENODATA)
			ended++;
		else if (ret != -EAGAIN)
			err = ret;
	}
	for (i = 0; i < m->n; i++)
		if (m->has[i] && (best == UINT32_MAX || m->cur[i].ts < m->cur[best].ts))
			best = i;
	if (best == UINT32_MAX) {
		if (err)
			return err;
		return ended == m->n ? -ENODATA : -EAGAIN;
	}
	*rec = m->cur[best];
	m->has[best] = 0;
	return 0;
}

/* Lowers every stream's waiting flag. */
static void merge_disarm(struct grb_merge *m)
{
	uint32_t i;

	for (i = 0; i < m->n; i++)
		_grb_reader_arm(m->it[i]->r, 0);
}

int grb_merge_arm(struct grb_merge *m)
{
	uint32_t i;
	int fd;

	if (!m)
		return -EINVAL;
	fd = grb_channel_fd(m->ch);
	if (fd < 0)
		return fd;
	if (_grb_load_acquire(&m->ch->priv->destroyed))
		return -ESHUTDOWN;
	/* Clear, raise the flags, then look: a writer that publishes after
	 * the look sees a flag and signals ([R11] with [D4]). */
	_grb_env_event_clear(fd);
	for (i = 0; i < m->n; i++)
		_grb_reader_arm(m->it[i]->r, 1);
	for (i = 0; i < m->n; i++)
		if (m->has[i] || m->it[i]->have || _grb_reader_ready(m->it[i]->r)) {
			merge_disarm(m);
			return 1;
		}
	return 0;
}

int grb_merge_wait(struct grb_merge *m, uint64_t timeout_ns)
{
	int ret = grb_merge_arm(m);

	if (ret < 0)
		return ret;
	if (ret == 1)
		return 0;
	ret = timeout_ns ? _grb_env_event_wait(m->ch->priv->event_fd, timeout_ns) : -ETIMEDOUT;
	merge_disarm(m);
	return ret;
}
