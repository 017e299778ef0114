/* SPDX-License-Identifier: MIT */
/*
 * cryptstack recipients add|remove: add a FEKEK's key packet to, or drop it
 * from, lower file headers. Only the header area is rewritten; no data is
 * re-encrypted. Adding asks keyd (started as for a mount, with the unlock
 * items) to unwrap an existing packet and wrap the FEK again; the FEK
 * passes through this process only in locked memory, as it does in
 * cryptod. Dropping needs no key, but never drops a file's last packet.
 * Run it on an unmounted volume.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fmt.h"
#include "keyd_client.h"
#include "secmem.h"
#include "util.h"
#include "volume.h"

static struct {
	int add;
	uint8_t id[KD_ID_LEN];
	int svc;             /* keyd service socket (add) */
	uint32_t seq;
	unsigned long scanned, updated, skipped, failed;
	uint64_t last_report;
	struct kd_unwrap_rep *urep; /* locked */
	struct kd_wrap_req *wreq;   /* locked */
} st = { .svc = -1 };

_Static_assert(KD_ID_LEN == 8, "cli_parse_key_id() fills 8 bytes");

/* One request/reply with keyd; a broken exchange is fatal for the run. */
static int kd_call(const void *req, size_t len, void *rep, size_t replen)
{
	if (send(st.svc, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -EPIPE;
	ssize_t n = recv(st.svc, rep, replen, MSG_TRUNC);
	return n == (ssize_t)replen ? 0 : -EPROTO;
}

/* Adds the packet for st.id to h; 0, 1 (already there), -ENOKEY (no packet
 * of this file opens with the given keys), -errno. */
static int add_packet(struct fmt_header *h)
{
	struct kd_unwrap_req q;
	static struct kd_wrap_rep w;
	uint8_t ad[FMT_FIXED_LEN];
	int r = -ENOKEY;
	for (unsigned i = 0; i < h->npackets; i++)
		if (!memcmp(h->pkt[i].id, st.id, KD_ID_LEN))
			return 1;
	if (h->npackets >= FMT_MAX_PACKETS)
		return -ENOSPC;
	if (fmt_header_ad(h, ad, sizeof(ad)) != FMT_FIXED_LEN)
		return -EINVAL;
	for (unsigned i = 0; i < h->npackets && r; i++) {
		memset(&q, 0, sizeof(q));
		q.h.type = KD_UNWRAP;
		q.h.seq = ++st.seq;
		q.pkt = h->pkt[i];
		q.ad_len = FMT_FIXED_LEN;
		memcpy(q.ad, ad, FMT_FIXED_LEN);
		int k = kd_call(&q, sizeof(q), st.urep, sizeof(*st.urep));
		if (k)
			return k;
		if (st.urep->status == -ENOKEY || st.urep->status == -EBADMSG)
			continue;
		r = st.urep->status;
	}
	if (r) {
		secmem_wipe(st.urep, sizeof(*st.urep));
		return r;
	}
	memset(st.wreq, 0, sizeof(*st.wreq));
	st.wreq->h.type = KD_WRAP;
	st.wreq->h.seq = ++st.seq;
	memcpy(st.wreq->fek, st.urep->fek, KD_FEK_LEN);
	secmem_wipe(st.urep, sizeof(*st.urep));
	st.wreq->ad_len = FMT_FIXED_LEN;
	memcpy(st.wreq->ad, ad, FMT_FIXED_LEN);
	r = kd_call(st.wreq, sizeof(*st.wreq), &w, sizeof(w));
	secmem_wipe(st.wreq, sizeof(*st.wreq));
	if (r)
		return r;
	if (w.status)
		return w.status;
	struct kd_packet pk[FMT_MAX_PACKETS];
	memcpy(pk, h->pkt, sizeof(pk));
	r = -ENOKEY;
	for (unsigned i = 0; i < w.count && i < KD_MAX_KEYS; i++) {
		if (memcmp(w.pkt[i].id, st.id, KD_ID_LEN))
			continue;
		pk[h->npackets] = w.pkt[i];
		r = fmt_header_set_packets(h, pk, h->npackets + 1u);
		break;
	}
	return r;
}

/* Drops st.id's packet from h; 0, 1 (not there), -EPERM (last packet). */
static int drop_packet(struct fmt_header *h)
{
	struct kd_packet pk[FMT_MAX_PACKETS];
	unsigned n = 0, found = 0;
	for (unsigned i = 0; i < h->npackets; i++) {
		if (!memcmp(h->pkt[i].id, st.id, KD_ID_LEN))
			found = 1;
		else
			pk[n++] = h->pkt[i];
	}
	if (!found)
		return 1;
	if (n == 0)
		return -EPERM;
	return fmt_header_set_packets(h, pk, n);
}

static void progress(int force)
{
	uint64_t now = now_ns();
	if (!force && now - st.last_report < 2000000000ull)
		return;
	st.last_report = now;
	fprintf(stderr, "recipients: %lu files scanned, %lu updated\n",
		st.scanned, st.updated);
}

static int visit(const char *path, const struct stat *sb, int type,
		 struct FTW *ftw)
{
	uint8_t area[FMT_HDR_AREA];
	static struct fmt_header h;
	(void)ftw;
	if (type != FTW_F || !S_ISREG(sb->st_mode))
		return 0;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!strncmp(base, VOL_CONF_NAME, strlen(VOL_CONF_NAME)))
		return 0;
	st.scanned++;
	progress(0);
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "recipients: %s: %s\n", path, strerror(errno));
		st.failed++;
		return 0;
	}
	ssize_t n = pread(fd, area, sizeof(area), 0);
	int r = n == (ssize_t)sizeof(area) ? fmt_header_parse(area, sizeof(area),
							      &h)
					   : -EMEDIUMTYPE;
	if (r == -EMEDIUMTYPE) {
		st.skipped++; /* not a cryptstack data file (side file, ...) */
		goto out;
	}
	if (r) {
		fprintf(stderr, "recipients: %s: bad header (%s)\n", path,
			strerror(-r));
		st.failed++;
		goto out;
	}
	r = st.add ? add_packet(&h) : drop_packet(&h);
	if (r == 1)
		goto out;
	if (r) {
		fprintf(stderr, "recipients: %s: %s\n", path,
			r == -ENOKEY ? "none of its keys is in the given "
				       "passphrases/keys" :
			r == -EPERM ? "that is its only key: not dropped" :
			strerror(-r));
		st.failed++;
		if (r == -EPIPE || r == -EPROTO)
			return 1; /* keyd is gone: stop the walk */
		goto out;
	}
	/* The size slots are copied raw from the parse; serialize rebuilds
	 * the same fixed header with the new packet count. */
	h.size_ok = 1;
	if (fmt_header_serialize(&h, area) ||
	    pwrite(fd, area, sizeof(area), 0) != (ssize_t)sizeof(area) ||
	    fdatasync(fd) < 0) {
		fprintf(stderr, "recipients: %s: writing the header failed\n",
			path);
		st.failed++;
		goto out;
	}
	st.updated++;
out:
	close(fd);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: cryptstack recipients add --key-id HEX16 [UNLOCK] LOWER "
		"[PATH...]\n"
		"       cryptstack recipients remove --key-id HEX16 LOWER "
		"[PATH...]\n"
		"UNLOCK (add): keys that open the files and the key to add:\n"
		"  [--passfile FILE]... [--extpass CMD] [--key PRIV.pem "
		"[--key-passfile FILE]]\n"
		"PATH: files or directories inside LOWER (default: all of it)\n");
}

int cmd_recipients(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "passfile", required_argument, NULL, 'p' },
		{ "extpass", required_argument, NULL, 'e' },
		{ "key", required_argument, NULL, 'k' },
		{ "key-passfile", required_argument, NULL, 'K' },
		{ "key-id", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_unlock u = { 0 };
	const char *passfiles[CLI_UNLOCK_MAX], *extpass = NULL,
		   *keyfile = NULL, *keypass = NULL;
	unsigned npf = 0;
	int o, have_id = 0, ret = 1, lower = -1;
	pid_t pid = -1;
	char err[600];

	if (argc < 2 || (strcmp(argv[1], "add") && strcmp(argv[1], "remove"))) {
		usage();
		return 2;
	}
	st.add = !strcmp(argv[1], "add");
	argc--;
	argv++;
	optind = 1;
	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (o) {
		case 'p':
			if (npf >= CLI_UNLOCK_MAX) {
				usage();
				return 2;
			}
			passfiles[npf++] = optarg;
			break;
		case 'e':
			extpass = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'K':
			keypass = optarg;
			break;
		case 'i':
			if (cli_parse_key_id(optarg, st.id))
				return 2;
			have_id = 1;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (!have_id || optind >= argc) {
		usage();
		return 2;
	}
	const char *root = argv[optind];
	lower = cli_open_lower(root);
	if (lower < 0)
		return 1;
	if (st.add) {
		int r = 0;
		for (unsigned i = 0; i < npf && r == 0; i++) {
			struct cli_pass_src s = { .passfile = passfiles[i] };
			r = cli_unlock_add_pass(&u, &s, NULL);
		}
		if (r == 0 && extpass) {
			struct cli_pass_src s = { .extpass = extpass };
			r = cli_unlock_add_pass(&u, &s, NULL);
		}
		if (r == 0 && keyfile) {
			struct cli_pass_src s = { .passfile = keypass };
			r = cli_unlock_add_privkey(&u, keyfile, &s);
		}
		if (r == 0 && u.count == 0) /* terminal or options file */
			r = cli_unlock_add_pass(&u, NULL, "Passphrase: ");
		if (r)
			goto out;
		r = cli_keyd_start(lower, &u, &st.svc, &pid, err, sizeof(err));
		cli_unlock_clear(&u);
		if (r) {
			fprintf(stderr, "cryptstack: recipients: %s\n", err);
			goto out;
		}
		st.urep = secmem_alloc(sizeof(*st.urep));
		st.wreq = secmem_alloc(sizeof(*st.wreq));
		struct kd_hello hq = { .h = { KD_HELLO, 0 },
				       .version = KD_PROTO_VERSION }, hp;
		static struct kd_list_rep lp;
		struct kd_list_req lq = { .h = { KD_LIST, 0 } };
		if (!st.urep || !st.wreq ||
		    kd_call(&hq, sizeof(hq), &hp, sizeof(hp)) ||
		    kd_call(&lq, sizeof(lq), &lp, sizeof(lp))) {
			fprintf(stderr, "cryptstack: recipients: keyd failed\n");
			goto out;
		}
		int found = 0;
		for (unsigned i = 0; i < lp.count && i < KD_MAX_KEYS; i++)
			found |= !memcmp(lp.id[i], st.id, KD_ID_LEN);
		if (!found) {
			fprintf(stderr, "cryptstack: recipients: that key is "
				"not opened by the given passphrases/keys\n");
			goto out;
		}
	} else if (npf || extpass || keyfile) {
		fprintf(stderr, "cryptstack: recipients remove needs no key\n");
		goto out;
	}
	st.last_report = now_ns();
	if (optind + 1 == argc) {
		if (nftw(root, visit, 32, FTW_PHYS) < 0)
			fprintf(stderr, "cryptstack: %s: %s\n", root,
				strerror(errno));
	}
	for (int i = optind + 1; i < argc; i++) {
		/* PATHs are taken as given (inside LOWER, absolute or
		 * relative to the current directory). */
		if (nftw(argv[i], visit, 32, FTW_PHYS) < 0)
			fprintf(stderr, "cryptstack: %s: %s\n", argv[i],
				strerror(errno));
	}
	progress(1);
	printf("recipients %s: %lu files scanned, %lu updated, %lu not "
	       "cryptstack files, %lu failed\n", st.add ? "add" : "remove",
	       st.scanned, st.updated, st.skipped, st.failed);
	ret = st.failed ? 1 : 0;
out:
	cli_unlock_clear(&u);
	if (st.svc >= 0)
		close(st.svc);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	secmem_free(st.urep, sizeof(*st.urep));
	secmem_free(st.wreq, sizeof(*st.wreq));
	if (lower >= 0)
		close(lower);
	return ret;
}
