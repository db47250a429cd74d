// SPDX-License-Identifier: MIT
/*
 * module.c - grb.ko: the core (src/core, but attach.c) and the kernel
 * environment (env.c) as a module, and the symbols a client module links
 * against: the API of <grb/grb.h> but another process's channels, the
 * out-of-line functions and per-CPU words the inline fast path names
 * (src/libgrb.map lists the same for libgrb.so), and <grb/kernel.h>.
 *
 * It registers /dev/grb (dev.c), through which consumers in user space
 * read the channels that client modules publish.
 *
 * At unload it says whether every allocation was freed: a line
 * "grb: unload: ... clean" or "... LEAK" on the console.
 */
#include <linux/module.h>
#include <linux/printk.h>

#include <grb/grb.h>
#include <grb/client.h>
#include "core/env.h"
#include "kernel_env.h"

/* <grb/channel.h> */
EXPORT_SYMBOL_GPL(grb_channel_attr_init);
EXPORT_SYMBOL_GPL(grb_channel_consumed_records);
EXPORT_SYMBOL_GPL(grb_channel_create);
EXPORT_SYMBOL_GPL(grb_channel_destroy);
EXPORT_SYMBOL_GPL(grb_channel_disable);
EXPORT_SYMBOL_GPL(grb_channel_enable);
EXPORT_SYMBOL_GPL(grb_channel_fd);
EXPORT_SYMBOL_GPL(grb_channel_finalize);
EXPORT_SYMBOL_GPL(grb_channel_flush);
EXPORT_SYMBOL_GPL(grb_channel_nr_streams);
EXPORT_SYMBOL_GPL(grb_channel_read_stats);
EXPORT_SYMBOL_GPL(grb_channel_read_stream_stats);
EXPORT_SYMBOL_GPL(grb_channel_stream_shm);
EXPORT_SYMBOL_GPL(grb_channel_sync);
EXPORT_SYMBOL_GPL(grb_channel_wait);
EXPORT_SYMBOL_GPL(grb_last_error);
EXPORT_SYMBOL_GPL(grb_lost_cause_name);
EXPORT_SYMBOL_GPL(grb_version);

/* <grb/reader.h> */
EXPORT_SYMBOL_GPL(grb_iter_create);
EXPORT_SYMBOL_GPL(grb_iter_destroy);
EXPORT_SYMBOL_GPL(grb_iter_next);
EXPORT_SYMBOL_GPL(grb_iter_reader);
EXPORT_SYMBOL_GPL(grb_merge_arm);
EXPORT_SYMBOL_GPL(grb_merge_create);
EXPORT_SYMBOL_GPL(grb_merge_destroy);
EXPORT_SYMBOL_GPL(grb_merge_next);
EXPORT_SYMBOL_GPL(grb_merge_wait);
EXPORT_SYMBOL_GPL(grb_packet_cursor_init);
EXPORT_SYMBOL_GPL(grb_packet_record_next);
EXPORT_SYMBOL_GPL(grb_reader_corrupt_packets);
EXPORT_SYMBOL_GPL(grb_reader_create);
EXPORT_SYMBOL_GPL(grb_reader_destroy);
EXPORT_SYMBOL_GPL(grb_reader_get_next);
EXPORT_SYMBOL_GPL(grb_reader_lost_packets);
EXPORT_SYMBOL_GPL(grb_reader_put);
EXPORT_SYMBOL_GPL(grb_reader_snapshot_restart);
EXPORT_SYMBOL_GPL(grb_reader_wait);

/* <grb/client.h>, <grb/kernel.h> */
EXPORT_SYMBOL_GPL(grb_error_set);
EXPORT_SYMBOL_GPL(grb_kernel_mem);
EXPORT_SYMBOL_GPL(grb_kernel_publish);
EXPORT_SYMBOL_GPL(grb_kernel_unpublish);

/* The inline fast path: <grb/static/writer.h> */
EXPORT_SYMBOL_GPL(_grb_commit_rseq_slow);
EXPORT_SYMBOL_GPL(_grb_deliver);
EXPORT_SYMBOL_GPL(_grb_discard_slow);
EXPORT_SYMBOL_GPL(_grb_publish_again);
EXPORT_SYMBOL_GPL(_grb_publish_behind);
EXPORT_SYMBOL_GPL(_grb_reserve_slow);
EXPORT_SYMBOL_GPL(_grb_wake_later);
EXPORT_SYMBOL_GPL(_grb_wake_stream);
/* The per-CPU words, as <grb/env/kernel.h> names them. */
EXPORT_PER_CPU_SYMBOL_GPL(_grb_tls_nesting_pcpu);
EXPORT_PER_CPU_SYMBOL_GPL(_grb_tls_prev_pcpu);
EXPORT_PER_CPU_SYMBOL_GPL(_grb_tls_rseq_area_pcpu);
EXPORT_PER_CPU_SYMBOL_GPL(_grb_tls_writers_pcpu);

static int __init grb_init(void)
{
	int ret;

	_grb_kernel_env_init();
	ret = _grb_kernel_dev_init();
	if (ret) {
		_grb_kernel_env_exit();
		pr_err("grb: cannot register /dev/grb (%d)\n", ret);
		return ret;
	}
	pr_info("grb: loaded, version %s, %u possible CPUs, /dev/grb\n", grb_version(), nr_cpu_ids);
	return 0;
}

static void __exit grb_exit(void)
{
	struct grb_kernel_mem_stats st;
	int clean;

	_grb_kernel_dev_exit();
	_grb_kernel_env_exit();
	grb_kernel_mem(&st);
	clean = st.maps == st.unmaps && st.allocs == st.frees && st.map_bytes == 0;
	pr_info("grb: unload: %llu maps %llu unmaps, %llu allocations %llu frees, %llu bytes mapped: %s\n",
		(unsigned long long)st.maps, (unsigned long long)st.unmaps,
		(unsigned long long)st.allocs, (unsigned long long)st.frees,
		(unsigned long long)st.map_bytes, clean ? "clean" : "LEAK");
}

module_init(grb_init);
module_exit(grb_exit);

MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("grb, the Generic Ring Buffer: lockless per-CPU tracing buffers");
