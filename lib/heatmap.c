/* heatmap.c - an SVG picture of the heap, so that fragmentation can be
 * seen at a glance: a grid per region, one cell per page, coloured by what
 * holds it, then a bar per huge block.
 *
 * The state is copied under each arena's lock into scratch memory mapped
 * for the purpose (not allocated, so the picture does not disturb what it
 * shows), and written out with no lock held: writing to a FILE may call
 * malloc, which is this library. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "internal.h"

/* At most this many regions and huge blocks are drawn; the rest are
 * counted in the picture's subtitle. */
#define HEATMAP_MAX_REGIONS 256
#define HEATMAP_MAX_HUGE 256

enum cell { CELL_META, CELL_USED, CELL_SLAB, CELL_FREE_LARGE, CELL_FREE_SMALL, CELL_PURGED };

static const char *const cell_class[] = {
    [CELL_META] = "meta",
    [CELL_USED] = "used",
    [CELL_SLAB] = "slab",
    [CELL_FREE_LARGE] = "free-large",
    [CELL_FREE_SMALL] = "free-small",
    [CELL_PURGED] = "purged",
};

/* Free blocks below this order (64 KiB) are drawn as fragments. */
#define FREE_LARGE_ORDER 4

struct region_picture {
    uintptr_t address;
    unsigned arena;
    uint8_t cell[REGION_PAGES];
    uint8_t fill[REGION_PAGES]; /* slab pages: tenths of blocks in use */
};

struct huge_picture {
    uintptr_t address;
    size_t usable;
};

struct picture {
    size_t nregions, regions_total;
    size_t nhuge, huge_total;
    struct region_picture regions[HEATMAP_MAX_REGIONS];
    struct huge_picture huge[HEATMAP_MAX_HUGE];
};

/* Arena lock held. */
static void region_snapshot(const struct region *r, struct region_picture *pic)
{
    unsigned page = 0;

    pic->address = (uintptr_t)r;
    pic->arena = r->arena->index;
    while (page < REGION_META_PAGES)
        pic->cell[page++] = CELL_META;
    while (page < REGION_PAGES) {
        const struct page_desc *d = &r->pages[page];
        unsigned n = 1u << d->order, fill = 0;
        uint8_t cell;

        switch (d->kind) {
        case PAGE_FREE:
            cell = d->purged ? CELL_PURGED
                             : d->order >= FREE_LARGE_ORDER ? CELL_FREE_LARGE : CELL_FREE_SMALL;
            break;
        case PAGE_SLAB: {
            /* Owned by a thread that may be using it: a relaxed look. */
            const struct slab *s = (const struct slab *)((const char *)r + ((size_t)page << PAGE_SHIFT));
            uint32_t in_use = __atomic_load_n(&s->in_use, __ATOMIC_RELAXED);
            uint32_t capacity = s->capacity;
            cell = CELL_SLAB;
            fill = capacity == 0 ? 0 : (in_use >= capacity ? 10 : in_use * 10 / capacity);
            break;
        }
        case PAGE_USED:
            cell = CELL_USED;
            break;
        default: /* never, while the lock is held; stop rather than loop */
            cell = CELL_META;
            n = REGION_PAGES - page;
            break;
        }
        for (unsigned i = 0; i < n && page < REGION_PAGES; i++, page++) {
            pic->cell[page] = cell;
            pic->fill[page] = (uint8_t)fill;
        }
    }
}

static bool huge_snapshot(const struct huge *h, void *arg)
{
    struct picture *pic = arg;

    pic->huge_total++;
    if (pic->nhuge < HEATMAP_MAX_HUGE) {
        pic->huge[pic->nhuge].address = (uintptr_t)huge_block((struct huge *)h);
        pic->huge[pic->nhuge].usable = h->usable;
        pic->nhuge++;
    }
    return true;
}

static void picture_take(struct picture *pic)
{
    pic->nregions = pic->regions_total = pic->nhuge = pic->huge_total = 0;
    if (myalloc__init() != 0)
        return;
    for (unsigned i = 0; i < myalloc__narenas; i++) {
        struct arena *a = &myalloc__arenas[i];
        pthread_mutex_lock(&a->lock);
        for (struct region *r = a->all; r != NULL; r = r->all_next) {
            pic->regions_total++;
            if (pic->nregions < HEATMAP_MAX_REGIONS)
                region_snapshot(r, &pic->regions[pic->nregions++]);
        }
        pthread_mutex_unlock(&a->lock);
    }
    myalloc__huge_walk(huge_snapshot, pic);
}

/* ------------------------------------------------------------- drawing -- */
#define CELL 6       /* pixels per page cell */
#define COLUMNS 64   /* cells per row: 16 rows per region */
#define MARGIN 10
#define REGION_HEIGHT (16 + (REGION_PAGES / COLUMNS) * CELL + 8)
#define HEADER_HEIGHT 66
#define WIDTH (MARGIN * 2 + COLUMNS * CELL + 240)

static void draw_header(FILE *out, const struct picture *pic, const struct my_stats *st,
                        size_t height)
{
    static const char *const legend[][2] = {
        { "used", "buddy block in use" },  { "slab", "slab (darker: fuller)" },
        { "free-large", "free, 64 KiB or more" }, { "free-small", "free fragment, under 64 KiB" },
        { "purged", "free, given back" },   { "meta", "metadata" },
    };

    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
            "height=\"%zu\" viewBox=\"0 0 %d %zu\" font-family=\"monospace\" font-size=\"10\">\n",
            WIDTH, height, WIDTH, height);
    fprintf(out, "<title>libmyalloc heap: %zu regions, %zu huge blocks</title>\n",
            pic->regions_total, pic->huge_total);
    fprintf(out, "<style>.used{fill:#1f4e79}.slab{fill:#2e86c1}.free-large{fill:#a9dfbf}"
                 ".free-small{fill:#e67e22}.purged{fill:#ffffff;stroke:#bbbbbb;stroke-width:0.5}"
                 ".meta{fill:#333333}.huge{fill:#7d3c98}</style>\n");
    fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%zu\" fill=\"#f8f8f8\"/>\n", WIDTH,
            height);
    fprintf(out,
            "<text x=\"%d\" y=\"16\" font-size=\"12\">libmyalloc %s: %zu bytes allocated, "
            "%zu mapped</text>\n",
            MARGIN, MYALLOC_VERSION_STRING, st->bytes_allocated, st->bytes_mapped);
    fprintf(out, "<text x=\"%d\" y=\"30\">%zu regions (%zu drawn), %zu huge (%zu drawn), "
                 "external fragmentation %.1f%%</text>\n",
            MARGIN, pic->regions_total, pic->nregions, pic->huge_total, pic->nhuge,
            100.0 * st->frag_external);
    fprintf(out, "<g id=\"legend\">\n");
    for (size_t i = 0; i < sizeof legend / sizeof legend[0]; i++) {
        int x = MARGIN + (int)(i % 3) * 190, y = 38 + (int)(i / 3) * 12;
        fprintf(out, "<rect class=\"%s\" x=\"%d\" y=\"%d\" width=\"8\" height=\"8\"/>"
                     "<text x=\"%d\" y=\"%d\">%s</text>\n",
                legend[i][0], x, y, x + 11, y + 8, legend[i][1]);
    }
    fprintf(out, "</g>\n");
}

/* One row's cells, merged into runs of the same class and fill. */
static void draw_row(FILE *out, const struct region_picture *r, unsigned row, int y)
{
    unsigned col = 0;

    while (col < COLUMNS) {
        unsigned first = row * COLUMNS + col, run = 1;
        while (col + run < COLUMNS && r->cell[first + run] == r->cell[first] &&
               r->fill[first + run] == r->fill[first])
            run++;
        fprintf(out, "<rect class=\"%s\" x=\"%u\" y=\"%d\" width=\"%u\" height=\"%d\"",
                cell_class[r->cell[first]], MARGIN + col * CELL, y, run * CELL, CELL);
        if (r->cell[first] == CELL_SLAB) /* 0.30 .. 1.00, locale-proof */
            fprintf(out, " fill-opacity=\"%d.%02d\"", (30 + 7 * r->fill[first]) / 100,
                    (30 + 7 * r->fill[first]) % 100);
        fprintf(out, "/>\n");
        col += run;
    }
}

static void draw_region(FILE *out, const struct region_picture *r, size_t index, int y)
{
    fprintf(out, "<g id=\"region-%zu\">\n<title>region %#" PRIxPTR " (arena %u)</title>\n", index,
            r->address, r->arena);
    fprintf(out, "<text x=\"%d\" y=\"%d\">region %zu at %#" PRIxPTR ", arena %u</text>\n", MARGIN,
            y + 11, index, r->address, r->arena);
    for (unsigned row = 0; row < REGION_PAGES / COLUMNS; row++)
        draw_row(out, r, row, y + 16 + (int)row * CELL);
    fprintf(out, "</g>\n");
}

static void draw_huge(FILE *out, const struct picture *pic, int y)
{
    size_t largest = 1;

    for (size_t i = 0; i < pic->nhuge; i++)
        if (pic->huge[i].usable > largest)
            largest = pic->huge[i].usable;
    fprintf(out, "<g id=\"huge\">\n<text x=\"%d\" y=\"%d\">huge blocks (bar length relative to "
                 "the largest)</text>\n",
            MARGIN, y + 11);
    for (size_t i = 0; i < pic->nhuge; i++) {
        int yy = y + 16 + (int)i * 12;
        unsigned long w =
            (unsigned long)((double)(COLUMNS * CELL) * (double)pic->huge[i].usable / (double)largest);
        fprintf(out,
                "<rect class=\"huge\" x=\"%d\" y=\"%d\" width=\"%lu\" height=\"9\">"
                "<title>%zu bytes at %#" PRIxPTR "</title></rect>"
                "<text x=\"%d\" y=\"%d\">%zu bytes at %#" PRIxPTR "</text>\n",
                MARGIN, yy, w < 2 ? 2ul : w, pic->huge[i].usable, pic->huge[i].address,
                MARGIN + COLUMNS * CELL + 8, yy + 8, pic->huge[i].usable, pic->huge[i].address);
    }
    fprintf(out, "</g>\n");
}

int my_heatmap_write(FILE *out)
{
    struct picture *pic;
    struct my_stats st;
    void *scratch;
    size_t height;
    int err;

    if (out == NULL) {
        errno = EINVAL;
        return -1;
    }
    err = myalloc__os_map(align_up(sizeof *pic, PAGE_SIZE), NULL, &scratch);
    if (err != 0) {
        errno = err;
        return -1;
    }
    pic = scratch;
    picture_take(pic);
    my_stats_get(&st, sizeof st);

    height = HEADER_HEIGHT + pic->nregions * REGION_HEIGHT + 24 + pic->nhuge * 12 + MARGIN;
    draw_header(out, pic, &st, height);
    for (size_t i = 0; i < pic->nregions; i++)
        draw_region(out, &pic->regions[i], i, HEADER_HEIGHT + (int)(i * REGION_HEIGHT));
    draw_huge(out, pic, HEADER_HEIGHT + (int)(pic->nregions * REGION_HEIGHT));
    fprintf(out, "</svg>\n");
    (void)myalloc__os_unmap(scratch, align_up(sizeof *pic, PAGE_SIZE));
    if (fflush(out) != 0 || ferror(out))
        return -1;
    return 0;
}
