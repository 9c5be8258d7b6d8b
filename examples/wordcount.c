/* wordcount: counts the words of text files and prints "word<TAB>count"
 * lines, count descending then word ascending. A word is a maximal run of
 * ASCII letters, lowercased. The classic dataflow: lines -> (word, 1)
 * pairs -> reduceByKey(add) -> collect, sorted at the driver.
 *
 *   wordcount [--master URL] [--partitions N] [--memory SIZE] [--top N]
 *             PATH...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"

static int is_letter(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* line -> array of (lowercased word, 1) pairs */
static em_status split_words(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    const unsigned char *s = (const unsigned char *)args[0].u.s;
    size_t n = args[0].len, nwords = 0, i = 0;
    em_arena *a = em_task_arena(t);
    em_val *words, *pairs;
    char *lower;

    if (args[0].type != EM_STR)
        return em_task_fail(t, "wordcount: expected a line of text");
    for (size_t j = 0; j < n; j++)
        nwords += is_letter(s[j]) && (j == 0 || !is_letter(s[j - 1]));
    words = em_array_make(a, nwords, out);
    pairs = em_arena_alloc(a, 2 * nwords * sizeof(em_val) + 1);
    lower = em_arena_alloc(a, n ? n : 1);
    if (words == NULL || pairs == NULL || lower == NULL)
        return EM_ENOMEM;
    for (size_t w = 0; w < nwords; w++) {
        size_t start;
        while (!is_letter(s[i]))
            i++;
        start = i;
        while (i < n && is_letter(s[i])) {
            lower[i] = (char)(s[i] | 0x20);
            i++;
        }
        pairs[2 * w] = em_str(lower + start, i - start);
        pairs[2 * w + 1] = em_int(1);
        words[w] = em_array(pairs + 2 * w, 2);
    }
    return EM_OK;
}

/* (word, count) pairs: count descending, then word ascending */
static int by_count(const void *x, const void *y)
{
    const em_val *a = ((const em_val *)x)->u.arr;
    const em_val *b = ((const em_val *)y)->u.arr;

    size_t n = a[0].len < b[0].len ? a[0].len : b[0].len;
    int c;

    if (a[1].u.i != b[1].u.i)
        return a[1].u.i > b[1].u.i ? -1 : 1;
    c = memcmp(a[0].u.s, b[0].u.s, n); /* words: bytewise, then length */
    return c != 0 ? c : (a[0].len > b[0].len) - (a[0].len < b[0].len);
}

static int usage(void)
{
    fprintf(stderr, "usage: wordcount [--master URL] [--partitions N] "
                    "[--memory SIZE] [--top N] PATH...\n");
    return 2;
}

int main(int argc, char **argv)
{
    em_conf conf = {0};
    long top = -1, parts = 0;
    int first_path = argc, rc = 1;
    em_rdd *lines, *pairs, *counts_rdd;
    em_arena *a;
    em_ctx *ctx;
    em_val counts;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--master") == 0 && i + 1 < argc) {
            conf.master = argv[++i];
        } else if (strcmp(argv[i], "--partitions") == 0 && i + 1 < argc) {
            parts = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--memory") == 0 && i + 1 < argc) {
            if (em_parse_size(argv[++i], &conf.memory_bytes) != EM_OK) {
                fprintf(stderr, "wordcount: %s\n", em_last_error());
                return 2;
            }
        } else if (strcmp(argv[i], "--top") == 0 && i + 1 < argc) {
            top = strtol(argv[++i], NULL, 10);
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            return usage();
        } else {
            first_path = i;
            break;
        }
    }
    if (first_path >= argc)
        return usage();
    ctx = em_ctx_create(&conf);
    if (ctx == NULL) {
        fprintf(stderr, "wordcount: %s\n", em_last_error());
        return 1;
    }
    a = em_arena_create();
    {
        em_rdd *inputs[64];
        int n = 0;
        for (int i = first_path; i < argc && n < 64; i++)
            inputs[n++] = em_ctx_text_file(ctx, argv[i], (int)parts);
        lines = n == 1 ? inputs[0] : em_ctx_union(ctx, inputs, (size_t)n);
    }
    pairs = em_rdd_flat_map(lines, EM_FN(split_words));
    counts_rdd = em_rdd_reduce_by_key(pairs, EM_FN(em_op_add), 0);
    if (a == NULL || counts_rdd == NULL ||
        em_rdd_collect(counts_rdd, a, &counts) != EM_OK) {
        fprintf(stderr, "wordcount: %s\n", em_last_error());
        goto out;
    }
    qsort((void *)counts.u.arr, counts.len, sizeof(em_val), by_count);
    for (size_t i = 0; i < counts.len && (top < 0 || (long)i < top); i++) {
        const em_val *kv = counts.u.arr[i].u.arr;
        fwrite(kv[0].u.s, 1, kv[0].len, stdout);
        printf("\t%lld\n", (long long)kv[1].u.i);
    }
    rc = 0;
out:
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return rc;
}
