/* SPDX-License-Identifier: MIT */
/* Small helpers shared by every process: full I/O, fd passing, numbers. */
#ifndef CS_UTIL_H
#define CS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Reads exactly len bytes unless EOF; returns bytes read or -errno. */
ssize_t read_full(int fd, void *buf, size_t len);
/* pread of exactly len bytes at off unless EOF; bytes read or -errno. */
ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off);
/* Writes exactly len bytes; returns 0 or -errno. */
int write_full(int fd, const void *buf, size_t len);
/* Sends len bytes and up to nfds descriptors in one message; 0 or -errno. */
int send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds);
/* Receives one message into buf (exactly len bytes) and up to maxfds
 * descriptors (unused slots set to -1); returns number of fds or -errno.
 * A short message is -EPROTO. */
int recv_fds(int sock, void *buf, size_t len, int *fds, int maxfds);
/* Parses a decimal unsigned number with optional K/M/G suffix; 0 or -EINVAL. */
int parse_size(const char *s, uint64_t *out);
/* Reads environment variable name as a decimal number <= max into *out:
 * 1 if set and valid, 0 if unset or empty (*out untouched), -EINVAL if
 * malformed or too large (*out untouched). */
int env_uint(const char *name, unsigned max, unsigned *out);
/* A tuning knob from the environment: its value as env_uint() reads it,
 * else def (unset or empty, or malformed: then a warning "NAME ignored
 * (0..max)" is logged). */
unsigned env_knob(const char *name, unsigned max, unsigned def);
/* Returns a monotonic time in nanoseconds. */
uint64_t now_ns(void);
/* Sets or clears FD_CLOEXEC; 0 or -errno. */
int set_cloexec(int fd, int on);

#endif
