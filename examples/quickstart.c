// SPDX-License-Identifier: MIT
/* The README's example: one channel, a writer, a consumer loop. */
#include <stdio.h>
#include <grb/grb.h>
#include <grb/native.h>

static const struct grb_config cfg =
	GRB_NATIVE_CONFIG(GRB_ALLOC_PER_CPU, GRB_SYNC_ATOMIC, GRB_MODE_DISCARD);

int main(void)
{
	struct grb_channel *ch = grb_channel_create(&cfg, NULL);
	struct grb_record rec;
	struct grb_merge *m;
	uint64_t i, sum = 0;

	if (!ch)
		return fprintf(stderr, "grb: %s\n", grb_last_error()), 1;
	for (i = 0; i < 1000; i++) {
		struct grb_ctx ctx = { .payload_len = sizeof(i) };

		if (grb_reserve(&cfg, ch, &ctx) == 0) {
			grb_write(&ctx, &i, sizeof(i));
			grb_commit(&cfg, &ctx);
		}
	}
	grb_channel_finalize(ch); /* flush; readers drain to -ENODATA */
	m = grb_merge_create(ch, 0);
	while (grb_merge_next(m, &rec) == 0)
		sum += *(const uint64_t *)rec.payload;
	printf("sum %llu (expected %llu)\n", (unsigned long long)sum, 999ull * 1000 / 2);
	grb_merge_destroy(m);
	grb_channel_destroy(ch);
	return sum != 999ull * 1000 / 2;
}
