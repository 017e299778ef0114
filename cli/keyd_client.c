/* SPDX-License-Identifier: MIT */
/* Starting cryptstack-keyd (serve and admin modes) and talking to it over
 * its control socket (keyd/ctl.h). */
#include "keyd_client.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../keyd/ctl.h"
#include "cli.h"
#include "secmem.h"
#include "util.h"

#define PRIVKEY_MAX 16384

int cli_read_file(const char *path, size_t max, int locked, uint8_t **buf,
		  size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;
	uint8_t *b = NULL;
	struct stat st;
	*buf = NULL;
	*len = 0;
	if (fd < 0) {
		r = -errno;
		fprintf(stderr, "cryptstack: %s: %s\n", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > max || st.st_size == 0) {
		fprintf(stderr, "cryptstack: %s: not a regular file of 1..%zu "
			"bytes\n", path, max);
		r = -EINVAL;
		goto out;
	}
	size_t n = (size_t)st.st_size;
	b = locked ? secmem_alloc(n) : malloc(n);
	if (!b) {
		r = -ENOMEM;
		goto out;
	}
	ssize_t got = read_full(fd, b, n);
	if (got != (ssize_t)n) {
		fprintf(stderr, "cryptstack: %s: short read\n", path);
		cli_file_free(b, n, locked);
		b = NULL;
		r = -EIO;
		goto out;
	}
	*buf = b;
	*len = n;
	r = 0;
out:
	close(fd);
	return r;
}

void cli_file_free(uint8_t *buf, size_t len, int locked)
{
	if (!buf)
		return;
	if (locked) {
		secmem_free(buf, len);
	} else {
		secmem_wipe(buf, len);
		free(buf);
	}
}

/* The next free item of u, zeroed (u->count is the caller's to raise);
 * NULL, with a message, when u is full. */
static struct cli_unlock_item *next_item(struct cli_unlock *u)
{
	if (u->count >= CLI_UNLOCK_MAX) {
		fprintf(stderr, "cryptstack: at most %u keys\n",
			CLI_UNLOCK_MAX);
		return NULL;
	}
	struct cli_unlock_item *it = &u->item[u->count];
	memset(it, 0, sizeof(*it));
	return it;
}

int cli_unlock_add_pass(struct cli_unlock *u, const struct cli_pass_src *src,
			const char *prompt)
{
	struct cli_unlock_item *it = next_item(u);
	if (!it)
		return -E2BIG;
	int r = cli_pass_read(src, prompt, 0, &it->pass, &it->pass_len);
	if (r == 0)
		u->count++;
	return r;
}

int cli_unlock_add_secret(struct cli_unlock *u, const char *pass, size_t len)
{
	if (u->count >= CLI_UNLOCK_MAX || len == 0 || len > CLI_PASS_MAX)
		return -EINVAL;
	/* The size cli_pass_free() releases. */
	char *p = secmem_alloc(CLI_PASS_MAX + 2);
	if (!p)
		return -ENOMEM;
	memcpy(p, pass, len);
	p[len] = '\0';
	struct cli_unlock_item *it = &u->item[u->count++];
	memset(it, 0, sizeof(*it));
	it->pass = p;
	it->pass_len = len;
	return 0;
}

int cli_unlock_add_privkey(struct cli_unlock *u, const char *path,
			   const struct cli_pass_src *src)
{
	struct cli_unlock_item *it = next_item(u);
	if (!it)
		return -E2BIG;
	int r = cli_read_file(path, PRIVKEY_MAX, 1, &it->privkey,
			      &it->privkey_len);
	if (r)
		return r;
	/* PEM encryption markers: ours, PKCS#8 and OpenSSL's legacy one. */
	if (memmem(it->privkey, it->privkey_len, "ENCRYPTED", 9)) {
		char prompt[300];
		snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", path);
		r = cli_pass_read(src, prompt, 0, &it->pass, &it->pass_len);
		if (r) {
			secmem_free(it->privkey, it->privkey_len);
			memset(it, 0, sizeof(*it));
			return r;
		}
	}
	u->count++;
	return 0;
}

void cli_unlock_clear(struct cli_unlock *u)
{
	for (unsigned i = 0; i < u->count && i < CLI_UNLOCK_MAX; i++) {
		cli_pass_free(u->item[i].pass, u->item[i].pass_len);
		if (u->item[i].privkey)
			secmem_free(u->item[i].privkey,
				    u->item[i].privkey_len);
	}
	memset(u, 0, sizeof(*u));
}

/* Sends one control message: header + up to two payload parts. */
static int kc_send(int fd, uint32_t type, const void *a, size_t alen,
		   const void *b, size_t blen)
{
	size_t len = sizeof(struct kc_hdr) + alen + blen;
	if (len > KC_MAX_MSG)
		return -EMSGSIZE;
	uint8_t *m = secmem_alloc(len);
	if (!m)
		return -ENOMEM;
	struct kc_hdr h = { .type = type, .len = (uint32_t)(alen + blen) };
	memcpy(m, &h, sizeof(h));
	if (alen)
		memcpy(m + sizeof(h), a, alen);
	if (blen)
		memcpy(m + sizeof(h) + alen, b, blen);
	ssize_t n = send(fd, m, len, MSG_NOSIGNAL);
	int r = n == (ssize_t)len ? 0 : (n < 0 ? -errno : -EIO);
	secmem_free(m, len);
	return r;
}

static int send_unlock(int fd, const struct cli_unlock *u)
{
	int r = 0;
	for (unsigned i = 0; u && i < u->count && r == 0; i++) {
		const struct cli_unlock_item *it = &u->item[i];
		if (!it->privkey) {
			r = kc_send(fd, KC_UNLOCK_PASS, it->pass, it->pass_len,
				    NULL, 0);
			continue;
		}
		size_t n = 4 + it->privkey_len;
		uint8_t *b = secmem_alloc(n);
		if (!b)
			return -ENOMEM;
		uint32_t pl = (uint32_t)it->privkey_len;
		memcpy(b, &pl, 4);
		memcpy(b + 4, it->privkey, it->privkey_len);
		r = kc_send(fd, KC_UNLOCK_KEY, b, n, it->pass, it->pass_len);
		secmem_free(b, n);
	}
	return r;
}

static unsigned kc_run_uid, kc_run_gid;

void cli_keyd_set_user(unsigned uid, unsigned gid)
{
	kc_run_uid = uid;
	kc_run_gid = gid;
}

/* Forks and execs cryptstack-keyd with the given mode; ctl is the child's
 * end of the control socket; svc its service end or -1. */
static int spawn(const char *mode, int lower_fd, int ctl, int svc, pid_t *pid)
{
	char path[4200], lfd[16], cfd[16], sfd[16], self[4096];
	/* keyd beside this binary first (a build tree where not every helper
	 * is built yet), then the usual helper directory. */
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash = sl > 0 ? (self[sl] = '\0', strrchr(self, '/')) : NULL;
	if (slash) {
		*slash = '\0';
		snprintf(path, sizeof(path), "%s/cryptstack-keyd", self);
	}
	if (!slash || access(path, X_OK) != 0)
		snprintf(path, sizeof(path), "%s/cryptstack-keyd",
			 cli_helper_dir());
	snprintf(lfd, sizeof(lfd), "%d", lower_fd);
	snprintf(cfd, sizeof(cfd), "%d", ctl);
	snprintf(sfd, sizeof(sfd), "%d", svc);
	const char *argv[12];
	char ubuf[32];
	int k = 0;
	argv[k++] = "cryptstack-keyd";
	argv[k++] = mode;
	if (lower_fd >= 0) {
		argv[k++] = "--lower-fd";
		argv[k++] = lfd;
	}
	argv[k++] = "--ctl-fd";
	argv[k++] = cfd;
	if (svc >= 0) {
		argv[k++] = "--service-fd";
		argv[k++] = sfd;
	}
	if (kc_run_uid && svc >= 0) { /* serving keyd: drop to the user */
		snprintf(ubuf, sizeof(ubuf), "%u:%u", kc_run_uid, kc_run_gid);
		argv[k++] = "--user";
		argv[k++] = ubuf;
	}
	argv[k] = NULL;
	pid_t p = fork();
	if (p < 0)
		return -errno;
	if (p == 0) {
		/* Only the fds named on the command line survive exec. */
		int keep[3] = { lower_fd, ctl, svc };
		if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) < 0) {
			for (int fd = 3; fd < 1024; fd++)
				if (fd != keep[0] && fd != keep[1] &&
				    fd != keep[2])
					close(fd);
		}
		for (int j = 0; j < 3; j++)
			if (keep[j] >= 0 && set_cloexec(keep[j], 0) < 0)
				_exit(127);
		/* keyd starts with default signal dispositions and mask. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execv(path, (char *const *)argv);
		fprintf(stderr, "cryptstack: cannot run %s: %s\n", path,
			strerror(errno));
		_exit(127);
	}
	*pid = p;
	return 0;
}

/* Reads keyd's answers until KC_RESULT; returns keyd's status, or -EPROTO
 * / -ECHILD-style errors with msg set. */
static int read_result(int fd, cli_keyd_data_fn fn, void *arg, char *msg,
		       size_t msglen)
{
	uint8_t *buf = secmem_alloc(KC_MAX_MSG + 1);
	int r;
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;
		do {
			n = recv(fd, buf, KC_MAX_MSG + 1, MSG_TRUNC);
		} while (n < 0 && errno == EINTR);
		if (n <= 0) {
			r = n < 0 ? -errno : -EPIPE;
			snprintf(msg, msglen, "keyd exited without an answer");
			goto out;
		}
		struct kc_hdr h;
		if ((size_t)n < sizeof(h) || (size_t)n > KC_MAX_MSG)
			goto bad;
		memcpy(&h, buf, sizeof(h));
		if (h.len != (size_t)n - sizeof(h))
			goto bad;
		if (h.type == KC_DATA) {
			uint32_t which;
			if (h.len < 4)
				goto bad;
			memcpy(&which, buf + sizeof(h), 4);
			r = fn ? fn(arg, which, buf + sizeof(h) + 4,
				    h.len - 4) : 0;
			if (r) {
				snprintf(msg, msglen, "%s", strerror(-r));
				goto out;
			}
			continue;
		}
		if (h.type != KC_RESULT || h.len != sizeof(struct kc_result))
			goto bad;
		struct kc_result res;
		memcpy(&res, buf + sizeof(h), sizeof(res));
		res.msg[sizeof(res.msg) - 1] = '\0';
		snprintf(msg, msglen, "%s", res.msg);
		r = res.status > 0 || res.status < -4095 ? -EPROTO : res.status;
		goto out;
	}
bad:
	r = -EPROTO;
	snprintf(msg, msglen, "malformed answer from keyd");
out:
	secmem_free(buf, KC_MAX_MSG + 1);
	return r;
}

static void reap(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

int cli_keyd_admin(int lower_fd, const struct kc_op *op,
		   const struct cli_unlock *u, const char *new_pass,
		   size_t new_pass_len, const uint8_t *new_pub,
		   size_t new_pub_len, cli_keyd_data_fn fn, void *arg,
		   char *msg, size_t msglen)
{
	int sv[2] = { -1, -1 }, r;
	pid_t pid = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		snprintf(msg, msglen, "socketpair: %s", strerror(-r));
		return r;
	}
	r = spawn("--admin", lower_fd, sv[1], -1, &pid);
	close(sv[1]);
	if (r) {
		snprintf(msg, msglen, "cannot start keyd: %s", strerror(-r));
		goto out;
	}
	r = kc_send(sv[0], KC_OP, op, sizeof(*op), NULL, 0);
	if (r == 0)
		r = send_unlock(sv[0], u);
	if (r == 0 && new_pass)
		r = kc_send(sv[0], KC_NEW_PASS, new_pass, new_pass_len, NULL,
			    0);
	if (r == 0 && new_pub)
		r = kc_send(sv[0], KC_NEW_PUBKEY, new_pub, new_pub_len, NULL,
			    0);
	if (r == 0)
		r = kc_send(sv[0], KC_GO, NULL, 0, NULL, 0);
	/* Even if sending failed, keyd may have said why. */
	int rr = read_result(sv[0], fn, arg, msg, msglen);
	if (r == 0 || rr != -EPIPE)
		r = rr;
out:
	close(sv[0]);
	if (pid > 0)
		reap(pid);
	return r;
}

int cli_keyd_start(int lower_fd, const struct cli_unlock *unlock,
		   int *service_fd, pid_t *pid, char *err, size_t errlen)
{
	int ctl[2] = { -1, -1 }, svc[2] = { -1, -1 }, r;
	pid_t p = -1;
	struct kc_op op = { .op = KC_OP_SERVE };
	*service_fd = -1;
	*pid = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, svc) < 0) {
		r = -errno;
		snprintf(err, errlen, "socketpair: %s", strerror(-r));
		goto fail;
	}
	r = spawn("--serve", lower_fd, ctl[1], svc[1], &p);
	close(ctl[1]);
	close(svc[1]);
	ctl[1] = svc[1] = -1;
	if (r) {
		snprintf(err, errlen, "cannot start keyd: %s", strerror(-r));
		goto fail;
	}
	r = kc_send(ctl[0], KC_OP, &op, sizeof(op), NULL, 0);
	if (r == 0)
		r = send_unlock(ctl[0], unlock);
	if (r == 0)
		r = kc_send(ctl[0], KC_GO, NULL, 0, NULL, 0);
	int rr = read_result(ctl[0], NULL, NULL, err, errlen);
	if (r == 0 || rr != -EPIPE)
		r = rr;
	if (r)
		goto fail;
	close(ctl[0]);
	*service_fd = svc[0];
	*pid = p;
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (ctl[i] >= 0)
			close(ctl[i]);
		if (svc[i] >= 0)
			close(svc[i]);
	}
	if (p > 0)
		reap(p);
	return r;
}

int cli_unlock_collect(struct cli_unlock *u, const struct cli_unlock_opts *o,
		       const char *prompt)
{
	int r = 0;
	if (o->keyfile)
		r = cli_unlock_add_privkey(u, o->keyfile, &o->keypass);
	if (r == 0 && (!o->keyfile || o->pass.passfile || o->pass.extpass))
		r = cli_unlock_add_pass(u, &o->pass, prompt);
	if (r)
		cli_unlock_clear(u);
	return r;
}

static int parse_u32(const char *what, const char *s, uint32_t *out)
{
	uint64_t v;
	if (parse_size(s, &v) || v > UINT32_MAX) {
		fprintf(stderr, "cryptstack: bad %s '%s'\n", what, s);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

int cli_kdf_opts(struct kc_op *op, const char *mem, const char *t,
		 const char *par)
{
	uint64_t v;
	if (!mem)
		mem = cli_rc_get("kdf-memory");
	if (!t)
		t = cli_rc_get("kdf-time");
	if (!par)
		par = cli_rc_get("kdf-parallelism");
	if (mem) {
		if (parse_size(mem, &v) || v < 8192 || v / 1024 > UINT32_MAX) {
			fprintf(stderr, "cryptstack: bad --kdf-memory '%s' "
				"(bytes with K/M/G suffix, at least 8K)\n",
				mem);
			return -EINVAL;
		}
		op->kdf_m = (uint32_t)(v / 1024);
	}
	if (t && (parse_u32("--kdf-time", t, &op->kdf_t) || op->kdf_t == 0))
		return -EINVAL;
	if (par && (parse_u32("--kdf-parallelism", par, &op->kdf_p) ||
		    op->kdf_p == 0))
		return -EINVAL;
	return 0;
}

int cli_unlock_opt(int o, const char *arg, struct cli_unlock_opts *u)
{
	switch (o) {
	case 'p':
		u->pass.passfile = arg;
		return 1;
	case 'e':
		u->pass.extpass = arg;
		return 1;
	case 'k':
		u->keyfile = arg;
		return 1;
	case 'K':
		u->keypass.passfile = arg;
		return 1;
	case 'X':
		u->keypass.extpass = arg;
		return 1;
	}
	return 0;
}

int cli_common_opt(int o, const char *arg, struct cli_common_args *a)
{
	switch (o) {
	case 'p':
		a->pass.passfile = arg;
		return 1;
	case 'e':
		a->pass.extpass = arg;
		return 1;
	case 'm':
		a->kdf_m = arg;
		return 1;
	case 't':
		a->kdf_t = arg;
		return 1;
	case 'L':
		a->kdf_p = arg;
		return 1;
	}
	return 0;
}

int cli_common_kdf(struct kc_op *op, const struct cli_common_args *a)
{
	return cli_kdf_opts(op, a->kdf_m, a->kdf_t, a->kdf_p);
}

int cli_parse_slot(const char *s, int32_t *slot)
{
	uint64_t v;
	if (parse_size(s, &v) || v >= 1u << 16)
		return -EINVAL;
	*slot = (int32_t)v;
	return 0;
}

_Static_assert(sizeof(((struct kc_op *)0)->key_id) == 8, "key id length");

int cli_parse_key_id(const char *s, uint8_t id[static 8])
{
	static const char hex[] = "0123456789abcdefABCDEF";

	if (strlen(s) != 16)
		goto bad;
	for (size_t i = 0; i < 8; i++) {
		unsigned v;
		if (!strchr(hex, s[2 * i]) || !strchr(hex, s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			goto bad;
		id[i] = (uint8_t)v;
	}
	return 0;
bad:
	fprintf(stderr, "cryptstack: --key-id takes 16 hex digits (see "
		"cryptstack info)\n");
	return -EINVAL;
}

int cli_open_lower(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		fprintf(stderr, "cryptstack: %s: %s\n", path, strerror(e));
		return -e;
	}
	return fd;
}
