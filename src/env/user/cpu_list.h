/* SPDX-License-Identifier: MIT */
/*
 * cpu_list.h - the user-space environment's reading of a Linux CPU list,
 * declared apart for its unit test (tests/unit/test_cpu_list.c, which
 * declares it again, as no file outside src/ includes a private header).
 */
#ifndef GRB_ENV_USER_CPU_LIST_H
#define GRB_ENV_USER_CPU_LIST_H

#include <stddef.h>

/*
 * The number of CPU ids a Linux CPU list spans, as in
 * /sys/devices/system/cpu/possible ("0-3,8-11\n"): its highest id + 1
 * (12), holes included.  Reads at most len bytes of text (up to a NUL).
 * Return: 0 when the text is not such a list (empty, a malformed range, a
 * descending one, an id over 2^22).
 */
int _grb_env_cpu_list_span(const char *text, size_t len);

#endif /* GRB_ENV_USER_CPU_LIST_H */
