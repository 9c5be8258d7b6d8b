/* Tests of the block store (runtime/blocks.h): records round-trip at every
 * storage level; the memory budget evicts least recently used blocks,
 * spilling those whose level allows disk; disk blocks whose files vanish
 * read as absent; blocks being read survive removal; dropping an RDD;
 * the store's directory goes with it; out-of-memory sweeps.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "em_test.h"
#include "runtime/arena.h"
#include "runtime/blocks.h"
#include "runtime/part.h"
#include "runtime/rdd.h"

#define NRECS 50

/* ---- a task and a sink that keeps what is pushed ---- */

static void task_init(em_task *t)
{
    memset(t, 0, sizeof(*t));
    t->scratch = em__arena_create(0);
    assert_non_null(t->scratch);
}

static void task_fini(em_task *t)
{
    em__arena_destroy(t->scratch);
}

typedef struct collect_sink {
    em__sink base;
    em__part part;   /* deep copies of the records pushed */
    int fail_at;     /* push number that fails with EM_EIO, or -1 */
    /* called on the first push, while the block is being read */
    void (*on_first)(struct collect_sink *s);
    em__blocks *store;
    int rdd;
} collect_sink;

static em_status collect_push(em__sink *base, em_task *t, em_val rec)
{
    collect_sink *s = (collect_sink *)base;

    (void)t;
    if (s->on_first != NULL && s->part.n == 0)
        s->on_first(s);
    if (s->fail_at >= 0 && (size_t)s->fail_at == s->part.n)
        return EM_EIO;
    return em__part_push(&s->part, rec);
}

static void sink_init(collect_sink *s)
{
    memset(s, 0, sizeof(*s));
    s->base.push = collect_push;
    s->fail_at = -1;
    EM_CHECK(em__part_init(&s->part));
}

static void sink_fini(collect_sink *s)
{
    em__part_fini(&s->part);
}

/* ---- records ---- */

/* Record k of block `tag`, built in `a` from scratch each time. */
static em_val make_rec(em_arena *a, int tag, int k)
{
    static const uint8_t raw[] = {0, 0xff, 7};
    char buf[48];
    em_val out, *items, kv[4];
    int n;

    switch (k % 6) {
    case 0:
        return em_int((int64_t)tag * 100000 + k);
    case 1:
        return em_float(tag + k / 8.0);
    case 2:
        n = snprintf(buf, sizeof(buf), "record %d of block %d", k, tag);
        EM_CHECK(em_str_copy(a, buf, (size_t)n, &out));
        return out;
    case 3:
        items = em_array_make(a, 4, &out);
        assert_non_null(items);
        items[0] = em_int(k);
        items[1] = em_nil();
        items[2] = em_bool(k % 4 == 3);
        EM_CHECK(em_str_copy(a, "nested", 6, &items[3]));
        return out;
    case 4:
        kv[0] = em_cstr("k");
        kv[1] = em_float(2.0);
        kv[2] = em_int(tag);
        kv[3] = em_bytes(raw, sizeof(raw));
        EM_CHECK(em_map_make(a, kv, 2, &out));
        EM_CHECK(em_val_copy(a, out, &out));
        return out;
    default:
        /* an array holding a dense vector among other values */
        items = em_array_make(a, 4, &out);
        assert_non_null(items);
        items[0] = em_float(-0.5);
        items[1] = em_int(INT64_MIN + k);
        EM_CHECK(em_str_copy(a, "", 0, &items[2]));
        {
            double *x = em_vec_make(a, 3, &items[3]);
            assert_non_null(x);
            x[0] = k;
            x[1] = -tag;
            x[2] = 0.25;
        }
        return out;
    }
}

/* A partition of n records of block `tag`. */
static void make_part(em__part *p, int tag, int n)
{
    EM_CHECK(em__part_init(p));
    for (int k = 0; k < n; k++) {
        em_arena *a = em_arena_create();
        assert_non_null(a);
        EM_CHECK(em__part_push(p, make_rec(a, tag, k)));
        em_arena_destroy(a);
    }
}

/* Same type everywhere (an int stays an int) and equal. */
static bool same(em_val a, em_val b)
{
    if (a.type != b.type || a.len != b.len || !em_val_eq(a, b))
        return false;
    if (a.type == EM_ARRAY || a.type == EM_MAP) {
        size_t n = a.type == EM_MAP ? 2 * (size_t)a.len : a.len;
        for (size_t i = 0; i < n; i++) {
            if (!same(a.u.arr[i], b.u.arr[i]))
                return false;
        }
    }
    return true;
}

/* The records a sink received are those of block `tag`. */
static void expect_block(const collect_sink *s, int tag, int n)
{
    em_arena *a = em_arena_create();
    char got[256], want[256];

    assert_non_null(a);
    if (s->part.n != (size_t)n) {
        em_arena_destroy(a);
        fail_msg("block %d: %zu records, want %d", tag, s->part.n, n);
    }
    for (int k = 0; k < n; k++) {
        em_val w = make_rec(a, tag, k);
        if (!same(s->part.recs[k], w)) {
            em_val_format(s->part.recs[k], got, sizeof(got));
            em_val_format(w, want, sizeof(want));
            em_arena_destroy(a);
            fail_msg("block %d record %d: got %s, want %s", tag, k, got,
                     want);
        }
    }
    em_arena_destroy(a);
}

/* Gets block (rdd, part) and checks it holds block `tag`. */
static void get_expect(em__blocks *b, em_task *t, int rdd, int part, int tag)
{
    collect_sink s;

    sink_init(&s);
    EM_CHECK(em__blocks_get(b, rdd, part, t, &s.base));
    expect_block(&s, tag, NRECS);
    sink_fini(&s);
}

static void get_absent(em__blocks *b, em_task *t, int rdd, int part)
{
    collect_sink s;

    sink_init(&s);
    assert_int_equal(em__blocks_get(b, rdd, part, t, &s.base), EM_ENOENT);
    assert_int_equal(s.part.n, 0);
    sink_fini(&s);
}

static void put(em__blocks *b, int rdd, int part, em_storage level, int tag)
{
    em__part p;

    make_part(&p, tag, NRECS);
    EM_CHECK(em__blocks_put(b, rdd, part, level, &p));
}

/* Bytes of a partition of block `tag` as the store charges it in
 * memory. */
static int64_t part_bytes(int tag)
{
    em__part p;
    int64_t n;

    make_part(&p, tag, NRECS);
    n = (int64_t)em__part_bytes(&p);
    em__part_fini(&p);
    return n;
}

/* ---- files ---- */

/* Calls fn on every regular file under dir (one level of subdirectories,
 * which is where the store keeps its own); returns how many. */
static int walk_files(const char *dir, void (*fn)(const char *path))
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            n += walk_files(path, fn);
        } else {
            if (fn != NULL)
                fn(path);
            n++;
        }
    }
    closedir(d);
    return n;
}

static void remove_file(const char *path)
{
    assert_int_equal(unlink(path), 0);
}

/* Entries of dir, files and directories alike. */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* ---- cases ---- */

static void test_blocks_round_trip_every_level(void **state)
{
    static const em_storage levels[] = {
        EM_MEMORY_ONLY, EM_MEMORY_ONLY_SER, EM_MEMORY_AND_DISK,
        EM_MEMORY_AND_DISK_SER, EM_DISK_ONLY, EM_MEMORY_ONLY_2,
        EM_MEMORY_ONLY_SER_2, EM_MEMORY_AND_DISK_2,
        EM_MEMORY_AND_DISK_SER_2, EM_DISK_ONLY_2,
    };
    char dir[256];
    em__blocks *b;
    em_task t;

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    b = em__blocks_create((int64_t)1 << 30, dir);
    assert_non_null(b);
    task_init(&t);
    for (int i = 0; i < 10; i++) {
        int rdd = 10 + i;
        int64_t mem = em__blocks_memory_bytes(b);
        put(b, rdd, 0, levels[i], 100 + i);
        put(b, rdd, 3, levels[i], 200 + i);
        assert_int_equal(em__blocks_count_rdd(b, rdd), 2);
        /* disk-only blocks take no memory, the others some */
        if (levels[i] == EM_DISK_ONLY || levels[i] == EM_DISK_ONLY_2)
            assert_int_equal(em__blocks_memory_bytes(b), mem);
        else
            assert_true(em__blocks_memory_bytes(b) > mem);
        /* twice: a read leaves the block in place */
        get_expect(b, &t, rdd, 0, 100 + i);
        get_expect(b, &t, rdd, 3, 200 + i);
        get_expect(b, &t, rdd, 0, 100 + i);
        get_absent(b, &t, rdd, 1);
    }
    get_absent(b, &t, 99, 0);
    /* the scratch arena was rewound after every record */
    assert_true(em_arena_used(t.scratch) == 0);
    em__blocks_destroy(b);
    task_fini(&t);
    em_test_rmtree(dir);
}

/* Storing a block again replaces it. */
static void test_blocks_put_replaces(void **state)
{
    char dir[256];
    em__blocks *b;
    em_task t;
    int64_t one;

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    b = em__blocks_create((int64_t)1 << 30, dir);
    assert_non_null(b);
    task_init(&t);
    put(b, 1, 0, EM_MEMORY_ONLY, 1);
    one = em__blocks_memory_bytes(b);
    assert_true(one > 0);
    put(b, 1, 0, EM_MEMORY_ONLY, 2);
    assert_int_equal(em__blocks_count_rdd(b, 1), 1);
    assert_int_equal(em__blocks_memory_bytes(b), one);
    get_expect(b, &t, 1, 0, 2);
    put(b, 1, 0, EM_DISK_ONLY, 3);
    assert_int_equal(em__blocks_count_rdd(b, 1), 1);
    assert_int_equal(em__blocks_memory_bytes(b), 0);
    get_expect(b, &t, 1, 0, 3);
    em__blocks_destroy(b);
    task_fini(&t);
    em_test_rmtree(dir);
}

static void test_blocks_lru_eviction(void **state)
{
    int64_t one = part_bytes(0);
    em__blocks *b = em__blocks_create(3 * one + one / 2, NULL);
    em_task t;

    (void)state;
    assert_non_null(b);
    task_init(&t);
    put(b, 5, 0, EM_MEMORY_ONLY, 0);
    put(b, 5, 1, EM_MEMORY_ONLY, 1);
    put(b, 5, 2, EM_MEMORY_ONLY, 2);
    assert_int_equal(em__blocks_count_rdd(b, 5), 3);
    assert_int_equal(em__blocks_memory_bytes(b), 3 * one);
    /* reading block 0 makes block 1 the least recently used */
    get_expect(b, &t, 5, 0, 0);
    put(b, 5, 3, EM_MEMORY_ONLY, 3);
    assert_int_equal(em__blocks_count_rdd(b, 5), 3);
    assert_int_equal(em__blocks_memory_bytes(b), 3 * one);
    get_absent(b, &t, 5, 1);
    get_expect(b, &t, 5, 0, 0);
    get_expect(b, &t, 5, 2, 2);
    get_expect(b, &t, 5, 3, 3);
    /* now 0 was read before 2 and 3: it goes next, across RDDs too */
    get_expect(b, &t, 5, 2, 2);
    get_expect(b, &t, 5, 3, 3);
    put(b, 6, 0, EM_MEMORY_ONLY, 4);
    get_absent(b, &t, 5, 0);
    assert_int_equal(em__blocks_count_rdd(b, 5), 2);
    assert_int_equal(em__blocks_count_rdd(b, 6), 1);
    assert_true(em__blocks_memory_bytes(b) <= 3 * one + one / 2);
    em__blocks_destroy(b);
    task_fini(&t);
}

/* A memory-only block larger than the whole budget is not stored, and
 * the accounting is unchanged. */
static void test_blocks_too_big_not_stored(void **state)
{
    int64_t one = part_bytes(0);
    em__blocks *b = em__blocks_create(one + one / 2, NULL);
    em__part p;
    em_task t;
    int64_t before, after;
    int count;

    (void)state;
    assert_non_null(b);
    task_init(&t);
    put(b, 1, 0, EM_MEMORY_ONLY, 0);
    before = em__blocks_memory_bytes(b);
    assert_int_equal(before, one);
    make_part(&p, 1, 3000); /* several chunks: larger than the budget */
    assert_true((int64_t)em__part_bytes(&p) > one + one / 2);
    EM_CHECK(em__blocks_put(b, 2, 0, EM_MEMORY_ONLY, &p));
    after = em__blocks_memory_bytes(b);
    count = em__blocks_count_rdd(b, 2);
    get_absent(b, &t, 2, 0);
    get_expect(b, &t, 1, 0, 0);
    em__blocks_destroy(b);
    task_fini(&t);
    assert_int_equal(count, 0);
    assert_int_equal(after, before);
}

static void test_blocks_memory_and_disk_spills(void **state)
{
    int64_t one = part_bytes(0);
    char dir[256];
    em__blocks *b;
    em_task t;

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    b = em__blocks_create(2 * one + one / 2, dir);
    assert_non_null(b);
    task_init(&t);
    put(b, 7, 0, EM_MEMORY_AND_DISK, 0);
    put(b, 7, 1, EM_MEMORY_AND_DISK, 1);
    assert_int_equal(em__blocks_memory_bytes(b), 2 * one);
    assert_int_equal(walk_files(dir, NULL), 0);
    put(b, 7, 2, EM_MEMORY_AND_DISK, 2);
    /* block 0 went to disk instead of away */
    assert_int_equal(em__blocks_count_rdd(b, 7), 3);
    assert_int_equal(em__blocks_memory_bytes(b), 2 * one);
    assert_int_equal(walk_files(dir, NULL), 1);
    get_expect(b, &t, 7, 0, 0);
    get_expect(b, &t, 7, 1, 1);
    get_expect(b, &t, 7, 2, 2);
    /* everything out of memory: all still readable from disk */
    em__blocks_evict_memory(b);
    assert_int_equal(em__blocks_memory_bytes(b), 0);
    assert_int_equal(em__blocks_count_rdd(b, 7), 3);
    assert_int_equal(walk_files(dir, NULL), 3);
    for (int i = 0; i < 3; i++)
        get_expect(b, &t, 7, i, i);
    em__blocks_destroy(b);
    task_fini(&t);
    em_test_rmtree(dir);
}

/* The serialized level spills too, and a block larger than the budget at
 * a disk level goes straight to disk. */
static void test_blocks_ser_and_oversized_spill(void **state)
{
    int64_t one = part_bytes(0);
    char dir[256];
    em__blocks *b;
    em__part p;
    em_task t;
    int64_t mem;

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    b = em__blocks_create(one, dir);
    assert_non_null(b);
    task_init(&t);
    for (int i = 0; i < 6; i++)
        put(b, 8, i, EM_MEMORY_AND_DISK_SER, 10 + i);
    mem = em__blocks_memory_bytes(b);
    assert_true(mem > 0 && mem <= one);
    assert_int_equal(em__blocks_count_rdd(b, 8), 6);
    for (int i = 0; i < 6; i++)
        get_expect(b, &t, 8, i, 10 + i);
    make_part(&p, 9, 3000);
    EM_CHECK(em__blocks_put(b, 9, 0, EM_MEMORY_AND_DISK, &p));
    assert_int_equal(em__blocks_count_rdd(b, 9), 1);
    assert_int_equal(em__blocks_memory_bytes(b), mem);
    {
        collect_sink s;
        sink_init(&s);
        EM_CHECK(em__blocks_get(b, 9, 0, &t, &s.base));
        expect_block(&s, 9, 3000);
        sink_fini(&s);
    }
    em__blocks_destroy(b);
    task_fini(&t);
    em_test_rmtree(dir);
}

/* A disk block whose file was deleted reads as absent, so the caller
 * recomputes it; the store forgets it. */
static void test_blocks_disk_file_vanished(void **state)
{
    char dir[256];
    em__blocks *b;
    em_task t;

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    b = em__blocks_create((int64_t)1 << 30, dir);
    assert_non_null(b);
    task_init(&t);
    put(b, 3, 0, EM_DISK_ONLY, 0);
    put(b, 3, 1, EM_DISK_ONLY_2, 1);
    put(b, 4, 0, EM_MEMORY_AND_DISK, 2);
    em__blocks_evict_memory(b);
    assert_int_equal(walk_files(dir, NULL), 3);
    assert_int_equal(walk_files(dir, remove_file), 3);
    assert_int_equal(walk_files(dir, NULL), 0);
    get_absent(b, &t, 3, 0);
    get_absent(b, &t, 3, 1);
    get_absent(b, &t, 4, 0);
    assert_int_equal(em__blocks_count_rdd(b, 3), 0);
    assert_int_equal(em__blocks_count_rdd(b, 4), 0);
    /* and it can be stored again */
    put(b, 3, 0, EM_DISK_ONLY, 5);
    get_expect(b, &t, 3, 0, 5);
    em__blocks_destroy(b);
    task_fini(&t);
    em_test_rmtree(dir);
}

static void test_blocks_drop_rdd(void **state)
{
    int64_t one = part_bytes(0);
    char dir[256];
    em__blocks *b;
    em_task t;

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    b = em__blocks_create((int64_t)1 << 30, dir);
    assert_non_null(b);
    task_init(&t);
    put(b, 1, 0, EM_MEMORY_ONLY, 0);
    put(b, 1, 1, EM_DISK_ONLY, 1);
    put(b, 1, 2, EM_MEMORY_ONLY_SER, 2);
    put(b, 2, 0, EM_MEMORY_ONLY, 3);
    put(b, 2, 1, EM_DISK_ONLY, 4);
    em__blocks_drop_rdd(b, 1);
    assert_int_equal(em__blocks_count_rdd(b, 1), 0);
    assert_int_equal(em__blocks_count_rdd(b, 2), 2);
    assert_int_equal(em__blocks_memory_bytes(b), one);
    assert_int_equal(walk_files(dir, NULL), 1);
    for (int i = 0; i < 3; i++)
        get_absent(b, &t, 1, i);
    get_expect(b, &t, 2, 0, 3);
    get_expect(b, &t, 2, 1, 4);
    em__blocks_drop_rdd(b, 1);
    em__blocks_drop_rdd(b, 2);
    assert_int_equal(em__blocks_count_rdd(b, 2), 0);
    assert_int_equal(em__blocks_memory_bytes(b), 0);
    assert_int_equal(walk_files(dir, NULL), 0);
    em__blocks_destroy(b);
    task_fini(&t);
    em_test_rmtree(dir);
}

static void test_blocks_destroy_removes_directory(void **state)
{
    char dir[256];
    em__blocks *b;

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    b = em__blocks_create((int64_t)1 << 30, dir);
    assert_non_null(b);
    put(b, 1, 0, EM_DISK_ONLY, 0);
    put(b, 1, 1, EM_MEMORY_AND_DISK, 1);
    em__blocks_evict_memory(b);
    assert_int_equal(dir_entries(dir), 1);
    assert_int_equal(walk_files(dir, NULL), 2);
    em__blocks_destroy(b);
    assert_int_equal(dir_entries(dir), 0);
    em__blocks_destroy(NULL);
    em_test_rmtree(dir);
}

/* ---- blocks removed while being read ---- */

static void drop_while_reading(collect_sink *s)
{
    em__blocks_drop_rdd(s->store, s->rdd);
}

static void evict_while_reading(collect_sink *s)
{
    em__blocks_evict_memory(s->store);
}

static void test_blocks_removed_while_pinned(void **state)
{
    char dir[256];
    em__blocks *b;
    collect_sink s;
    em_task t;

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    b = em__blocks_create((int64_t)1 << 30, dir);
    assert_non_null(b);
    task_init(&t);
    put(b, 1, 0, EM_MEMORY_ONLY, 0);
    put(b, 2, 0, EM_MEMORY_ONLY_SER, 1);
    put(b, 3, 0, EM_MEMORY_AND_DISK, 2);
    /* dropped during the read: the read completes from the block */
    sink_init(&s);
    s.store = b;
    s.rdd = 1;
    s.on_first = drop_while_reading;
    EM_CHECK(em__blocks_get(b, 1, 0, &t, &s.base));
    expect_block(&s, 0, NRECS);
    sink_fini(&s);
    assert_int_equal(em__blocks_count_rdd(b, 1), 0);
    get_absent(b, &t, 1, 0);
    sink_init(&s);
    s.store = b;
    s.rdd = 2;
    s.on_first = drop_while_reading;
    EM_CHECK(em__blocks_get(b, 2, 0, &t, &s.base));
    expect_block(&s, 1, NRECS);
    sink_fini(&s);
    /* eviction skips the block being read */
    sink_init(&s);
    s.store = b;
    s.on_first = evict_while_reading;
    EM_CHECK(em__blocks_get(b, 3, 0, &t, &s.base));
    expect_block(&s, 2, NRECS);
    sink_fini(&s);
    get_expect(b, &t, 3, 0, 2);
    assert_int_equal(em__blocks_count_rdd(b, 3), 1);
    em__blocks_destroy(b);
    task_fini(&t);
    em_test_rmtree(dir);
}

/* A block held as records is lent without copying: the loan's records
 * are the block's, stay readable when the block is dropped or evicted
 * meanwhile, and are freed once given back; serialized and disk blocks
 * are not lent. */
static void test_blocks_lent_records(void **state)
{
    char dir[256];
    const em_val *recs, *again;
    size_t n, n2;
    void *loan, *loan2, *none = NULL;
    collect_sink s;
    em__blocks *b;

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    b = em__blocks_create((int64_t)1 << 30, dir);
    assert_non_null(b);
    put(b, 1, 0, EM_MEMORY_ONLY, 4);
    put(b, 2, 0, EM_MEMORY_ONLY_SER, 5);
    put(b, 3, 0, EM_DISK_ONLY, 6);
    EM_CHECK(em__blocks_lend(b, 1, 0, &recs, &n, &loan));
    EM_CHECK(em__blocks_lend(b, 1, 0, &again, &n2, &loan2));
    assert_ptr_equal(recs, again); /* the block's own array, twice */
    assert_int_equal(n2, n);
    assert_int_equal(em__blocks_lend(b, 2, 0, &again, &n2, &none),
                     EM_ENOENT);
    assert_int_equal(em__blocks_lend(b, 3, 0, &again, &n2, &none),
                     EM_ENOENT);
    assert_int_equal(em__blocks_lend(b, 1, 1, &again, &n2, &none),
                     EM_ENOENT);
    em__blocks_drop_rdd(b, 1);
    assert_int_equal(em__blocks_lend(b, 1, 0, &again, &n2, &none),
                     EM_ENOENT);
    /* still the block's records while lent (ASan would see a free) */
    sink_init(&s);
    for (size_t i = 0; i < n; i++)
        EM_CHECK(em__part_push(&s.part, recs[i]));
    expect_block(&s, 4, NRECS);
    sink_fini(&s);
    assert_null(none);
    em__blocks_give_back(b, loan);
    em__blocks_give_back(b, loan2);
    em__blocks_destroy(b);
    em_test_rmtree(dir);
}

/* A sink's failure is returned as is and the block stays. */
static void test_blocks_sink_failure(void **state)
{
    em__blocks *b = em__blocks_create((int64_t)1 << 30, NULL);
    collect_sink s;
    em_task t;

    (void)state;
    assert_non_null(b);
    task_init(&t);
    put(b, 1, 0, EM_MEMORY_ONLY, 0);
    put(b, 1, 1, EM_MEMORY_ONLY_SER, 1);
    for (int part = 0; part < 2; part++) {
        sink_init(&s);
        s.fail_at = 5;
        assert_int_equal(em__blocks_get(b, 1, part, &t, &s.base), EM_EIO);
        assert_int_equal(s.part.n, 5);
        sink_fini(&s);
        get_expect(b, &t, 1, part, part);
    }
    em__blocks_destroy(b);
    task_fini(&t);
}

/* ---- concurrency ---- */

typedef struct worker {
    em__blocks *b;
    int id;
    int failures;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    em_task t;

    memset(&t, 0, sizeof(t));
    t.scratch = em__arena_create(0);
    for (int round = 0; round < 30 && t.scratch != NULL; round++) {
        em_storage level = round % 3 == 0   ? EM_MEMORY_ONLY
                           : round % 3 == 1 ? EM_MEMORY_AND_DISK
                                            : EM_MEMORY_ONLY_SER;
        int part = round % 5;
        em__part p;
        collect_sink s;
        em_status st;

        make_part(&p, w->id * 100 + part, NRECS);
        if (em__blocks_put(w->b, w->id, part, level, &p) != EM_OK)
            w->failures++;
        sink_init(&s);
        st = em__blocks_get(w->b, w->id, (round * 7) % 5, &t, &s.base);
        if (st == EM_OK && s.part.n != NRECS)
            w->failures++;
        else if (st != EM_OK && st != EM_ENOENT)
            w->failures++;
        sink_fini(&s);
    }
    em__arena_destroy(t.scratch);
    return NULL;
}

static void test_blocks_concurrent(void **state)
{
    int64_t one = part_bytes(0);
    char dir[256];
    em__blocks *b;
    pthread_t th[4];
    worker w[4];

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    b = em__blocks_create(4 * one, dir);
    assert_non_null(b);
    for (int i = 0; i < 4; i++) {
        w[i].b = b;
        w[i].id = i + 1;
        w[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    assert_true(em__blocks_memory_bytes(b) <= 4 * one);
    assert_true(em__blocks_memory_bytes(b) >= 0);
    em__blocks_destroy(b);
    assert_int_equal(dir_entries(dir), 0);
    em_test_rmtree(dir);
}

/* ---- out of memory ---- */

typedef struct oom_case {
    em_storage level;
    const char *dir;
} oom_case;

/* A store, one block put and read back. A failing put must leave nothing
 * stored and nothing charged. */
static em_status put_and_get(void *arg)
{
    const oom_case *c = arg;
    em__blocks *b = em__blocks_create((int64_t)1 << 30, c->dir);
    em_task t;
    em__part p;
    collect_sink s;
    em_status st;
    int count;
    int64_t mem;

    if (b == NULL)
        return EM_ENOMEM;
    memset(&t, 0, sizeof(t));
    t.scratch = em__arena_create(0);
    st = t.scratch ? em__part_init(&p) : EM_ENOMEM;
    for (int k = 0; k < 2000 && st == EM_OK; k++) {
        char buf[64];
        int n = snprintf(buf, sizeof(buf), "a record with some text %d", k);
        em_val pair[2] = {em_int(k), em_str(buf, (size_t)n)};
        st = em__part_push(&p, em_array(pair, 2));
        if (st != EM_OK)
            em__part_fini(&p);
    }
    if (st == EM_OK) {
        st = em__blocks_put(b, 1, 0, c->level, &p);
        count = em__blocks_count_rdd(b, 1);
        mem = em__blocks_memory_bytes(b);
        if (st != EM_OK && (count != 0 || mem != 0)) {
            em_mem_fail_after(-1);
            em__arena_destroy(t.scratch);
            em__blocks_destroy(b);
            fail_msg("failed put (%s) left %d blocks, %lld bytes charged",
                     em_status_name(st), count, (long long)mem);
        }
    }
    if (st == EM_OK) {
        s.base.push = collect_push;
        s.fail_at = -1;
        s.on_first = NULL;
        st = em__part_init(&s.part);
        if (st == EM_OK) {
            st = em__blocks_get(b, 1, 0, &t, &s.base);
            if (st == EM_OK && s.part.n != 2000)
                st = EM_EINVAL;
            em__part_fini(&s.part);
        }
    }
    em__arena_destroy(t.scratch);
    em__blocks_destroy(b);
    return st;
}

static void test_blocks_oom_sweep(void **state)
{
    static const em_storage levels[] = {
        EM_MEMORY_ONLY, EM_MEMORY_ONLY_SER, EM_MEMORY_AND_DISK_SER,
        EM_DISK_ONLY,
    };
    char dir[256];

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    for (int i = 0; i < 4; i++) {
        oom_case c = {levels[i], dir};
        assert_true(em_test_oom_sweep(put_and_get, &c, 10000) > 0);
        assert_int_equal(dir_entries(dir), 0);
    }
    em_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_blocks_round_trip_every_level),
        EM_TEST(test_blocks_put_replaces),
        EM_TEST(test_blocks_lru_eviction),
        EM_TEST(test_blocks_too_big_not_stored),
        EM_TEST(test_blocks_memory_and_disk_spills),
        EM_TEST(test_blocks_ser_and_oversized_spill),
        EM_TEST(test_blocks_drop_rdd),
        EM_TEST(test_blocks_destroy_removes_directory),
        EM_TEST(test_blocks_removed_while_pinned),
        EM_TEST(test_blocks_lent_records),
        EM_TEST(test_blocks_sink_failure),
        EM_TEST(test_blocks_concurrent),
        EM_TEST(test_blocks_oom_sweep),
        /* last: a use after free in em__blocks_get aborts under ASan */
        EM_TEST(test_blocks_disk_file_vanished),
    };

    return cmocka_run_group_tests_name("blocks", tests, NULL, NULL);
}
