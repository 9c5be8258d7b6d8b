/* Test support (see em_test.h). */
#include "em_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t baseline_bytes;

uint64_t em_test_next(em_test_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t em_test_below(em_test_rng *r, uint64_t n)
{
    return n ? em_test_next(r) % n : 0;
}

int em_test_setup(void **state)
{
    (void)state;
    em_mem_fail_after(-1);
    baseline_bytes = em_mem_outstanding();
    return 0;
}

int em_test_teardown(void **state)
{
    int64_t now = em_mem_outstanding();

    (void)state;
    em_mem_fail_after(-1);
    if (now != baseline_bytes) {
        fprintf(stderr, "leak: %lld bytes outstanding\n",
                (long long)(now - baseline_bytes));
        return -1;
    }
    return 0;
}

int em_test_oom_sweep(em_test_oom_fn fn, void *arg, int64_t max_runs)
{
    int failures = 0;

    for (int64_t n = 0; n < max_runs; n++) {
        int64_t before = em_mem_outstanding();
        em_status st;

        em_mem_fail_after(n);
        st = fn(arg);
        em_mem_fail_after(-1);
        if (st == EM_OK)
            return failures;
        if (st != EM_ENOMEM)
            fail_msg("run %lld: %s (%s), expected EM_ENOMEM", (long long)n,
                     em_status_name(st), em_last_error());
        if (em_mem_outstanding() != before)
            fail_msg("run %lld leaked %lld bytes", (long long)n,
                     (long long)(em_mem_outstanding() - before));
        failures++;
    }
    fail_msg("no success after %lld runs", (long long)max_runs);
    return failures;
}

em_ctx *em_test_ctx(const char *master)
{
    em_conf conf;
    em_ctx *ctx;

    memset(&conf, 0, sizeof(conf));
    conf.master = master ? master : "local[2]";
    conf.progress = -1;
    ctx = em_ctx_create(&conf);
    if (ctx == NULL)
        fail_msg("em_ctx_create(%s): %s", conf.master, em_last_error());
    return ctx;
}

void em_test_tmpdir(char *buf, size_t cap)
{
    const char *base = getenv("TMPDIR");

    snprintf(buf, cap, "%s/ember-test-XXXXXX", base ? base : "/tmp");
    if (mkdtemp(buf) == NULL)
        fail_msg("mkdtemp failed");
}

void em_test_rmtree(const char *path)
{
    char cmd[4200];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "rmtree %s failed\n", path);
}

static bool same_bytes(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

bool em_test_identical(em_val a, em_val b)
{
    if (a.type != b.type || a.kind != b.kind || a.len != b.len)
        return false;
    switch ((em_type)a.type) {
    case EM_NIL:
        return true;
    case EM_BOOL:
        return a.u.b == b.u.b;
    case EM_INT:
        return a.u.i == b.u.i;
    case EM_FLOAT:
        return same_bytes(&a.u.f, &b.u.f, sizeof(double));
    case EM_STR:
    case EM_BYTES:
    case EM_HANDLE:
        return same_bytes(a.u.bytes, b.u.bytes, a.len);
    case EM_ARRAY:
    case EM_MAP:
        for (size_t i = 0; i < (a.type == EM_MAP ? 2u : 1u) * a.len; i++) {
            if (!em_test_identical(a.u.arr[i], b.u.arr[i]))
                return false;
        }
        return true;
    case EM_VEC:
        return same_bytes(a.u.vec, b.u.vec, sizeof(double) * a.len);
    case EM_SPVEC:
        return a.u.sp->dim == b.u.sp->dim &&
               same_bytes(a.u.sp->idx, b.u.sp->idx, 4 * (size_t)a.len) &&
               same_bytes(a.u.sp->val, b.u.sp->val, sizeof(double) * a.len);
    default:
        return false;
    }
}

void em_test_expect_identical(em_val got, em_val want, const char *what)
{
    char g[1024], w[1024];

    if (em_test_identical(got, want))
        return;
    em_val_format(got, g, sizeof(g));
    em_val_format(want, w, sizeof(w));
    fail_msg("%s: got %s, want %s", what, g, w);
}

bool em_test_fetch(const char *set, char *path, size_t cap)
{
    const char *data = getenv("EMBER_TEST_DATA");
    char cmd[4200], rest[256];
    FILE *p;
    bool ok;

    if (data == NULL) {
        print_message("SKIP: EMBER_TEST_DATA is not set\n");
        return false;
    }
    snprintf(cmd, sizeof(cmd), "bash '%s/../../scripts/fetch-data.sh' %s "
             "2>/tmp/ember-fetch-%s.log", data, set, set);
    if ((p = popen(cmd, "r")) == NULL) {
        print_message("SKIP: cannot run scripts/fetch-data.sh\n");
        return false;
    }
    ok = fgets(path, (int)cap, p) != NULL;
    while (fgets(rest, sizeof(rest), p) != NULL)
        continue;
    if (pclose(p) != 0 || !ok) {
        print_message("SKIP: cannot fetch %s (see /tmp/ember-fetch-%s.log)\n",
                      set, set);
        return false;
    }
    path[strcspn(path, "\n")] = '\0';
    return true;
}
