/* SPDX-License-Identifier: MIT */
/*
 * keyd as a process: volumes made with the real `cryptstack` CLI, keyd
 * started through cli_keyd_start() (cli/keyd_client.c), every proto/keymsg.h
 * message against it, malformed messages (keyd must hang up and exit), mount
 * contexts with one or two FEKEKs, slot management through the CLI, RSA key
 * slots, passphrase input. The test opens the slots itself with the known
 * passphrases (Argon2id + mbedTLS) and checks that no reply ever contains a
 * FEKEK, the names master key or a passphrase-derived key.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>
#include <pty.h>

#include <argon2.h>
#include <mbedtls/gcm.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>

#include "../cli/cli.h"
#include "../cli/keyd_client.h"
#include "cipher.h"
#include "cunit_main.h"
#include "fmt.h"
#include "keymsg.h"
#include "volume.h"

#define SMALL_KDF "--kdf-memory 1M --kdf-time 1 --kdf-parallelism 1"

static char dir[64];
static char vol1[128], vol2[128];
static char pf1[128], pf2[128], pf3[128];

/* What the test learns by opening the slots itself. */
static uint8_t fekek[2][32], kid[2][8], nmk[32], pkey[2][32];
static uint8_t volid[16];

const char *cli_helper_dir(void)
{
	return CS_BUILD_DIR;
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	char full[2200];
	snprintf(full, sizeof(full), "%s %s >/dev/null 2>&1", CS_CLI, cmd);
	int st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(s, f);
		fclose(f);
	}
}

static int load_conf(const char *v, struct vol_config *c, uint8_t *raw,
		     size_t *rawlen)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", v, VOL_CONF_NAME);
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, raw, VOL_MAX_SIZE);
	close(fd);
	if (n < 0)
		return -EIO;
	*rawlen = (size_t)n;
	return vol_parse(raw, (size_t)n, c, NULL);
}

/* Opens passphrase slot i of c independently of keyd. */
static int open_slot(const struct vol_config *c, unsigned i, const char *pass,
		     uint8_t out[64], uint8_t key[32])
{
	const struct vol_slot *s = &c->slot[i];
	uint8_t ad[VOL_AD_LEN + VOL_PASS_AD_LEN];
	if (argon2id_hash_raw(s->kdf_t, s->kdf_m, s->kdf_p, pass, strlen(pass),
			      s->salt, 16, key, 32) != ARGON2_OK)
		return -1;
	size_t adl = vol_slot_ad(c, i, ad);
	mbedtls_gcm_context g;
	mbedtls_gcm_init(&g);
	mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, 256);
	int r = mbedtls_gcm_auth_decrypt(&g, 64, s->nonce, 12, ad, adl, s->tag,
					 16, s->ct, out);
	mbedtls_gcm_free(&g);
	return r;
}

static int suite_init(void)
{
	static struct vol_config c;
	static uint8_t raw[VOL_MAX_SIZE];
	size_t rawlen;
	uint8_t out[64];
	/* The user's ~/.cryptstackrc must not leak into the tests. */
	setenv("CRYPTSTACKRC", "/nonexistent/cryptstackrc", 1);
	snprintf(dir, sizeof(dir), "/tmp/test_keyd.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(vol1, sizeof(vol1), "%s/vol1", dir);
	snprintf(vol2, sizeof(vol2), "%s/vol2", dir);
	snprintf(pf1, sizeof(pf1), "%s/pass1", dir);
	snprintf(pf2, sizeof(pf2), "%s/pass2", dir);
	snprintf(pf3, sizeof(pf3), "%s/pass3", dir);
	write_file(pf1, "first passphrase\n");
	write_file(pf2, "second passphrase");
	write_file(pf3, "third passphrase\r\n");
	if (run("init --passfile %s " SMALL_KDF " %s", pf1, vol1) ||
	    run("key add --passfile %s --new-passfile %s --new-key " SMALL_KDF
		" %s", pf1, pf2, vol1) ||
	    run("init --passfile %s --cipher chacha20-poly1305 "
		"--plaintext-names " SMALL_KDF " %s", pf1, vol2))
		return -1;
	if (load_conf(vol1, &c, raw, &rawlen) || c.nslots != 2)
		return -1;
	memcpy(volid, c.volume_id, 16);
	const char *pw[2] = { "first passphrase", "second passphrase" };
	for (unsigned i = 0; i < 2; i++) {
		if (open_slot(&c, i, pw[i], out, pkey[i]))
			return -1;
		memcpy(fekek[i], out, 32);
		memcpy(kid[i], c.slot[i].key_id, 8);
		if (i == 0)
			memcpy(nmk, out + 32, 32);
		else if (memcmp(nmk, out + 32, 32))
			return -1; /* every slot carries the same names key */
	}
	return 0;
}

static int suite_clean(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Starts keyd for volume v with the given passphrase files. */
static int start(const char *v, const char *const *pfs, unsigned n, int *fd,
		 pid_t *pid, char *err, size_t errlen)
{
	struct cli_unlock u = { 0 };
	int lower = open(v, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
	if (lower < 0)
		return -errno;
	for (unsigned i = 0; i < n && r == 0; i++) {
		struct cli_pass_src src = { .passfile = pfs[i] };
		r = cli_unlock_add_pass(&u, &src, NULL);
	}
	if (r == 0)
		r = cli_keyd_start(lower, &u, fd, pid, err, errlen);
	cli_unlock_clear(&u);
	close(lower);
	return r;
}

/* Every secret the replies must never contain. */
static void scan(const void *rep, size_t len)
{
	const uint8_t *secrets[] = { fekek[0], fekek[1], nmk, pkey[0],
				     pkey[1] };
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		CU_ASSERT_PTR_NULL(memmem(rep, len, secrets[i], 16));
	CU_ASSERT_PTR_NULL(memmem(rep, len, "first passphrase", 16));
	CU_ASSERT_PTR_NULL(memmem(rep, len, "second passphrase", 16));
}

/* One request/reply; the reply must be exactly replen bytes. */
static int rpc(int fd, const void *req, size_t len, void *rep, size_t replen)
{
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -1;
	ssize_t n = recv(fd, rep, replen, MSG_TRUNC);
	if (n != (ssize_t)replen)
		return -1;
	scan(rep, replen);
	return 0;
}

static void hello(int fd)
{
	struct kd_hello q = { .h = { KD_HELLO, 7 }, .version = KD_PROTO_VERSION };
	struct kd_hello p;
	CU_ASSERT_EQUAL_FATAL(rpc(fd, &q, sizeof(q), &p, sizeof(p)), 0);
	CU_ASSERT_EQUAL(p.h.type, KD_HELLO);
	CU_ASSERT_EQUAL(p.h.seq, 7);
	CU_ASSERT_EQUAL(p.version, KD_PROTO_VERSION);
}

/* Closes our end and reaps keyd; returns its exit status or -1. */
static int finish(int fd, pid_t pid)
{
	int st;
	close(fd);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void wrap(int fd, const uint8_t fek[32], const char *ad,
		 struct kd_wrap_rep *p)
{
	static struct kd_wrap_req q;
	memset(&q, 0, sizeof(q));
	q.h.type = KD_WRAP;
	q.h.seq = 11;
	memcpy(q.fek, fek, 32);
	q.ad_len = (uint32_t)strlen(ad);
	memcpy(q.ad, ad, q.ad_len);
	CU_ASSERT_EQUAL_FATAL(rpc(fd, &q, sizeof(q), p, sizeof(*p)), 0);
	CU_ASSERT_EQUAL(p->h.type, KD_WRAP);
	CU_ASSERT_EQUAL(p->h.seq, 11);
}

static int unwrap(int fd, const struct kd_packet *pkt, const void *ad,
		  uint32_t ad_len, uint8_t fek[32])
{
	static struct kd_unwrap_req q;
	struct kd_unwrap_rep p;
	memset(&q, 0, sizeof(q));
	q.h.type = KD_UNWRAP;
	q.h.seq = 12;
	q.pkt = *pkt;
	q.ad_len = ad_len;
	memcpy(q.ad, ad, ad_len);
	if (rpc(fd, &q, sizeof(q), &p, sizeof(p)))
		return -9999;
	CU_ASSERT_EQUAL(p.h.seq, 12);
	if (p.status)
		for (size_t i = 0; i < 32; i++)
			CU_ASSERT_EQUAL(p.fek[i], 0);
	memcpy(fek, p.fek, 32);
	return p.status;
}

static void test_messages(void)
{
	const char *both[] = { pf1, pf2 };
	char err[512];
	int fd;
	pid_t pid;
	uint8_t fek[32], got[32];
	static struct kd_wrap_rep w;
	CU_ASSERT_EQUAL_FATAL(start(vol1, both, 2, &fd, &pid, err,
				    sizeof(err)), 0);
	hello(fd);
	/* LIST */
	struct kd_list_req lq = { .h = { KD_LIST, 1 } };
	struct kd_list_rep lp;
	CU_ASSERT_EQUAL_FATAL(rpc(fd, &lq, sizeof(lq), &lp, sizeof(lp)), 0);
	CU_ASSERT_EQUAL(lp.status, 0);
	CU_ASSERT_EQUAL(lp.count, 2);
	CU_ASSERT_EQUAL(memcmp(lp.id[0], kid[0], 8), 0);
	CU_ASSERT_EQUAL(memcmp(lp.id[1], kid[1], 8), 0);
	/* NAMES_KEY = HKDF-SHA256(names master key, salt = volume id). */
	struct kd_names_key_req nq = { .h = { KD_NAMES_KEY, 2 } };
	struct kd_names_key_rep np;
	uint8_t want[64];
	static const char info[] = "cryptstack names key v1";
	CU_ASSERT_EQUAL_FATAL(mbedtls_hkdf(mbedtls_md_info_from_type(
						   MBEDTLS_MD_SHA256),
					   volid, 16, nmk, 32,
					   (const uint8_t *)info,
					   sizeof(info) - 1, want, 64), 0);
	CU_ASSERT_EQUAL_FATAL(rpc(fd, &nq, sizeof(nq), &np, sizeof(np)), 0);
	CU_ASSERT_EQUAL(np.status, 0);
	CU_ASSERT_EQUAL(memcmp(np.key, want, 64), 0);
	/* WRAP: one packet per FEKEK; the test opens each with its FEKEK. */
	for (int i = 0; i < 32; i++)
		fek[i] = (uint8_t)(0xc0 + i);
	wrap(fd, fek, "header bytes", &w);
	CU_ASSERT_EQUAL(w.status, 0);
	CU_ASSERT_EQUAL_FATAL(w.count, 2);
	CU_ASSERT_NOT_EQUAL(memcmp(w.pkt[0].nonce, w.pkt[1].nonce, 12), 0);
	for (unsigned k = 0; k < 2; k++) {
		uint8_t ad[64];
		memcpy(ad, "header bytes", 12);
		memcpy(ad + 12, w.pkt[k].id, 8);
		unsigned which = memcmp(w.pkt[k].id, kid[0], 8) ? 1 : 0;
		mbedtls_gcm_context g;
		mbedtls_gcm_init(&g);
		mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, fekek[which],
				   256);
		CU_ASSERT_EQUAL(mbedtls_gcm_auth_decrypt(
					&g, 32, w.pkt[k].nonce, 12, ad, 20,
					w.pkt[k].tag, 16, w.pkt[k].wrapped,
					got), 0);
		mbedtls_gcm_free(&g);
		CU_ASSERT_EQUAL(memcmp(got, fek, 32), 0);
		/* UNWRAP gives it back. */
		CU_ASSERT_EQUAL(unwrap(fd, &w.pkt[k], "header bytes", 12, got),
				0);
		CU_ASSERT_EQUAL(memcmp(got, fek, 32), 0);
	}
	/* Tampering: tag, ciphertext, AD, id. */
	struct kd_packet bad = w.pkt[0];
	bad.tag[0] ^= 1;
	CU_ASSERT_EQUAL(unwrap(fd, &bad, "header bytes", 12, got), -EBADMSG);
	bad = w.pkt[0];
	bad.wrapped[31] ^= 0x80;
	CU_ASSERT_EQUAL(unwrap(fd, &bad, "header bytes", 12, got), -EBADMSG);
	CU_ASSERT_EQUAL(unwrap(fd, &w.pkt[0], "header bytez", 12, got),
			-EBADMSG);
	CU_ASSERT_EQUAL(unwrap(fd, &w.pkt[0], "header byte", 11, got),
			-EBADMSG);
	bad = w.pkt[0];
	memcpy(bad.id, w.pkt[1].id, 8); /* the other key: tag fails */
	CU_ASSERT_EQUAL(unwrap(fd, &bad, "header bytes", 12, got), -EBADMSG);
	bad.id[0] ^= 0xff;
	bad.id[1] ^= 0xff;
	CU_ASSERT_EQUAL(unwrap(fd, &bad, "header bytes", 12, got), -ENOKEY);
	/* AD lengths 0 and KD_AD_MAX. */
	static uint8_t bigad[KD_AD_MAX];
	memset(bigad, 0x42, sizeof(bigad));
	wrap(fd, fek, "", &w);
	CU_ASSERT_EQUAL(unwrap(fd, &w.pkt[1], "", 0, got), 0);
	CU_ASSERT_EQUAL(memcmp(got, fek, 32), 0);
	static struct kd_wrap_req q;
	memset(&q, 0, sizeof(q));
	q.h.type = KD_WRAP;
	q.ad_len = KD_AD_MAX;
	memcpy(q.ad, bigad, KD_AD_MAX);
	memcpy(q.fek, fek, 32);
	CU_ASSERT_EQUAL_FATAL(rpc(fd, &q, sizeof(q), &w, sizeof(w)), 0);
	CU_ASSERT_EQUAL(w.count, 2);
	CU_ASSERT_EQUAL(unwrap(fd, &w.pkt[0], bigad, KD_AD_MAX, got), 0);
	CU_ASSERT_EQUAL(memcmp(got, fek, 32), 0);
#if !defined(__SANITIZE_ADDRESS__)
	/* Serving keyd runs under its seccomp filter (mode 2). */
	char sp[64], line[256];
	int seccomp = -1;
	snprintf(sp, sizeof(sp), "/proc/%d/status", (int)pid);
	FILE *f = fopen(sp, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp: %d", &seccomp) == 1)
			break;
	if (f)
		fclose(f);
	CU_ASSERT_EQUAL(seccomp, 2);
#endif
	/* Clean exit when the service socket hangs up. */
	CU_ASSERT_EQUAL(finish(fd, pid), 0);
}

/* Mount contexts: files wrapped to two FEKEKs open with a context holding
 * only the second; a context holding neither gets -ENOKEY. */
/* KD_WRAP_BATCH: every entry unwraps (KD_UNWRAP) to its own FEK under its
 * own AD and under no other entry's AD; count 1 and KD_BATCH_MAX. */
static void test_wrap_batch(void)
{
	const char *both[] = { pf1, pf2 };
	char err[512];
	int fd;
	pid_t pid;
	uint8_t got[32];
	static struct kd_wrap_batch_req q;
	static struct kd_wrap_batch_rep p;
	CU_ASSERT_EQUAL_FATAL(start(vol1, both, 2, &fd, &pid, err,
				    sizeof(err)), 0);
	hello(fd);
	uint32_t counts[] = { 1, KD_BATCH_MAX };
	for (size_t c = 0; c < 2; c++) {
		memset(&q, 0, sizeof(q));
		q.h.type = KD_WRAP_BATCH;
		q.h.seq = 21;
		q.count = counts[c];
		q.ad_len = KD_BATCH_AD_MAX;
		for (uint32_t e = 0; e < q.count; e++) {
			memset(q.fek[e], (int)(0x10 + e), 32);
			memset(q.ad[e], (int)(0x80 + e), KD_BATCH_AD_MAX);
		}
		CU_ASSERT_EQUAL_FATAL(rpc(fd, &q, sizeof(q), &p, sizeof(p)),
				      0);
		CU_ASSERT_EQUAL(p.h.type, KD_WRAP_BATCH);
		CU_ASSERT_EQUAL(p.h.seq, 21);
		CU_ASSERT_EQUAL(p.status, 0);
		CU_ASSERT_EQUAL_FATAL(p.count, q.count);
		CU_ASSERT_EQUAL_FATAL(p.npkts, 2);
		for (uint32_t e = 0; e < q.count; e++) {
			for (unsigned k = 0; k < 2; k++) {
				CU_ASSERT_EQUAL(unwrap(fd, &p.pkt[e][k],
						       q.ad[e],
						       KD_BATCH_AD_MAX, got),
						0);
				CU_ASSERT_EQUAL(memcmp(got, q.fek[e], 32), 0);
			}
			if (e > 0)
				CU_ASSERT_EQUAL(unwrap(fd, &p.pkt[e][0],
						       q.ad[0],
						       KD_BATCH_AD_MAX, got),
						-EBADMSG);
		}
		/* Entries past count stay zero. */
		for (uint32_t e = q.count; e < KD_BATCH_MAX; e++)
			for (size_t b = 0; b < sizeof(p.pkt[e]); b++)
				CU_ASSERT_EQUAL(((uint8_t *)p.pkt[e])[b], 0);
	}
	CU_ASSERT_EQUAL(finish(fd, pid), 0);
}

static void test_contexts(void)
{
	const char *both[] = { pf1, pf2 }, *second[] = { pf2 },
		   *first[] = { pf1 };
	char err[512];
	int fd, fd2;
	pid_t pid, pid2;
	uint8_t fek[32], got[32];
	static struct kd_wrap_rep w, w1;
	memset(fek, 0x5a, sizeof(fek));
	CU_ASSERT_EQUAL_FATAL(start(vol1, both, 2, &fd, &pid, err,
				    sizeof(err)), 0);
	hello(fd);
	wrap(fd, fek, "hdr", &w);
	CU_ASSERT_EQUAL_FATAL(w.count, 2);
	CU_ASSERT_EQUAL(finish(fd, pid), 0);
	/* Context: the second key only. */
	CU_ASSERT_EQUAL_FATAL(start(vol1, second, 1, &fd, &pid, err,
				    sizeof(err)), 0);
	hello(fd);
	struct kd_list_req lq = { .h = { KD_LIST, 1 } };
	struct kd_list_rep lp;
	CU_ASSERT_EQUAL_FATAL(rpc(fd, &lq, sizeof(lq), &lp, sizeof(lp)), 0);
	CU_ASSERT_EQUAL(lp.count, 1);
	CU_ASSERT_EQUAL(memcmp(lp.id[0], kid[1], 8), 0);
	int k2 = memcmp(w.pkt[0].id, kid[1], 8) ? 1 : 0;
	CU_ASSERT_EQUAL(unwrap(fd, &w.pkt[k2], "hdr", 3, got), 0);
	CU_ASSERT_EQUAL(memcmp(got, fek, 32), 0);
	CU_ASSERT_EQUAL(unwrap(fd, &w.pkt[1 - k2], "hdr", 3, got), -ENOKEY);
	/* New files from this context are wrapped to its one key. */
	wrap(fd, fek, "hdr", &w1);
	CU_ASSERT_EQUAL(w1.count, 1);
	CU_ASSERT_EQUAL(finish(fd, pid), 0);
	/* Context: the first key only cannot open w1. */
	CU_ASSERT_EQUAL_FATAL(start(vol1, first, 1, &fd, &pid, err,
				    sizeof(err)), 0);
	hello(fd);
	CU_ASSERT_EQUAL(unwrap(fd, &w1.pkt[0], "hdr", 3, got), -ENOKEY);
	/* Another volume holds neither key: -ENOKEY for both packets. Two
	 * keyds at once, one per volume. */
	CU_ASSERT_EQUAL_FATAL(start(vol2, first, 1, &fd2, &pid2, err,
				    sizeof(err)), 0);
	hello(fd2);
	CU_ASSERT_EQUAL(unwrap(fd2, &w.pkt[0], "hdr", 3, got), -ENOKEY);
	CU_ASSERT_EQUAL(unwrap(fd2, &w.pkt[1], "hdr", 3, got), -ENOKEY);
	CU_ASSERT_EQUAL(finish(fd2, pid2), 0);
	CU_ASSERT_EQUAL(finish(fd, pid), 0);
}

/* Sends one malformed message (after HELLO if with_hello); keyd must hang
 * up and exit non-zero. */
static void malformed(const void *msg, size_t len, int with_hello)
{
	const char *first[] = { pf1 };
	char err[512];
	int fd;
	pid_t pid;
	uint8_t rep[4096];
	CU_ASSERT_EQUAL_FATAL(start(vol1, first, 1, &fd, &pid, err,
				    sizeof(err)), 0);
	if (with_hello)
		hello(fd);
	ssize_t s = send(fd, msg, len, MSG_NOSIGNAL);
	CU_ASSERT_EQUAL(s, (ssize_t)len);
	CU_ASSERT_EQUAL(recv(fd, rep, sizeof(rep), 0), 0); /* hang-up */
	/* fatalx(): exit status 1, not a signal (e.g. a seccomp kill). */
	CU_ASSERT_EQUAL(finish(fd, pid), 1);
}

static void test_malformed(void)
{
	static uint8_t m[sizeof(struct kd_wrap_batch_req) + 16];
	struct kd_hdr *h = (struct kd_hdr *)m;
	/* Every type one byte short and one byte long. */
	for (uint32_t t = KD_HELLO; t < KD__MAX; t++) {
		for (int d = -1; d <= 1; d += 2) {
			memset(m, 0, sizeof(m));
			h->type = t;
			((struct kd_hello *)m)->version = KD_PROTO_VERSION;
			malformed(m, kd_req_size(t) + (size_t)d, t != KD_HELLO);
		}
	}
	/* Unknown types 0, KD__MAX, UINT32_MAX (exact list size). */
	uint32_t bad[] = { KD_INVALID, KD__MAX, UINT32_MAX };
	for (size_t i = 0; i < 3; i++) {
		memset(m, 0, sizeof(m));
		h->type = bad[i];
		malformed(m, sizeof(struct kd_list_req), 1);
	}
	/* Shorter than a header. */
	memset(m, 0, sizeof(m));
	h->type = KD_LIST;
	malformed(m, 4, 1);
	/* Anything before HELLO. */
	malformed(m, sizeof(struct kd_list_req), 0);
	/* HELLO twice; a HELLO of another version. */
	struct kd_hello *he = (struct kd_hello *)m;
	memset(m, 0, sizeof(m));
	he->h.type = KD_HELLO;
	he->version = KD_PROTO_VERSION;
	malformed(m, sizeof(*he), 1);
	he->version = KD_PROTO_VERSION + 1;
	malformed(m, sizeof(*he), 0);
	/* ad_len one past the maximum, and huge. */
	struct kd_wrap_req *wq = (struct kd_wrap_req *)m;
	memset(m, 0, sizeof(m));
	wq->h.type = KD_WRAP;
	wq->ad_len = KD_AD_MAX + 1;
	malformed(m, sizeof(*wq), 1);
	struct kd_unwrap_req *uq = (struct kd_unwrap_req *)m;
	memset(m, 0, sizeof(m));
	uq->h.type = KD_UNWRAP;
	uq->ad_len = UINT32_MAX;
	malformed(m, sizeof(*uq), 1);
	/* Batch: count 0 and KD_BATCH_MAX + 1, ad_len one past its maximum. */
	struct kd_wrap_batch_req *bq = (struct kd_wrap_batch_req *)m;
	uint32_t bc[][2] = { { 0, 8 },
			     { KD_BATCH_MAX + 1, 8 },
			     { 1, KD_BATCH_AD_MAX + 1 } };
	for (size_t i = 0; i < 3; i++) {
		memset(m, 0, sizeof(m));
		bq->h.type = KD_WRAP_BATCH;
		bq->count = bc[i][0];
		bq->ad_len = bc[i][1];
		malformed(m, sizeof(*bq), 1);
	}
}

static void test_unlock_errors(void)
{
	const char *first[] = { pf1 }, *wrong[] = { pf3 };
	char err[512], p[256];
	int fd;
	pid_t pid;
	/* Wrong passphrase, after the KDF, no hint. */
	CU_ASSERT_EQUAL(start(vol1, wrong, 1, &fd, &pid, err, sizeof(err)),
			-EKEYREJECTED);
	CU_ASSERT_STRING_EQUAL(err, "wrong passphrase or key");
	CU_ASSERT_EQUAL(fd, -1);
	/* One good and one wrong: still refused. */
	const char *mixed[] = { pf1, pf3 };
	CU_ASSERT_EQUAL(start(vol1, mixed, 2, &fd, &pid, err, sizeof(err)),
			-EKEYREJECTED);
	/* No unlock material at all. */
	CU_ASSERT_EQUAL(start(vol1, NULL, 0, &fd, &pid, err, sizeof(err)),
			-EKEYREJECTED);
	/* Not a volume. */
	CU_ASSERT_EQUAL(start(dir, first, 1, &fd, &pid, err, sizeof(err)),
			-ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a cryptstack volume"));
	/* A copy of vol2 with an unknown required feature flag, then with a
	 * bad magic. */
	char v3[160];
	snprintf(v3, sizeof(v3), "%s/vol3", dir);
	mkdir(v3, 0700);
	static struct vol_config c;
	static uint8_t raw[VOL_MAX_SIZE];
	size_t len;
	CU_ASSERT_EQUAL_FATAL(load_conf(vol2, &c, raw, &len), 0);
	snprintf(p, sizeof(p), "%s/%s", v3, VOL_CONF_NAME);
	raw[13] = 0x10;
	FILE *f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fwrite(raw, 1, len, f);
	fclose(f);
	CU_ASSERT_EQUAL(start(v3, first, 1, &fd, &pid, err, sizeof(err)),
			-EPROTONOSUPPORT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "feature"));
	raw[13] = 0;
	raw[0] = 'X';
	f = fopen(p, "w");
	fwrite(raw, 1, len, f);
	fclose(f);
	CU_ASSERT_EQUAL(start(v3, first, 1, &fd, &pid, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "magic"));
	/* cryptstack info refuses it too, and shows the good one. */
	CU_ASSERT_NOT_EQUAL(run("info %s", v3), 0);
	CU_ASSERT_EQUAL(run("info %s", vol2), 0);
}

static size_t conf_size(const char *v)
{
	char p[256];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", v, VOL_CONF_NAME);
	return stat(p, &st) == 0 ? (size_t)st.st_size : 0;
}

static int opens(const char *v, const char *pf)
{
	const char *one[] = { pf };
	char err[512];
	int fd;
	pid_t pid;
	int r = start(v, one, 1, &fd, &pid, err, sizeof(err));
	if (r == 0)
		finish(fd, pid);
	return r;
}

/* init, passwd, key add, key remove through the CLI. */
static void test_cli_slots(void)
{
	char v[160];
	snprintf(v, sizeof(v), "%s/slots", dir);
	CU_ASSERT_EQUAL_FATAL(run("init --passfile %s " SMALL_KDF " %s", pf1,
				  v), 0);
	char cp[256];
	struct stat cst;
	snprintf(cp, sizeof(cp), "%s/%s", v, VOL_CONF_NAME);
	CU_ASSERT_EQUAL(stat(cp, &cst), 0);
	CU_ASSERT_EQUAL(cst.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(chmod(cp, 0640), 0); /* kept across rewrites */
	/* A second init refuses to overwrite. */
	CU_ASSERT_NOT_EQUAL(run("init --passfile %s " SMALL_KDF " %s", pf2,
				v), 0);
	CU_ASSERT_EQUAL(opens(v, pf1), 0);
	CU_ASSERT_EQUAL(opens(v, pf2), -EKEYREJECTED);
	/* passwd: the old one stops working, the new one works. */
	CU_ASSERT_EQUAL(run("passwd --passfile %s --new-passfile %s " SMALL_KDF
			    " %s", pf1, pf2, v), 0);
	CU_ASSERT_EQUAL(opens(v, pf1), -EKEYREJECTED);
	CU_ASSERT_EQUAL(opens(v, pf2), 0);
	CU_ASSERT_NOT_EQUAL(run("passwd --passfile %s --new-passfile %s %s",
				pf1, pf3, v), 0);
	/* add a slot for the same key; both open it. */
	CU_ASSERT_EQUAL(run("key add --passfile %s --new-passfile %s " SMALL_KDF
			    " %s", pf2, pf3, v), 0);
	CU_ASSERT_EQUAL(opens(v, pf3), 0);
	CU_ASSERT_EQUAL(opens(v, pf2), 0);
	/* wrong authorization for add/remove */
	CU_ASSERT_NOT_EQUAL(run("key add --passfile %s --new-passfile %s "
				SMALL_KDF " %s", pf1, pf1, v), 0);
	CU_ASSERT_NOT_EQUAL(run("key remove --slot 0 --passfile %s %s", pf1,
				v), 0);
	/* remove slot 0 (pf2); pf3 (now slot 0) still opens. */
	CU_ASSERT_EQUAL(run("key remove --slot 0 --passfile %s %s", pf3, v),
			0);
	CU_ASSERT_EQUAL(opens(v, pf2), -EKEYREJECTED);
	CU_ASSERT_EQUAL(opens(v, pf3), 0);
	/* the last slot cannot be removed, even with --force */
	size_t before = conf_size(v);
	CU_ASSERT_NOT_EQUAL(run("key remove --slot 0 --force --passfile %s %s",
				pf3, v), 0);
	CU_ASSERT_EQUAL(conf_size(v), before);
	CU_ASSERT_EQUAL(opens(v, pf3), 0);
	/* the last slot of a key needs --force */
	CU_ASSERT_EQUAL(run("key add --new-key --passfile %s --new-passfile %s "
			    SMALL_KDF " %s", pf3, pf1, v), 0);
	CU_ASSERT_NOT_EQUAL(run("key remove --slot 1 --passfile %s %s", pf3,
				v), 0);
	CU_ASSERT_EQUAL(run("key remove --slot 1 --force --passfile %s %s",
			    pf3, v), 0);
	CU_ASSERT_EQUAL(opens(v, pf1), -EKEYREJECTED);
	/* passwd --slot N with a passphrase that two slots share: the named
	 * slot changes, the other keeps it. */
	CU_ASSERT_EQUAL(run("key add --passfile %s --new-passfile %s " SMALL_KDF
			    " %s", pf3, pf3, v), 0);
	CU_ASSERT_EQUAL(run("passwd --slot 1 --passfile %s --new-passfile %s "
			    SMALL_KDF " %s", pf3, pf2, v), 0);
	CU_ASSERT_EQUAL(opens(v, pf3), 0);
	CU_ASSERT_EQUAL(opens(v, pf2), 0);
	CU_ASSERT_NOT_EQUAL(run("passwd --slot 1 --passfile %s --new-passfile "
				"%s %s", pf3, pf1, v), 0);
	/* out of range slot */
	CU_ASSERT_NOT_EQUAL(run("key remove --slot 5 --passfile %s %s", pf3,
				v), 0);
	CU_ASSERT_EQUAL(stat(cp, &cst), 0);
	CU_ASSERT_EQUAL(cst.st_mode & 0777, 0640);
	/* no temp file left behind */
	char p[256];
	snprintf(p, sizeof(p), "%s/%s.tmp", v, VOL_CONF_NAME);
	CU_ASSERT_NOT_EQUAL(access(p, F_OK), 0);
}

/* One run with the default Argon2id parameters (64 MiB). */
static void test_default_params(void)
{
	char v[160];
	static struct vol_config c;
	static uint8_t raw[VOL_MAX_SIZE];
	size_t len;
	snprintf(v, sizeof(v), "%s/defaults", dir);
	CU_ASSERT_EQUAL_FATAL(run("init --passfile %s %s", pf1, v), 0);
	CU_ASSERT_EQUAL_FATAL(load_conf(v, &c, raw, &len), 0);
	CU_ASSERT_EQUAL(c.cipher, VOL_CIPHER_AES256GCM);
	CU_ASSERT_EQUAL(c.names, VOL_NAMES_ENCRYPTED);
	CU_ASSERT_EQUAL(c.slot[0].kdf_m, 65536);
	CU_ASSERT(c.slot[0].kdf_t >= 1);
	CU_ASSERT_EQUAL(opens(v, pf1), 0);
	/* vol2 was made with chacha20 and plaintext names */
	CU_ASSERT_EQUAL_FATAL(load_conf(vol2, &c, raw, &len), 0);
	CU_ASSERT_EQUAL(c.cipher, VOL_CIPHER_CHACHA20POLY1305);
	CU_ASSERT_EQUAL(c.names, VOL_NAMES_PLAIN);
}

/* keygen, a public-key slot, unlocking with the private key file. */
static void test_rsa(void)
{
	char priv[160], pub[160], priv2[160], pub2[160], v[160], err[512];
	snprintf(priv, sizeof(priv), "%s/k.pem", dir);
	snprintf(pub, sizeof(pub), "%s/k.pub", dir);
	snprintf(priv2, sizeof(priv2), "%s/k2.pem", dir);
	snprintf(pub2, sizeof(pub2), "%s/k2.pub", dir);
	snprintf(v, sizeof(v), "%s/rsa", dir);
	CU_ASSERT_EQUAL_FATAL(run("keygen --passfile %s " SMALL_KDF " %s %s",
				  pf2, priv, pub), 0);
	struct stat st;
	CU_ASSERT_EQUAL(stat(priv, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	/* refuses to overwrite */
	CU_ASSERT_NOT_EQUAL(run("keygen --no-passphrase %s %s", priv, pub), 0);
	CU_ASSERT_EQUAL_FATAL(run("keygen --no-passphrase --bits 2048 %s %s",
				  priv2, pub2), 0);
	/* A volume whose first slot is the public key. */
	CU_ASSERT_EQUAL_FATAL(run("init --pubkey %s %s", pub, v), 0);
	CU_ASSERT_EQUAL(run("key add --key %s --key-passfile %s --pubkey %s "
			    "%s", priv, pf2, pub2, v), 0);
	CU_ASSERT_EQUAL(run("key add --key %s --new-passfile %s " SMALL_KDF
			    " %s", priv2, pf1, v), 0);
	int lower = open(v, O_RDONLY | O_DIRECTORY), fd;
	pid_t pid;
	struct cli_pass_src kp = { .passfile = pf2 }, badkp = {
		.passfile = pf1 };
	struct cli_unlock u = { 0 };
	CU_ASSERT_EQUAL_FATAL(cli_unlock_add_privkey(&u, priv, &kp), 0);
	CU_ASSERT(u.item[0].pass_len > 0);
	CU_ASSERT_EQUAL(cli_keyd_start(lower, &u, &fd, &pid, err, sizeof(err)),
			0);
	cli_unlock_clear(&u);
	hello(fd);
	CU_ASSERT_EQUAL(finish(fd, pid), 0);
	/* the unencrypted key needs no passphrase */
	CU_ASSERT_EQUAL_FATAL(cli_unlock_add_privkey(&u, priv2, &badkp), 0);
	CU_ASSERT_EQUAL(u.item[0].pass_len, 0);
	CU_ASSERT_EQUAL(cli_keyd_start(lower, &u, &fd, &pid, err, sizeof(err)),
			0);
	cli_unlock_clear(&u);
	CU_ASSERT_EQUAL(finish(fd, pid), 0);
	/* wrong private key passphrase */
	CU_ASSERT_EQUAL_FATAL(cli_unlock_add_privkey(&u, priv, &badkp), 0);
	CU_ASSERT_EQUAL(cli_keyd_start(lower, &u, &fd, &pid, err, sizeof(err)),
			-EKEYREJECTED);
	CU_ASSERT_STRING_EQUAL(err, "wrong passphrase or key");
	cli_unlock_clear(&u);
	/* a key pair that has no slot here */
	CU_ASSERT_EQUAL(run("key add --key %s --key-passfile %s --pubkey %s "
			    "%s", priv2, pf2, pub, vol1), 1);
	close(lower);
	lower = open(vol1, O_RDONLY | O_DIRECTORY);
	CU_ASSERT_EQUAL_FATAL(cli_unlock_add_privkey(&u, priv2, &badkp), 0);
	CU_ASSERT_EQUAL(cli_keyd_start(lower, &u, &fd, &pid, err, sizeof(err)),
			-EKEYREJECTED);
	cli_unlock_clear(&u);
	close(lower);
}

static void test_passfile(void)
{
	char *p;
	size_t n;
	char path[160], big[CLI_PASS_MAX + 8];
	struct cli_pass_src s = { .passfile = pf1 };
	CU_ASSERT_EQUAL_FATAL(cli_pass_read(&s, NULL, 0, &p, &n), 0);
	CU_ASSERT_EQUAL(n, 16);
	CU_ASSERT_STRING_EQUAL(p, "first passphrase");
	cli_pass_free(p, n);
	s.passfile = pf3; /* "\r\n" stripped */
	CU_ASSERT_EQUAL_FATAL(cli_pass_read(&s, NULL, 0, &p, &n), 0);
	CU_ASSERT_STRING_EQUAL(p, "third passphrase");
	cli_pass_free(p, n);
	snprintf(path, sizeof(path), "%s/pp", dir);
	s.passfile = path;
	write_file(path, "two\n\n"); /* only one newline stripped */
	CU_ASSERT_EQUAL_FATAL(cli_pass_read(&s, NULL, 0, &p, &n), 0);
	CU_ASSERT_EQUAL(n, 4);
	cli_pass_free(p, n);
	write_file(path, "\n");
	CU_ASSERT_EQUAL(cli_pass_read(&s, NULL, 0, &p, &n), -EINVAL);
	memset(big, 'x', sizeof(big));
	big[CLI_PASS_MAX] = '\n';
	big[CLI_PASS_MAX + 1] = 0;
	write_file(path, big); /* max length + newline: fine */
	CU_ASSERT_EQUAL_FATAL(cli_pass_read(&s, NULL, 0, &p, &n), 0);
	CU_ASSERT_EQUAL(n, CLI_PASS_MAX);
	cli_pass_free(p, n);
	big[CLI_PASS_MAX] = 'x';
	big[CLI_PASS_MAX + 1] = 0;
	write_file(path, big); /* one byte too long */
	CU_ASSERT_EQUAL(cli_pass_read(&s, NULL, 0, &p, &n), -EINVAL);
	s.passfile = "/nonexistent/pass";
	CU_ASSERT_EQUAL(cli_pass_read(&s, NULL, 0, &p, &n), -ENOENT);
	/* --extpass */
	struct cli_pass_src e = { .extpass = "printf 'from cmd\\n'" };
	CU_ASSERT_EQUAL_FATAL(cli_pass_read(&e, NULL, 0, &p, &n), 0);
	CU_ASSERT_STRING_EQUAL(p, "from cmd");
	cli_pass_free(p, n);
	e.extpass = "exit 3";
	CU_ASSERT_NOT_EQUAL(cli_pass_read(&e, NULL, 0, &p, &n), 0);
	/* options file supplies passfile= when nothing else is given */
	snprintf(path, sizeof(path), "%s/rc", dir);
	char rc[400];
	snprintf(rc, sizeof(rc), "# comment\ncipher = aes-128-gcm\n"
		 "passfile=%s\n", pf2);
	write_file(path, rc);
	setenv("CRYPTSTACKRC", path, 1);
	CU_ASSERT_STRING_EQUAL(cli_rc_get("cipher"), "aes-128-gcm");
	CU_ASSERT_PTR_NULL(cli_rc_get("nothing"));
	struct cli_pass_src none = { 0 };
	CU_ASSERT_EQUAL_FATAL(cli_pass_read(&none, NULL, 0, &p, &n), 0);
	CU_ASSERT_STRING_EQUAL(p, "second passphrase");
	cli_pass_free(p, n);
	/* and the CLI takes cipher= and passfile= from it */
	char v[160];
	snprintf(v, sizeof(v), "%s/fromrc", dir);
	CU_ASSERT_EQUAL(run("init " SMALL_KDF " %s", v), 0);
	static struct vol_config c;
	static uint8_t raw[VOL_MAX_SIZE];
	size_t len;
	CU_ASSERT_EQUAL(load_conf(v, &c, raw, &len), 0);
	CU_ASSERT_EQUAL(c.cipher, VOL_CIPHER_AES128GCM);
	CU_ASSERT_EQUAL(opens(v, pf2), 0);
	setenv("CRYPTSTACKRC", "/nonexistent/cryptstackrc", 1);
}

static void hexstr(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static int read_hdr(const char *path, struct fmt_header *h)
{
	uint8_t area[FMT_HDR_AREA];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	ssize_t n = pread(fd, area, sizeof(area), 0);
	close(fd);
	if (n != (ssize_t)sizeof(area))
		return -EIO;
	return fmt_header_parse(area, sizeof(area), h);
}

/* recipients add/remove on a real lower-file header made with csfmt and
 * keyd: headers only, size slots untouched, last packet never dropped. */
static void test_recipients(void)
{
	const char *first[] = { pf1 }, *second[] = { pf2 };
	char err[512], path[200], sub[200], id0[17], id1[17];
	static struct fmt_header h, h2;
	static struct kd_wrap_rep w;
	struct cipher_thread *th = NULL;
	struct cipher_key *key = NULL;
	uint8_t fek[32], got[32], ad[FMT_FIXED_LEN];
	static uint8_t block[FMT_HDR_BLOCK];
	int fd;
	pid_t pid;
	uint64_t off;
	uint32_t len;
	memset(fek, 0x3c, sizeof(fek));
	hexstr(id0, kid[0], 8);
	hexstr(id1, kid[1], 8);
	CU_ASSERT_EQUAL_FATAL(fmt_header_new(&h, 1), 0);
	CU_ASSERT_EQUAL_FATAL(fmt_header_ad(&h, ad, sizeof(ad)), FMT_FIXED_LEN);
	/* A file wrapped to the first key only. */
	CU_ASSERT_EQUAL_FATAL(start(vol1, first, 1, &fd, &pid, err,
				    sizeof(err)), 0);
	hello(fd);
	static struct kd_wrap_req q;
	memset(&q, 0, sizeof(q));
	q.h.type = KD_WRAP;
	memcpy(q.fek, fek, 32);
	q.ad_len = FMT_FIXED_LEN;
	memcpy(q.ad, ad, FMT_FIXED_LEN);
	CU_ASSERT_EQUAL_FATAL(rpc(fd, &q, sizeof(q), &w, sizeof(w)), 0);
	CU_ASSERT_EQUAL_FATAL(w.count, 1);
	CU_ASSERT_EQUAL(finish(fd, pid), 0);
	CU_ASSERT_EQUAL_FATAL(fmt_header_set_packets(&h, w.pkt, 1), 0);
	if (cipher_thread_new(CIPHER_BACKEND_MBEDTLS, &th) ||
	    fmt_file_key_new(&h, fek, CIPHER_BACKEND_MBEDTLS, &key)) {
		CU_FAIL("cipher setup");
		return;
	}
	CU_ASSERT_EQUAL_FATAL(fmt_size_update(&h, th, key, 0, 0, &off, &len),
			      0);
	CU_ASSERT_EQUAL_FATAL(fmt_header_serialize(&h, block), 0);
	snprintf(sub, sizeof(sub), "%s/d", vol1);
	mkdir(sub, 0700);
	snprintf(path, sizeof(path), "%s/d/file", vol1);
	int f = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CU_ASSERT_FATAL(f >= 0);
	CU_ASSERT_EQUAL(write(f, block, sizeof(block)), (ssize_t)sizeof(block));
	close(f);
	/* A file that is not ours is skipped, not an error. */
	snprintf(sub, sizeof(sub), "%s/d/other", vol1);
	write_file(sub, "plain text");
	/* The second key cannot open it yet. */
	CU_ASSERT_EQUAL_FATAL(start(vol1, second, 1, &fd, &pid, err,
				    sizeof(err)), 0);
	hello(fd);
	CU_ASSERT_EQUAL(unwrap(fd, &h.pkt[0], ad, FMT_FIXED_LEN, got), -ENOKEY);
	CU_ASSERT_EQUAL(finish(fd, pid), 0);
	/* add needs the new key opened too */
	CU_ASSERT_NOT_EQUAL(run("recipients add --key-id %s --passfile %s %s",
				id1, pf1, vol1), 0);
	CU_ASSERT_EQUAL(run("recipients add --key-id %s --passfile %s "
			    "--passfile %s %s", id1, pf1, pf2, vol1), 0);
	CU_ASSERT_EQUAL_FATAL(read_hdr(path, &h2), 0);
	CU_ASSERT_EQUAL(h2.npackets, 2);
	CU_ASSERT_EQUAL(memcmp(h2.pkt[0].id, kid[0], 8), 0);
	CU_ASSERT_EQUAL(memcmp(h2.pkt[1].id, kid[1], 8), 0);
	CU_ASSERT_EQUAL(memcmp(h2.size_slot, h.size_slot, sizeof(h.size_slot)),
			0);
	CU_ASSERT_EQUAL(fmt_size_open(&h2, th, key), 0);
	/* Now the second key alone opens it. */
	CU_ASSERT_EQUAL_FATAL(start(vol1, second, 1, &fd, &pid, err,
				    sizeof(err)), 0);
	hello(fd);
	CU_ASSERT_EQUAL(unwrap(fd, &h2.pkt[1], ad, FMT_FIXED_LEN, got), 0);
	CU_ASSERT_EQUAL(memcmp(got, fek, 32), 0);
	CU_ASSERT_EQUAL(finish(fd, pid), 0);
	/* Adding again changes nothing. */
	CU_ASSERT_EQUAL(run("recipients add --key-id %s --passfile %s "
			    "--passfile %s %s", id1, pf1, pf2, vol1), 0);
	CU_ASSERT_EQUAL_FATAL(read_hdr(path, &h2), 0);
	CU_ASSERT_EQUAL(h2.npackets, 2);
	/* Revoke the first key: only the second packet stays. */
	CU_ASSERT_EQUAL(run("recipients remove --key-id %s %s %s/d", id0, vol1,
			    vol1), 0);
	CU_ASSERT_EQUAL_FATAL(read_hdr(path, &h2), 0);
	CU_ASSERT_EQUAL(h2.npackets, 1);
	CU_ASSERT_EQUAL(memcmp(h2.pkt[0].id, kid[1], 8), 0);
	CU_ASSERT_EQUAL(fmt_size_open(&h2, th, key), 0);
	/* The last packet is never dropped. */
	CU_ASSERT_NOT_EQUAL(run("recipients remove --key-id %s %s", id1,
				vol1), 0);
	CU_ASSERT_EQUAL_FATAL(read_hdr(path, &h2), 0);
	CU_ASSERT_EQUAL(h2.npackets, 1);
	cipher_key_free(key);
	cipher_thread_free(th);
}

/* Reads the pty until want appears (or 10 s pass); 0 if seen. */
static int expect(int m, const char *want)
{
	char buf[1024];
	size_t n = 0;
	for (int i = 0; i < 100; i++) {
		struct pollfd p = { .fd = m, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t k = read(m, buf + n, sizeof(buf) - 1 - n);
		if (k <= 0)
			return -1;
		n += (size_t)k;
		buf[n] = '\0';
		if (strstr(buf, want))
			return 0;
		if (n > sizeof(buf) / 2) {
			memmove(buf, buf + n / 2, n - n / 2);
			n -= n / 2;
		}
	}
	return -1;
}

/* `cryptstack init` on a terminal: the passphrase is asked twice without
 * echo; a mismatch is refused. Returns the exit status. */
static int init_on_tty(const char *v, const char *a, const char *b,
		       int *echoed)
{
	int m;
	pid_t pid = forkpty(&m, NULL, NULL, NULL);
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl(CS_CLI, "cryptstack", "init", "--kdf-memory", "1M",
		      "--kdf-time", "1", "--kdf-parallelism", "1", v,
		      (char *)NULL);
		_exit(127);
	}
	int ok = expect(m, "passphrase: ") == 0;
	if (ok)
		ok = write(m, a, strlen(a)) > 0 && write(m, "\n", 1) == 1 &&
		     expect(m, "Repeat: ") == 0;
	if (ok)
		ok = write(m, b, strlen(b)) > 0 && write(m, "\n", 1) == 1;
	/* Drain the rest; the typed passphrase must never be echoed. */
	char rest[2048];
	size_t n = 0;
	for (int i = 0; i < 50; i++) {
		struct pollfd p = { .fd = m, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t k = read(m, rest + n, sizeof(rest) - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	rest[n] = '\0';
	*echoed = strstr(rest, a) != NULL;
	int st = 0;
	pid_t w = 0;
	for (int i = 0; i < 100 && w == 0; i++) {
		w = waitpid(pid, &st, WNOHANG);
		if (w == 0)
			usleep(50000);
	}
	if (w == 0) { /* stuck: fail, never hang the suite */
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		ok = 0;
	}
	close(m);
	if (!ok)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_terminal(void)
{
	char v[160], pf[160];
	int echoed = 1;
	snprintf(v, sizeof(v), "%s/tty", dir);
	snprintf(pf, sizeof(pf), "%s/ttypass", dir);
	CU_ASSERT_EQUAL(init_on_tty(v, "typed secret", "typed secrex", &echoed),
			1);
	CU_ASSERT_EQUAL(conf_size(v), 0);
	CU_ASSERT_EQUAL(init_on_tty(v, "typed secret", "typed secret", &echoed),
			0);
	CU_ASSERT_EQUAL(echoed, 0);
	write_file(pf, "typed secret\n");
	CU_ASSERT_EQUAL(opens(v, pf), 0);
	/* No terminal and no passfile: a clear error, nothing created. */
	char v2[160];
	snprintf(v2, sizeof(v2), "%s/notty", dir);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "setsid %s init %s </dev/null 2>%s/notty.err",
		 CS_CLI, v2, dir);
	int st = system(cmd);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	CU_ASSERT_EQUAL(conf_size(v2), 0);
}

/* SIGTERM: keyd leaves its loop, wipes its keys and exits 0. */
static void test_sigterm(void)
{
	const char *first[] = { pf1 };
	char err[512];
	uint8_t rep[64];
	int fd;
	pid_t pid;
	CU_ASSERT_EQUAL_FATAL(start(vol1, first, 1, &fd, &pid, err,
				    sizeof(err)), 0);
	hello(fd);
	CU_ASSERT_EQUAL(kill(pid, SIGTERM), 0);
	CU_ASSERT_EQUAL(recv(fd, rep, sizeof(rep), 0), 0); /* hang-up */
	CU_ASSERT_EQUAL(finish(fd, pid), 0);
}

int cs_register_suites(void)
{
	static const struct cs_test t[] = {
		{ "every message type", test_messages },
		{ "batch wrap", test_wrap_batch },
		{ "mount contexts", test_contexts },
		{ "SIGTERM", test_sigterm },
		{ "malformed messages are fatal", test_malformed },
		{ "unlock errors", test_unlock_errors },
		{ "slots through the CLI", test_cli_slots },
		{ "default KDF parameters", test_default_params },
		{ "public-key slots", test_rsa },
		{ "passphrase input", test_passfile },
		{ "recipients add/remove", test_recipients },
		{ "terminal prompts", test_terminal },
		{ NULL, NULL },
	};
	signal(SIGPIPE, SIG_IGN);
	return cs_add_suite("keyd process", suite_init, suite_clean, t) ? -1
									 : 0;
}
