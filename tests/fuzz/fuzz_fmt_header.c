/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a hostile lower file. The input is the start of a lower
 * file (header block, records, data). It is parsed; with the fixed golden
 * FEK (tests/golden/README.md) the size slots are opened, so seeds made
 * from the golden files reach the authenticated paths, then the first
 * extents are opened with the records and data found in the input, and
 * the records seal and the name binding are checked. Also
 * drives the geometry functions with input-derived numbers.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cipher.h"
#include "fmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t FEK[32] = "golden FEK for the format tests";

static uint64_t get64(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < 8 && i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void geometry(const uint8_t *data, size_t size)
{
	uint64_t a = get64(data, size), b = size > 8 ? get64(data + 8, size - 8) : 0;
	uint64_t c = size > 16 ? get64(data + 16, size - 16) : 0, o, l;
	struct fmt_range r;
	struct fmt_seg s;

	if (fmt_range(a, b, c, &r) == 0 && r.count) {
		if (r.head >= FMT_EXTENT || r.tail == 0 || r.tail > FMT_EXTENT)
			abort();
	}
	if (fmt_seg(a >> 20, b, &s) > FMT_GROUP_EXTENTS)
		abort();
	fmt_tail_records(a, &o, &l);
	if (l && o + l > fmt_lower_size(a))
		abort();
	(void)fmt_lower_size(c);
	(void)fmt_data_off(a >> 24);
	(void)fmt_rec_off(b >> 24);
}

struct input {
	const uint8_t *b;
	size_t len;
};

static int in_read(void *arg, uint8_t *buf, size_t len, uint64_t off)
{
	const struct input *in = arg;
	memset(buf, 0, len);
	if (off < in->len)
		memcpy(buf, in->b + off, in->len - off < len ? in->len - off : len);
	return 0;
}

static int64_t in_seek_data(void *arg, uint64_t off)
{
	const struct input *in = arg;
	return off < in->len ? (int64_t)off : INT64_MAX;
}

/* Records seal and name binding of a size-opened header. */
static void seal_and_bind(struct fmt_header *h, struct cipher_thread *th,
			  const struct cipher_key *key, const uint8_t *data,
			  size_t size)
{
	static uint8_t buf[FMT_GROUP_RECS_LEN];
	struct input in = {data, size};
	struct fmt_recs_io io = {
	    .read = in_read, .seek_data = in_seek_data, .arg = &in};
	uint8_t d[FMT_DIGEST_LEN], tag[FMT_BIND_LEN];
	if (fmt_recs_check_needed(h) &&
	    fmt_check_lower_size(h, size) == 0 &&
	    fmt_recs_digest(&io, fmt_extent_count(h->size), buf, d) == 0) {
		int r = fmt_recs_verify(h, th, key, d);
		if (r != 0 && r != -EBADMSG)
			abort();
	}
	fmt_name_bind_tag(data + 24, (const char *)data, 16, tag);
	int b = fmt_size_bind_check(h, tag);
	if (b < -EBADMSG || b > 1 || (b < 0 && b != -EBADMSG))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cipher_thread *th;
	struct cipher_key *key = NULL;
	struct fmt_header h;
	uint8_t area[FMT_HDR_AREA];

	if (size > (1u << 18))
		return 0;
	geometry(data, size);
	if (!th && cipher_thread_new(cipher_backend_default(), &th) != 0)
		abort();
	if (fmt_header_parse(data, size, &h) != 0)
		return 0;
	if (h.npackets == 0 || h.npackets > FMT_MAX_PACKETS)
		abort();
	/* Canonical: whatever parses serializes back to the same bytes. */
	int sr = fmt_header_serialize(&h, area);
	if (sr == 0 ? memcmp(area, data, FMT_HDR_AREA) != 0 : sr != -EINVAL)
		abort();
	if (fmt_file_key_new(&h, FEK, cipher_thread_backend(th), &key) != 0)
		abort();
	if (fmt_size_open(&h, th, key) == 0) {
		if (fmt_header_serialize(&h, area) != 0 ||
		    memcmp(area, data, FMT_HDR_AREA) != 0)
			abort();
		(void)fmt_check_lower_size(&h, size);
		seal_and_bind(&h, th, key, data, size);
		uint64_t n = fmt_extent_count(h.size);
		struct fmt_seg s;
		uint64_t first = 0;
		while (first < n && first < 64) {
			uint32_t c = fmt_seg(first, n - first < 8 ? n - first : 8, &s);
			if (c == 0 || s.data_off > size ||
			    (uint64_t)c * FMT_EXTENT > size - s.data_off ||
			    s.rec_off > size ||
			    (uint64_t)c * FMT_REC_LEN > size - s.rec_off)
				break;
			uint8_t *out = malloc((size_t)c * FMT_EXTENT);
			uint8_t which[8], bad[8];
			if (!out)
				abort();
			int r = fmt_open_run(th, key, &h, first, c,
					     data + s.data_off, out,
					     data + s.rec_off, which, bad);
			if (r < 0 || r > (int)c)
				abort();
			free(out);
			first += c;
		}
		(void)fmt_size_open_fallback(&h, th, key);
	}
	cipher_key_free(key);
	return 0;
}
