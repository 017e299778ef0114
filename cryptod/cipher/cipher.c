/* SPDX-License-Identifier: MIT */
/*
 * AEAD dispatch over two backends: Intel ipsec-mb's direct GCM and
 * ChaCha20-Poly1305 API, and mbedTLS's gcm/chachapoly modules.
 *
 * Key ownership: a struct cipher_key is written once in cipher_key_new()
 * and only read afterwards, so threads share it without locking. ipsec-mb's
 * expanded GCM key (struct gcm_key_data, 64-byte aligned) lives inside it.
 * mbedTLS contexts are not const during an operation, so for that backend
 * the key holds the raw bytes and each thread keeps its own context, keyed
 * by the key's unique id (set up again only when the key changes).
 */
#include "cipher.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <intel-ipsec-mb.h>
#include <mbedtls/chachapoly.h>
#include <mbedtls/gcm.h>

#include "log.h"
#include "secmem.h"

/* The thread state lives in locked memory (mmap), which LeakSanitizer does
 * not scan, yet it holds heap pointers (the IMB_MGR, mbedTLS's cipher
 * context): register it as a root so sanitizer builds see no false leak.
 * Weak references: resolved only when the program links a sanitizer
 * runtime, whatever flags this library was compiled with. */
void __lsan_register_root_region(const void *p, size_t size)
    __attribute__((weak));
void __lsan_unregister_root_region(const void *p, size_t size)
    __attribute__((weak));

static void lsan_root_add(const void *p, size_t n)
{
	if (__lsan_register_root_region)
		__lsan_register_root_region(p, n);
}

static void lsan_root_del(const void *p, size_t n)
{
	if (__lsan_unregister_root_region)
		__lsan_unregister_root_region(p, n);
}

/* GCM allows 2^32 - 2 blocks of plaintext; ChaCha20 more. One bound. */
#define CIPHER_MAX_LEN	 ((((uint64_t)1 << 32) - 2) * 16)
#define CIPHER_MAX_ADLEN ((uint64_t)1 << 40)
/* mbedTLS in-place GCM decryption goes through this scratch buffer. */
#define MBED_SCRATCH 4096

struct cipher_key {
	/* First member: 64-byte aligned because key slots are (the
	 * type carries aligned(64), so KEY_SLOT is a multiple of 64). */
	struct gcm_key_data gcm;
	uint8_t raw[CIPHER_KEY_MAX];
	uint64_t id;
	int alg;
	int backend;
	size_t keylen;
};

struct cipher_thread {
	struct gcm_context_data gctx;
	struct chacha20_poly1305_context_data cctx;
	mbedtls_gcm_context mgcm;
	mbedtls_chachapoly_context mcp;
	uint8_t scratch[MBED_SCRATCH];
	IMB_MGR *mgr;
	uint64_t cur_id; /* mbedTLS: id of the key set in mgcm/mcp, 0 none */
	int backend;
};

static atomic_uint_fast64_t key_ids = 1;

/*
 * Keys come from a slab of locked chunks: one FEK per open file, and a
 * whole locked page each would exhaust RLIMIT_MEMLOCK (8 MiB by default) at
 * ~2000 open files; slots of 1088 bytes fit ~3.7x more. Chunks are kept
 * for reuse (the peak stays locked), free slots are wiped and, in
 * sanitizer builds, poisoned so a use after cipher_key_free() is caught.
 */
#define KEY_SLOT  ((sizeof(struct cipher_key) + 63) & ~(size_t)63)
#define KEY_CHUNK ((size_t)64 * 1024)

void __asan_poison_memory_region(const volatile void *p, size_t size)
    __attribute__((weak));
void __asan_unpoison_memory_region(const volatile void *p, size_t size)
    __attribute__((weak));

struct key_free {
	struct key_free *next;
};

_Static_assert(KEY_SLOT % 64 == 0 && KEY_SLOT >= sizeof(struct key_free) &&
		   KEY_SLOT <= KEY_CHUNK,
	       "key slot layout");

static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;
static struct key_free *key_free_list;

static void slot_poison(void *p)
{
	if (__asan_poison_memory_region)
		__asan_poison_memory_region(p, KEY_SLOT);
}

static void slot_unpoison(void *p)
{
	if (__asan_unpoison_memory_region)
		__asan_unpoison_memory_region(p, KEY_SLOT);
}

/* Called with key_lock held. */
static void slot_push(void *p)
{
	struct key_free *f = p;
	f->next = key_free_list;
	key_free_list = f;
	slot_poison(p);
}

static struct cipher_key *key_alloc(void)
{
	struct key_free *f;

	pthread_mutex_lock(&key_lock);
	if (!key_free_list) {
		/* Page-aligned, so every slot is 64-byte aligned. */
		uint8_t *c = secmem_alloc(KEY_CHUNK);
		for (size_t off = 0; c && off + KEY_SLOT <= KEY_CHUNK;
		     off += KEY_SLOT)
			slot_push(c + off);
	}
	f = key_free_list;
	if (f) {
		slot_unpoison(f);
		key_free_list = f->next;
	}
	pthread_mutex_unlock(&key_lock);
	if (f)
		memset(f, 0, KEY_SLOT);
	return (struct cipher_key *)f;
}

static void key_release(struct cipher_key *k)
{
	secmem_wipe(k, KEY_SLOT);
	pthread_mutex_lock(&key_lock);
	slot_push(k);
	pthread_mutex_unlock(&key_lock);
}

/* A process-wide manager, only for key expansion and for probing the CPU:
 * the direct API functions it hands out are pure (no manager state). */
static pthread_once_t imb_once = PTHREAD_ONCE_INIT;
static IMB_MGR *imb_global;
static bool imb_ok;

/* ipsec-mb's parameter checks reject NULL even for zero lengths. */
static const uint8_t empty[16];

static IMB_MGR *imb_new_mgr(void)
{
	IMB_MGR *m = alloc_mb_mgr(0);
	if (!m)
		return NULL;
	IMB_ARCH arch = IMB_ARCH_NONE;
	init_mb_mgr_auto(m, &arch);
	if (imb_get_errno(m) != 0 || arch == IMB_ARCH_NONE ||
	    arch == IMB_ARCH_NOAESNI || !(m->features & IMB_FEATURE_AESNI)) {
		free_mb_mgr(m);
		return NULL;
	}
	return m;
}

static void imb_init_once(void)
{
	imb_global = imb_new_mgr();
	imb_ok = imb_global != NULL;
}

int cipher_alg_keylen(int alg)
{
	switch (alg) {
	case CIPHER_AES256GCM:
	case CIPHER_CHACHA20POLY1305:
		return 32;
	case CIPHER_AES128GCM:
		return 16;
	default:
		return -EINVAL;
	}
}

static const char *const alg_names[] = {
    [CIPHER_AES256GCM] = "aes256gcm",
    [CIPHER_AES128GCM] = "aes128gcm",
    [CIPHER_CHACHA20POLY1305] = "chacha20poly1305",
};

static const char *const backend_names[] = {
    [CIPHER_BACKEND_IPSECMB] = "ipsecmb",
    [CIPHER_BACKEND_MBEDTLS] = "mbedtls",
};

const char *cipher_alg_name(int alg)
{
	if (alg <= 0 || (size_t)alg >= sizeof(alg_names) / sizeof(*alg_names))
		return NULL;
	return alg_names[alg];
}

int cipher_alg_from_name(const char *name)
{
	for (size_t i = 1; name && i < sizeof(alg_names) / sizeof(*alg_names);
	     i++)
		if (strcmp(name, alg_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

const char *cipher_backend_name(int backend)
{
	if (backend <= 0 ||
	    (size_t)backend >= sizeof(backend_names) / sizeof(*backend_names))
		return NULL;
	return backend_names[backend];
}

int cipher_backend_from_name(const char *name)
{
	for (size_t i = 1;
	     name && i < sizeof(backend_names) / sizeof(*backend_names); i++)
		if (strcmp(name, backend_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

int cipher_backend_available(int backend)
{
	switch (backend) {
	case CIPHER_BACKEND_IPSECMB:
		pthread_once(&imb_once, imb_init_once);
		return imb_ok;
	case CIPHER_BACKEND_MBEDTLS:
		return 1;
	default:
		return 0;
	}
}

static int backend_chosen; /* cipher_backend_set_default(), 0: none */

int cipher_backend_set_default(int backend)
{
	if (!cipher_backend_name(backend))
		return -EINVAL;
	if (!cipher_backend_available(backend))
		return -ENOTSUP;
	backend_chosen = backend;
	return 0;
}

enum cipher_backend cipher_backend_default(void)
{
	if (backend_chosen)
		return (enum cipher_backend)backend_chosen;
	const char *env = getenv("CRYPTSTACK_CIPHER_BACKEND");
	if (env && *env) {
		int b = cipher_backend_from_name(env);
		if (b < 0)
			log_warnx("CRYPTSTACK_CIPHER_BACKEND=%s unknown "
				  "(ipsecmb|mbedtls), ignored",
				  env);
		else if (!cipher_backend_available(b))
			log_warnx("cipher backend %s unavailable here, ignored",
				  env);
		else
			return (enum cipher_backend)b;
	}
	if (cipher_backend_available(CIPHER_BACKEND_IPSECMB))
		return CIPHER_BACKEND_IPSECMB;
	return CIPHER_BACKEND_MBEDTLS;
}

int cipher_thread_new(int backend, struct cipher_thread **out)
{
	struct cipher_thread *th = NULL;
	int ret;

	*out = NULL;
	if (backend != CIPHER_BACKEND_IPSECMB &&
	    backend != CIPHER_BACKEND_MBEDTLS)
		return -EINVAL;
	if (!cipher_backend_available(backend))
		return -ENOTSUP;
	th = secmem_alloc(sizeof(*th));
	if (!th)
		return -ENOMEM;
	lsan_root_add(th, sizeof(*th));
	th->backend = backend;
	mbedtls_gcm_init(&th->mgcm);
	mbedtls_chachapoly_init(&th->mcp);
	if (backend == CIPHER_BACKEND_IPSECMB) {
		th->mgr = imb_new_mgr();
		if (!th->mgr) {
			ret = -ENOMEM;
			goto out;
		}
	}
	*out = th;
	th = NULL;
	ret = 0;
out:
	cipher_thread_free(th);
	return ret;
}

void cipher_thread_free(struct cipher_thread *th)
{
	if (!th)
		return;
	if (th->mgr)
		free_mb_mgr(th->mgr);
	mbedtls_gcm_free(&th->mgcm);
	mbedtls_chachapoly_free(&th->mcp);
	lsan_root_del(th, sizeof(*th));
	secmem_free(th, sizeof(*th));
}

enum cipher_backend cipher_thread_backend(const struct cipher_thread *th)
{
	return (enum cipher_backend)th->backend;
}

int cipher_key_new(int alg, int backend, const uint8_t *key, size_t keylen,
		   struct cipher_key **out)
{
	struct cipher_key *k;
	int kl = cipher_alg_keylen(alg);

	*out = NULL;
	if (kl < 0 || keylen != (size_t)kl || !key)
		return -EINVAL;
	if (backend != CIPHER_BACKEND_IPSECMB &&
	    backend != CIPHER_BACKEND_MBEDTLS)
		return -EINVAL;
	if (!cipher_backend_available(backend))
		return -ENOTSUP;
	k = key_alloc();
	if (!k)
		return -ENOMEM;
	k->alg = alg;
	k->backend = backend;
	k->keylen = keylen;
	k->id = atomic_fetch_add(&key_ids, 1);
	memcpy(k->raw, key, keylen);
	if (backend == CIPHER_BACKEND_IPSECMB) {
		/* Key schedule and GHASH powers, once per key. */
		if (alg == CIPHER_AES256GCM)
			IMB_AES256_GCM_PRE(imb_global, key, &k->gcm);
		else if (alg == CIPHER_AES128GCM)
			IMB_AES128_GCM_PRE(imb_global, key, &k->gcm);
	}
	*out = k;
	return 0;
}

void cipher_key_free(struct cipher_key *k)
{
	if (k)
		key_release(k); /* wipes */
}

enum cipher_alg cipher_key_alg(const struct cipher_key *k)
{
	return (enum cipher_alg)k->alg;
}

enum cipher_backend cipher_key_backend(const struct cipher_key *k)
{
	return (enum cipher_backend)k->backend;
}

/* ---- ipsec-mb ---- */

/* One AEAD pass: seal writes the tag; open decrypts and writes the
 * computed tag, which the caller compares. The IMB_* macros of either
 * direction are calls through the manager's function pointers: picking
 * the pointer keeps one body for both. */
static void imb_crypt(struct cipher_thread *th, const struct cipher_key *k,
		      bool seal, const uint8_t *nonce, const uint8_t *ad,
		      uint64_t adlen, const uint8_t *in, uint8_t *out,
		      uint64_t len, uint8_t *tag)
{
	IMB_MGR *m = th->mgr;
	aes_gcm_enc_dec_t gcm;

	switch (k->alg) {
	case CIPHER_AES256GCM:
	case CIPHER_AES128GCM:
		if (k->alg == CIPHER_AES256GCM)
			gcm = seal ? m->gcm256_enc : m->gcm256_dec;
		else
			gcm = seal ? m->gcm128_enc : m->gcm128_dec;
		gcm(&k->gcm, &th->gctx, out, in, len, nonce, ad, adlen, tag,
		    CIPHER_TAG_LEN);
		break;
	case CIPHER_CHACHA20POLY1305:
		IMB_CHACHA20_POLY1305_INIT(m, k->raw, &th->cctx, nonce, ad,
					   adlen);
		(seal ? m->chacha20_poly1305_enc_update
		      : m->chacha20_poly1305_dec_update)(k->raw, &th->cctx, out,
							 in, len);
		/* IMB_CHACHA20_POLY1305_{ENC,DEC}_FINALIZE: the same call */
		m->chacha20_poly1305_finalize(&th->cctx, tag, CIPHER_TAG_LEN);
		break;
	}
}

/* ---- mbedTLS ---- */

/* Loads k into th's mbedTLS contexts unless it is already there. */
static int mbed_setkey(struct cipher_thread *th, const struct cipher_key *k)
{
	int r;

	if (th->cur_id == k->id)
		return 0;
	th->cur_id = 0;
	if (k->alg == CIPHER_CHACHA20POLY1305)
		r = mbedtls_chachapoly_setkey(&th->mcp, k->raw);
	else
		r = mbedtls_gcm_setkey(&th->mgcm, MBEDTLS_CIPHER_ID_AES, k->raw,
				       (unsigned)k->keylen * 8);
	if (r != 0) {
		log_warnx("cipher: mbedTLS setkey failed (-0x%04x)",
			  (unsigned)-r);
		return -EINVAL;
	}
	th->cur_id = k->id;
	return 0;
}

static int mbed_seal(struct cipher_thread *th, const struct cipher_key *k,
		     const uint8_t *nonce, const uint8_t *ad, size_t adlen,
		     const uint8_t *in, uint8_t *out, size_t len, uint8_t *tag)
{
	int r = mbed_setkey(th, k);

	if (r != 0)
		return r;
	if (k->alg == CIPHER_CHACHA20POLY1305)
		r = mbedtls_chachapoly_encrypt_and_tag(&th->mcp, len, nonce, ad,
						       adlen, in, out, tag);
	else
		r = mbedtls_gcm_crypt_and_tag(
		    &th->mgcm, MBEDTLS_GCM_ENCRYPT, len, nonce,
		    CIPHER_NONCE_LEN, ad, adlen, in, out, CIPHER_TAG_LEN, tag);
	return r == 0 ? 0 : -EINVAL;
}

static bool overlaps(const uint8_t *a, const uint8_t *b, size_t len)
{
	uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
	return x < y + len && y < x + len;
}

/* mbedtls_gcm_auth_decrypt() does not allow in == out, so overlapping
 * buffers go chunk by chunk through th->scratch (each chunk is read before
 * it is written), then the tag is checked in constant time. */
static int mbed_gcm_open_inplace(struct cipher_thread *th, const uint8_t *nonce,
				 const uint8_t *ad, size_t adlen,
				 const uint8_t *in, uint8_t *out, size_t len,
				 const uint8_t *tag)
{
	uint8_t calc[CIPHER_TAG_LEN];
	size_t off, olen;
	int r;

	r = mbedtls_gcm_starts(&th->mgcm, MBEDTLS_GCM_DECRYPT, nonce,
			       CIPHER_NONCE_LEN, ad, adlen);
	for (off = 0; r == 0 && off < len; off += olen) {
		olen = len - off < MBED_SCRATCH ? len - off : MBED_SCRATCH;
		r = mbedtls_gcm_update(&th->mgcm, olen, in + off, th->scratch);
		if (r == 0)
			memcpy(out + off, th->scratch, olen);
	}
	if (r == 0)
		r = mbedtls_gcm_finish(&th->mgcm, calc, CIPHER_TAG_LEN);
	secmem_wipe(th->scratch, sizeof(th->scratch));
	if (r != 0) {
		secmem_wipe(out, len);
		return -EINVAL;
	}
	if (secmem_cmp(calc, tag, CIPHER_TAG_LEN) != 0) {
		secmem_wipe(out, len);
		return -EBADMSG;
	}
	return 0;
}

static int mbed_open(struct cipher_thread *th, const struct cipher_key *k,
		     const uint8_t *nonce, const uint8_t *ad, size_t adlen,
		     const uint8_t *in, uint8_t *out, size_t len,
		     const uint8_t *tag)
{
	int r = mbed_setkey(th, k);

	if (r != 0)
		return r;
	if (k->alg == CIPHER_CHACHA20POLY1305) {
		/* Tag check is constant time; output zeroed on failure. */
		r = mbedtls_chachapoly_auth_decrypt(&th->mcp, len, nonce, ad,
						    adlen, tag, in, out);
		if (r == MBEDTLS_ERR_CHACHAPOLY_AUTH_FAILED)
			return -EBADMSG;
	} else {
		if (len && overlaps(in, out, len))
			return mbed_gcm_open_inplace(th, nonce, ad, adlen, in,
						     out, len, tag);
		r = mbedtls_gcm_auth_decrypt(&th->mgcm, len, nonce,
					     CIPHER_NONCE_LEN, ad, adlen, tag,
					     CIPHER_TAG_LEN, in, out);
		if (r == MBEDTLS_ERR_GCM_AUTH_FAILED)
			return -EBADMSG;
	}
	if (r != 0) {
		secmem_wipe(out, len);
		return -EINVAL;
	}
	return 0;
}

/* ---- common ---- */

static int check_pair(const struct cipher_thread *th,
		      const struct cipher_key *k)
{
	if (!th || !k || th->backend != k->backend)
		return -EINVAL;
	return 0;
}

static int check_args(const uint8_t *nonce, const uint8_t *ad, size_t adlen,
		      const uint8_t *in, const uint8_t *out, size_t len,
		      const uint8_t *tag)
{
	if (!nonce || !tag || (adlen && !ad) || (len && (!in || !out)))
		return -EINVAL;
	if ((uint64_t)len > CIPHER_MAX_LEN ||
	    (uint64_t)adlen > CIPHER_MAX_ADLEN)
		return -EINVAL;
	/* Partial overlap breaks every backend; exact in-place is fine. */
	if (len && in != out && overlaps(in, out, len))
		return -EINVAL;
	return 0;
}

static int do_seal(struct cipher_thread *th, const struct cipher_key *k,
		   const uint8_t *nonce, const uint8_t *ad, size_t adlen,
		   const uint8_t *in, uint8_t *out, size_t len, uint8_t *tag)
{
	int r = check_args(nonce, ad, adlen, in, out, len, tag);

	if (r != 0)
		return r;
	if (th->backend == CIPHER_BACKEND_MBEDTLS)
		return mbed_seal(th, k, nonce, ad, adlen, in, out, len, tag);
	imb_crypt(th, k, true, nonce, ad ? ad : empty, adlen, in ? in : empty,
		  out ? out : th->scratch, len, tag);
	return 0;
}

static int do_open(struct cipher_thread *th, const struct cipher_key *k,
		   const uint8_t *nonce, const uint8_t *ad, size_t adlen,
		   const uint8_t *in, uint8_t *out, size_t len,
		   const uint8_t *tag)
{
	uint8_t calc[CIPHER_TAG_LEN];
	int r = check_args(nonce, ad, adlen, in, out, len, tag);

	if (r != 0)
		return r;
	if (th->backend == CIPHER_BACKEND_MBEDTLS)
		return mbed_open(th, k, nonce, ad, adlen, in, out, len, tag);
	imb_crypt(th, k, false, nonce, ad ? ad : empty, adlen,
		  in ? in : empty, out ? out : th->scratch, len, calc);
	if (secmem_cmp(calc, tag, CIPHER_TAG_LEN) != 0) {
		if (len)
			secmem_wipe(out, len);
		return -EBADMSG;
	}
	return 0;
}

/* ipsec-mb leaves per-message state (GHASH of the AD, counter blocks,
 * ChaCha20 keystream and Poly1305 key) in th: wipe it after each call or
 * batch, a few hundred bytes against kilobytes of data. */
static void imb_wipe_state(struct cipher_thread *th)
{
	if (th->backend == CIPHER_BACKEND_IPSECMB) {
		secmem_wipe(&th->gctx, sizeof(th->gctx));
		secmem_wipe(&th->cctx, sizeof(th->cctx));
	}
}

void cipher_thread_flush(struct cipher_thread *th)
{
	if (!th)
		return;
	imb_wipe_state(th);
	/* mbedTLS keeps the last key's schedule loaded: drop it. */
	mbedtls_gcm_free(&th->mgcm);
	mbedtls_gcm_init(&th->mgcm);
	mbedtls_chachapoly_free(&th->mcp);
	mbedtls_chachapoly_init(&th->mcp);
	th->cur_id = 0;
}

int cipher_seal(struct cipher_thread *th, const struct cipher_key *k,
		const uint8_t nonce[static CIPHER_NONCE_LEN], const uint8_t *ad,
		size_t adlen, const uint8_t *in, uint8_t *out, size_t len,
		uint8_t tag[static CIPHER_TAG_LEN])
{
	int r = check_pair(th, k);

	if (r != 0)
		return r;
	r = do_seal(th, k, nonce, ad, adlen, in, out, len, tag);
	imb_wipe_state(th);
	return r;
}

int cipher_open(struct cipher_thread *th, const struct cipher_key *k,
		const uint8_t nonce[static CIPHER_NONCE_LEN], const uint8_t *ad,
		size_t adlen, const uint8_t *in, uint8_t *out, size_t len,
		const uint8_t tag[static CIPHER_TAG_LEN])
{
	int r = check_pair(th, k);

	if (r != 0)
		return r;
	r = do_open(th, k, nonce, ad, adlen, in, out, len, tag);
	imb_wipe_state(th);
	return r;
}

/* cipher_seal_batch()/cipher_open_batch(): each op in turn, one state
 * wipe at the end. */
static int run_batch(struct cipher_thread *th, const struct cipher_key *k,
		     struct cipher_op *ops, unsigned n, bool seal)
{
	int fails = 0;

	if (check_pair(th, k) != 0 || (n && !ops) || n > INT_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		struct cipher_op *op = &ops[i];
		op->status = seal ? do_seal(th, k, op->nonce, op->ad, op->adlen,
					    op->in, op->out, op->len, op->tag)
				  : do_open(th, k, op->nonce, op->ad, op->adlen,
					    op->in, op->out, op->len, op->tag);
		fails += op->status != 0;
	}
	imb_wipe_state(th);
	return fails;
}

int cipher_seal_batch(struct cipher_thread *th, const struct cipher_key *k,
		      struct cipher_op *ops, unsigned n)
{
	return run_batch(th, k, ops, n, true);
}

int cipher_open_batch(struct cipher_thread *th, const struct cipher_key *k,
		      struct cipher_op *ops, unsigned n)
{
	return run_batch(th, k, ops, n, false);
}
