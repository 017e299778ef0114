/* SPDX-License-Identifier: MIT */
/*
 * cryptstack-keyd: the only process that holds FEKEKs and passphrase-derived
 * keys.
 *   cryptstack-keyd --admin --lower-fd N --ctl-fd N      (init, passwd, key
 *                                                         add/remove, keygen)
 *   cryptstack-keyd --serve --lower-fd N --ctl-fd N --service-fd N [-d]
 * The CLI sends the operation and the unlock material over --ctl-fd
 * (keyd/ctl.h); keyd answers with a KC_RESULT. In --serve mode keyd then
 * closes the lower and control fds and serves proto/keymsg.h on
 * --service-fd until it hangs up.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#include "kd.h"
#include "log.h"
#include "sandbox.h"
#include "secmem.h"
#include "util.h"

#define TMP_NAME VOL_CONF_NAME ".tmp"

struct kd_input {
	struct kc_op op;
	int have_op;
	unsigned nitems;
	struct kd_item item[KD_MAX_KEYS];
	uint8_t *new_pass;  /* locked */
	size_t new_pass_len;
	int have_new_pass;
	uint8_t *new_pub;   /* PEM */
	size_t new_pub_len;
};

static struct kd_ctx *g_ctx;
volatile sig_atomic_t kd_stop;
static struct kd_input *g_in;

static void free_input(struct kd_input *in)
{
	if (!in)
		return;
	for (unsigned i = 0; i < in->nitems; i++) {
		secmem_free(in->item[i].pass, in->item[i].pass_len);
		secmem_free(in->item[i].pem, in->item[i].pem_len);
	}
	secmem_free(in->new_pass, in->new_pass_len);
	free(in->new_pub);
	secmem_free(in, sizeof(*in));
}

/* Runs at every exit, fatal ones included: nothing secret outlives keyd. */
static void wipe_all(void)
{
	kd_ctx_free(g_ctx);
	g_ctx = NULL;
	free_input(g_in);
	g_in = NULL;
}

static void send_result(int fd, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void send_result(int fd, int status, const char *fmt, ...)
{
	struct {
		struct kc_hdr h;
		struct kc_result r;
	} m;
	va_list ap;
	memset(&m, 0, sizeof(m));
	m.h.type = KC_RESULT;
	m.h.len = sizeof(m.r);
	m.r.status = status;
	va_start(ap, fmt);
	vsnprintf(m.r.msg, sizeof(m.r.msg), fmt, ap);
	va_end(ap);
	if (status)
		log_debug("result %d: %s", status, m.r.msg);
	if (send(fd, &m, sizeof(m), MSG_NOSIGNAL) < 0)
		log_warn("control socket send");
}

static int send_data(int fd, uint32_t which, const char *buf, size_t len)
{
	size_t n = sizeof(struct kc_hdr) + 4 + len;
	if (n > KC_MAX_MSG)
		return -EMSGSIZE;
	uint8_t *m = secmem_alloc(n);
	if (!m)
		return -ENOMEM;
	struct kc_hdr h = { .type = KC_DATA, .len = (uint32_t)(4 + len) };
	memcpy(m, &h, sizeof(h));
	memcpy(m + sizeof(h), &which, 4);
	memcpy(m + sizeof(h) + 4, buf, len);
	int r = send(fd, m, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -EIO;
	secmem_free(m, n);
	return r;
}

static uint8_t *dup_locked(const uint8_t *p, size_t len)
{
	uint8_t *d = secmem_alloc(len ? len : 1);
	if (!d)
		fatal("secmem_alloc");
	memcpy(d, p, len);
	return d;
}

/* Reads the CLI's messages up to KC_GO. A malformed message is fatal. */
static void read_input(int fd, struct kd_input *in)
{
	uint8_t *buf = secmem_alloc(KC_MAX_MSG + 1);
	if (!buf)
		fatal("secmem_alloc");
	for (;;) {
		ssize_t n;
		do {
			n = recv(fd, buf, KC_MAX_MSG + 1, MSG_TRUNC);
		} while (n < 0 && errno == EINTR);
		if (n < 0)
			fatal("control socket recv");
		if (n == 0)
			fatalx("control socket closed before KC_GO");
		if ((size_t)n < sizeof(struct kc_hdr) || (size_t)n > KC_MAX_MSG)
			fatalx("control message of %zd bytes", n);
		struct kc_hdr h;
		memcpy(&h, buf, sizeof(h));
		const uint8_t *pl = buf + sizeof(h);
		if (h.len != (size_t)n - sizeof(h))
			fatalx("control message length mismatch");
		if (h.type != KC_OP && !in->have_op)
			fatalx("control message %u before KC_OP", h.type);
		switch (h.type) {
		case KC_OP:
			if (in->have_op || h.len != sizeof(struct kc_op))
				fatalx("bad KC_OP");
			memcpy(&in->op, pl, sizeof(in->op));
			in->have_op = 1;
			break;
		case KC_UNLOCK_PASS:
		case KC_UNLOCK_KEY: {
			if (in->nitems >= KD_MAX_KEYS)
				fatalx("too many unlock items");
			struct kd_item *it = &in->item[in->nitems];
			if (h.type == KC_UNLOCK_PASS) {
				it->pass = dup_locked(pl, h.len);
				it->pass_len = h.len;
			} else {
				uint32_t pl_len;
				if (h.len < 4)
					fatalx("bad KC_UNLOCK_KEY");
				memcpy(&pl_len, pl, 4);
				if (pl_len == 0 || pl_len > h.len - 4)
					fatalx("bad KC_UNLOCK_KEY length");
				it->is_key = 1;
				it->pem = dup_locked(pl + 4, pl_len);
				it->pem_len = pl_len;
				it->pass_len = h.len - 4 - pl_len;
				it->pass = dup_locked(pl + 4 + pl_len,
						      it->pass_len);
			}
			in->nitems++;
			break;
		}
		case KC_NEW_PASS:
			if (in->have_new_pass)
				fatalx("two KC_NEW_PASS");
			in->new_pass = dup_locked(pl, h.len);
			in->new_pass_len = h.len;
			in->have_new_pass = 1;
			break;
		case KC_NEW_PUBKEY:
			if (in->new_pub || h.len == 0)
				fatalx("bad KC_NEW_PUBKEY");
			in->new_pub = malloc(h.len);
			if (!in->new_pub)
				fatal("malloc");
			memcpy(in->new_pub, pl, h.len);
			in->new_pub_len = h.len;
			break;
		case KC_GO:
			if (h.len != 0)
				fatalx("bad KC_GO");
			secmem_free(buf, KC_MAX_MSG + 1);
			return;
		default:
			fatalx("unknown control message %u", h.type);
		}
	}
}

/* Reads and parses the config through the lower dir fd. */
static int load_config(int lower, struct vol_config *c, char *why,
		       size_t whylen)
{
	uint8_t *buf = NULL;
	int fd = -1, r;
	struct stat st;
	const char *w = NULL;
	fd = openat(lower, VOL_CONF_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT)
			snprintf(why, whylen, "not a cryptstack volume (no %s;"
				 " create one with cryptstack init)",
				 VOL_CONF_NAME);
		else
			snprintf(why, whylen, "cannot open %s: %s",
				 VOL_CONF_NAME, strerror(-r));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)VOL_MAX_SIZE) {
		r = -EINVAL;
		snprintf(why, whylen, "%s is not a valid config file",
			 VOL_CONF_NAME);
		goto out;
	}
	buf = malloc(VOL_MAX_SIZE + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	ssize_t n = read_full(fd, buf, VOL_MAX_SIZE + 1);
	if (n < 0) {
		r = (int)n;
		snprintf(why, whylen, "reading %s: %s", VOL_CONF_NAME,
			 strerror(-r));
		goto out;
	}
	r = vol_parse(buf, (size_t)n, c, &w);
	if (r)
		snprintf(why, whylen, "%s: %s", VOL_CONF_NAME, w);
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return r;
}

/* Writes c atomically: temp file, fsync, rename (no-replace for init),
 * fsync of the directory. */
static int store_config(int lower, const struct vol_config *c, int create,
			char *why, size_t whylen)
{
	uint8_t *buf = malloc(VOL_MAX_SIZE);
	size_t len;
	int fd = -1, r;
	if (!buf)
		return -ENOMEM;
	r = vol_serialize(c, buf, VOL_MAX_SIZE, &len);
	if (r) {
		snprintf(why, whylen, "config does not fit (%d)", r);
		goto out;
	}
	/* A new config is private to its owner (its slots can be attacked
	 * offline); a rewrite keeps whatever mode the owner gave it. */
	mode_t mode = 0600;
	struct stat st;
	if (!create && fstatat(lower, VOL_CONF_NAME, &st,
			       AT_SYMLINK_NOFOLLOW) == 0)
		mode = st.st_mode & 0777;
	unlinkat(lower, TMP_NAME, 0);
	fd = openat(lower, TMP_NAME,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd >= 0 && fchmod(fd, mode) < 0)
		log_warn("fchmod %s", TMP_NAME);
	if (fd < 0) {
		r = -errno;
		snprintf(why, whylen, "creating %s: %s", TMP_NAME,
			 strerror(-r));
		goto out;
	}
	r = write_full(fd, buf, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && close(fd) < 0)
		r = -errno;
	fd = -1;
	if (r) {
		snprintf(why, whylen, "writing %s: %s", TMP_NAME,
			 strerror(-r));
		goto out_unlink;
	}
	if (renameat2(lower, TMP_NAME, lower, VOL_CONF_NAME,
		      create ? RENAME_NOREPLACE : 0) < 0) {
		r = -errno;
		snprintf(why, whylen, r == -EEXIST ?
			 "a volume already exists here (%s)" :
			 "cannot rename the config into place (%s)",
			 r == -EEXIST ? VOL_CONF_NAME : strerror(-r));
		goto out_unlink;
	}
	if (fsync(lower) < 0)
		log_warn("fsync of the lower directory");
	goto out;
out_unlink:
	unlinkat(lower, TMP_NAME, 0);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

static void kdf_params(const struct kc_op *op, struct vol_slot *s)
{
	s->kdf_t = op->kdf_t ? op->kdf_t : KC_KDF_T_DEFAULT;
	s->kdf_m = op->kdf_m ? op->kdf_m : KC_KDF_M_DEFAULT;
	s->kdf_p = op->kdf_p ? op->kdf_p : KC_KDF_P_DEFAULT;
}

static int check_kdf(const struct kc_op *op, char *why, size_t whylen)
{
	struct vol_slot s = { .type = VOL_SLOT_PASS };
	kdf_params(op, &s);
	if (s.kdf_t < 1 || s.kdf_t > VOL_KDF_T_MAX || s.kdf_p < 1 ||
	    s.kdf_p > VOL_KDF_P_MAX || s.kdf_m < VOL_KDF_M_MIN ||
	    s.kdf_m > VOL_KDF_M_MAX || s.kdf_m < 8 * s.kdf_p) {
		snprintf(why, whylen, "KDF parameters out of range (time "
			 "1..%u, memory %u KiB..%u KiB and >= 8 KiB * "
			 "parallelism, parallelism 1..%u)", VOL_KDF_T_MAX,
			 VOL_KDF_M_MIN, VOL_KDF_M_MAX, VOL_KDF_P_MAX);
		return -EINVAL;
	}
	return 0;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* Fills slot i (type set here) with payload under the new passphrase or
 * public key from in. */
static int seal_new_slot(struct vol_config *c, unsigned i,
			 const struct kd_input *in, const uint8_t *payload,
			 char *why, size_t whylen)
{
	struct vol_slot *s = &c->slot[i];
	int r;
	if (in->new_pub) {
		const char *w = NULL;
		s->type = VOL_SLOT_RSA;
		r = kd_slot_rsa_seal(c, i, in->new_pub, in->new_pub_len,
				     payload, &w);
		if (r)
			snprintf(why, whylen, "%s", w ? w : "RSA failed");
		return r;
	}
	if (!in->have_new_pass || in->new_pass_len == 0) {
		snprintf(why, whylen, "no new passphrase or public key given");
		return -EINVAL;
	}
	r = check_kdf(&in->op, why, whylen);
	if (r)
		return r;
	s->type = VOL_SLOT_PASS;
	kdf_params(&in->op, s);
	r = kd_slot_pass_seal(c, i, in->new_pass, in->new_pass_len, payload);
	if (r)
		snprintf(why, whylen, "sealing the key slot failed (%s)",
			 strerror(-r));
	return r;
}

static int op_init(int lower, struct kd_input *in, char *why, size_t whylen)
{
	struct vol_config *c = calloc(1, sizeof(*c));
	uint8_t *payload = secmem_alloc(VOL_PAYLOAD_LEN);
	int r = -ENOMEM;
	char idhex[2 * VOL_KEY_ID_LEN + 1];
	if (!c || !payload)
		goto out;
	c->version = VOL_VERSION;
	c->cipher = (uint8_t)in->op.cipher;
	c->names = (uint8_t)in->op.names;
	r = -EINVAL;
	if (!vol_cipher_name(in->op.cipher)) {
		snprintf(why, whylen, "unknown cipher id %u", in->op.cipher);
		goto out;
	}
	if (in->op.names > VOL_NAMES_PLAIN) {
		snprintf(why, whylen, "unknown names mode %u", in->op.names);
		goto out;
	}
	kd_random(c->volume_id, VOL_ID_LEN);
	c->nslots = 1;
	kd_random(c->slot[0].key_id, VOL_KEY_ID_LEN);
	kd_random(payload, VOL_PAYLOAD_LEN); /* FEKEK || names master key */
	r = seal_new_slot(c, 0, in, payload, why, whylen);
	if (r)
		goto out;
	r = store_config(lower, c, 1, why, whylen);
	if (r)
		goto out;
	hex(idhex, c->slot[0].key_id, VOL_KEY_ID_LEN);
	snprintf(why, whylen, "created volume: cipher %s, %s names, slot 0 "
		 "(%s), key %s", vol_cipher_name(c->cipher),
		 c->names ? "plaintext" : "encrypted",
		 c->slot[0].type == VOL_SLOT_PASS ? "passphrase" : "public key",
		 idhex);
out:
	secmem_free(payload, VOL_PAYLOAD_LEN);
	free(c);
	return r;
}

/* Unlocks c with in's items into g_ctx. */
static int unlock(const struct vol_config *c, struct kd_input *in, char *why,
		  size_t whylen)
{
	g_ctx = kd_ctx_new();
	if (!g_ctx)
		return -ENOMEM;
	if (in->op.op == KC_OP_PASSWD && (in->op.flags & KC_F_SLOT) &&
	    in->op.slot >= 0) {
		g_ctx->only_slot_set = 1;
		g_ctx->only_slot = (uint32_t)in->op.slot;
	}
	return kd_unlock(c, in->item, in->nitems, g_ctx, why, whylen);
}

/* Payload (FEKEK || names master key) of FEKEK id from g_ctx. */
static int ctx_payload(const uint8_t *id, uint8_t payload[static 64])
{
	int k = kd_ctx_find(g_ctx, id);
	if (k < 0)
		return -ENOKEY;
	memcpy(payload, g_ctx->fekek[k], VOL_KEY_LEN);
	memcpy(payload + VOL_KEY_LEN, g_ctx->nmk, VOL_KEY_LEN);
	return 0;
}

static int op_admin(int lower, struct kd_input *in, char *why, size_t whylen)
{
	struct vol_config *c = calloc(1, sizeof(*c));
	uint8_t *payload = secmem_alloc(VOL_PAYLOAD_LEN);
	char idhex[2 * VOL_KEY_ID_LEN + 1];
	int r = -ENOMEM;
	if (!c || !payload)
		goto out;
	r = load_config(lower, c, why, whylen);
	if (r)
		goto out;
	r = unlock(c, in, why, whylen);
	if (r)
		goto out;
	switch (in->op.op) {
	case KC_OP_CHECK: {
		char *p = why;
		size_t left = whylen;
		int n = snprintf(p, left, "opened slots:");
		for (uint32_t i = 0; i < c->nslots && n > 0 &&
				     (size_t)n < left; i++) {
			if (!g_ctx->opened[i])
				continue;
			p += n;
			left -= (size_t)n;
			n = snprintf(p, left, " %u", i);
		}
		goto out;
	}
	case KC_OP_PASSWD: {
		int target = -1;
		for (uint32_t i = 0; i < c->nslots; i++) {
			if (!g_ctx->opened[i] || c->slot[i].type !=
						 VOL_SLOT_PASS)
				continue;
			if ((in->op.flags & KC_F_SLOT) &&
			    (int32_t)i != in->op.slot)
				continue;
			target = (int)i;
			break;
		}
		if (target < 0) {
			r = -EKEYREJECTED;
			snprintf(why, whylen, (in->op.flags & KC_F_SLOT) ?
				 "the passphrase does not open slot %d" :
				 "wrong passphrase", in->op.slot);
			goto out;
		}
		if (in->new_pub) {
			r = -EINVAL;
			snprintf(why, whylen, "passwd takes a passphrase");
			goto out;
		}
		r = ctx_payload(c->slot[target].key_id, payload);
		if (r == 0)
			r = seal_new_slot(c, (unsigned)target, in, payload,
					  why, whylen);
		if (r == 0)
			r = store_config(lower, c, 0, why, whylen);
		if (r == 0)
			snprintf(why, whylen, "passphrase of slot %d changed",
				 target);
		goto out;
	}
	case KC_OP_KEY_ADD: {
		if (c->nslots >= VOL_MAX_SLOTS) {
			r = -ENOSPC;
			snprintf(why, whylen, "all %u key slots are in use",
				 VOL_MAX_SLOTS);
			goto out;
		}
		unsigned i = c->nslots;
		struct vol_slot *s = &c->slot[i];
		memset(s, 0, sizeof(*s));
		if (in->op.flags & KC_F_NEW_KEY) {
			kd_random(s->key_id, VOL_KEY_ID_LEN);
			kd_random(payload, VOL_KEY_LEN);
			memcpy(payload + VOL_KEY_LEN, g_ctx->nmk, VOL_KEY_LEN);
		} else {
			const uint8_t *id = g_ctx->id[0];
			if (in->op.flags & KC_F_KEY_ID)
				id = in->op.key_id;
			memcpy(s->key_id, id, VOL_KEY_ID_LEN);
			if (ctx_payload(id, payload)) {
				r = -ENOKEY;
				snprintf(why, whylen, "that key is not "
					 "opened by the given passphrase/key");
				goto out;
			}
		}
		c->nslots++;
		r = seal_new_slot(c, i, in, payload, why, whylen);
		if (r == 0)
			r = store_config(lower, c, 0, why, whylen);
		if (r == 0) {
			hex(idhex, s->key_id, VOL_KEY_ID_LEN);
			snprintf(why, whylen, "added slot %u (%s) for %skey "
				 "%s", i, s->type == VOL_SLOT_PASS ?
				 "passphrase" : "public key",
				 (in->op.flags & KC_F_NEW_KEY) ? "new " : "",
				 idhex);
		}
		goto out;
	}
	case KC_OP_KEY_REMOVE: {
		int32_t i = in->op.slot;
		if (i < 0 || (uint32_t)i >= c->nslots) {
			r = -EINVAL;
			snprintf(why, whylen, "no slot %d (volume has %u)", i,
				 c->nslots);
			goto out;
		}
		if (c->nslots == 1) {
			r = -EPERM;
			snprintf(why, whylen, "refusing to remove the last "
				 "key slot: the volume would be unreadable");
			goto out;
		}
		unsigned same = 0;
		for (uint32_t j = 0; j < c->nslots; j++)
			same += !memcmp(c->slot[j].key_id, c->slot[i].key_id,
					VOL_KEY_ID_LEN);
		if (same == 1 && !(in->op.flags & KC_F_FORCE)) {
			r = -EPERM;
			snprintf(why, whylen, "slot %d is the last slot of its "
				 "key: files wrapped only to that key would "
				 "become unreadable (use --force)", i);
			goto out;
		}
		memmove(&c->slot[i], &c->slot[i + 1],
			(c->nslots - (uint32_t)i - 1) * sizeof(c->slot[0]));
		c->nslots--;
		r = store_config(lower, c, 0, why, whylen);
		if (r == 0)
			snprintf(why, whylen, "removed slot %d; slots after it "
				 "moved down by one", i);
		goto out;
	}
	default:
		r = -EINVAL;
		snprintf(why, whylen, "unknown operation %u", in->op.op);
	}
out:
	secmem_free(payload, VOL_PAYLOAD_LEN);
	free(c);
	return r;
}

static int op_keygen(int ctl, struct kd_input *in, char *why, size_t whylen)
{
	char *pub = NULL, *priv = NULL;
	size_t pub_len = 0, priv_len = 0, cap = 0;
	unsigned bits = in->op.rsa_bits ? in->op.rsa_bits : 3072;
	if (bits < 2048 || bits > 8192 || bits % 8) {
		snprintf(why, whylen, "RSA size must be 2048..8192 bits");
		return -EINVAL;
	}
	if (in->new_pass_len && check_kdf(&in->op, why, whylen))
		return -EINVAL;
	int r = kd_keygen(bits, in->new_pass, in->new_pass_len, &in->op, &pub,
			  &pub_len, &priv, &priv_len, &cap);
	if (r) {
		snprintf(why, whylen, "key generation failed (%s)",
			 strerror(-r));
		return r;
	}
	r = send_data(ctl, KC_DATA_PRIV, priv, priv_len);
	if (r == 0)
		r = send_data(ctl, KC_DATA_PUB, pub, pub_len);
	if (r)
		snprintf(why, whylen, "sending the keys failed");
	else
		snprintf(why, whylen, "RSA-%u key pair generated%s", bits,
			 in->new_pass_len ? ", private key encrypted" : "");
	secmem_free(priv, cap);
	free(pub);
	return r;
}

/* Serving needs only the two sockets and memory: every other syscall kills
 * keyd, and no filesystem access is left (Landlock). Sanitizer builds skip
 * it (LeakSanitizer's exit-time scan uses ptrace and clone). */
static void enter_sandbox(int enable)
{
	static const char *const extra[] = { "recvfrom", "recvmsg", "sendto",
					     "sendmsg", "mlock", "munlock",
					     "ppoll", NULL };
	const char *list[96];
	size_t n = 0;
#if defined(__SANITIZE_ADDRESS__)
	enable = 0;
#endif
	if (!enable) {
		log_debug("sandbox disabled");
		return;
	}
	for (size_t i = 0; sandbox_base_syscalls[i] && n < 80; i++)
		list[n++] = sandbox_base_syscalls[i];
	for (size_t i = 0; extra[i]; i++)
		list[n++] = extra[i];
	list[n] = NULL;
	struct sandbox_cfg cfg = { .name = "keyd", .allow = list,
				   .landlock_fd = -2 };
	int r = sandbox_enter(&cfg);
	if (r < 0)
		fatalx("cannot enter the sandbox: %s", strerror(-r));
}

/* SIGTERM/SIGINT/SIGHUP: the serve loop sees EINTR and the flag, returns,
 * and the normal exit path wipes every key. */
static void on_signal(int sig)
{
	(void)sig;
	kd_stop = 1;
}

static void setup_process(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: recv returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, &kd_waitmask);
	sigdelset(&kd_waitmask, SIGTERM);
	sigdelset(&kd_waitmask, SIGINT);
	sigdelset(&kd_waitmask, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	/* No core dumps, no ptrace by other users' processes. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fatal("prctl(PR_SET_DUMPABLE)");
#if !defined(__SANITIZE_ADDRESS__)
	/* Keys already live in locked pages (secmem); with the privilege to
	 * lock memory, lock the rest too (Argon2 work areas, mbedTLS
	 * bignums) as it is touched. Best effort. */
	if (geteuid() == 0 &&
	    mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0)
		log_debug("mlockall: %s", strerror(errno));
#endif
}

static void usage(void)
{
	fprintf(stderr, "usage: cryptstack-keyd --admin --lower-fd N --ctl-fd "
		"N\n       cryptstack-keyd --serve --lower-fd N --ctl-fd N "
		"--service-fd N [-d] [--no-sandbox]\n(started by the cryptstack command)\n");
	exit(2);
}

static int parse_fd(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 65535)
		usage();
	return (int)v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "admin", no_argument, NULL, 'a' },
		{ "serve", no_argument, NULL, 's' },
		{ "lower-fd", required_argument, NULL, 'l' },
		{ "ctl-fd", required_argument, NULL, 'c' },
		{ "service-fd", required_argument, NULL, 'S' },
		{ "debug", no_argument, NULL, 'd' },
		{ "no-sandbox", no_argument, NULL, 'n' },
		{ "user", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	int mode = 0, lower = -1, ctl = -1, svc = -1, o, r, sandbox = 1;
	const char *run_user = NULL; /* --user UID:GID, docs/SANDBOX.md */
	char why[sizeof(((struct kc_result *)0)->msg)] = "";
	log_init("keyd", LOG_LVL_INFO);
	while ((o = getopt_long(argc, argv, "d", lo, NULL)) != -1) {
		switch (o) {
		case 'a':
		case 's':
			mode = o;
			break;
		case 'l':
			lower = parse_fd(optarg);
			break;
		case 'c':
			ctl = parse_fd(optarg);
			break;
		case 'S':
			svc = parse_fd(optarg);
			break;
		case 'd':
			log_setlevel(LOG_LVL_DEBUG);
			break;
		case 'n':
			sandbox = 0;
			break;
		case 'u':
			run_user = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !mode || ctl < 0 || (mode == 's' && svc < 0))
		usage();
	setup_process();
	atexit(wipe_all);
	g_in = secmem_alloc(sizeof(*g_in));
	if (!g_in)
		fatal("secmem_alloc");
	read_input(ctl, g_in);
	struct kd_input *in = g_in;
	int serve = in->op.op == KC_OP_SERVE;
	if (serve != (mode == 's'))
		fatalx("operation %u does not match the mode", in->op.op);
	if (in->op.op != KC_OP_KEYGEN && lower < 0)
		usage();
	switch (in->op.op) {
	case KC_OP_INIT:
		r = op_init(lower, in, why, sizeof(why));
		break;
	case KC_OP_KEYGEN:
		r = op_keygen(ctl, in, why, sizeof(why));
		break;
	case KC_OP_SERVE: {
		struct vol_config *c = calloc(1, sizeof(*c));
		if (!c)
			fatal("calloc");
		r = load_config(lower, c, why, sizeof(why));
		if (r == 0)
			r = unlock(c, in, why, sizeof(why));
		if (r == 0)
			snprintf(why, sizeof(why), "unlocked %u key(s)",
				 g_ctx->nkeys);
		free(c);
		break;
	}
	default:
		r = op_admin(lower, in, why, sizeof(why));
	}
	/* The unlock material is not needed any more. */
	free_input(g_in);
	g_in = NULL;
	send_result(ctl, r, "%s", why);
	close(ctl);
	if (lower >= 0)
		close(lower);
	if (!serve || r)
		return r ? 1 : 0;
	if (run_user) {
		/* only CAP_IPC_LOCK (mlockall'd, locked key pages) */
		unsigned uid, gid;
		if (sandbox_parse_user(run_user, &uid, &gid) < 0 ||
		    sandbox_drop_user(uid, gid, 1ULL << CAP_IPC_LOCK) < 0)
			fatalx("cannot run as %s", run_user);
	}
	enter_sandbox(sandbox);
	r = kd_serve(svc, g_ctx);
	close(svc);
	return r ? 1 : 0;
}
