/* SPDX-License-Identifier: MIT */
/*
 * grb/grb.h - the Generic Ring Buffer: everything in one include.
 */
#ifndef GRB_GRB_H
#define GRB_GRB_H

#include <grb/config.h>
#include <grb/channel.h>
#include <grb/writer.h>
#include <grb/reader.h>
#include <grb/native.h>
#include <grb/ctf.h>

#endif /* GRB_GRB_H */
