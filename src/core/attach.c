// SPDX-License-Identifier: MIT
/*
 * attach.c - a consumer's view of the streams another process writes
 * (doc/design.md, "Sharing streams between processes").
 *
 * Shared memory is hostile here: each stream's header is read into the
 * consumer's own memory and checked, and the checked copy, not the
 * mapping, gives the geometry the readers use from then on.  The mapping
 * is read-only but for the consumer page.
 */
#include "core.h"

#define ATTACH_BAD(...)                          \
	do {                                     \
		_grb_env_set_error(__VA_ARGS__); \
		return -EPROTO;                  \
	} while (0)

/*
 * Checks the header h of the stream at index i of n, read from a memory
 * object of size bytes (sealed: as _grb_env_fd_size says), against the
 * consumer's configuration and the first stream's header (NULL for the
 * first).  *l gets its layout.  Return 0 or -EPROTO with the message set.
 */
static int check_header(const struct grb_config *cfg, const struct grb_shm_stream *h,
			const struct grb_shm_stream *first, uint32_t i, uint32_t n, uint64_t size,
			int sealed, struct grb_stream_layout *l)
{
	uint32_t order = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? GRB_BYTE_ORDER_LITTLE :
								     GRB_BYTE_ORDER_BIG;

	if (h->magic != GRB_SHM_MAGIC)
		ATTACH_BAD("stream %u: not a grb stream (magic 0x%016llx)", i,
			   (unsigned long long)h->magic);
	if (h->version != GRB_LAYOUT_VERSION)
		ATTACH_BAD("stream %u: layout version %u, this library reads %u", i, h->version,
			   GRB_LAYOUT_VERSION);
	if (h->byte_order != order || h->word_size != 8)
		ATTACH_BAD("stream %u: byte order %u and word size %u, this process has %u and 8",
			   i, h->byte_order, h->word_size, order);
	if (h->header_size != sizeof(*h) || h->slot_size != sizeof(struct grb_shm_slot))
		ATTACH_BAD("stream %u: header of %u bytes and slots of %u, expected %zu and %zu", i,
			   h->header_size, h->slot_size, sizeof(*h), sizeof(struct grb_shm_slot));
	if (h->stream_id != i || h->nr_streams != n)
		ATTACH_BAD("stream %u: the header says stream %u of %u, %u descriptors given", i,
			   h->stream_id, h->nr_streams, n);
	if (_grb_stream_layout(h->sb_order, h->count_order, _grb_env_page_size(), l))
		ATTACH_BAD("stream %u: geometry 2^%u-byte sub-buffers x 2^%u no channel has", i,
			   h->sb_order, h->count_order);
	if (h->consumer_offset != l->consumer_off || h->slots_offset != l->slots_off ||
	    h->data_offset != l->data_off || h->map_size != l->map_size)
		ATTACH_BAD("stream %u: offsets %llu/%llu/%llu and size %llu do not match its "
			   "geometry (%llu/%llu/%llu, %llu)",
			   i, (unsigned long long)h->consumer_offset,
			   (unsigned long long)h->slots_offset, (unsigned long long)h->data_offset,
			   (unsigned long long)h->map_size, (unsigned long long)l->consumer_off,
			   (unsigned long long)l->slots_off, (unsigned long long)l->data_off,
			   (unsigned long long)l->map_size);
	if (size != l->map_size)
		ATTACH_BAD("stream %u: the memory holds %llu bytes, its header needs %llu%s", i,
			   (unsigned long long)size, (unsigned long long)l->map_size,
			   size < l->map_size ? " (truncated)" : "");
	if (sealed < 0)
		ATTACH_BAD("stream %u: a memory file not sealed against shrinking", i);
	if (h->mode != (uint32_t)cfg->mode || h->alloc != (uint32_t)cfg->alloc ||
	    h->sync != (uint32_t)cfg->sync || h->ts_bits != cfg->ts_bits ||
	    h->packet_header_size != cfg->packet_header_size)
		ATTACH_BAD("stream %u: written with mode %u, alloc %u, sync %u, ts_bits %u, "
			   "packet header %u; the consumer's client has %u, %u, %u, %u, %u",
			   i, h->mode, h->alloc, h->sync, h->ts_bits, h->packet_header_size,
			   (uint32_t)cfg->mode, (uint32_t)cfg->alloc, (uint32_t)cfg->sync,
			   cfg->ts_bits, cfg->packet_header_size);
	if (h->client_hash != _grb_config_hash(cfg))
		ATTACH_BAD("stream %u: written by another client (record format 0x%016llx, the "
			   "consumer's is 0x%016llx)",
			   i, (unsigned long long)h->client_hash,
			   (unsigned long long)_grb_config_hash(cfg));
	if ((1ull << h->sb_order) / cfg->min_record_size >= GRB_CC_MAX_RECORDS ||
	    cfg->packet_header_size >= (1ull << h->sb_order))
		ATTACH_BAD("stream %u: 2^%u-byte sub-buffers do not suit the client", i,
			   h->sb_order);
	if (first && (h->channel_uid != first->channel_uid || h->writer_pid != first->writer_pid ||
		      h->writer_start != first->writer_start || h->sb_order != first->sb_order ||
		      h->count_order != first->count_order))
		ATTACH_BAD("stream %u: not of the channel of stream 0 (another channel, process "
			   "or geometry)",
			   i);
	return 0;
}

/* Reads, checks and maps the stream at index i of ch from fd. */
static int attach_stream(struct grb_channel *ch, uint32_t i, int fd,
			 const struct grb_shm_stream *first, struct grb_shm_stream *h)
{
	struct grb_stream *s = &ch->streams[i];
	struct grb_stream_layout l;
	uint64_t size;
	int sealed, ret;
	char *p;

	ret = _grb_env_fd_size(fd, &size, &sealed);
	if (ret) {
		_grb_env_set_error("stream %u: descriptor %d: not a memory file or file (%d)", i,
				   fd, ret);
		return ret;
	}
	if (size < sizeof(*h))
		ATTACH_BAD("stream %u: %llu bytes, shorter than a stream header (truncated?)", i,
			   (unsigned long long)size);
	ret = _grb_env_fd_read(fd, 0, h, sizeof(*h));
	if (ret) {
		_grb_env_set_error("stream %u: cannot read its header (%d)", i, ret);
		return ret;
	}
	ret = check_header(ch->cfg, h, first, i, ch->nr_streams, size, sealed, &l);
	if (ret)
		return ret;
	p = (char *)_grb_env_map_fd(fd, l.map_size, l.consumer_off, l.slots_off - l.consumer_off,
				    &ret);
	if (!p) {
		_grb_env_set_error("stream %u: cannot map %llu bytes (%d)", i,
				   (unsigned long long)l.map_size, ret);
		return ret;
	}
	/* A file can shrink under the mapping: watched for SIGBUS. */
	if (!sealed) {
		ret = _grb_env_guard_add(p, l.map_size);
		if (ret < 0) {
			_grb_env_unmap(p, l.map_size);
			return ret;
		}
		ch->priv->guards[i] = ret;
	}
	/* Everything below comes from the checked copy h, never from the
	 * mapping, which the writer may change at any time. */
	s->shm = (struct grb_shm_stream *)p;
	s->cons = (struct grb_shm_consumer *)(p + l.consumer_off);
	s->slots = (struct grb_shm_slot *)(p + l.slots_off);
	s->data = p + l.data_off;
	s->map_size = l.map_size;
	s->sb_order = h->sb_order;
	s->count_order = h->count_order;
	s->sb_size = 1ull << h->sb_order;
	s->sb_mask = s->sb_size - 1;
	s->count_mask = (1u << h->count_order) - 1;
	s->index = i;
	s->rseq_cpu = GRB_RSEQ_NO_CPU;
	s->chan = ch;
	s->uid = (ch->uid << 24) | i;
	return 0;
}

/* The consumer's channel for n streams, read from fds (or, with dir, from
 * the files dir/name_i, n then coming from the first header). */
static int attach_open(const struct grb_config *cfg, const int *fds, uint32_t n, const char *dir,
		       const char *name, void *client_data, struct grb_channel **out)
{
	struct grb_shm_stream first, h;
	struct grb_channel *ch;
	struct grb_channel_priv *priv;
	uint32_t i;
	int ret, fd = -1;

	ret = _grb_config_validate(cfg);
	if (ret)
		return ret;
	if (dir) {
		/* The count comes from the first stream's header, checked
		 * again below with the rest of it. */
		fd = _grb_env_fd_open(dir, name, 0);
		if (fd < 0) {
			_grb_env_set_error("attach: cannot open %s/%s_0 (%d)", dir, name, fd);
			return fd;
		}
		ret = _grb_env_fd_read(fd, 0, &first, sizeof(first));
		_grb_env_fd_close(fd);
		if (ret || first.magic != GRB_SHM_MAGIC || first.nr_streams < 1 ||
		    first.nr_streams > (1u << 24)) {
			_grb_env_set_error("attach: %s/%s_0 is not the first stream of a channel",
					   dir, name);
			return -EPROTO;
		}
		n = first.nr_streams;
	} else if (!fds || n < 1 || n > (1u << 24)) {
		_grb_env_set_error("attach: no descriptors, or over 2^24");
		return -EINVAL;
	}
	ch = (struct grb_channel *)_grb_env_zalloc(sizeof(*ch));
	priv = (struct grb_channel_priv *)_grb_env_zalloc(sizeof(*priv));
	if (ch)
		ch->priv = priv;
	if (ch)
		ch->streams = (struct grb_stream *)_grb_env_zalloc(sizeof(struct grb_stream) * n);
	if (priv)
		priv->guards = (int32_t *)_grb_env_zalloc(sizeof(int32_t) * n);
	if (!ch || !priv || !ch->streams || !priv->guards) {
		if (ch) {
			_grb_channel_free(ch);
		} else if (priv) {
			_grb_env_free(priv->guards);
			_grb_env_free(priv);
		}
		_grb_env_set_error("out of memory");
		return -ENOMEM;
	}
	priv->event_fd = -1;
	priv->attached = 1;
	for (i = 0; i < n; i++)
		priv->guards[i] = -1;
	grb_channel_attr_init(&priv->attr);
	priv->attr.client_data = client_data;
	priv->read_timer_ns = _grb_us_to_ns(priv->attr.read_timer_us);
	ch->cfg = cfg;
	ch->nr_streams = n;
	_grb_env_registry_lock();
	ch->uid = _grb_channel_next_uid();
	_grb_env_registry_unlock();
	_grb_channel_set_writer(ch);
	for (i = 0; i < n; i++) {
		if (dir) {
			fd = _grb_env_fd_open(dir, name, i);
			if (fd < 0) {
				_grb_env_set_error("attach: cannot open %s/%s_%u (%d)", dir, name,
						   i, fd);
				ret = fd;
				break;
			}
		} else {
			fd = fds[i];
		}
		ret = attach_stream(ch, i, fd, i ? &first : NULL, &h);
		if (dir)
			_grb_env_fd_close(fd);
		if (ret)
			break;
		if (!i)
			first = h;
	}
	if (ret) {
		_grb_channel_free(ch);
		return ret;
	}
	priv->writer_pid = first.writer_pid;
	priv->writer_start = first.writer_start;
	priv->attr.subbuf_size = 1u << first.sb_order;
	priv->attr.subbuf_count = 1u << first.count_order;
	/* The writers' channel enables itself; this one never writes. */
	ch->enabled = 0;
	*out = ch;
	return 0;
}

struct grb_channel *grb_channel_attach(const struct grb_config *cfg, const int *fds, uint32_t nr,
				       void *client_data)
{
	struct grb_channel *ch = NULL;
	int ret = attach_open(cfg, fds, nr, NULL, NULL, client_data, &ch);

	return _grb_env_return_ptr(ret, ch);
}

struct grb_channel *grb_channel_attach_dir(const struct grb_config *cfg, const char *dir,
					   const char *name, void *client_data)
{
	struct grb_channel *ch = NULL;
	int ret;

	if (!dir || !name) {
		_grb_env_set_error("attach: no directory or name");
		ret = -EINVAL;
	} else {
		ret = attach_open(cfg, NULL, 0, dir, name, client_data, &ch);
	}
	return _grb_env_return_ptr(ret, ch);
}

int grb_channel_lost_memory(const struct grb_channel *ch)
{
	uint32_t i;
	int n = 0;

	if (!ch || !ch->priv || !ch->priv->guards)
		return 0;
	for (i = 0; i < ch->nr_streams; i++)
		n += _grb_env_guard_lost(ch->priv->guards[i]);
	return n;
}

int grb_channel_owner_alive(struct grb_channel *ch)
{
	if (!ch || !ch->priv->attached)
		return -EINVAL;
	if (_grb_load_relaxed(&ch->priv->orphaned))
		return 0;
	if (_grb_env_process_alive(ch->priv->writer_pid, ch->priv->writer_start))
		return 1;
	/* relaxed: a flag of this process's readers; the writer is gone, so
	 * nothing in the mapping moves any more. */
	_grb_store_relaxed(&ch->priv->orphaned, 1);
	return 0;
}

int grb_channel_owner_gone(struct grb_channel *ch)
{
	if (!ch || !ch->priv->attached)
		return -EINVAL;
	/* relaxed: a flag of this process's readers, as in
	 * grb_channel_owner_alive(). */
	_grb_store_relaxed(&ch->priv->orphaned, 1);
	return 0;
}

int grb_channel_consumer_gone(struct grb_channel *ch)
{
	uint32_t i;

	if (!ch || !ch->priv->attached)
		return -EINVAL;
	for (i = 0; i < ch->nr_streams; i++)
		/* [A3] release: pairs with [R7]; as [R8], for the reader of a
		 * process that died without destroying it. */
		_grb_store_release(&ch->streams[i].cons->reader_active, 0);
	return 0;
}
