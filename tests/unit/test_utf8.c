/* utf8_clip and utf8_trim_partial: cuts land on character boundaries. */
#include <check.h>
#include <string.h>

#include "utf8.h"

/* "a" + U+2500 (3 bytes) + U+00E9 (2 bytes) + U+1F600 (4 bytes) + "z" */
static const char sample[] = "a\xe2\x94\x80\xc3\xa9\xf0\x9f\x98\x80z";

START_TEST(clip_keeps_whole_characters)
{
    size_t len = strlen(sample); /* 11 */
    const size_t expect[] = {0, 1, 1, 1, 4, 4, 6, 6, 6, 6, 10, 11, 11};
    for (size_t max = 0; max <= len + 1; max++)
        ck_assert_msg(utf8_clip(sample, len, max) == expect[max], "max %lu: got %lu",
                      (unsigned long)max, (unsigned long)utf8_clip(sample, len, max));
}
END_TEST

START_TEST(clip_of_ascii_and_short_text)
{
    ck_assert_uint_eq(utf8_clip("hello", 5, 3), 3);
    ck_assert_uint_eq(utf8_clip("hello", 5, 9), 5);
    ck_assert_uint_eq(utf8_clip("", 0, 0), 0);
}
END_TEST

START_TEST(clip_of_invalid_bytes_does_not_over_read)
{
    /* four continuation bytes: no lead byte within reach, cut where asked */
    const char junk[] = "\x80\x80\x80\x80\x80";
    ck_assert_uint_eq(utf8_clip(junk, 5, 4), 4);
    ck_assert_uint_eq(utf8_clip(junk, 5, 0), 0);
}
END_TEST

START_TEST(trim_removes_an_incomplete_last_character)
{
    const struct {
        const char *in, *out;
    } cases[] = {
        {"abc", "abc"},
        {"abc\xe2", "abc"},
        {"ab\xe2\x94", "ab"},
        {"ab\xe2\x94\x80", "ab\xe2\x94\x80"},
        {"x\xf0\x9f\x98", "x"},
        {"x\xf0\x9f\x98\x80", "x\xf0\x9f\x98\x80"},
        {"\xc3", ""},
        {"\xc3\xa9", "\xc3\xa9"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[16];
        strcpy(buf, cases[i].in);
        size_t n = utf8_trim_partial(buf);
        ck_assert_str_eq(buf, cases[i].out);
        ck_assert_uint_eq(n, strlen(cases[i].out));
    }
}
END_TEST

START_TEST(invalid_at_finds_the_first_bad_byte)
{
    const struct {
        const char *s;
        size_t at;
    } cases[] = {
        {"plain ascii", 11},
        {"caf\xc3\xa9", 5},
        {"\xf0\x9f\x98\x80!", 5},
        {"caf\xe9", 3},          /* Windows-1252 e-acute */
        {"\xc0\xaf", 0},         /* overlong '/' */
        {"\xe0\x80\xaf", 0},     /* overlong */
        {"\xed\xa0\x80", 0},     /* a surrogate */
        {"\xf4\x90\x80\x80", 0}, /* above U+10FFFF */
        {"ab\xe2\x94", 2},       /* cut short */
        {"\x80", 0},
        {"\xff\xfe", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(utf8_invalid_at(cases[i].s, strlen(cases[i].s)) == cases[i].at,
                      "case %lu", (unsigned long)i);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("clip");
    tcase_add_test(tc, clip_keeps_whole_characters);
    tcase_add_test(tc, clip_of_ascii_and_short_text);
    tcase_add_test(tc, clip_of_invalid_bytes_does_not_over_read);
    suite_add_tcase(s, tc);
    tc = tcase_create("valid");
    tcase_add_test(tc, invalid_at_finds_the_first_bad_byte);
    suite_add_tcase(s, tc);
    tc = tcase_create("trim");
    tcase_add_test(tc, trim_removes_an_incomplete_last_character);
    suite_add_tcase(s, tc);
    return s;
}
