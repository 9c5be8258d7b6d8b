/* A full disk under the shuffle and the block store: the action fails
 * with EM_EIO and a message naming the file, the context stays usable,
 * and nothing is left behind. Needs a small tmpfs, so it runs as root
 * where mount is allowed and is skipped (with the reason) elsewhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "em_test.h"

static char mnt[256];

static int mount_small_fs(void **state)
{
    (void)state;
    em_test_tmpdir(mnt, sizeof(mnt));
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=192k") != 0) {
        rmdir(mnt);
        mnt[0] = '\0';
    }
    return 0;
}

static int unmount_small_fs(void **state)
{
    (void)state;
    if (mnt[0] != '\0') {
        umount(mnt);
        rmdir(mnt);
    }
    return 0;
}

static em_status long_str(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    char buf[200];
    int n = snprintf(buf, sizeof(buf), "%0120lld-%lld", (long long)args[0].u.i,
                     (long long)(args[0].u.i % 97));
    em_val s;
    em_status st = em_str_copy(em_task_arena(t), buf, (size_t)n, &s);

    return st != EM_OK ? st : em_pair_make(em_task_arena(t), s, args[0], out);
}

static void test_disk_full_shuffle_and_cache(void **state)
{
    em_conf conf;
    em_ctx *ctx;
    em_rdd *pairs, *sorted;
    int64_t n;
    em_status st;

    (void)state;
    if (mnt[0] == '\0')
        skip(); /* no tmpfs to fill: not root, or mounts not allowed */
    memset(&conf, 0, sizeof(conf));
    conf.master = "local[2]";
    conf.progress = -1;
    conf.local_dir = mnt;
    conf.memory_bytes = 256 * 1024; /* spill early */
    ctx = em_ctx_create(&conf);
    assert_non_null(ctx);
    /* about 4 MB of pairs through a shuffle into a 192 KiB disk */
    pairs = em_rdd_map(em_ctx_range(ctx, 0, 30000, 1, 4), EM_FN(long_str));
    sorted = em_rdd_sort_by_key(pairs, true, 3, EM_FN_NONE);
    st = sorted ? em_rdd_count(sorted, &n) : EM_EIO;
    assert_int_equal(st, EM_EIO);
    assert_non_null(strstr(em_last_error(), mnt));
    /* a disk-only cache that cannot be written fails the same way */
    EM_CHECK(em_rdd_persist(pairs, EM_DISK_ONLY));
    assert_int_equal(em_rdd_count(pairs, &n), EM_EIO);
    assert_non_null(strstr(em_last_error(), mnt));
    /* the context still runs jobs that fit */
    EM_CHECK(em_rdd_count(em_ctx_range(ctx, 0, 1000, 1, 4), &n));
    assert_int_equal(n, 1000);
    em_ctx_destroy(ctx);
    /* and left nothing on the disk */
    {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", mnt);
        assert_int_equal(system(cmd), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_disk_full_shuffle_and_cache),
    };

    return cmocka_run_group_tests_name("disk_full", tests, mount_small_fs,
                                       unmount_small_fs);
}
