/* sizeclass.c - the size-class table.
 *
 * 48 classes cover 1 .. 4096 bytes.  Up to 128 bytes they step by 16, the
 * alignment quantum; above, each doubling is cut into 8 steps, so rounding
 * loses at most 1/8 of a block (at most 15 bytes below 128).  Class sizes
 * are multiples of 16, and a class's blocks are aligned to the largest
 * power of two dividing its size (slabs place them so). */
#include "config.h"

#include "internal.h"

const uint16_t myalloc__class_sizes[SIZE_CLASSES] = {
    16,   32,   48,   64,   80,   96,   112,  128,  /* step 16 */
    144,  160,  176,  192,  208,  224,  240,  256,  /* step 16 */
    288,  320,  352,  384,  416,  448,  480,  512,  /* step 32 */
    576,  640,  704,  768,  832,  896,  960,  1024, /* step 64 */
    1152, 1280, 1408, 1536, 1664, 1792, 1920, 2048, /* step 128 */
    2304, 2560, 2816, 3072, 3328, 3584, 3840, 4096, /* step 256 */
};

_Static_assert(SMALL_MAX == 4096, "the table ends at SMALL_MAX");

/* Entry i: the class of a request of 16 * i bytes, hence of every request
 * of 16 * (i - 1) + 1 .. 16 * i bytes, since class sizes are multiples of
 * 16 (check_sizeclass compares it with size_class_of for every size).  One
 * load instead of size_class_of's arithmetic on the malloc fast path. */
const uint8_t myalloc__class_of_quantum[SMALL_MAX / MIN_ALIGN + 1] = {
     0,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 16, 17, 17, 18, 18, 19, 19, 20, 20, 21, 21, 22, 22, 23,
    23, 24, 24, 24, 24, 25, 25, 25, 25, 26, 26, 26, 26, 27, 27, 27,
    27, 28, 28, 28, 28, 29, 29, 29, 29, 30, 30, 30, 30, 31, 31, 31,
    31, 32, 32, 32, 32, 32, 32, 32, 32, 33, 33, 33, 33, 33, 33, 33,
    33, 34, 34, 34, 34, 34, 34, 34, 34, 35, 35, 35, 35, 35, 35, 35,
    35, 36, 36, 36, 36, 36, 36, 36, 36, 37, 37, 37, 37, 37, 37, 37,
    37, 38, 38, 38, 38, 38, 38, 38, 38, 39, 39, 39, 39, 39, 39, 39,
    39, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40,
    40, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41, 41,
    41, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42,
    42, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43, 43,
    43, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44,
    44, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45, 45,
    45, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46, 46,
    46, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47,
    47,
};

size_t myalloc__class_align(unsigned cls)
{
    size_t size = myalloc__class_sizes[cls];
    return size & -size;
}

unsigned myalloc__class_for_aligned(size_t size, size_t alignment)
{
    if (size > SMALL_MAX)
        return SIZE_CLASSES;
    for (unsigned cls = size_class_of(size); cls < SIZE_CLASSES; cls++) {
        if (myalloc__class_align(cls) >= alignment)
            return cls;
    }
    return SIZE_CLASSES;
}
