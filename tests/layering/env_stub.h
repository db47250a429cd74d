/* SPDX-License-Identifier: MIT */
/*
 * env_stub.h - an environment that provides nothing but the inline
 * interface's names, for the test that compiles the core freestanding
 * (freestanding.sh).  If the core needs anything else from its
 * environment, that test fails to compile: the interface is then
 * <grb/static/env.h>'s GRB_ENV_HEADER and src/core/env.h, and nothing else.
 */
#ifndef GRB_TEST_ENV_STUB_H
#define GRB_TEST_ENV_STUB_H

/* The error numbers the core returns (Linux's values). */
#define E2BIG 7
#define EAGAIN 11
#define EBUSY 16
#define EINVAL 22
#define EIO 5
#define ENOBUFS 105
#define ENODATA 61
#define ENODEV 19
#define ENOMEM 12
#define ENOSPC 28
#define EOPNOTSUPP 95
#define ENOTSUP 95
#define ENOENT 2
#define EPERM 1
#define EPROTO 71
#define ESHUTDOWN 108
#define ETIMEDOUT 110

int _grb_env_getcpu_slow(void);

static inline int _grb_env_getcpu(void)
{
	return _grb_env_getcpu_slow();
}

#endif /* GRB_TEST_ENV_STUB_H */
