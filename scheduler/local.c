/* The local executor (see job.h): a fixed pool of task threads fed from a
 * queue, one job at a time per context, retries, failure propagation, and
 * the console progress bar drawn by the waiting driver thread.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "barrier.h"
#include "ctx.h"
#include "job.h"
#include "shuffle.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/mem.h"

typedef struct job job;

typedef struct task_slot {
    int index;     /* position in the job's request */
    int part;      /* partition */
    int attempt;   /* next attempt number */
} task_slot;

struct job {
    em_ctx *ctx;
    int id, stage_id;
    em_rdd *rdd;
    em__task_fn fn;
    em_val arg;
    int n;                 /* tasks */
    task_slot *queue;      /* pending tasks (a ring of n) */
    int qhead, qlen;
    int running, done;
    bool is_failed;        /* stop starting tasks */
    em_status status;      /* first failure */
    char message[1024];    /* its message */
    em__job_result *res;
    int64_t drawn_ms;      /* when the progress bar was last drawn */
    em__barrier_round *round; /* a barrier stage's attempt, or NULL */
    em_val *updates;       /* its tasks' accumulator updates, merged
                              only when every task succeeded */
};

typedef struct em__pool {
    em_ctx *ctx;
    pthread_mutex_t lock;
    pthread_cond_t work;   /* a task is queued, or stopping */
    pthread_cond_t done;   /* a task finished */
    pthread_t *threads;
    int nthreads;          /* threads started */
    int cap;               /* threads requested */
    job *cur;              /* the running job, or NULL */
    bool is_stopping;
} em__pool;

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Runs one attempt of one task on a task thread, without the lock. */
static em_status run_attempt(em__pool *p, job *j, task_slot s,
                             em_arena *scratch, em_arena **res_out,
                             em_val *val_out, em_task *t)
{
    em_arena *res = em__arena_create(0);
    em_barrier b;
    em_status st;
    int64_t t0;

    memset(t, 0, sizeof(*t));
    if (j->round != NULL) {
        em__barrier_init(&b, p->ctx, j->round, s.index);
        t->barrier = &b;
    }
    t->ctx = p->ctx;
    t->job_id = j->id;
    t->stage_id = j->stage_id;
    t->partition = s.part;
    t->attempt = s.attempt;
    t->scratch = scratch;
    if (res == NULL)
        return EM_ENOMEM;
    t0 = now_us();
    st = j->fn(t, j->rdd, s.part, j->arg, res, val_out);
    __atomic_add_fetch(&p->ctx->task_us, now_us() - t0, __ATOMIC_RELAXED);
    em__arena_reset(scratch);
    if (st != EM_OK) {
        em__arena_destroy(res);
        return st;
    }
    *res_out = res;
    return EM_OK;
}

static void task_cleanup(em_task *t)
{
    em__arena_destroy(t->acc_arena);
    em__mem_free(t->acc_updates, t->acc_cap * 2 * sizeof(em_val));
    t->acc_arena = NULL;
    t->acc_updates = NULL;
}

/* True when a failure with st is the job's first cause: the first
 * failure, or in a barrier stage the first that is not another task's
 * abort (a task canceled by the abort may finish before the one that
 * caused it). */
static bool is_first_cause(const job *j, em_status st)
{
    return !j->is_failed || (j->round != NULL && j->status == EM_ECANCELED &&
                             st != EM_ECANCELED && st != EM_OK);
}

/* Records a finished attempt; called with the pool lock held. */
static void finish_attempt(em__pool *p, job *j, task_slot s, em_status st,
                           em_arena *res, em_val val, em_task *t)
{
    char msg[1024];

    if (st == EM_OK && !j->is_failed) {
        pthread_mutex_lock(&p->ctx->lock);
        st = j->round ? em__accum_updates(t, res, &j->updates[s.index])
                      : em__accums_merge(p->ctx, t);
        pthread_mutex_unlock(&p->ctx->lock);
        if (st == EM_OK) {
            j->res->vals[s.index] = val;
            j->res->arenas[s.index] = res;
            j->done++;
            return;
        }
    }
    em__arena_destroy(res);
    if (j->is_failed && !is_first_cause(j, st)) {
        j->done++;
        return;
    }
    em__err_save(msg, sizeof(msg));
    if (j->round != NULL) /* the others' collectives end now */
        em__coll_abort(j->round->serial, j->round->stage, j->round->attempt);
    if (st != EM_ENOMEM && st != EM_EFETCH && j->round == NULL &&
        s.attempt + 1 < p->ctx->max_attempts) {
        s.attempt++;
        j->queue[(j->qhead + j->qlen++) % j->n] = s;
        pthread_cond_broadcast(&p->work);
        return;
    }
    j->is_failed = true;
    j->status = st;
    snprintf(j->message, sizeof(j->message),
             "job %d aborted: task %d.%d of stage %d (partition %d) failed: "
             "%.900s", j->id, s.part, s.attempt, j->stage_id, s.part, msg);
    if (st == EM_ENOMEM || st == EM_EFETCH)
        snprintf(j->message, sizeof(j->message), "%s", msg);
    j->done++;
}

static void *task_thread(void *arg)
{
    em__pool *p = arg;
    em_arena *scratch = em__arena_create(0);

    pthread_mutex_lock(&p->lock);
    for (;;) {
        job *j = p->cur;
        task_slot s;
        em_arena *res = NULL;
        em_val val = em_nil();
        em_task t;
        em_status st;

        if (p->is_stopping)
            break;
        if (j == NULL || j->qlen == 0) {
            pthread_cond_wait(&p->work, &p->lock);
            continue;
        }
        s = j->queue[j->qhead];
        j->qhead = (j->qhead + 1) % j->n;
        j->qlen--;
        if (j->is_failed) {
            j->done++;
            pthread_cond_broadcast(&p->done);
            continue;
        }
        j->running++;
        pthread_mutex_unlock(&p->lock);
        memset(&t, 0, sizeof(t));
        if (scratch == NULL)
            scratch = em__arena_create(0); /* retry after a failure */
        if (scratch == NULL)
            st = em__oom();
        else
            st = run_attempt(p, j, s, scratch, &res, &val, &t);
        pthread_mutex_lock(&p->lock);
        j->running--;
        finish_attempt(p, j, s, st, res, val, &t);
        task_cleanup(&t);
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    em__arena_destroy(scratch);
    return NULL;
}

em__pool *em__pool_create(em_ctx *ctx, int threads)
{
    em__pool *p = em__mem_calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->ctx = ctx;
    p->cap = threads;
    p->threads = em__mem_calloc((size_t)threads, sizeof(*p->threads));
    if (p->threads == NULL) {
        em__mem_free(p, sizeof(*p));
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, task_thread, p) != 0) {
            em__err(EM_ENOMEM, "cannot start task thread: %s",
                    strerror(errno));
            em__pool_destroy(p);
            return NULL;
        }
        p->nthreads++;
    }
    return p;
}

void em__pool_destroy(em__pool *p)
{
    int n;

    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->is_stopping = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    n = p->cap;
    em__mem_free(p->threads, (size_t)n * sizeof(*p->threads));
    em__mem_free(p, sizeof(*p));
}

bool em__pool_is_task_thread(const em__pool *p)
{
    pthread_t self = pthread_self();

    for (int i = 0; p != NULL && i < p->nthreads; i++) {
        if (pthread_equal(self, p->threads[i]))
            return true;
    }
    return false;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void em__progress_draw(const em_ctx *ctx, int stage_id, int done,
                       int running, int n, int64_t *drawn_ms, bool is_final)
{
    char line[128];
    int width = 30, filled = n ? done * width / n : width;
    int64_t t;

    if (!ctx->has_progress)
        return;
    if (is_final) {
        if (*drawn_ms != 0)
            fprintf(stderr, "\r%*s\r", 79, "");
        return;
    }
    if ((t = now_ms()) - *drawn_ms < 100)
        return;
    *drawn_ms = t;
    snprintf(line, sizeof(line), "[Stage %d:%.*s>%*s(%d + %d) / %d]",
             stage_id, filled, "==============================",
             width - filled, "", done, running, n);
    fprintf(stderr, "\r%s", line);
}

/* Redraws the bar at most every 100 ms; is_final erases it. */
static void draw_progress(job *j, bool is_final)
{
    em__progress_draw(j->ctx, j->stage_id, j->done, j->running, j->n,
                      &j->drawn_ms, is_final);
}

static em_status job_alloc(job *j, int n, em__job_result *out)
{
    memset(out, 0, sizeof(*out));
    j->queue = em__mem_calloc((size_t)(n ? n : 1), sizeof(*j->queue));
    out->vals = em__mem_calloc((size_t)(n ? n : 1), sizeof(*out->vals));
    out->arenas = em__mem_calloc((size_t)(n ? n : 1), sizeof(*out->arenas));
    out->n = n;
    if (j->queue && out->vals && out->arenas)
        return EM_OK;
    em__mem_free(j->queue, (size_t)(n ? n : 1) * sizeof(*j->queue));
    em__job_result_fini(out);
    return EM_ENOMEM;
}

/* Merges a barrier round's accumulator updates, once every task has
 * succeeded: a failed round's successful tasks count for nothing. */
static em_status merge_updates(em_ctx *ctx, const em_val *updates, int n)
{
    em_status st = EM_OK;

    pthread_mutex_lock(&ctx->lock);
    for (int i = 0; i < n && st == EM_OK; i++)
        st = em__accums_merge_val(ctx, updates[i]);
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

/* Runs a stage on the thread pool; round: a barrier stage's attempt. */
static em_status run_local(em_ctx *ctx, em_rdd *rdd, const int *parts, int n,
                           em__task_fn fn, em_val arg, em__job_result *out,
                           em__barrier_round *round)
{
    em__pool *p = ctx->pool;
    struct timespec until;
    job j;

    memset(&j, 0, sizeof(j));
    if (parts == NULL)
        n = rdd->nparts;
    if (job_alloc(&j, n, out) != EM_OK)
        return EM_ENOMEM;
    j.ctx = ctx;
    j.rdd = rdd;
    j.fn = fn;
    j.arg = arg;
    j.n = n;
    j.res = out;
    pthread_mutex_lock(&ctx->lock);
    j.id = ctx->next_job_id;
    j.stage_id = ctx->next_stage_id++;
    ctx->stages_run++;
    pthread_mutex_unlock(&ctx->lock);
    for (int i = 0; i < n; i++) {
        j.queue[i].index = i;
        j.queue[i].part = parts ? parts[i] : i;
        j.queue[i].attempt = round ? round->attempt : 0;
    }
    j.qlen = n;
    if ((j.round = round) != NULL) {
        round->stage = j.stage_id;
        j.updates = em__mem_calloc((size_t)(n ? n : 1), sizeof(em_val));
        if (j.updates == NULL) {
            em__mem_free(j.queue, (size_t)(n ? n : 1) * sizeof(*j.queue));
            em__job_result_fini(out);
            return EM_ENOMEM;
        }
    }

    pthread_mutex_lock(&ctx->job_lock); /* one stage at a time */
    pthread_mutex_lock(&p->lock);
    p->cur = &j;
    pthread_cond_broadcast(&p->work);
    while (j.done < n) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&p->done, &p->lock, &until);
        if (ctx->is_cancel_asked && !j.is_failed) { /* em_ctx_cancel */
            j.is_failed = true;
            j.status = EM_ECANCELED;
            snprintf(j.message, sizeof(j.message), "job %d canceled",
                     j.id);
        }
        draw_progress(&j, false);
    }
    p->cur = NULL;
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&ctx->job_lock);
    draw_progress(&j, true);

    em__mem_free(j.queue, (size_t)(n ? n : 1) * sizeof(*j.queue));
    if (!j.is_failed && round != NULL &&
        (j.status = merge_updates(ctx, j.updates, n)) != EM_OK) {
        j.is_failed = true;
        em__err_save(j.message, sizeof(j.message));
    }
    em__mem_free(j.updates, j.updates ? (size_t)(n ? n : 1) * sizeof(em_val)
                                      : 0);
    if (j.is_failed) {
        em__job_result_fini(out);
        return em__err(j.status, "%s", j.message);
    }
    return EM_OK;
}

em_status em__stage_run(em_ctx *ctx, em_rdd *rdd, const int *parts, int n,
                        em__task_fn fn, em_val arg, em__job_result *out)
{
    em_status st;

    if (ctx->remote_stage_run != NULL)
        return ctx->remote_stage_run(ctx, rdd, parts, n, fn, arg, out);
    if (!em__stage_is_barrier(rdd))
        return run_local(ctx, rdd, parts, n, fn, arg, out, NULL);
    if ((st = em__barrier_check_parts(rdd, parts, n)) != EM_OK)
        return st;
    return em__barrier_stage_run_local(ctx, rdd, rdd->nparts, fn, arg, out);
}

em_status em__stage_run_round(em_ctx *ctx, em_rdd *rdd, int n, em__task_fn fn,
                              em_val arg, em__job_result *out,
                              em__barrier_round *round)
{
    return run_local(ctx, rdd, NULL, n, fn, arg, out, round);
}

em_status em__job_result_init(em__job_result *r, int n)
{
    memset(r, 0, sizeof(*r));
    r->vals = em__mem_calloc((size_t)(n ? n : 1), sizeof(*r->vals));
    r->arenas = em__mem_calloc((size_t)(n ? n : 1), sizeof(*r->arenas));
    r->n = n;
    if (r->vals != NULL && r->arenas != NULL)
        return EM_OK;
    em__job_result_fini(r);
    return EM_ENOMEM;
}

void em__job_result_fini(em__job_result *r)
{
    size_t n = (size_t)(r->n ? r->n : 1);

    if (r->arenas != NULL) {
        for (int i = 0; i < r->n; i++)
            em__arena_destroy(r->arenas[i]);
    }
    em__mem_free(r->arenas, n * sizeof(*r->arenas));
    em__mem_free(r->vals, n * sizeof(*r->vals));
    memset(r, 0, sizeof(*r));
}

/* Attempts of a job's final stage after fetch failures, as Spark's
 * stage attempts. */
#define MAX_STAGE_ATTEMPTS 4

em_status em__job_run(em_ctx *ctx, em_rdd *rdd, const int *parts, int n,
                      em__task_fn fn, em_val arg, em__job_result *out)
{
    em_status st = EM_OK;

    if (!em__pool_is_task_thread(ctx->pool))
        ctx->is_cancel_asked = 0; /* a cancel is for the job running then */
    for (int attempt = 0; attempt < MAX_STAGE_ATTEMPTS; attempt++) {
        st = em__shuffle_prepare(ctx, rdd);
        if (st == EM_OK)
            st = em__stage_run(ctx, rdd, parts, n, fn, arg, out);
        if (st != EM_EFETCH)
            break;
    }
    pthread_mutex_lock(&ctx->lock);
    ctx->next_job_id++;
    pthread_mutex_unlock(&ctx->lock);
    if (st == EM_OK && ctx->has_marked_checkpoints) {
        st = em__checkpoint_after_job(ctx, rdd);
        if (st != EM_OK)
            em__job_result_fini(out);
    }
    return st;
}
