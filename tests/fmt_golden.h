/* SPDX-License-Identifier: MIT */
/*
 * Golden lower files (tests/golden/): written once by format version 1 with
 * fixed keys (CS_FMT_WRITE_GOLDEN=DIR build/test_fmt), read back by every
 * later version. The content of each file is described by a table of
 * writes (offset, length, pattern seed) applied to a zero buffer.
 */
#ifndef CS_TEST_FMT_GOLDEN_H
#define CS_TEST_FMT_GOLDEN_H

#include "fmt_model.h"

/* Writes every golden file into dir; 0 or -errno. */
int golden_write(const char *dir, struct fake_keyd *kd, const uint8_t fek[32],
		 const uint8_t names_key[64], const uint8_t dirid[16]);
/* Reads every golden file in dir and checks content and names; 0 or the
 * number of failures (each printed). */
int golden_check(const char *dir, struct fake_keyd *kd,
		 const uint8_t names_key[64], const uint8_t dirid[16]);

#endif
