/*
 * reasm: in-order delivery in place, held out-of-order segments, retransmissions, overlaps,
 * sequence wrap, caps that turn holes into gaps, snaplen cuts, FIN, flows without SYN.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mqttls/reasm.h"

struct sink {
	char text[4096];  /* delivered bytes, with "[gap N]" for holes */
	size_t len;
	unsigned calls;
	const uint8_t *last_ptr;
};

static void on_data(void *ctx, const uint8_t *p, size_t n)
{
	struct sink *s = ctx;

	assert_true(n > 0);
	assert_true(s->len + n < sizeof(s->text));
	memcpy(s->text + s->len, p, n);
	s->len += n;
	s->text[s->len] = '\0';
	s->calls++;
	s->last_ptr = p;
}

static void on_gap(void *ctx, size_t missing)
{
	struct sink *s = ctx;

	s->len += (size_t)snprintf(s->text + s->len, sizeof(s->text) - s->len, "[gap %zu]", missing);
}

static const struct reasm_limits lim = { 64, 4 };

#define SEG(d, seq, str) reasm_segment(d, &lim, seq, false, false, (const uint8_t *)(str), strlen(str), strlen(str), &out)

static void in_order_is_passed_in_place(void **state)
{
	struct reasm_dir d = { 0 };
	struct sink s = { .len = 0 };
	struct reasm_out out = { on_data, on_gap, &s };
	static const char data[] = "hello";
	(void)state;

	reasm_segment(&d, &lim, 1000, true, false, NULL, 0, 0, &out);
	reasm_segment(&d, &lim, 1001, false, false, (const uint8_t *)data, 5, 5, &out);
	assert_ptr_equal(s.last_ptr, (const uint8_t *)data);
	SEG(&d, 1006, " world");
	assert_string_equal(s.text, "hello world");
	assert_int_equal(d.delivered, 11);
	reasm_free(&d);
}

static void out_of_order_and_retransmission(void **state)
{
	struct reasm_dir d = { 0 };
	struct sink s = { .len = 0 };
	struct reasm_out out = { on_data, on_gap, &s };
	(void)state;

	reasm_segment(&d, &lim, 0, true, false, NULL, 0, 0, &out);
	SEG(&d, 7, "CCC");       /* early */
	SEG(&d, 4, "BBB");       /* early */
	assert_int_equal(s.len, 0);
	assert_int_equal(d.held_segs, 2);
	SEG(&d, 1, "AAA");       /* fills the hole: all three come out in order */
	assert_string_equal(s.text, "AAABBBCCC");
	SEG(&d, 1, "AAA");       /* a retransmission */
	SEG(&d, 5, "BBCC");      /* an overlapping one */
	assert_string_equal(s.text, "AAABBBCCC");
	assert_int_equal(d.dup_bytes, 7);
	SEG(&d, 8, "CCDD");      /* partly old, partly new */
	assert_string_equal(s.text, "AAABBBCCCDD");
	assert_int_equal(d.held_segs, 0);
	assert_int_equal(d.ooo_segs, 2);
	reasm_free(&d);
}

static void sequence_wraps(void **state)
{
	struct reasm_dir d = { 0 };
	struct sink s = { .len = 0 };
	struct reasm_out out = { on_data, on_gap, &s };
	(void)state;

	reasm_segment(&d, &lim, 0xFFFFFFFA, true, false, NULL, 0, 0, &out);
	SEG(&d, 0x00000001, "after");   /* past the wrap: early */
	SEG(&d, 0xFFFFFFFB, "before");  /* 6 bytes up to 0x00000001 */
	assert_string_equal(s.text, "beforeafter");
	reasm_free(&d);
}

static void caps_turn_holes_into_gaps(void **state)
{
	struct reasm_dir d = { 0 };
	struct sink s = { .len = 0 };
	struct reasm_out out = { on_data, on_gap, &s };
	(void)state;

	reasm_segment(&d, &lim, 99, true, false, NULL, 0, 0, &out);
	/* Bytes 100..109 never arrive; four early segments fill the segment cap, a fifth forces the hole. */
	SEG(&d, 110, "1111");
	SEG(&d, 114, "2222");
	SEG(&d, 118, "3333");
	SEG(&d, 122, "4444");
	assert_int_equal(s.len, 0);
	SEG(&d, 130, "6666");
	assert_string_equal(s.text, "[gap 10]1111222233334444");
	SEG(&d, 126, "5555");
	assert_string_equal(s.text, "[gap 10]111122223333444455556666");
	assert_int_equal(d.gap_bytes, 10);
	/* The byte cap: one segment larger than the whole budget goes straight out after a gap. */
	{
		char big[100];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		SEG(&d, 140, big);
		assert_non_null(strstr(s.text, "6666[gap 6]xxxx"));
	}
	assert_int_equal(d.held_bytes, 0);
	reasm_free(&d);
}

static void flush_reports_the_holes(void **state)
{
	struct reasm_dir d = { 0 };
	struct sink s = { .len = 0 };
	struct reasm_out out = { on_data, on_gap, &s };
	(void)state;

	reasm_segment(&d, &lim, 0, true, false, NULL, 0, 0, &out);
	SEG(&d, 1, "ab");
	SEG(&d, 5, "ef");
	SEG(&d, 9, "ij");
	reasm_flush(&d, &out);
	assert_string_equal(s.text, "ab[gap 2]ef[gap 2]ij");
	assert_null(d.held);
	reasm_free(&d);
}

static void snaplen_cut_is_a_gap(void **state)
{
	struct reasm_dir d = { 0 };
	struct sink s = { .len = 0 };
	struct reasm_out out = { on_data, on_gap, &s };
	(void)state;

	reasm_segment(&d, &lim, 0, true, false, NULL, 0, 0, &out);
	reasm_segment(&d, &lim, 1, false, false, (const uint8_t *)"abcdefgh", 3, 8, &out);
	SEG(&d, 9, "next");
	assert_string_equal(s.text, "abc[gap 5]next");
	reasm_free(&d);
}

static void no_syn_starts_at_first_data_and_fin_ends(void **state)
{
	struct reasm_dir d = { 0 };
	struct sink s = { .len = 0 };
	struct reasm_out out = { on_data, on_gap, &s };
	(void)state;

	reasm_segment(&d, &lim, 5000, false, false, NULL, 0, 0, &out);  /* a pure ACK says nothing */
	assert_false(d.started);
	SEG(&d, 7000, "mid");
	assert_string_equal(s.text, "mid");
	reasm_segment(&d, &lim, 7003, false, true, (const uint8_t *)"end", 3, 3, &out);
	assert_true(d.closed);
	SEG(&d, 7006, "junk after FIN");
	assert_string_equal(s.text, "midend");
	/* A segment absurdly far ahead is not trusted as data. */
	SEG(&d, 7006 + (100u << 20), "far");
	assert_int_equal(d.oow_segs, 1);
	reasm_free(&d);
}

static void syn_carrying_data(void **state)
{
	struct reasm_dir d = { 0 };
	struct sink s = { .len = 0 };
	struct reasm_out out = { on_data, on_gap, &s };
	(void)state;

	reasm_segment(&d, &lim, 41, true, false, (const uint8_t *)"fast", 4, 4, &out);
	SEG(&d, 46, "open");
	assert_string_equal(s.text, "fastopen");
	reasm_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(in_order_is_passed_in_place),
		cmocka_unit_test(out_of_order_and_retransmission),
		cmocka_unit_test(sequence_wraps),
		cmocka_unit_test(caps_turn_holes_into_gaps),
		cmocka_unit_test(flush_reports_the_holes),
		cmocka_unit_test(snaplen_cut_is_a_gap),
		cmocka_unit_test(no_syn_starts_at_first_data_and_fin_ends),
		cmocka_unit_test(syn_carrying_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
