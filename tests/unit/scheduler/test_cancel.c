/* em_ctx_cancel: a running job stops with EM_ECANCELED without starting
 * its remaining tasks, and the next job runs normally. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "em_test.h"

static atomic_int started; /* tasks that began */

/* Sleeps 50 ms on each partition's first record. */
static em_status slow(em_task *t, const em_val *env, const em_val *args,
                      size_t nargs, em_val *out)
{
    if (args[0].u.i % 10 == 0) {
        atomic_fetch_add(&started, 1);
        usleep(50000);
    }
    *out = args[0];
    return EM_OK;
}

typedef struct canceler {
    em_ctx *ctx;
    int delay_ms;
} canceler;

static void *cancel_later(void *arg)
{
    canceler *c = arg;

    usleep((useconds_t)c->delay_ms * 1000);
    em_ctx_cancel(c->ctx);
    return NULL;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_cancel_running_job(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    canceler c = {ctx, 120};
    pthread_t th;
    int64_t n, t0;
    em_rdd *r;

    (void)state;
    atomic_store(&started, 0);
    /* 200 tasks of 50 ms on 2 threads: 5 s if nothing stops them */
    r = em_rdd_map(em_ctx_range(ctx, 0, 2000, 1, 200), EM_FN(slow));
    pthread_create(&th, NULL, cancel_later, &c);
    t0 = now_ms();
    assert_int_equal(em_rdd_count(r, &n), EM_ECANCELED);
    pthread_join(th, NULL);
    assert_true(now_ms() - t0 < 2000);
    assert_true(atomic_load(&started) < 200);
    assert_non_null(strstr(em_last_error(), "canceled"));
    /* the context stays usable; an old cancel does not hit the next job */
    EM_CHECK(em_rdd_count(em_ctx_range(ctx, 0, 100, 1, 4), &n));
    assert_int_equal(n, 100);
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_cancel_running_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
