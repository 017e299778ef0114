/* SPDX-License-Identifier: MIT */
/*
 * The service loop: proto/keymsg.h requests from cryptod, one at a time.
 * Every request's length must be exactly its type's struct size and the
 * first must be KD_HELLO; anything else is fatal (fail closed). Replies
 * carry FEKs and the names key only, never a FEKEK.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include <mbedtls/platform_util.h>

#include "kd.h"
#include "log.h"
#include "secmem.h"

/* The signal mask while waiting (main.c fills it; empty by default). */
sigset_t kd_waitmask;

union kd_req {
	struct kd_hdr h;
	struct kd_hello hello;
	struct kd_wrap_req wrap;
	struct kd_unwrap_req unwrap;
	struct kd_names_key_req names;
	struct kd_list_req list;
	struct kd_wrap_batch_req batch;
};

union kd_rep {
	struct kd_hello hello;
	struct kd_wrap_rep wrap;
	struct kd_unwrap_rep unwrap;
	struct kd_names_key_rep names;
	struct kd_list_rep list;
	struct kd_wrap_batch_rep batch;
};

/* AD of a key packet: the header bytes cryptod sent || FEKEK id. */
static size_t packet_ad(uint8_t *out, const uint8_t *ad, uint32_t ad_len,
			const uint8_t id[static KD_ID_LEN])
{
	memcpy(out, ad, ad_len);
	memcpy(out + ad_len, id, KD_ID_LEN);
	return ad_len + KD_ID_LEN;
}

/* Wraps fek under every FEKEK of the context into pkt[0..nkeys), bound to
 * ad; 0, or -EIO (pkt then zeroed by the caller). */
static int wrap_one(struct kd_ctx *ctx, const uint8_t fek[static KD_FEK_LEN],
		    const uint8_t *ad_in, uint32_t ad_len, struct kd_packet *pkt)
{
	uint8_t ad[KD_AD_MAX + KD_ID_LEN];
	for (uint32_t i = 0; i < ctx->nkeys; i++) {
		struct kd_packet *k = &pkt[i];
		memcpy(k->id, ctx->id[i], KD_ID_LEN);
		kd_random(k->nonce, sizeof(k->nonce));
		size_t adl = packet_ad(ad, ad_in, ad_len, k->id);
		if (mbedtls_gcm_crypt_and_tag(&ctx->gcm[i], MBEDTLS_GCM_ENCRYPT,
					      KD_FEK_LEN, k->nonce, 12, ad,
					      adl, fek, k->wrapped, 16, k->tag))
			return -EIO;
	}
	return 0;
}

static size_t do_wrap(struct kd_ctx *ctx, const struct kd_wrap_req *q,
		      struct kd_wrap_rep *p)
{
	p->status = 0;
	if (wrap_one(ctx, q->fek, q->ad, q->ad_len, p->pkt) < 0) {
		memset(p->pkt, 0, sizeof(p->pkt));
		p->status = -EIO;
		p->count = 0;
		return sizeof(*p);
	}
	p->count = ctx->nkeys;
	return sizeof(*p);
}

/* KD_WRAP_BATCH: the caller checked count and ad_len. */
static size_t do_wrap_batch(struct kd_ctx *ctx,
			    const struct kd_wrap_batch_req *q,
			    struct kd_wrap_batch_rep *p)
{
	p->status = 0;
	for (uint32_t e = 0; e < q->count; e++) {
		if (wrap_one(ctx, q->fek[e], q->ad[e], q->ad_len, p->pkt[e]) <
		    0) {
			memset(p->pkt, 0, sizeof(p->pkt));
			p->status = -EIO;
			p->count = p->npkts = 0;
			return sizeof(*p);
		}
	}
	p->count = q->count;
	p->npkts = ctx->nkeys;
	return sizeof(*p);
}

static size_t do_unwrap(struct kd_ctx *ctx, const struct kd_unwrap_req *q,
			struct kd_unwrap_rep *p)
{
	uint8_t ad[KD_AD_MAX + KD_ID_LEN];
	int i = kd_ctx_find(ctx, q->pkt.id);
	if (i < 0) {
		p->status = -ENOKEY;
		return sizeof(*p);
	}
	size_t adl = packet_ad(ad, q->ad, q->ad_len, q->pkt.id);
	if (mbedtls_gcm_auth_decrypt(&ctx->gcm[i], KD_FEK_LEN, q->pkt.nonce,
				     12, ad, adl, q->pkt.tag, 16,
				     q->pkt.wrapped, p->fek)) {
		mbedtls_platform_zeroize(p->fek, sizeof(p->fek));
		p->status = -EBADMSG;
		return sizeof(*p);
	}
	p->status = 0;
	return sizeof(*p);
}

int kd_serve(int fd, struct kd_ctx *ctx)
{
	/* Requests carry FEKs and replies FEKs/names key: locked buffers. */
	union kd_req *q = secmem_alloc(sizeof(*q) + 1);
	union kd_rep *p = secmem_alloc(sizeof(*p));
	int hello = 0, r = 0;
	if (!q || !p)
		fatal("secmem_alloc");
	for (;;) {
		ssize_t n;
		/* The stop signals are blocked except inside ppoll(), so one
		 * that arrives anywhere else is seen here, never lost. */
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int pr = ppoll(&pfd, 1, NULL, &kd_waitmask);
		if (kd_stop) {
			log_info("signal: wiping keys and exiting");
			break;
		}
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			fatal("ppoll");
		}
		do {
			n = recv(fd, q, sizeof(*q) + 1, MSG_TRUNC);
		} while (n < 0 && errno == EINTR);
		if (n == 0)
			break; /* peer hung up */
		if (n < 0) {
			if (errno == ECONNRESET)
				break;
			fatal("service socket recv");
		}
		if ((size_t)n < sizeof(struct kd_hdr))
			fatalx("short message (%zd bytes) on service socket",
			       n);
		uint32_t type = q->h.type;
		if (type <= KD_INVALID || type >= KD__MAX)
			fatalx("unknown message type %u", type);
		if ((size_t)n != kd_req_size(type))
			fatalx("message type %u: length %zd, expected %zu",
			       type, n, kd_req_size(type));
		if (!hello && type != KD_HELLO)
			fatalx("message type %u before KD_HELLO", type);
		memset(p, 0, sizeof(*p));
		size_t len = 0;
		switch (type) {
		case KD_HELLO:
			if (hello || q->hello.version != KD_PROTO_VERSION)
				fatalx("bad KD_HELLO (version %u)",
				       q->hello.version);
			hello = 1;
			p->hello.version = KD_PROTO_VERSION;
			len = sizeof(p->hello);
			break;
		case KD_WRAP:
			if (q->wrap.ad_len > KD_AD_MAX)
				fatalx("KD_WRAP: ad_len %u", q->wrap.ad_len);
			len = do_wrap(ctx, &q->wrap, &p->wrap);
			break;
		case KD_UNWRAP:
			if (q->unwrap.ad_len > KD_AD_MAX)
				fatalx("KD_UNWRAP: ad_len %u",
				       q->unwrap.ad_len);
			len = do_unwrap(ctx, &q->unwrap, &p->unwrap);
			break;
		case KD_WRAP_BATCH:
			if (q->batch.count < 1 ||
			    q->batch.count > KD_BATCH_MAX ||
			    q->batch.ad_len > KD_BATCH_AD_MAX)
				fatalx("KD_WRAP_BATCH: count %u ad_len %u",
				       q->batch.count, q->batch.ad_len);
			len = do_wrap_batch(ctx, &q->batch, &p->batch);
			break;
		case KD_NAMES_KEY:
			p->names.status = 0;
			memcpy(p->names.key, ctx->names_key,
			       KD_NAMES_KEY_LEN);
			len = sizeof(p->names);
			break;
		case KD_LIST:
			p->list.status = 0;
			p->list.count = ctx->nkeys;
			memcpy(p->list.id, ctx->id, sizeof(p->list.id));
			len = sizeof(p->list);
			break;
		}
		/* The reply header echoes type and seq. */
		((struct kd_hdr *)p)->type = type;
		((struct kd_hdr *)p)->seq = q->h.seq;
		ssize_t w;
		do {
			w = send(fd, p, len, MSG_NOSIGNAL);
		} while (w < 0 && errno == EINTR);
		secmem_wipe(q, sizeof(*q));
		secmem_wipe(p, sizeof(*p));
		if (w < 0) {
			if (errno == EPIPE || errno == ECONNRESET)
				break;
			fatal("service socket send");
		}
		if ((size_t)w != len)
			fatalx("short send on service socket");
	}
	secmem_free(q, sizeof(*q) + 1);
	secmem_free(p, sizeof(*p));
	return r;
}
