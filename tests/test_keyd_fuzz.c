/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the volume config parser (cryptod/fmt/volume.c). With
 * -DCS_FUZZ=ON (clang) this is the libFuzzer binary fuzz-keyd-volume; in
 * other builds a small main() replays deterministic mutations of valid
 * configs as a unit test (test_keyd_fuzz).
 * Property: anything vol_parse() accepts serializes back to the same bytes
 * and every slot has an AD; nothing crashes or reads out of bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "volume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vol_config c;
	static uint8_t out[VOL_MAX_SIZE];
	uint8_t ad[VOL_AD_LEN + VOL_PASS_AD_LEN];
	size_t len;
	if (vol_parse(data, size, &c, NULL) != 0)
		return 0;
	if (vol_serialize(&c, out, sizeof(out), &len) != 0 || len != size ||
	    memcmp(out, data, size) != 0)
		abort();
	for (unsigned i = 0; i < c.nslots; i++)
		if (vol_slot_ad(&c, i, ad) == 0)
			abort();
	return 0;
}

#ifndef CS_FUZZ_BUILD
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

int main(void)
{
	static struct vol_config c;
	static uint8_t seed[VOL_MAX_SIZE], buf[VOL_MAX_SIZE];
	size_t len;
	unsigned accepted = 0, runs = 0;
	for (unsigned s = 0; s < 3; s++) {
		memset(&c, 0, sizeof(c));
		c.version = VOL_VERSION;
		c.cipher = (uint8_t)(1 + s);
		c.names = (uint8_t)(s & 1);
		c.nslots = 1 + s;
		for (unsigned i = 0; i < c.nslots; i++) {
			struct vol_slot *sl = &c.slot[i];
			sl->type = (i & 1) ? VOL_SLOT_RSA : VOL_SLOT_PASS;
			sl->kdf_t = 1;
			sl->kdf_m = 1024;
			sl->kdf_p = 1;
			sl->rsa_len = 256;
			memset(sl->key_id, (int)i + 1, VOL_KEY_ID_LEN);
		}
		if (vol_serialize(&c, seed, sizeof(seed), &len) != 0) {
			fprintf(stderr, "seed %u does not serialize\n", s);
			return 1;
		}
		LLVMFuzzerTestOneInput(seed, len);
		for (unsigned it = 0; it < 20000; it++, runs++) {
			size_t n = len;
			memcpy(buf, seed, len);
			unsigned flips = 1 + next() % 4;
			for (unsigned f = 0; f < flips; f++)
				buf[next() % n] = (uint8_t)next();
			if (next() % 8 == 0)
				n = next() % (len + 1); /* truncate */
			LLVMFuzzerTestOneInput(buf, n);
			accepted += vol_parse(buf, n, &c, NULL) == 0;
		}
	}
	printf("fuzz replay: %u inputs, %u accepted\n", runs, accepted);
	printf("%u passed, 0 failed\n", runs);
	return 0;
}
#endif
