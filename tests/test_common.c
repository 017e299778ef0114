/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cunit_main.h"
#include "secmem.h"
#include "util.h"

static void test_parse_size(void)
{
	uint64_t v;
	CU_ASSERT_EQUAL(parse_size("0", &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(parse_size("1", &v), 0);
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_EQUAL(parse_size("4k", &v), 0);
	CU_ASSERT_EQUAL(v, 4096);
	CU_ASSERT_EQUAL(parse_size("64M", &v), 0);
	CU_ASSERT_EQUAL(v, 64ull << 20);
	CU_ASSERT_EQUAL(parse_size("18446744073709551615", &v), 0);
	CU_ASSERT_EQUAL(v, UINT64_MAX);
	CU_ASSERT_EQUAL(parse_size("18446744073709551616", &v), -EINVAL);
	CU_ASSERT_EQUAL(parse_size("17179869184G", &v), -EINVAL);
	CU_ASSERT_EQUAL(parse_size("", &v), -EINVAL);
	CU_ASSERT_EQUAL(parse_size("-1", &v), -EINVAL);
	CU_ASSERT_EQUAL(parse_size("12x", &v), -EINVAL);
	CU_ASSERT_EQUAL(parse_size("k", &v), -EINVAL);
}

static void test_env_uint(void)
{
	static const char *const bad[] = { "-1", "11", "1x", " 1", "99999999999999999999" };
	unsigned v = 7;
	unsetenv("CS_TEST_ENV_UINT");
	CU_ASSERT_EQUAL(env_uint("CS_TEST_ENV_UINT", 10, &v), 0);
	CU_ASSERT_EQUAL(v, 7);
	setenv("CS_TEST_ENV_UINT", "", 1);
	CU_ASSERT_EQUAL(env_uint("CS_TEST_ENV_UINT", 10, &v), 0);
	CU_ASSERT_EQUAL(v, 7);
	setenv("CS_TEST_ENV_UINT", "0", 1);
	CU_ASSERT_EQUAL(env_uint("CS_TEST_ENV_UINT", 10, &v), 1);
	CU_ASSERT_EQUAL(v, 0);
	setenv("CS_TEST_ENV_UINT", "10", 1);
	CU_ASSERT_EQUAL(env_uint("CS_TEST_ENV_UINT", 10, &v), 1);
	CU_ASSERT_EQUAL(v, 10);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		setenv("CS_TEST_ENV_UINT", bad[i], 1);
		CU_ASSERT_EQUAL(env_uint("CS_TEST_ENV_UINT", 10, &v), -EINVAL);
		CU_ASSERT_EQUAL(v, 7);
	}
	unsetenv("CS_TEST_ENV_UINT");
}

/* env_knob: the value, or the default when unset, empty or malformed
 * (0, max, max + 1). */
static void test_env_knob(void)
{
	unsetenv("CS_TEST_ENV_KNOB");
	CU_ASSERT_EQUAL(env_knob("CS_TEST_ENV_KNOB", 10, 7), 7);
	setenv("CS_TEST_ENV_KNOB", "", 1);
	CU_ASSERT_EQUAL(env_knob("CS_TEST_ENV_KNOB", 10, 7), 7);
	setenv("CS_TEST_ENV_KNOB", "0", 1);
	CU_ASSERT_EQUAL(env_knob("CS_TEST_ENV_KNOB", 10, 7), 0);
	setenv("CS_TEST_ENV_KNOB", "10", 1);
	CU_ASSERT_EQUAL(env_knob("CS_TEST_ENV_KNOB", 10, 7), 10);
	setenv("CS_TEST_ENV_KNOB", "11", 1);
	CU_ASSERT_EQUAL(env_knob("CS_TEST_ENV_KNOB", 10, 7), 7);
	setenv("CS_TEST_ENV_KNOB", "1x", 1);
	CU_ASSERT_EQUAL(env_knob("CS_TEST_ENV_KNOB", 10, 7), 7);
	unsetenv("CS_TEST_ENV_KNOB");
}

static void test_secmem(void)
{
	uint8_t *p = secmem_alloc(32);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (int i = 0; i < 32; i++)
		CU_ASSERT_EQUAL(p[i], 0);
	memset(p, 0xa5, 32);
	uint8_t q[32];
	memset(q, 0xa5, 32);
	CU_ASSERT_EQUAL(secmem_cmp(p, q, 32), 0);
	q[31] ^= 1;
	CU_ASSERT_NOT_EQUAL(secmem_cmp(p, q, 32), 0);
	CU_ASSERT_EQUAL(secmem_cmp(p, q, 0), 0);
	secmem_wipe(p, 32);
	for (int i = 0; i < 32; i++)
		CU_ASSERT_EQUAL(p[i], 0);
	secmem_free(p, 32);
	secmem_free(NULL, 0);
}

static void test_full_io(void)
{
	int fds[2];
	CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
	char out[1000], in[1000];
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (char)i;
	CU_ASSERT_EQUAL(write_full(fds[1], out, sizeof(out)), 0);
	close(fds[1]);
	CU_ASSERT_EQUAL(read_full(fds[0], in, sizeof(in)), (ssize_t)sizeof(in));
	CU_ASSERT_EQUAL(memcmp(in, out, sizeof(in)), 0);
	/* EOF: short count, not an error. */
	CU_ASSERT_EQUAL(read_full(fds[0], in, 10), 0);
	close(fds[0]);
	CU_ASSERT(read_full(-1, in, 1) == -EBADF);
}

static void test_fd_passing(void)
{
	int sv[2];
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	int p[2];
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	uint32_t msg = 0xdeadbeef, got = 0;
	CU_ASSERT_EQUAL(send_fds(sv[0], &msg, sizeof(msg), p, 2), 0);
	int rfds[3];
	CU_ASSERT_EQUAL(recv_fds(sv[1], &got, sizeof(got), rfds, 3), 2);
	CU_ASSERT_EQUAL(got, msg);
	CU_ASSERT(rfds[0] >= 0 && rfds[1] >= 0 && rfds[2] == -1);
	/* The passed pipe works. */
	CU_ASSERT_EQUAL(write_full(rfds[1], "x", 1), 0);
	char c = 0;
	CU_ASSERT_EQUAL(read(p[0], &c, 1), 1);
	CU_ASSERT_EQUAL(c, 'x');
	/* A message of the wrong length is a protocol error. */
	uint64_t big = 1;
	CU_ASSERT_EQUAL(send_fds(sv[0], &big, sizeof(big), NULL, 0), 0);
	CU_ASSERT_EQUAL(recv_fds(sv[1], &got, sizeof(got), rfds, 1), -EPROTO);
	/* Peer gone. */
	close(sv[0]);
	CU_ASSERT_EQUAL(recv_fds(sv[1], &got, sizeof(got), rfds, 1),
			-ECONNRESET);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	CU_ASSERT_EQUAL(send_fds(-1, &msg, 4, NULL, 9), -EINVAL);
}

int cs_register_suites(void)
{
	static const struct cs_test tests[] = {
		{ "parse_size", test_parse_size },
		{ "env_uint", test_env_uint },
		{ "env_knob", test_env_knob },
		{ "secmem", test_secmem },
		{ "full_io", test_full_io },
		{ "fd_passing", test_fd_passing },
		{ NULL, NULL },
	};
	return cs_add_suite("common", NULL, NULL, tests);
}
