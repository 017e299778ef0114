/* SPDX-License-Identifier: MIT */
/* Golden lower files: see fmt_golden.h and tests/golden/README.md. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmt_golden.h"

struct gwrite {
	uint64_t off;
	uint32_t len;
	unsigned seed;
};

struct gfile {
	const char *name;
	int alg;
	uint64_t size; /* final size (a truncate after the writes) */
	unsigned dirty; /* leave a crash state: see golden_write */
	struct gwrite w[4];
	uint32_t flags; /* required flags (0: the first v1 layout) */
	const char *bind; /* FMT_RF_NAME_BIND: lower name it is bound to */
};

static const uint8_t gdirid[FMT_DIRID_LEN] = "dir id of golden";

static const struct gfile gfiles[] = {
	{ "empty.lower", CIPHER_AES256GCM, 0, 0, { { 0 } }, 0, NULL },
	{ "small-100.lower", CIPHER_AES256GCM, 100, 0, { { 0, 100, 1 } }, 0, NULL },
	{ "ext-4097.lower", CIPHER_AES256GCM, 4097, 0, { { 0, 4097, 2 } }, 0, NULL },
	{ "aes128-10000.lower", CIPHER_AES128GCM, 10000, 0,
	  { { 0, 10000, 3 } }, 0, NULL },
	{ "chacha-10000.lower", CIPHER_CHACHA20POLY1305, 10000, 0,
	  { { 0, 10000, 4 } }, 0, NULL },
	/* Extent 1 written twice (two full slots), holes 3..51, extents 52
	 * and 53 in group 0's meta region, a truncate in the last extent. */
	{ "sparse.lower", CIPHER_AES256GCM, 53 * 4096 + 100, 0,
	  { { 0, 9000, 5 }, { 4096, 4096, 6 }, { 52 * 4096 - 10, 4200, 7 },
	    { 53 * 4096, 500, 8 } }, 0, NULL },
	/* Crash state: FMT_SZ_DIRTY, extent 0's newer slot sealed for data
	 * that never reached the file: reads as the old content. */
	{ "dirty.lower", CIPHER_AES256GCM, 5000, 1, { { 0, 5000, 9 } }, 0, NULL },
	/* Records seal (FMT_RF_ROLLBACK_MAC): groups 0, 1 and 3 written
	 * (group 2 a hole), extent 0 twice, truncated inside group 3. */
	{ "sealed.lower", CIPHER_AES256GCM, 3 * 1048576 + 5000, 0,
	  { { 0, 6000, 10 }, { 100, 200, 11 }, { 1048576 + 4000, 9000, 12 },
	    { 3 * 1048576, 8000, 13 } },
	  FMT_RF_ROLLBACK_MAC, NULL },
	/* Records seal and name binding (FMT_RF_NAME_BIND): bound to the
	 * lower name "bound+name" in the golden dir id, after a rename (so
	 * the clean slot's seal lag is 2). */
	{ "bound.lower", CIPHER_CHACHA20POLY1305, 300000, 0,
	  { { 0, 300000, 14 }, { 250000, 1000, 15 } },
	  FMT_RF_ROLLBACK_MAC | FMT_RF_NAME_BIND, "bound+name" },
};

static void gpattern(uint8_t *p, size_t len, unsigned seed)
{
	uint32_t x = seed * 2246822519u + 7;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static uint8_t *expected(const struct gfile *g)
{
	uint64_t max = g->size;
	for (int i = 0; i < 4; i++)
		if (g->w[i].off + g->w[i].len > max)
			max = g->w[i].off + g->w[i].len;
	uint8_t *p = calloc(1, max + 1), *t;
	if (!p)
		abort();
	for (int i = 0; i < 4; i++) {
		if (!g->w[i].len)
			continue;
		t = malloc(g->w[i].len);
		if (!t)
			abort();
		gpattern(t, g->w[i].len, g->w[i].seed);
		memcpy(p + g->w[i].off, t, g->w[i].len);
		free(t);
	}
	return p;
}

static int write_file(const char *dir, const char *name, const void *p,
		      size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -errno;
	size_t n = fwrite(p, 1, len, f);
	int r = fclose(f);
	return n == len && r == 0 ? 0 : -EIO;
}

static int read_file(const char *dir, const char *name, struct lower *lf)
{
	char path[512];
	uint8_t buf[65536];
	size_t n;
	memset(lf, 0, sizeof(*lf));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		lower_write(lf, lf->len, buf, n);
	fclose(f);
	return 0;
}

static void hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

static int unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s);
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (int)(n / 2);
}

static const char *gnames[] = {
	"a", "hello.txt", "-rf", ".hidden", "...", "name with spaces",
	"\xc3\xa9t\xc3\xa9", /* UTF-8 */
	NULL,
};

int golden_write(const char *dir, struct fake_keyd *kd, const uint8_t fek[32],
		 const uint8_t names_key[64], const uint8_t dirid[16])
{
	int r = 0;

	for (size_t i = 0; i < sizeof(gfiles) / sizeof(gfiles[0]) && !r; i++) {
		const struct gfile *g = &gfiles[i];
		struct tfile tf;
		uint8_t *t;

		model_req_flags = g->flags;
		r = tf_create(&tf, kd, g->alg, fek);
		model_req_flags = FMT_RF_NEW;
		for (int k = 0; k < 4 && !r; k++) {
			if (!g->w[k].len)
				continue;
			t = malloc(g->w[k].len);
			gpattern(t, g->w[k].len, g->w[k].seed);
			r = tf_pwrite(&tf, g->w[k].off, t, g->w[k].len);
			free(t);
		}
		if (!r && tf.h.size != g->size)
			r = tf_truncate(&tf, g->size);
		for (int k = 0; k < 4 && !r && g->bind; k++) {
			/* created unbound, renamed to "x", then to g->bind */
			uint8_t tag[FMT_BIND_LEN];
			uint64_t off;
			uint32_t len;
			const char *nm = k < 2 ? "x" : g->bind;
			fmt_name_bind_tag(gdirid, nm, strlen(nm), tag);
			r = fmt_size_rebind(&tf.h, model_th, tf.key, tag, &off,
					    &len);
			if (!r)
				lower_write(&tf.lf, off,
					    tf.h.size_slot[tf.h.size_cur], len);
		}
		if (!r && g->dirty) {
			uint64_t off;
			uint32_t len;
			uint8_t pt[4096], ct[4096], rec[64];
			r = fmt_size_update(&tf.h, model_th, tf.key, tf.h.size,
					    FMT_SZ_DIRTY, &off, &len);
			lower_write(&tf.lf, off, tf.h.size_slot[tf.h.size_cur],
				    len);
			memcpy(rec, tf.lf.b + fmt_rec_off(0), 64);
			memset(pt, 0x55, sizeof(pt));
			if (!r)
				r = fmt_seal_run(model_th, tf.key, &tf.h, 0, 1,
						 pt, ct, rec, NULL);
			lower_write(&tf.lf, fmt_rec_off(0), rec, 64);
		}
		if (!r)
			r = write_file(dir, g->name, tf.lf.b, tf.lf.len);
		tf_close(&tf);
		lower_free(&tf.lf);
	}
	if (r)
		return r;

	/* names.txt: one line per item, hex where bytes are arbitrary. */
	char path[512];
	snprintf(path, sizeof(path), "%s/names.txt", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "# format v1 golden names: kind lower plain-hex [extra]\n");
	for (int i = 0; gnames[i]; i++) {
		char low[300];
		int l = fmt_name_encrypt(names_key, dirid, gnames[i],
					 strlen(gnames[i]), low, sizeof(low),
					 NULL);
		if (l < 0)
			r = l;
		fprintf(f, "name %s ", low);
		hex(f, (const uint8_t *)gnames[i], strlen(gnames[i]));
		fprintf(f, "\n");
	}
	char longn[256];
	memset(longn, 'L', 255);
	longn[255] = 0;
	for (int i = 0; i < 255; i++)
		longn[i] = (char)('a' + i % 26);
	char low[300], side_name[64];
	uint8_t side[400];
	bool is_long;
	fmt_name_encrypt(names_key, dirid, longn, 255, low, sizeof(low),
			 &is_long);
	int s = fmt_side_build(names_key, dirid, longn, 255, side_name,
			       sizeof(side_name), side, sizeof(side));
	if (s < 0 || !is_long)
		r = -EINVAL;
	fprintf(f, "long %s ", low);
	hex(f, (const uint8_t *)longn, 255);
	fprintf(f, " ");
	hex(f, side, (size_t)(s < 0 ? 0 : s));
	fprintf(f, "\n");
	const char *target = "../some/where/else.txt";
	char lt[4096];
	fmt_symlink_encrypt(names_key, target, strlen(target), lt, sizeof(lt));
	fprintf(f, "symlink %s ", lt);
	hex(f, (const uint8_t *)target, strlen(target));
	fprintf(f, "\n");
	char xn[300];
	uint8_t xv[64];
	fmt_xattr_name_encrypt(names_key, "user.mime_type", 14, xn, sizeof(xn));
	int xl = fmt_xattr_value_encrypt(names_key, "user.mime_type", 14,
					 (const uint8_t *)"text/plain", 10, xv,
					 sizeof(xv));
	fprintf(f, "xattr %s ", xn);
	hex(f, (const uint8_t *)"user.mime_type", 14);
	fprintf(f, " ");
	hex(f, xv, (size_t)(xl < 0 ? 0 : xl));
	fprintf(f, " ");
	hex(f, (const uint8_t *)"text/plain", 10);
	fprintf(f, "\n");
	if (fclose(f) != 0)
		r = -EIO;
	return r;
}

static int check_names(const char *dir, const uint8_t *nk, const uint8_t *dirid)
{
	char path[512], line[4096 * 3], kind[16], a[4096], b[2048], c[1024],
		d[256];
	uint8_t plain[1024], extra[600], extra2[100];
	char out[4096];
	int fails = 0, items = 0;

	snprintf(path, sizeof(path), "%s/names.txt", dir);
	FILE *f = fopen(path, "r");
	if (!f) {
		printf("golden: %s missing\n", path);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		a[0] = b[0] = c[0] = d[0] = 0;
		int n = sscanf(line, "%15s %4095s %2047s %1023s %255s", kind, a,
			       b, c, d);
		if (n < 3)
			continue;
		int pl = unhex(b, plain, sizeof(plain));
		int got = -1;
		items++;
		if (!strcmp(kind, "name")) {
			got = fmt_name_decrypt(nk, dirid, a, strlen(a), out,
					       sizeof(out));
		} else if (!strcmp(kind, "long")) {
			int sl = unhex(c, extra, sizeof(extra));
			got = fmt_side_parse(nk, dirid, a, strlen(a), extra,
					     (size_t)sl, out, sizeof(out));
		} else if (!strcmp(kind, "symlink")) {
			got = fmt_symlink_decrypt(nk, a, strlen(a), out,
						  sizeof(out));
		} else if (!strcmp(kind, "xattr")) {
			got = fmt_xattr_name_decrypt(nk, a, strlen(a), out,
						     sizeof(out));
			if (got != pl || memcmp(out, plain, (size_t)pl)) {
				got = -1;
			} else {
				int vl = unhex(c, extra, sizeof(extra));
				int wl = unhex(d, extra2, sizeof(extra2));
				got = fmt_xattr_value_decrypt(
					nk, (const char *)plain, (size_t)pl,
					extra, (size_t)vl, (uint8_t *)out,
					sizeof(out));
				pl = wl;
				memcpy(plain, extra2, (size_t)wl);
			}
		}
		if (got != pl || memcmp(out, plain, (size_t)pl)) {
			printf("golden: %s %s: got %d\n", kind, a, got);
			fails++;
		}
	}
	fclose(f);
	if (items < 10) {
		printf("golden: names.txt has %d items\n", items);
		fails++;
	}
	return fails;
}

int golden_check(const char *dir, struct fake_keyd *kd,
		 const uint8_t names_key[64], const uint8_t dirid[16])
{
	int fails = 0;

	for (size_t i = 0; i < sizeof(gfiles) / sizeof(gfiles[0]); i++) {
		const struct gfile *g = &gfiles[i];
		struct tfile tf = { 0 };
		uint8_t *want = expected(g), *got = NULL;
		int r = read_file(dir, g->name, &tf.lf);
		if (r == 0)
			r = tf_open(&tf, kd);
		if (r == 0 && (tf.h.size != g->size || tf.h.cipher != g->alg ||
			       tf.h.recovering != g->dirty ||
			       tf.h.req_flags != g->flags))
			r = -EINVAL;
		if (r == 0 && g->bind) {
			uint8_t tag[FMT_BIND_LEN];
			fmt_name_bind_tag(gdirid, g->bind, strlen(g->bind), tag);
			if (fmt_size_bind_check(&tf.h, tag) != 0)
				r = -ENOENT;
			fmt_name_bind_tag(gdirid, "x", 1, tag);
			if (fmt_size_bind_check(&tf.h, tag) != -EBADMSG)
				r = -EEXIST;
		}
		if (r == 0) {
			long n = tf_read_all(&tf, &got);
			if (n != (long)g->size)
				r = n < 0 ? (int)n : -EINVAL;
			else if (g->size && memcmp(got, want, g->size))
				r = -EIO;
		}
		if (r != 0) {
			printf("golden: %s: %d\n", g->name, r);
			fails++;
		}
		free(got);
		free(want);
		tf_close(&tf);
		lower_free(&tf.lf);
	}
	return fails + check_names(dir, names_key, dirid);
}
