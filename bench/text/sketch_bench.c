/* Sketch throughput: items per second for Bloom filter put and query and
 * count-min add and estimate, single-threaded, on n distinct string items
 * ("item<i>"), made before timing. Prints a Markdown table.
 *
 *   cc -O2 -I include bench/text/sketch_bench.c build-release/libember.a \
 *      $(pkg-config --libs msgpack libuv libsodium jemalloc) -lz -lm \
 *      -lpthread -o sketch_bench && ./sketch_bench [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ember.h"
#include "ember/ml.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    em_arena *a = em_arena_create();
    em_val *items = malloc((size_t)n * sizeof(em_val));
    em_bloom *bf = em_bloom_create(n, 0.01);
    em_cms *cms = em_cms_create(0.0001, 0.99, 1);
    double t0, t[4];
    long hits = 0, sum = 0;

    for (long i = 0; i < n; i++) {
        char buf[32];
        int len = snprintf(buf, sizeof(buf), "item%ld", i);
        em_str_copy(a, buf, (size_t)len, &items[i]);
    }
    t0 = now();
    for (long i = 0; i < n; i++)
        em_bloom_put(bf, items[i]);
    t[0] = now() - t0;
    t0 = now();
    for (long i = 0; i < n; i++)
        hits += em_bloom_might_contain(bf, items[i]);
    t[1] = now() - t0;
    t0 = now();
    for (long i = 0; i < n; i++)
        em_cms_add(cms, items[i], 1);
    t[2] = now() - t0;
    t0 = now();
    for (long i = 0; i < n; i++)
        sum += em_cms_estimate_count(cms, items[i]);
    t[3] = now() - t0;
    if (hits != n || sum < n) {
        fprintf(stderr, "sketch_bench: wrong answers\n");
        return 1;
    }
    printf("| operation | items | seconds | million items/s |\n");
    printf("| --- | ---: | ---: | ---: |\n");
    printf("| Bloom put (fpp 0.01, k %d) | %ld | %.3f | %.1f |\n",
           em_bloom_num_hashes(bf), n, t[0], n / t[0] / 1e6);
    printf("| Bloom mightContain | %ld | %.3f | %.1f |\n", n, t[1],
           n / t[1] / 1e6);
    printf("| count-min add (eps 1e-4, depth %d) | %ld | %.3f | %.1f |\n",
           em_cms_depth(cms), n, t[2], n / t[2] / 1e6);
    printf("| count-min estimateCount | %ld | %.3f | %.1f |\n", n, t[3],
           n / t[3] / 1e6);
    em_bloom_destroy(bf);
    em_cms_destroy(cms);
    em_arena_destroy(a);
    free(items);
    return 0;
}
