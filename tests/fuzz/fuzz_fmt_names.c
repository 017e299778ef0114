/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: hostile lower names, side files, dir id files, symlink
 * targets, xattr names and values. Byte 0 selects the parser; the rest is
 * its input (a side file input is "lower name" NUL "content"). Keys are the
 * golden test keys (tests/golden/README.md), so the seeds made from
 * tests/golden/names.txt decrypt successfully.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t NK[FMT_NAMES_KEY_LEN];
static const uint8_t DIRID[FMT_DIRID_LEN] = "dir id of golden";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[70000];
	uint8_t id[FMT_DIRID_LEN];
	const char *s = (const char *)data + 1;
	size_t n = size ? size - 1 : 0;
	int r = 0;

	if (size == 0 || size > 70000)
		return 0;
	for (unsigned i = 0; i < FMT_NAMES_KEY_LEN; i++)
		NK[i] = (uint8_t)(0x40 + i);
	switch (data[0] % 8) {
	case 0:
		(void)fmt_name_classify(s, n);
		r = fmt_name_decrypt(NK, DIRID, s, n, out, 256);
		if (r > 255)
			abort();
		if (r > 0) { /* round trip gives the same lower name back */
			char low[300];
			bool is_long;
			int l = fmt_name_encrypt(NK, DIRID, out, (size_t)r, low,
						 sizeof(low), &is_long);
			if (l != (int)n || memcmp(low, s, n) || is_long)
				abort();
		}
		break;
	case 1: {
		const char *nul = memchr(s, 0, n);
		if (!nul)
			break;
		size_t ln = (size_t)(nul - s);
		r = fmt_side_parse(NK, DIRID, s, ln, (const uint8_t *)nul + 1,
				   n - ln - 1, out, 256);
		if (r > 255)
			abort();
		char sn[64];
		(void)fmt_side_name(s, ln, sn, sizeof(sn));
		break;
	}
	case 2:
		(void)fmt_dirid_parse((const uint8_t *)s, n, id);
		break;
	case 3:
		r = fmt_symlink_decrypt(NK, s, n, out, 4096);
		if (r > (int)FMT_SYMLINK_MAX)
			abort();
		break;
	case 4:
		r = fmt_xattr_name_decrypt(NK, s, n, out, 300);
		break;
	case 5:
		if (n < 1 || data[1] > n - 1)
			break;
		r = fmt_xattr_value_decrypt(NK, s + 1, data[1],
					    (const uint8_t *)s + 1 + data[1],
					    n - 1 - data[1], (uint8_t *)out,
					    sizeof(out));
		break;
	case 6:
		r = fmt_b64_decode(s, n, (uint8_t *)out, sizeof(out));
		if (r >= 0) {
			static char back[70000 * 4 / 3 + 4];
			int e = fmt_b64_encode((uint8_t *)out, (size_t)r, back,
					       sizeof(back));
			if (e != (int)n || memcmp(back, s, n))
				abort();
		}
		break;
	default: {
		/* Any plaintext name: encrypt, then back (short or long). */
		char low[300], sn[64];
		uint8_t side[FMT_SIDE_MAX];
		bool is_long;
		(void)fmt_plain_name_check(s, n);
		int l = fmt_name_encrypt(NK, DIRID, s, n, low, sizeof(low),
					 &is_long);
		if (l < 0)
			break;
		if (fmt_name_classify(low, (size_t)l) !=
		    (is_long ? FMT_NAME_LONG : FMT_NAME_REGULAR))
			abort();
		if (is_long) {
			int sl = fmt_side_build(NK, DIRID, s, n, sn, sizeof(sn),
						side, sizeof(side));
			if (sl < 0)
				abort();
			r = fmt_side_parse(NK, DIRID, low, (size_t)l, side,
					   (size_t)sl, out, 256);
		} else {
			r = fmt_name_decrypt(NK, DIRID, low, (size_t)l, out, 256);
		}
		if (r != (int)n || memcmp(out, s, n))
			abort();
		break;
	}
	}
	return 0;
}
