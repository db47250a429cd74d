// SPDX-License-Identifier: MIT
/*
 * dev.c - /dev/grb: the module's channels read from user space
 * (doc/kernel.md, "Reading from user space"; the interface is
 * <grb/kdev.h>).
 *
 * A module publishes a channel (grb_kernel_publish()); the device lists
 * the published channels, gives one consumer at a time a descriptor of a
 * channel, and that descriptor gives one per stream.  A stream descriptor
 * serves the layout a consumer of another process's memory files maps
 * (doc/design.md, "Sharing streams between processes"): pread() of its
 * bytes, and mmap() of the stream read-only but for its consumer page.
 * The consumer checks everything it maps (src/core/attach.c); the device
 * trusts nothing the consumer page holds either: it only ever indexes the
 * slot table with a masked position.
 *
 * Lifetimes.  A published channel is a struct kdev_chan, counted: the
 * publication holds a reference, and every open channel or stream file
 * (a mapping holds its file).  It holds a reference on each stream's
 * memory (env.c), so a consumer that still maps a stream after the
 * module withdrew and destroyed the channel reads memory that is still
 * there, whose writers are gone; its files then answer -ENODEV and its
 * poll says POLLHUP.  Every use of the core's channel is under kdev_lock
 * and checks that it is still published.
 *
 * Wake-ups: a poll sleeps on the queue the deferred wake-ups wake ([K1]:
 * the writers only queue an irq_work) and raises the streams'
 * reader_waiting before it looks ([K3]), so that the writer that
 * delivers a sub-buffer after the look queues that wake-up.  Labels [K*]
 * are in doc/ordering.md.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/vmalloc.h>

#include <grb/grb.h>
#include <grb/kdev.h>
#include <grb/kernel.h>
#include "core/env.h"
#include "kernel_env.h"

/* The largest client description a channel may publish. */
#define KDEV_DESC_MAX (1u << 20)

/* A stream as the device serves it: the geometry copied at publication
 * (the module's own, trusted) and a reference on its memory. */
struct kdev_stream {
	struct grb_kmem *mem;
	char *base;
	uint64_t size;
	uint64_t consumer_off, slots_off;
	uint64_t sb_size;
	uint32_t sb_order, count_mask;
};

struct kdev_chan {
	struct list_head node; /* in chans while published */
	struct kref ref;
	struct grb_channel *ch; /* under kdev_lock; NULL once withdrawn */
	uint32_t gone; /* [K4] 1 once withdrawn */
	uint32_t files; /* under kdev_lock: the consumer's open files */
	struct grb_kdev_channel_info info; /* enabled, busy: under kdev_lock */
	void *desc;
	uint32_t nr_streams;
	struct kdev_stream streams[];
};

/* A stream file's. */
struct kdev_sfile {
	struct kdev_chan *c;
	uint32_t index;
};

static DEFINE_MUTEX(kdev_lock);
static LIST_HEAD(chans);
static uint32_t nr_chans, next_id;

static void chan_free(struct kref *ref)
{
	struct kdev_chan *c = container_of(ref, struct kdev_chan, ref);
	uint32_t i;

	for (i = 0; i < c->nr_streams; i++)
		_grb_kernel_kmem_put(c->streams[i].mem);
	_grb_env_free(c->desc);
	_grb_env_free(c);
}

static void chan_put(struct kdev_chan *c)
{
	kref_put(&c->ref, chan_free);
}

/* ------------------------------------------------------------------ */
/* Publication. */

int grb_kernel_publish(struct grb_channel *ch, const char *name, const void *desc,
		       uint32_t desc_size, uint32_t nr_events)
{
	struct kdev_chan *c, *o;
	uint32_t i, n;
	size_t len;

	if (IS_ERR_OR_NULL(ch) || !name)
		return -EINVAL;
	len = strlen(name);
	if (!len || len >= GRB_KDEV_NAME_MAX || desc_size > KDEV_DESC_MAX || (desc_size && !desc)) {
		_grb_env_set_error("publish: a name of 1 to %u bytes and a description of at most "
				   "%u bytes",
				   GRB_KDEV_NAME_MAX - 1, KDEV_DESC_MAX);
		return -EINVAL;
	}
	n = ch->nr_streams;
	c = _grb_env_zalloc(struct_size(c, streams, n));
	if (!c)
		return -ENOMEM;
	kref_init(&c->ref);
	c->ch = ch;
	c->nr_streams = n;
	if (desc_size) {
		c->desc = _grb_env_zalloc(desc_size);
		if (!c->desc) {
			chan_free(&c->ref);
			return -ENOMEM;
		}
		memcpy(c->desc, desc, desc_size);
	}
	for (i = 0; i < n; i++) {
		struct grb_stream *s = &ch->streams[i];
		struct kdev_stream *ks = &c->streams[i];

		ks->mem = _grb_kernel_kmem_get(s->shm);
		if (!ks->mem) {
			_grb_env_set_error("publish: stream %u is not the module's memory", i);
			chan_free(&c->ref);
			return -EINVAL;
		}
		ks->base = (char *)s->shm;
		ks->size = s->map_size;
		ks->consumer_off = (uint64_t)((char *)s->cons - ks->base);
		ks->slots_off = (uint64_t)((char *)s->slots - ks->base);
		ks->sb_size = s->sb_size;
		ks->sb_order = s->sb_order;
		ks->count_mask = s->count_mask;
	}
	strscpy(c->info.name, name, sizeof(c->info.name));
	strscpy(c->info.client, ch->cfg->name ? ch->cfg->name : "", sizeof(c->info.client));
	c->info.nr_streams = n;
	c->info.subbuf_size = (uint32_t)ch->streams[0].sb_size;
	c->info.subbuf_count = ch->streams[0].count_mask + 1;
	c->info.alloc = (uint32_t)ch->cfg->alloc;
	c->info.sync = (uint32_t)ch->cfg->sync;
	c->info.mode = (uint32_t)ch->cfg->mode;
	c->info.wakeup = (uint32_t)ch->cfg->wakeup;
	c->info.ts_bits = ch->cfg->ts_bits;
	c->info.packet_header_size = ch->cfg->packet_header_size;
	c->info.desc_size = desc_size;
	c->info.nr_events = nr_events;
	c->info.client_hash = ch->streams[0].shm->client_hash;
	/* It records only between a consumer's START and STOP. */
	grb_channel_disable(ch);

	mutex_lock(&kdev_lock);
	list_for_each_entry(o, &chans, node) if (o->ch == ch || !strcmp(o->info.name, name))
	{
		mutex_unlock(&kdev_lock);
		_grb_env_set_error("publish: channel %s is published already", name);
		chan_free(&c->ref);
		return -EEXIST;
	}
	c->info.id = ++next_id;
	list_add_tail(&c->node, &chans);
	nr_chans++;
	mutex_unlock(&kdev_lock);
	return 0;
}

void grb_kernel_unpublish(struct grb_channel *ch)
{
	struct kdev_chan *c, *found = NULL;

	if (IS_ERR_OR_NULL(ch))
		return;
	mutex_lock(&kdev_lock);
	list_for_each_entry(c, &chans, node) if (c->ch == ch)
	{
		found = c;
		break;
	}
	if (found) {
		list_del(&found->node);
		nr_chans--;
		if (found->files)
			grb_channel_disable(ch);
		found->ch = NULL;
		found->info.enabled = 0;
		/* [K4] release: pairs with the acquire in kdev_gone(); then
		 * the wake-up, whose queue's lock orders it before the woken
		 * poll's look. */
		smp_store_release(&found->gone, 1);
	}
	mutex_unlock(&kdev_lock);
	if (!found)
		return;
	wake_up_all(_grb_kernel_wait_queue());
	chan_put(found);
}

/* ------------------------------------------------------------------ */
/* Readiness. */

static bool kdev_gone(struct kdev_chan *c)
{
	/* [K4] acquire: pairs with grb_kernel_unpublish()'s release. */
	return smp_load_acquire(&c->gone);
}

/*
 * A stream's events for poll: EPOLLIN when the sub-buffer at its consumed
 * position is delivered (a lap at or past it: in overwrite mode a later
 * one), EPOLLHUP once it is finalized.  The look raises reader_waiting
 * first, so that a writer that delivers after it wakes the queue.
 */
static __poll_t stream_events(const struct kdev_stream *ks)
{
	struct grb_shm_stream *shm = (struct grb_shm_stream *)ks->base;
	struct grb_shm_consumer *cons = (struct grb_shm_consumer *)(ks->base + ks->consumer_off);
	struct grb_shm_slot *slots = (struct grb_shm_slot *)(ks->base + ks->slots_off);
	uint64_t c, done;
	__poll_t m = 0;

	/* [K3] the flag, a full barrier, then the loads of consumed and
	 * done: Dekker pair with the delivering writer's [D4] (its seq_cst
	 * bump of deliver_seq, then its load of the flag).  Either it sees
	 * the flag and queues the wake-up [K1], or we see its delivery. */
	smp_store_mb(cons->reader_waiting, 1);
	/* The consumer's word, untrusted: it only picks a slot (masked). */
	c = READ_ONCE(cons->consumed) & ~(ks->sb_size - 1);
	done = READ_ONCE(slots[(c >> ks->sb_order) & ks->count_mask].done);
	if ((int64_t)(done - (c + ks->sb_size)) >= 0)
		m |= EPOLLIN | EPOLLRDNORM;
	if (READ_ONCE(shm->finalized))
		m |= EPOLLHUP;
	return m;
}

/* ------------------------------------------------------------------ */
/* Files. */

static int chan_file_release(struct kdev_chan *c)
{
	uint32_t i;

	mutex_lock(&kdev_lock);
	if (!--c->files) {
		/* The consumer is gone: nothing maps the consumer pages any
		 * more.  The channel stops recording, and the next consumer
		 * may claim the streams. */
		if (c->ch && c->info.enabled)
			grb_channel_disable(c->ch);
		c->info.enabled = 0;
		for (i = 0; i < c->nr_streams; i++) {
			struct kdev_stream *ks = &c->streams[i];
			struct grb_shm_consumer *cons =
				(struct grb_shm_consumer *)(ks->base + ks->consumer_off);

			WRITE_ONCE(cons->reader_waiting, 0);
			/* [K5] release, as [A3]: what the consumer did to its
			 * page before the next consuming reader's claim [R7]. */
			smp_store_release(&cons->reader_active, 0);
		}
	}
	mutex_unlock(&kdev_lock);
	chan_put(c);
	return 0;
}

/* A new file for c, with its reference and count taken; the descriptor
 * (close-on-exec), or a negative errno.  Under kdev_lock. */
static int kdev_install(struct kdev_chan *c, const char *name, const struct file_operations *fops,
			void *priv, bool seekable)
{
	struct file *f;
	int fd = get_unused_fd_flags(O_CLOEXEC);

	if (fd < 0)
		return fd;
	f = anon_inode_getfile(name, fops, priv, O_RDWR);
	if (IS_ERR(f)) {
		put_unused_fd(fd);
		return PTR_ERR(f);
	}
	if (seekable) {
		f->f_mode |= FMODE_PREAD;
#ifdef FMODE_LSEEK
		f->f_mode |= FMODE_LSEEK;
#endif
	}
	kref_get(&c->ref);
	c->files++;
	fd_install(fd, f);
	return fd;
}

static int stream_release(struct inode *inode, struct file *f)
{
	struct kdev_sfile *sf = f->private_data;
	struct kdev_chan *c = sf->c;

	(void)inode;
	_grb_env_free(sf);
	return chan_file_release(c);
}

static ssize_t stream_read(struct file *f, char __user *buf, size_t len, loff_t *pos)
{
	struct kdev_sfile *sf = f->private_data;
	const struct kdev_stream *ks = &sf->c->streams[sf->index];
	uint64_t n;

	if (*pos < 0)
		return -EINVAL;
	if ((uint64_t)*pos >= ks->size)
		return 0;
	n = min_t(uint64_t, len, ks->size - (uint64_t)*pos);
	if (copy_to_user(buf, ks->base + *pos, n))
		return -EFAULT;
	*pos += (loff_t)n;
	return (ssize_t)n;
}

static loff_t stream_llseek(struct file *f, loff_t off, int whence)
{
	struct kdev_sfile *sf = f->private_data;

	return fixed_size_llseek(f, off, whence, (loff_t)sf->c->streams[sf->index].size);
}

/*
 * A shared mapping of whole pages of the stream: read-only (and never
 * made writable by mprotect), but for the consumer page, which alone may
 * be mapped writable -- the split a consumer of another process's memory
 * file makes (_grb_env_map_fd()).
 */
static int stream_mmap(struct file *f, struct vm_area_struct *vma)
{
	struct kdev_sfile *sf = f->private_data;
	const struct kdev_stream *ks = &sf->c->streams[sf->index];
	uint64_t len = vma->vm_end - vma->vm_start;
	uint64_t off = (uint64_t)vma->vm_pgoff << PAGE_SHIFT;

	if (!(vma->vm_flags & VM_SHARED) || (vma->vm_flags & VM_EXEC))
		return -EINVAL;
	if (off > ks->size || len > ks->size - off)
		return -EINVAL;
	if (vma->vm_flags & VM_WRITE) {
		if (off < ks->consumer_off || off + len > ks->slots_off)
			return -EACCES;
	} else {
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
		vm_flags_clear(vma, VM_MAYWRITE | VM_MAYEXEC);
#else
		vma->vm_flags &= ~(VM_MAYWRITE | VM_MAYEXEC);
#endif
	}
	return remap_vmalloc_range(vma, ks->base, vma->vm_pgoff);
}

static __poll_t stream_poll(struct file *f, poll_table *pt)
{
	struct kdev_sfile *sf = f->private_data;
	__poll_t m;

	poll_wait(f, _grb_kernel_wait_queue(), pt);
	m = stream_events(&sf->c->streams[sf->index]);
	return kdev_gone(sf->c) ? m | EPOLLHUP : m;
}

static long stream_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct kdev_sfile *sf = f->private_data;
	const struct kdev_stream *ks = &sf->c->streams[sf->index];
	struct grb_kdev_stream_info si;

	if (cmd != GRB_KDEV_STREAM_INFO)
		return -ENOTTY;
	memset(&si, 0, sizeof(si));
	si.index = sf->index;
	si.nr_streams = sf->c->nr_streams;
	si.size = ks->size;
	si.consumer_offset = ks->consumer_off;
	si.consumer_size = ks->slots_off - ks->consumer_off;
	return copy_to_user((void __user *)arg, &si, sizeof(si)) ? -EFAULT : 0;
}

static const struct file_operations stream_fops = {
	.owner = THIS_MODULE,
	.release = stream_release,
	.read = stream_read,
	.llseek = stream_llseek,
	.mmap = stream_mmap,
	.poll = stream_poll,
	.unlocked_ioctl = stream_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static int chan_release(struct inode *inode, struct file *f)
{
	(void)inode;
	return chan_file_release(f->private_data);
}

static __poll_t chan_poll(struct file *f, poll_table *pt)
{
	struct kdev_chan *c = f->private_data;
	__poll_t m = 0;
	uint32_t i;

	poll_wait(f, _grb_kernel_wait_queue(), pt);
	for (i = 0; i < c->nr_streams; i++)
		m |= stream_events(&c->streams[i]);
	return kdev_gone(c) ? m | EPOLLHUP : m;
}

static long chan_stream_open(struct kdev_chan *c, void __user *arg)
{
	struct kdev_sfile *sf;
	uint32_t index;
	long ret;

	if (copy_from_user(&index, arg, sizeof(index)))
		return -EFAULT;
	if (index >= c->nr_streams)
		return -EINVAL;
	sf = _grb_env_zalloc(sizeof(*sf));
	if (!sf)
		return -ENOMEM;
	sf->c = c;
	sf->index = index;
	mutex_lock(&kdev_lock);
	ret = c->ch ? kdev_install(c, "[grb-stream]", &stream_fops, sf, true) : -ENODEV;
	mutex_unlock(&kdev_lock);
	if (ret < 0)
		_grb_env_free(sf);
	return ret;
}

/*
 * [K6] STOP: grb_channel_disable()'s release store of enabled, then
 * synchronize_rcu(): every writer runs with preemption disabled from its
 * test of enabled to its commit (or in an interrupt), so after the grace
 * period none is between the two, and none will pass the test again;
 * then the flush [K2] closes the packets, whose deliveries are then all
 * made.
 */
static long chan_stop(struct kdev_chan *c)
{
	grb_channel_disable(c->ch);
	c->info.enabled = 0;
	/* [K6] the grace period, after the release store of enabled. */
	synchronize_rcu();
	return grb_channel_flush(c->ch);
}

static long chan_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct kdev_chan *c = f->private_data;
	void __user *uarg = (void __user *)arg;
	struct grb_kdev_channel_info ci;
	struct grb_kdev_buf b;
	long ret = 0;

	switch (cmd) {
	case GRB_KDEV_DESC:
		if (copy_from_user(&b, uarg, sizeof(b)))
			return -EFAULT;
		if (copy_to_user(u64_to_user_ptr(b.addr), c->desc, min(b.size, c->info.desc_size)))
			return -EFAULT;
		return c->info.desc_size;
	case GRB_KDEV_STREAM_OPEN:
		return chan_stream_open(c, uarg);
	case GRB_KDEV_CHANNEL_SELF:
		mutex_lock(&kdev_lock);
		ci = c->info;
		ci.busy = 1;
		mutex_unlock(&kdev_lock);
		return copy_to_user(uarg, &ci, sizeof(ci)) ? -EFAULT : 0;
	case GRB_KDEV_START:
	case GRB_KDEV_STOP:
	case GRB_KDEV_FLUSH:
		break;
	default:
		return -ENOTTY;
	}
	mutex_lock(&kdev_lock);
	if (!c->ch) {
		ret = -ENODEV;
	} else if (cmd == GRB_KDEV_START) {
		ret = grb_channel_enable(c->ch);
		c->info.enabled = !ret;
	} else if (cmd == GRB_KDEV_STOP) {
		ret = chan_stop(c);
	} else {
		ret = grb_channel_flush(c->ch);
	}
	mutex_unlock(&kdev_lock);
	return ret;
}

static const struct file_operations chan_fops = {
	.owner = THIS_MODULE,
	.release = chan_release,
	.poll = chan_poll,
	.unlocked_ioctl = chan_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/* ------------------------------------------------------------------ */
/* /dev/grb itself. */

static long dev_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct grb_kdev_channel_info ci;
	struct grb_kdev_info info;
	struct kdev_chan *c;
	uint32_t i = 0, id;
	long ret = -ENOENT;

	(void)f;
	switch (cmd) {
	case GRB_KDEV_INFO:
		memset(&info, 0, sizeof(info));
		info.version = GRB_KDEV_VERSION;
		info.layout_version = GRB_LAYOUT_VERSION;
		strscpy(info.grb_version, grb_version(), sizeof(info.grb_version));
		mutex_lock(&kdev_lock);
		info.nr_channels = nr_chans;
		mutex_unlock(&kdev_lock);
		return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
	case GRB_KDEV_CHANNEL_INFO:
		if (copy_from_user(&ci, uarg, sizeof(ci)))
			return -EFAULT;
		mutex_lock(&kdev_lock);
		list_for_each_entry(c, &chans, node) if (i++ == ci.index)
		{
			uint32_t index = ci.index;

			ci = c->info;
			ci.index = index;
			ci.busy = c->files != 0;
			ret = 0;
			break;
		}
		mutex_unlock(&kdev_lock);
		if (ret)
			return ret;
		return copy_to_user(uarg, &ci, sizeof(ci)) ? -EFAULT : 0;
	case GRB_KDEV_CHANNEL_OPEN:
		if (copy_from_user(&id, uarg, sizeof(id)))
			return -EFAULT;
		mutex_lock(&kdev_lock);
		list_for_each_entry(c, &chans, node) if (c->info.id == id)
		{
			ret = c->files ? -EBUSY :
					 kdev_install(c, "[grb-channel]", &chan_fops, c, false);
			break;
		}
		mutex_unlock(&kdev_lock);
		return ret;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice dev_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = GRB_KDEV_NAME,
	.fops = &dev_fops,
	.mode = 0600,
};

int _grb_kernel_dev_init(void)
{
	return misc_register(&dev_misc);
}

void _grb_kernel_dev_exit(void)
{
	misc_deregister(&dev_misc);
	/* Client modules withdraw their channels before grb.ko can go. */
	WARN_ON(!list_empty(&chans));
}
