/* Event loops (net.h): a libuv loop run on its own thread or the caller's,
 * functions posted from any thread, timers; also the log hook and the
 * helpers net_int.h declares. Servers and connections are in conn.c.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "net.h"
#include "net_int.h"
#include "runtime/err.h"
#include "runtime/mem.h"

struct em__timer {
    em__lnode node;        /* in loop->timers; first */
    uv_timer_t uv;         /* the libuv timer */
    em__loop *l;           /* the owning loop */
    void (*fn)(void *arg); /* what to call */
    void *arg;
    bool repeat; /* restart after each call */
};

/* ---- lists ---- */

void em__list_init(em__lnode *head)
{
    head->prev = head->next = head;
}

void em__list_push(em__lnode *head, em__lnode *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

void em__list_remove(em__lnode *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

/* ---- the log hook ---- */

typedef void (*log_fn)(int level, const char *msg);

static _Atomic(log_fn) the_log;

void em__net_set_log(void (*fn)(int level, const char *msg))
{
    atomic_store(&the_log, fn);
}

void em__net_log(int level, const char *fmt, ...)
{
    log_fn fn = atomic_load(&the_log);
    char msg[600];
    va_list ap;

    if (fn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fn(level, msg);
}

/* ---- SIGPIPE ---- */

static void sigpipe_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGPIPE);
}

void em__net_sigpipe_block(em__sigpipe_guard *g)
{
    sigset_t set, pending;

    sigpipe_set(&set);
    sigemptyset(&pending);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

void em__net_sigpipe_restore(em__sigpipe_guard *g)
{
    static const struct timespec now = {0, 0};
    sigset_t set, pending;

    sigpipe_set(&set);
    sigemptyset(&pending);
    sigpending(&pending);
    if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1)
        sigtimedwait(&set, NULL, &now);
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* ---- addresses ---- */

void em__net_format_addr(const struct sockaddr *sa, char *buf, size_t cap)
{
    char ip[64] = "?";
    int port = 0;

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        uv_ip4_name(in, ip, sizeof(ip));
        port = ntohs(in->sin_port);
        snprintf(buf, cap, "%s:%d", ip, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

        uv_ip6_name(in6, ip, sizeof(ip));
        port = ntohs(in6->sin6_port);
        snprintf(buf, cap, "[%s]:%d", ip, port);
    } else {
        snprintf(buf, cap, "?");
    }
}

/* ---- posts ---- */

/* Takes the whole queue (in order). */
static em__post *take_posts(em__loop *l)
{
    em__post *p;

    uv_mutex_lock(&l->mu);
    p = l->head;
    l->head = l->tail = NULL;
    uv_mutex_unlock(&l->mu);
    return p;
}

/* Runs and frees a list of posts. */
static void run_posts(em__post *p)
{
    while (p != NULL) {
        em__post *next = p->next;

        p->fn(p->arg);
        em__mem_free(p, sizeof(*p));
        p = next;
    }
}

/* The wake-up: posted functions, then a requested stop. */
static void on_wake(uv_async_t *a)
{
    em__loop *l = a->data;

    run_posts(take_posts(l));
    if (atomic_load(&l->stop_asked))
        uv_stop(&l->uv);
}

em_status em__loop_post(em__loop *l, void (*fn)(void *arg), void *arg)
{
    em__post *p = em__mem_alloc(sizeof(*p));
    bool refused;

    if (p == NULL)
        return EM_ENOMEM;
    p->fn = fn;
    p->arg = arg;
    p->next = NULL;
    uv_mutex_lock(&l->mu);
    refused = l->is_destroying;
    if (!refused) {
        if (l->tail != NULL)
            l->tail->next = p;
        else
            l->head = p;
        l->tail = p;
    }
    uv_mutex_unlock(&l->mu);
    if (refused) {
        em__mem_free(p, sizeof(*p));
        return em__err(EM_ESTATE, "event loop is being destroyed");
    }
    uv_async_send(&l->wake);
    return EM_OK;
}

/* ---- lifecycle ---- */

em__loop *em__loop_create(void)
{
    em__loop *l = em__mem_calloc(1, sizeof(*l));
    int rc;

    if (l == NULL)
        return NULL;
    if ((rc = uv_loop_init(&l->uv)) != 0) {
        em__err(EM_EIO, "event loop: %s", uv_strerror(rc));
        goto out_free;
    }
    if ((rc = uv_mutex_init(&l->mu)) != 0) {
        em__err(EM_EIO, "event loop: %s", uv_strerror(rc));
        goto out_loop;
    }
    if ((rc = uv_async_init(&l->uv, &l->wake, on_wake)) != 0) {
        em__err(EM_EIO, "event loop: %s", uv_strerror(rc));
        goto out_mutex;
    }
    l->wake.data = l;
    em__list_init(&l->servers);
    em__list_init(&l->conns);
    em__list_init(&l->timers);
    return l;

out_mutex:
    uv_mutex_destroy(&l->mu);
out_loop:
    uv_loop_close(&l->uv);
out_free:
    em__mem_free(l, sizeof(*l));
    return NULL;
}

/* Runs the loop on this thread until a stop. SIGPIPE is blocked. */
static void run_here(em__loop *l)
{
    em__sigpipe_guard g;

    em__net_sigpipe_block(&g);
    l->runner = uv_thread_self();
    uv_run(&l->uv, UV_RUN_DEFAULT);
    atomic_store(&l->stop_asked, false);
    atomic_store(&l->is_running, false);
    em__net_sigpipe_restore(&g);
}

static void thread_main(void *arg)
{
    run_here(arg);
}

/* Claims the loop for one runner; EM_ESTATE when it runs already. */
static em_status claim(em__loop *l)
{
    bool expected = false;

    if (l->has_thread ||
        !atomic_compare_exchange_strong(&l->is_running, &expected, true))
        return em__err(EM_ESTATE, "event loop is already running");
    return EM_OK;
}

em_status em__loop_start(em__loop *l)
{
    em_status st = claim(l);
    int rc;

    if (st != EM_OK)
        return st;
    if ((rc = uv_thread_create(&l->thread, thread_main, l)) != 0) {
        atomic_store(&l->is_running, false);
        return em__err(EM_EIO, "event loop thread: %s", uv_strerror(rc));
    }
    l->has_thread = true;
    return EM_OK;
}

em_status em__loop_run(em__loop *l)
{
    em_status st = claim(l);

    if (st != EM_OK)
        return st;
    run_here(l);
    return EM_OK;
}

void em__loop_stop(em__loop *l)
{
    atomic_store(&l->stop_asked, true);
    uv_async_send(&l->wake);
}

bool em__loop_on_thread(const em__loop *l)
{
    uv_thread_t self = uv_thread_self();

    return atomic_load(&l->is_running) && uv_thread_equal(&l->runner, &self);
}

static void on_timer_closed(uv_handle_t *h)
{
    em__mem_free(h->data, sizeof(em__timer));
}

void em__loop_destroy(em__loop *l)
{
    em__sigpipe_guard g;

    if (l == NULL)
        return;
    if (l->has_thread) {
        em__loop_stop(l);
        uv_thread_join(&l->thread);
        l->has_thread = false;
    }
    em__net_sigpipe_block(&g);
    l->runner = uv_thread_self();
    atomic_store(&l->is_running, true); /* this thread acts as the loop's */
    run_posts(take_posts(l));
    uv_mutex_lock(&l->mu);
    l->is_destroying = true;
    uv_mutex_unlock(&l->mu);
    run_posts(take_posts(l)); /* posted by the posts above */
    em__net_close_all(l);
    while (l->timers.next != &l->timers)
        em__timer_cancel((em__timer *)l->timers.next);
    uv_close((uv_handle_t *)&l->wake, NULL);
    while (uv_run(&l->uv, UV_RUN_DEFAULT) != 0)
        ;
    uv_loop_close(&l->uv);
    uv_mutex_destroy(&l->mu);
    em__mem_free(l, sizeof(*l));
    em__net_sigpipe_restore(&g);
}

/* ---- timers ---- */

static void on_timer(uv_timer_t *h)
{
    em__timer *t = h->data;

    t->fn(t->arg);
}

em__timer *em__loop_timer(em__loop *l, int64_t ms, bool repeat,
                          void (*fn)(void *arg), void *arg)
{
    em__timer *t;

    if (ms < 0) {
        em__err(EM_EINVAL, "timer interval %lld ms is negative", (long long)ms);
        return NULL;
    }
    if ((t = em__mem_calloc(1, sizeof(*t))) == NULL)
        return NULL;
    uv_timer_init(&l->uv, &t->uv);
    t->uv.data = t;
    t->l = l;
    t->fn = fn;
    t->arg = arg;
    t->repeat = repeat;
    em__list_push(&l->timers, &t->node);
    uv_timer_start(&t->uv, on_timer, (uint64_t)ms,
                   repeat ? (uint64_t)(ms > 0 ? ms : 1) : 0);
    return t;
}

void em__timer_again(em__timer *t, int64_t ms)
{
    uint64_t u = ms > 0 ? (uint64_t)ms : 0;

    uv_timer_start(&t->uv, on_timer, u, t->repeat ? (u > 0 ? u : 1) : 0);
}

void em__timer_cancel(em__timer *t)
{
    if (t == NULL)
        return;
    em__list_remove(&t->node);
    uv_timer_stop(&t->uv);
    uv_close((uv_handle_t *)&t->uv, on_timer_closed);
}
