/* check_asan.c - in a build with AddressSanitizer (-fsanitize=address),
 * libmyalloc poisons free memory (lib/annotate.h), so that ASan reports a
 * read of a freed block, small, buddy or huge, or of a free block beside a
 * live one, as use-after-poison; and unpoisons every usable byte of a live
 * block.  Skipped (77) in any other build. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

#ifdef TEST_ASAN
/* Reads byte offset of a block of size bytes after freeing it, in the
 * child: ASan stops it there. */
struct stale_read {
    size_t size;
    size_t offset;
    bool free_first; /* else: read past the end of a live block */
};

static void child_read(void *arg)
{
    const struct stale_read *r = arg;
    char *p = tu_launder(my_malloc(r->size));
    volatile char c;

    memset(p, 'x', r->size);
    if (r->free_first)
        my_free(p);
    c = p[r->offset];
    (void)c;
}

/* ASan reported the read as use-after-poison, and the child did not run
 * on. */
static void expect_poisoned(size_t size, size_t offset, bool free_first)
{
    struct stale_read r = { size, offset, free_first };
    struct tu_child res;

    ck_assert_int_eq(tu_run_captured(child_read, &r, &res), 0);
    ck_assert_msg(strstr(res.text, "ERROR: AddressSanitizer: use-after-poison") != NULL,
                  "no use-after-poison report for byte %zu of a %zu-byte block; stderr:\n%s",
                  offset, size, res.text);
    ck_assert_msg(strstr(res.text, "READ of size 1") != NULL, "not a read: %s", res.text);
    ck_assert(!(res.exited && res.status == 0));
}

START_TEST(test_freed_small)
{
    expect_poisoned(40, 2, true);
}
END_TEST

START_TEST(test_freed_buddy)
{
    expect_poisoned(10000, 5000, true);
}
END_TEST

START_TEST(test_freed_huge)
{
    expect_poisoned(3 * TU_MIB, 100, true); /* kept mapped for reuse */
}
END_TEST

/* The block after a fresh slab's first block is free: poisoned. */
START_TEST(test_free_neighbour)
{
    expect_poisoned(2000, 2048, false);
}
END_TEST

/* Every usable byte of a live block is the caller's, however many were
 * asked for. */
START_TEST(test_usable_bytes_open)
{
    size_t sizes[] = { 1, 24, 100, 3000, 5000, 70000, 2 * TU_MIB + 1 };

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *p = my_malloc(sizes[i]);
        size_t n = my_malloc_usable_size(p);

        ck_assert_ptr_nonnull(p);
        memset(tu_launder(p), 'u', n);
        p = my_realloc(p, sizes[i] / 2 + 1);
        ck_assert_ptr_nonnull(p);
        memset(tu_launder(p), 'v', my_malloc_usable_size(p));
        my_free(p);
    }
}
END_TEST

static Suite *asan_suite(void)
{
    Suite *s = suite_create("asan");
    TCase *tc = tcase_create("poison");

    tcase_add_test(tc, test_freed_small);
    tcase_add_test(tc, test_freed_buddy);
    tcase_add_test(tc, test_freed_huge);
    tcase_add_test(tc, test_free_neighbour);
    tcase_add_test(tc, test_usable_bytes_open);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(asan_suite());
}
#else
int main(void)
{
    puts("check_asan: not an AddressSanitizer build: skipped");
    return 77;
}
#endif
