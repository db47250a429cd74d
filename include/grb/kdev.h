/* SPDX-License-Identifier: MIT */
/*
 * grb/kdev.h - the interface of grb.ko's character device, /dev/grb,
 * through which a consumer in user space reads the module's channels
 * (doc/kernel.md, "Reading from user space").  Both sides include it: the
 * module (src/env/kernel/dev.c) and user space (grb record --kernel, the
 * user-space environment's check of a stream descriptor).
 *
 * The device lists the channels that modules published
 * (grb_kernel_publish(), <grb/kernel.h>); a consumer opens one of them,
 * which gives it a channel descriptor, and asks that one for a descriptor
 * per stream.  A stream descriptor is what a memory file is for a channel
 * of another process: pread() reads its header, and mmap() maps the
 * stream, read-only but for its consumer page, which alone may be mapped
 * writable; grb_channel_attach() takes the descriptors as they are.
 *
 *	fd = open("/dev/grb", O_RDWR);
 *	ioctl(fd, GRB_KDEV_INFO, &info);            versions, channel count
 *	ioctl(fd, GRB_KDEV_CHANNEL_INFO, &ci);      the ci.index-th channel
 *	cfd = ioctl(fd, GRB_KDEV_CHANNEL_OPEN, &ci.id);   one consumer at a time
 *	ioctl(cfd, GRB_KDEV_DESC, &buf);            the client's description
 *	sfd[i] = ioctl(cfd, GRB_KDEV_STREAM_OPEN, &i);
 *	ch = grb_channel_attach(&cfg, sfd, ci.nr_streams, data);
 *	ioctl(cfd, GRB_KDEV_START);                 the channel records
 *	poll(cfd): POLLIN a stream has a delivered sub-buffer to take,
 *		   POLLHUP the channel was finalized or withdrawn
 *	ioctl(cfd, GRB_KDEV_STOP);                  stops, every record delivered
 *
 * All fields are in the machine's byte order; the structures have the
 * same layout in the module and in user space (fixed-width fields,
 * naturally aligned).
 */
#ifndef GRB_KDEV_H
#define GRB_KDEV_H

#include <stdint.h>
#include <linux/ioctl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The device node; a misc device, mode 0600. */
#define GRB_KDEV_PATH "/dev/grb"
#define GRB_KDEV_NAME "grb"

/* The version of this interface (the ioctls and their structures).  The
 * streams' memory layout has its own (GRB_LAYOUT_VERSION), also given by
 * GRB_KDEV_INFO. */
#define GRB_KDEV_VERSION 1u

#define GRB_KDEV_NAME_MAX 32u /* channel and client names, with the NUL */

/* GRB_KDEV_INFO: the module. */
struct grb_kdev_info {
	uint32_t version; /* GRB_KDEV_VERSION of the module */
	uint32_t layout_version; /* GRB_LAYOUT_VERSION the module writes */
	uint32_t nr_channels; /* published now */
	uint32_t _pad;
	char grb_version[GRB_KDEV_NAME_MAX]; /* grb_version() of the module */
};

/* GRB_KDEV_CHANNEL_INFO: in, index (0 to nr_channels - 1); out, the rest.
 * A channel keeps its id while it is published; ids are never reused
 * while the module is loaded. */
struct grb_kdev_channel_info {
	uint32_t index;
	uint32_t id;
	char name[GRB_KDEV_NAME_MAX]; /* the channel's, as published */
	char client[GRB_KDEV_NAME_MAX]; /* struct grb_config.name: "ctf", "ftrace" */
	uint32_t nr_streams;
	uint32_t subbuf_size, subbuf_count;
	uint32_t alloc, sync, mode, wakeup; /* struct grb_config's */
	uint32_t ts_bits, packet_header_size;
	uint32_t desc_size; /* bytes of the client's description (GRB_KDEV_DESC) */
	uint32_t nr_events; /* what the description describes */
	uint32_t busy; /* 1: a consumer has it open */
	uint32_t enabled; /* 1: recording (GRB_KDEV_START) */
	uint32_t _pad;
	uint64_t client_hash; /* the record format's fingerprint, as in every stream's header */
};

/* GRB_KDEV_DESC: the client's description of its records (for the CTF
 * client, its events in the encoding of doc/session.md) copied to addr;
 * the ioctl returns its full size, copying at most size bytes. */
struct grb_kdev_buf {
	uint64_t addr; /* a user-space address */
	uint32_t size;
	uint32_t _pad;
};

/* GRB_KDEV_STREAM_INFO, on a stream descriptor. */
struct grb_kdev_stream_info {
	uint32_t index; /* in its channel */
	uint32_t nr_streams;
	uint64_t size; /* bytes of the stream's mapping (its header's map_size) */
	uint64_t consumer_offset; /* the consumer page: the only part mapped writable */
	uint64_t consumer_size;
};

#define GRB_KDEV_MAGIC 0xb7

/* On /dev/grb. */
#define GRB_KDEV_INFO _IOR(GRB_KDEV_MAGIC, 0x01, struct grb_kdev_info)
#define GRB_KDEV_CHANNEL_INFO _IOWR(GRB_KDEV_MAGIC, 0x02, struct grb_kdev_channel_info)
/* Returns a channel descriptor (close-on-exec); -EBUSY while another
 * consumer has the channel (its channel or stream descriptors) open,
 * -ENOENT no such channel. */
#define GRB_KDEV_CHANNEL_OPEN _IOW(GRB_KDEV_MAGIC, 0x03, uint32_t)

/* On a channel descriptor.  -ENODEV once the channel was withdrawn. */
#define GRB_KDEV_DESC _IOW(GRB_KDEV_MAGIC, 0x10, struct grb_kdev_buf)
/* Returns the descriptor of stream *index (close-on-exec). */
#define GRB_KDEV_STREAM_OPEN _IOW(GRB_KDEV_MAGIC, 0x11, uint32_t)
/* Enable the channel: its writers record. */
#define GRB_KDEV_START _IO(GRB_KDEV_MAGIC, 0x12)
/* Disable it, wait until no writer is between reserve and commit, and
 * flush every stream: all it committed is delivered, nothing is written
 * after.  The last descriptor's close disables it too. */
#define GRB_KDEV_STOP _IO(GRB_KDEV_MAGIC, 0x13)
/* Flush every stream (the packets being written are delivered). */
#define GRB_KDEV_FLUSH _IO(GRB_KDEV_MAGIC, 0x14)
/* The channel's own figures, as GRB_KDEV_CHANNEL_INFO gives them. */
#define GRB_KDEV_CHANNEL_SELF _IOR(GRB_KDEV_MAGIC, 0x15, struct grb_kdev_channel_info)

/* On a stream descriptor. */
#define GRB_KDEV_STREAM_INFO _IOR(GRB_KDEV_MAGIC, 0x20, struct grb_kdev_stream_info)

#ifdef __cplusplus
}
#endif

#endif /* GRB_KDEV_H */
