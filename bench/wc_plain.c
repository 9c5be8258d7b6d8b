/* wc_plain: the floor for the word count benchmark. A plain single-threaded
 * word count written for this one task, with no library beyond libc: it
 * prints the same "word<TAB>count" lines as examples/wordcount.c (a word is
 * a maximal run of ASCII letters, lowercased; count descending, then word
 * ascending by bytes). bench/run-wordcount.sh builds and runs it.
 *
 *   wc_plain [--top N] PATH...      ("-" reads standard input)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BLOCK_BYTES = 1 << 20 };

typedef struct entry {
    uint64_t hash;  /* full hash of the word; 0 marks an empty slot */
    uint64_t count; /* occurrences */
    size_t off;     /* offset of the word in the string pool */
    size_t len;     /* length of the word in bytes */
} entry;

typedef struct table {
    entry *slots;    /* open addressing, linear probing */
    size_t cap;      /* number of slots, a power of two */
    size_t n;        /* occupied slots */
    char *pool;      /* the words, one after another */
    size_t pool_len; /* bytes used in pool */
    size_t pool_cap; /* bytes allocated for pool */
} table;

static const char *pool_base; /* for the qsort comparator */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);

    if (q == NULL) {
        fprintf(stderr, "wc_plain: out of memory\n");
        exit(1);
    }
    return q;
}

/* FNV-1a, forced non-zero so that 0 can mark an empty slot. */
static uint64_t hash_word(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

static void table_grow(table *t)
{
    size_t cap = t->cap ? 2 * t->cap : 1 << 16;
    entry *slots = calloc(cap, sizeof(*slots));

    if (slots == NULL) {
        fprintf(stderr, "wc_plain: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < t->cap; i++) {
        size_t j;
        if (t->slots[i].hash == 0)
            continue;
        j = t->slots[i].hash & (cap - 1);
        while (slots[j].hash != 0)
            j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
}

/* Counts one occurrence of the lowercased word s[0..n). */
static void table_add(table *t, const char *s, size_t n)
{
    uint64_t h = hash_word(s, n);
    size_t j;

    if (2 * (t->n + 1) > t->cap)
        table_grow(t);
    j = h & (t->cap - 1);
    for (;;) {
        entry *e = &t->slots[j];
        if (e->hash == 0)
            break;
        if (e->hash == h && e->len == n &&
            memcmp(t->pool + e->off, s, n) == 0) {
            e->count++;
            return;
        }
        j = (j + 1) & (t->cap - 1);
    }
    if (t->pool_len + n > t->pool_cap) {
        while (t->pool_len + n > t->pool_cap)
            t->pool_cap = t->pool_cap ? 2 * t->pool_cap : 1 << 20;
        t->pool = xrealloc(t->pool, t->pool_cap);
    }
    memcpy(t->pool + t->pool_len, s, n);
    t->slots[j] = (entry){.hash = h, .count = 1, .off = t->pool_len, .len = n};
    t->pool_len += n;
    t->n++;
}

static int is_letter(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* Counts the words of one stream. A word never spans two files; *word is
 * the buffer for the word being read (*word_cap bytes), grown as needed. */
static int count_file(table *t, FILE *f, const char *name, char *buf,
                      char **word, size_t *word_cap)
{
    size_t wlen = 0, got;

    while ((got = fread(buf, 1, BLOCK_BYTES, f)) > 0) {
        for (size_t i = 0; i < got; i++) {
            unsigned char c = (unsigned char)buf[i];
            if (is_letter(c)) {
                if (wlen == *word_cap) {
                    *word_cap *= 2;
                    *word = xrealloc(*word, *word_cap);
                }
                (*word)[wlen++] = (char)(c | 0x20);
            } else if (wlen > 0) {
                table_add(t, *word, wlen);
                wlen = 0;
            }
        }
    }
    if (ferror(f)) {
        fprintf(stderr, "wc_plain: %s: %s\n", name, strerror(errno));
        return -1;
    }
    if (wlen > 0)
        table_add(t, *word, wlen);
    return 0;
}

/* count descending, then word ascending by bytes (shorter prefix first) */
static int by_count(const void *x, const void *y)
{
    const entry *a = x, *b = y;
    size_t n = a->len < b->len ? a->len : b->len;
    int c;

    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    c = memcmp(pool_base + a->off, pool_base + b->off, n);
    if (c != 0)
        return c;
    return (a->len > b->len) - (a->len < b->len);
}

static int usage(void)
{
    fprintf(stderr, "usage: wc_plain [--top N] PATH...\n");
    return 2;
}

int main(int argc, char **argv)
{
    table t = {0};
    long top = -1;
    int first = 1;
    char *buf, *word;
    entry *all;
    size_t n = 0, word_cap = 256;

    if (argc > 2 && strcmp(argv[1], "--top") == 0) {
        char *end;
        top = strtol(argv[2], &end, 10);
        if (*end != '\0' || top < 0)
            return usage();
        first = 3;
    }
    if (first >= argc)
        return usage();
    buf = xrealloc(NULL, BLOCK_BYTES);
    word = xrealloc(NULL, word_cap);
    for (int i = first; i < argc; i++) {
        int is_stdin = strcmp(argv[i], "-") == 0;
        FILE *f = is_stdin ? stdin : fopen(argv[i], "rb");
        int rc;
        if (f == NULL) {
            fprintf(stderr, "wc_plain: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        rc = count_file(&t, f, argv[i], buf, &word, &word_cap);
        if (!is_stdin)
            fclose(f);
        if (rc != 0)
            return 1;
    }
    /* compact the occupied slots to the front and sort them */
    all = t.slots;
    for (size_t i = 0; i < t.cap; i++)
        if (t.slots[i].hash != 0)
            all[n++] = t.slots[i];
    pool_base = t.pool;
    if (n > 0)
        qsort(all, n, sizeof(*all), by_count);
    for (size_t i = 0; i < n && (top < 0 || (long)i < top); i++)
        printf("%.*s\t%llu\n", (int)all[i].len, t.pool + all[i].off,
               (unsigned long long)all[i].count);
    free(buf);
    free(word);
    free(t.slots);
    free(t.pool);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "wc_plain: write error: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
