/* check_strings.c - strings built, copied, concatenated and grown with the
 * library, every byte validated as they change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <myalloc.h>

#include "testutil.h"

/* Character i of the string with identity id: printable, never NUL. */
static char str_char(uint64_t id, size_t i)
{
    uint64_t w = tu_pattern_word(id, i / 8) >> (i % 8 * 8);

    return (char)('!' + (int)(w % 94));
}

/* Assert that s holds exactly len characters of string id and a NUL. */
static void assert_string(const char *s, size_t len, uint64_t id)
{
    size_t i;

    for (i = 0; i < len; i++)
        tu_check(s[i] == str_char(id, i),
                 "string %llu of length %zu: byte %zu is %d, want %d",
                 (unsigned long long)id, len, i, s[i], str_char(id, i));
    tu_check(s[len] == '\0', "string %llu: no NUL at %zu",
             (unsigned long long)id, len);
}

/* Strings grown one character at a time, each step by my_realloc, every
 * byte checked after every step. */
START_TEST(test_char_by_char)
{
    enum { NSTR = 4, LEN = 3000 };
    char *s[NSTR] = {NULL};
    size_t len, k;

    for (len = 0; len < LEN; len++) {
        for (k = 0; k < NSTR; k++) {
            char *t = my_realloc(s[k], len + 2);

            tu_check(t != NULL, "my_realloc to %zu failed", len + 2);
            tu_check(my_malloc_usable_size(t) >= len + 2,
                     "my_realloc to %zu: usable %zu", len + 2,
                     my_malloc_usable_size(t));
            t[len] = str_char(k, len);
            t[len + 1] = '\0';
            s[k] = t;
            assert_string(t, len + 1, k);
        }
    }
    for (k = 0; k < NSTR; k++) {
        ck_assert_uint_eq(strlen(s[k]), LEN);
        assert_string(s[k], LEN, k);
        my_free(s[k]);
    }
}
END_TEST

/* Copies by my_malloc + memcpy are equal and independent of the original. */
START_TEST(test_copy)
{
    static const size_t lens[] = {0, 1, 15, 16, 17, 100, 4095, 4096, 5000,
                                  70000, TU_MIB, TU_MIB + 1, 3 * TU_MIB};
    size_t i;

    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t n = lens[i], j;
        char *orig = my_malloc(n + 1), *copy;

        ck_assert_ptr_nonnull(orig);
        for (j = 0; j < n; j++)
            orig[j] = str_char(i, j);
        orig[n] = '\0';
        copy = my_malloc(strlen(orig) + 1);
        ck_assert_ptr_nonnull(copy);
        ck_assert_ptr_ne(copy, orig);
        memcpy(copy, orig, n + 1);
        ck_assert_uint_eq(strlen(copy), n);
        ck_assert_int_eq(memcmp(copy, orig, n + 1), 0);
        /* Changing the copy leaves the original alone. */
        if (n > 0) {
            memset(copy, '#', n);
            assert_string(orig, n, i);
        }
        my_free(orig);
        if (n > 0)
            ck_assert_uint_eq(tu_find_not(copy, n, '#'), SIZE_MAX);
        my_free(copy);
    }
}
END_TEST

/* A string concatenated from 300 pieces of varied lengths; after each
 * append the whole result is compared with a copy kept in the C library's
 * heap. */
START_TEST(test_concat)
{
    uint64_t rng = 7;
    char *acc = my_malloc(1), *ref = malloc(1);
    size_t len = 0, k;

    ck_assert_ptr_nonnull(acc);
    ck_assert_ptr_nonnull(ref);
    acc[0] = ref[0] = '\0';
    for (k = 0; k < 300; k++) {
        size_t plen = tu_rand_range(&rng, 0, k % 50 == 49 ? 200000 : 3000);
        char *piece = my_malloc(plen + 1), *t;
        size_t j;

        ck_assert_ptr_nonnull(piece);
        for (j = 0; j < plen; j++)
            piece[j] = str_char(1000 + k, j);
        piece[plen] = '\0';

        t = my_realloc(acc, len + plen + 1);
        ck_assert_ptr_nonnull(t);
        acc = t;
        memcpy(acc + len, piece, plen + 1);
        t = realloc(ref, len + plen + 1);
        ck_assert_ptr_nonnull(t);
        ref = t;
        memcpy(ref + len, piece, plen + 1);
        len += plen;
        my_free(piece);

        ck_assert_uint_eq(strlen(acc), len);
        ck_assert_msg(memcmp(acc, ref, len + 1) == 0,
                      "concatenation differs after piece %zu", k);
    }
    ck_assert_msg(len > TU_MIB, "only %zu bytes: the test never went huge",
                  len);
    my_free(acc);
    free(ref);
}
END_TEST

/* One string grown by half each step from 1 byte to 8 MiB, through every
 * regime (size class, buddy, huge), then shrunk back the same way; all
 * of it checked at every step. */
START_TEST(test_grow_through_regimes)
{
    char *s = NULL;
    size_t len = 0, next;
    int seen_small = 0, seen_buddy = 0, seen_huge = 0;

    for (next = 1; next <= 8 * TU_MIB; next = next * 3 / 2 + 1) {
        char *t = my_realloc(s, next + 1);
        size_t j, u;

        ck_assert_msg(t != NULL, "growing to %zu failed", next + 1);
        u = my_malloc_usable_size(t);
        ck_assert(u >= next + 1);
        seen_small |= u <= TU_SMALL_MAX;
        seen_buddy |= u > TU_SMALL_MAX && u <= TU_BUDDY_MAX;
        seen_huge |= u > TU_BUDDY_MAX;
        if (s != NULL) /* the old content, up to its NUL, moved along */
            assert_string(t, len, 99);
        for (j = len; j < next; j++)
            t[j] = str_char(99, j);
        t[next] = '\0';
        s = t;
        len = next;
    }
    ck_assert(seen_small && seen_buddy && seen_huge);
    while (len > 0) {
        char *t;

        len = len * 2 / 3;
        t = my_realloc(s, len + 1);
        ck_assert_msg(t != NULL, "shrinking to %zu failed", len + 1);
        ck_assert(my_malloc_usable_size(t) >= len + 1);
        t[len] = '\0';
        assert_string(t, len, 99);
        s = t;
    }
    my_free(s);
}
END_TEST

/* Many strings alive at once, each built its own way, all with distinct
 * content, checked only at the end. */
START_TEST(test_many_strings)
{
    enum { N = 5000 };
    static char *s[N];
    static size_t lens[N];
    uint64_t rng = 12345;
    size_t i, j;

    for (i = 0; i < N; i++) {
        size_t n = tu_rand_range(&rng, 0, i % 100 == 0 ? 100000 : 2000);
        char head[32];
        int hl = snprintf(head, sizeof head, "#%zu:", i);

        lens[i] = n + (size_t)hl;
        switch (i % 3) {
        case 0: /* all at once */
            s[i] = my_malloc(lens[i] + 1);
            tu_check(s[i] != NULL, "my_malloc failed");
            break;
        case 1: /* zeroed, then written */
            s[i] = my_calloc(lens[i] + 1, 1);
            tu_check(s[i] != NULL, "my_calloc failed");
            tu_check(tu_find_not(s[i], lens[i] + 1, 0) == SIZE_MAX,
                     "my_calloc(%zu, 1): not zero", lens[i] + 1);
            break;
        default: /* grown from a small start */
            s[i] = my_malloc(8);
            tu_check(s[i] != NULL, "my_malloc(8) failed");
            s[i] = my_realloc(s[i], lens[i] + 1);
            tu_check(s[i] != NULL, "my_realloc failed");
            break;
        }
        memcpy(s[i], head, (size_t)hl);
        for (j = (size_t)hl; j < lens[i]; j++)
            s[i][j] = str_char(i, j);
        s[i][lens[i]] = '\0';
    }
    for (i = 0; i < N; i++) {
        char head[32];
        int hl = snprintf(head, sizeof head, "#%zu:", i);

        tu_check(strlen(s[i]) == lens[i], "string %zu: length %zu", i,
                 strlen(s[i]));
        tu_check(memcmp(s[i], head, (size_t)hl) == 0,
                 "string %zu lost its head", i);
        for (j = (size_t)hl; j < lens[i]; j++)
            tu_check(s[i][j] == str_char(i, j),
                     "string %zu: byte %zu changed", i, j);
    }
    for (i = 0; i < N; i++)
        my_free(s[i]);
}
END_TEST

static Suite *strings_suite(void)
{
    Suite *s = suite_create("strings");
    TCase *tc = tcase_create("strings");

    tcase_add_test(tc, test_char_by_char);
    tcase_add_test(tc, test_copy);
    tcase_add_test(tc, test_concat);
    tcase_add_test(tc, test_grow_through_regimes);
    tcase_add_test(tc, test_many_strings);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(strings_suite());
}
