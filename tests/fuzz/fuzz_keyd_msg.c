/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for keyd's service loop (keyd/serve.c kd_serve): the
 * proto/keymsg.h messages a hostile or broken cryptod can send. The input
 * is cut into up to 32 messages (u16 little-endian length, then the bytes;
 * a short tail is zero-padded). Byte 0 of the input: bit 0 sends a valid
 * KD_HELLO first, bit 1 trims/pads each message to the exact size of the
 * type in its first byte (so the fuzzer reaches the handlers, not only
 * the framing checks). The messages go over a real SOCK_SEQPACKET pair to
 * kd_serve with a context of two FEKEKs.
 *
 * A malformed message must end the loop through fatalx() (fail closed):
 * this file provides the log.h functions (so common/log.c is not linked)
 * and turns fatal()/fatalx() into a longjmp back here, and provides
 * malloc-backed secmem_* so memory kd_serve held at that point is freed.
 * Every reply keyd sent before must be well formed: exact size for its
 * type, seq echoed, unwrap status 0/-ENOKEY/-EBADMSG with an all-zero FEK
 * unless 0, wrap status 0 with one packet per FEKEK (batch: per entry,
 * count echoed). Violations abort().
 *
 * Built with -DCS_FUZZ=ON (clang) as fuzz-keyd-msg; every other build
 * replays tests/fuzz/corpus/keyd_msg as a unit test (fuzz_keyd_msg_replay).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kd.h"
#include "keymsg.h"
#include "log.h"
#include "secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

volatile sig_atomic_t kd_stop;

/* ---- log.h without common/log.c --------------------------------------- */

static jmp_buf fatal_jmp;
static int in_serve;

void log_init(const char *procname, int level)
{
	(void)procname;
	(void)level;
}
int log_getlevel(void)
{
	return LOG_LVL_WARN;
}
void log_setlevel(int level)
{
	(void)level;
}
void log_warn(const char *fmt, ...)
{
	(void)fmt;
}
void log_warnx(const char *fmt, ...)
{
	(void)fmt;
}
void log_info(const char *fmt, ...)
{
	(void)fmt;
}
void log_debug(const char *fmt, ...)
{
	(void)fmt;
}
void fatal(const char *fmt, ...)
{
	(void)fmt;
	if (!in_serve)
		abort();
	longjmp(fatal_jmp, 1);
}
void fatalx(const char *fmt, ...)
{
	(void)fmt;
	if (!in_serve)
		abort();
	longjmp(fatal_jmp, 1);
}

/* ---- secmem.h, malloc-backed, tracking kd_serve's buffers ------------- */

#define NLIVE 8
static void *live[NLIVE];

void *secmem_alloc(size_t len)
{
	void *p = calloc(1, len ? len : 1);
	if (p && in_serve)
		for (unsigned i = 0; i < NLIVE; i++)
			if (!live[i]) {
				live[i] = p;
				break;
			}
	return p;
}
void secmem_free(void *p, size_t len)
{
	if (!p)
		return;
	for (unsigned i = 0; i < NLIVE; i++)
		if (live[i] == p)
			live[i] = NULL;
	secmem_wipe(p, len);
	free(p);
}
void secmem_wipe(void *p, size_t len)
{
	if (p)
		explicit_bzero(p, len);
}
int secmem_cmp(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;
	for (size_t i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return d;
}

/* ---- harness ------------------------------------------------------------ */

static const size_t rep_size[KD__MAX] = {
    [KD_HELLO] = sizeof(struct kd_hello),
    [KD_WRAP] = sizeof(struct kd_wrap_rep),
    [KD_UNWRAP] = sizeof(struct kd_unwrap_rep),
    [KD_NAMES_KEY] = sizeof(struct kd_names_key_rep),
    [KD_LIST] = sizeof(struct kd_list_rep),
    [KD_WRAP_BATCH] = sizeof(struct kd_wrap_batch_rep),
};

static struct kd_ctx *ctx;

static void setup(void)
{
	static const uint8_t id0[KD_ID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t id1[KD_ID_LEN] = {'c', 's', 'f', 'u',
					       'z', 'z', 'k', 'd'};
	uint8_t k0[VOL_KEY_LEN], k1[VOL_KEY_LEN];
	memset(k0, 0x11, sizeof(k0));
	memset(k1, 0x22, sizeof(k1));
	ctx = kd_ctx_new();
	if (!ctx || kd_ctx_add(ctx, id0, k0) || kd_ctx_add(ctx, id1, k1))
		abort();
	memset(ctx->names_key, 0x33, sizeof(ctx->names_key));
}

static void check_reply(const uint8_t *b, size_t n, const uint32_t *seqs,
			unsigned nreq, unsigned idx)
{
	struct kd_hdr h;
	if (n < sizeof(h))
		abort();
	memcpy(&h, b, sizeof(h));
	if (h.type <= KD_INVALID || h.type >= KD__MAX || n != rep_size[h.type])
		abort();
	if (idx >= nreq || h.seq != seqs[idx])
		abort(); /* one reply per accepted request, in order */
	if (h.type == KD_UNWRAP) {
		struct kd_unwrap_rep r;
		memcpy(&r, b, sizeof(r));
		if (r.status != 0 && r.status != -ENOKEY &&
		    r.status != -EBADMSG)
			abort();
		if (r.status)
			for (unsigned i = 0; i < KD_FEK_LEN; i++)
				if (r.fek[i])
					abort();
	} else if (h.type == KD_WRAP) {
		struct kd_wrap_rep r;
		memcpy(&r, b, sizeof(r));
		if (r.status != 0 || r.count != ctx->nkeys)
			abort();
	} else if (h.type == KD_WRAP_BATCH) {
		static struct kd_wrap_batch_rep r;
		memcpy(&r, b, sizeof(r));
		if (r.status != 0 || r.count < 1 || r.count > KD_BATCH_MAX ||
		    r.npkts != ctx->nkeys)
			abort();
	} else if (h.type == KD_LIST) {
		struct kd_list_rep r;
		memcpy(&r, b, sizeof(r));
		if (r.status != 0 || r.count != ctx->nkeys)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t msg[4096];
	static uint8_t rep[16384];
	uint32_t seqs[40];
	unsigned nreq = 0;
	int sv[2];

	if (!ctx)
		setup();
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	/* kd_serve() runs after all requests are queued and before any reply
	 * is read: every reply must fit in its socket's send buffer, or it
	 * blocks forever (32 KD_WRAP_BATCH replies are ~300 KB, more than the
	 * default wmem). */
	int bufsz = 1 << 20;
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	}
	if (mode & 1) {
		struct kd_hello hq = {.h = {KD_HELLO, 7},
				      .version = KD_PROTO_VERSION};
		if (send(sv[0], &hq, sizeof(hq), 0) != (ssize_t)sizeof(hq))
			abort();
		seqs[nreq++] = 7;
	}
	while (size >= 2 && nreq < 32) {
		size_t len = (size_t)data[0] | (size_t)data[1] << 8;
		data += 2;
		size -= 2;
		len %= 3000;
		size_t take = len < size ? len : size;
		memset(msg, 0, len ? len : 1);
		memcpy(msg, data, take);
		data += take;
		size -= take;
		if ((mode & 2) && len >= 1) {
			uint32_t type = msg[0] % KD__MAX;
			if (type == KD_INVALID)
				type = KD_UNWRAP;
			if (kd_req_size(type) > len)
				memset(msg + len, 0, kd_req_size(type) - len);
			len = kd_req_size(type);
			memcpy(msg, &type, sizeof(type));
			if (type == KD_WRAP || type == KD_UNWRAP) {
				/* ad_len sits right before ad[]: keep it
				 * mostly in range */
				size_t o =
				    type == KD_WRAP
					? offsetof(struct kd_wrap_req, ad_len)
					: offsetof(struct kd_unwrap_req,
						   ad_len);
				uint32_t al;
				memcpy(&al, msg + o, 4);
				if (!(mode & 4))
					al %= KD_AD_MAX + 1;
				memcpy(msg + o, &al, 4);
			}
			if (type == KD_WRAP_BATCH && !(mode & 4)) {
				/* count and ad_len mostly in range */
				size_t oc = offsetof(struct kd_wrap_batch_req,
						     count),
				       oa = offsetof(struct kd_wrap_batch_req,
						     ad_len);
				uint32_t c, al;
				memcpy(&c, msg + oc, 4);
				memcpy(&al, msg + oa, 4);
				c = c % KD_BATCH_MAX + 1;
				al %= KD_BATCH_AD_MAX + 1;
				memcpy(msg + oc, &c, 4);
				memcpy(msg + oa, &al, 4);
			}
		}
		if (send(sv[0], msg, len, MSG_DONTWAIT) != (ssize_t)len)
			break;
		struct kd_hdr h = {0, 0};
		memcpy(&h, msg, len < sizeof(h) ? len : sizeof(h));
		seqs[nreq++] = h.seq;
	}
	shutdown(sv[0], SHUT_WR);
	in_serve = 1;
	if (setjmp(fatal_jmp) == 0)
		kd_serve(sv[1], ctx);
	in_serve = 0;
	for (unsigned i = 0; i < NLIVE; i++) {
		free(live[i]);
		live[i] = NULL;
	}
	close(sv[1]);
	unsigned idx = 0;
	for (;;) {
		ssize_t n =
		    recv(sv[0], rep, sizeof(rep), MSG_DONTWAIT | MSG_TRUNC);
		if (n <= 0)
			break;
		if ((size_t)n > sizeof(rep))
			abort();
		check_reply(rep, (size_t)n, seqs, nreq, idx++);
	}
	close(sv[0]);
	return 0;
}
