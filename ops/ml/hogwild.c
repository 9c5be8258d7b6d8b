/* Hogwild (Recht et al.): lock-free SGD by every task thread of one
 * process on one shared weight vector, each step reading and writing only
 * the weights its point touches, so that on sparse data threads rarely
 * meet. The vector shared is the process's copy of the round's broadcast
 * (the runtime decodes a broadcast once per process): the only broadcast
 * value written after it is made. (Training on an array in one task, the
 * vector is the trainer's own.) Its words are read and written with
 * relaxed atomics, so concurrent steps lose updates but never race in the
 * C sense. docs/ml.md, "Hogwild".
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "linear.h"
#include "runtime/err.h"

/* The shared vector: the weights, the sums of (step index x update) that
 * give the average over steps, then three counters. */
enum { CTR_STEPS, CTR_DONE, CTR_TOKEN, NCTR };

size_t em__lin_hogwild_len(size_t dim)
{
    return 2 * dim + NCTR;
}

static double load(const double *p)
{
    double v;

    __atomic_load(p, &v, __ATOMIC_RELAXED);
    return v;
}

static void store(double *p, double v)
{
    __atomic_store(p, &v, __ATOMIC_RELAXED);
}

/* Adds x to *p atomically; returns the value before. */
static double fetch_add(double *p, double x)
{
    double old, sum;

    __atomic_load(p, &old, __ATOMIC_RELAXED);
    do {
        sum = old + x;
    } while (!__atomic_compare_exchange(p, &old, &sum, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
    return old;
}

/* The process's token in the vector, set by the first task to ask: a
 * random whole number below 2^53 that tells the processes' snapshots
 * apart when the partition results are merged. */
static double process_token(double *slot)
{
    double cur, mine, zero = 0;
    struct timespec ts;
    uint64_t z;

    __atomic_load(slot, &cur, __ATOMIC_ACQUIRE);
    if (cur != 0)
        return cur;
    clock_gettime(CLOCK_REALTIME, &ts);
    z = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^
        ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)slot;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    mine = (double)(((z ^ (z >> 31)) >> 11) | 1);
    if (__atomic_compare_exchange(slot, &zero, &mine, false,
                                  __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return mine;
    return zero; /* another task's token, read by the failed exchange */
}

/* One task's view of the shared vector. */
typedef struct hog {
    double *w, *u, *ctr; /* weights, step-weighted updates, counters */
    size_t d;            /* features */
    bool icpt;           /* w[d] is the intercept */
    bool is_avg;         /* keep u */
    em_linear_loss loss;
    em_optim *o;         /* the task's own optimizer state */
} hog;

/* Moves weight j by the optimizer for gradient g; step is the process's
 * step count before this step, the weight of the update in u. */
static void move(hog *h, size_t j, double g, double eta, double step)
{
    double old = load(&h->w[j]), nw = em__optim_coord(h->o, j, old, g, eta);

    store(&h->w[j], nw);
    if (h->is_avg)
        store(&h->u[j], load(&h->u[j]) + step * (nw - old));
}

/* True when p is [number, vector of dimension d]. */
static bool is_point(em_val p, size_t d)
{
    em_val f;

    if (!em_val_is_pair(p) || !em_val_as_float(p.u.arr[0], &(double){0}))
        return false;
    f = p.u.arr[1];
    return (f.type == EM_VEC && f.len == d) ||
           (f.type == EM_SPVEC && f.u.sp->dim == (int64_t)d);
}

/* One step on point p; adds its loss to *loss. */
static em_status step_point(hog *h, em_val p, double *loss)
{
    em_val f;
    double y, m = 0, coef, eta, step;
    em_status st;

    if (!is_point(p, h->d))
        return em__err(EM_EINVAL, "linear: a point must be [label, vector "
                       "of dimension %zu]", h->d);
    em_val_as_float(p.u.arr[0], &y);
    f = p.u.arr[1];
    for (uint32_t k = 0; k < f.len; k++)
        m += f.type == EM_VEC ? load(&h->w[k]) * f.u.vec[k]
                              : load(&h->w[f.u.sp->idx[k]]) * f.u.sp->val[k];
    if (h->icpt)
        m += load(&h->w[h->d]);
    if ((st = em__lin_coef(h->loss, y, m, loss, &coef)) != EM_OK)
        return st;
    eta = em__optim_tick(h->o);
    step = fetch_add(&h->ctr[CTR_STEPS], 1);
    for (uint32_t k = 0; k < f.len; k++)
        if (f.type == EM_VEC)
            move(h, k, coef * f.u.vec[k], eta, step);
        else
            move(h, f.u.sp->idx[k], coef * f.u.sp->val[k], eta, step);
    if (h->icpt)
        move(h, h->d, coef, eta, step);
    return EM_OK;
}

/* The entry [token, done, count, loss, weights, sum of the weights over
 * the process's steps] of a snapshot taken after `done` steps. */
static em_status snapshot(hog *h, double token, double done, double count,
                          double loss, em_arena *a, em_val *out)
{
    size_t dim = h->d + (h->icpt ? 1 : 0);
    em_val *e = em_array_make(a, 6, out);
    double *w, *s;

    if (e == NULL || (w = em_vec_make(a, dim, &e[4])) == NULL ||
        (s = em_vec_make(a, dim, &e[5])) == NULL)
        return EM_ENOMEM;
    /* the mean of w over steps 1..T is w_T - u / T, u holding each
     * update times the number of steps before it (move) */
    for (size_t j = 0; j < dim; j++) {
        w[j] = load(&h->w[j]);
        s[j] = done * w[j] - load(&h->u[j]);
    }
    e[0] = em_float(token);
    e[1] = em_float(done);
    e[2] = em_float(count);
    e[3] = em_float(loss);
    return EM_OK;
}

em_status em__lin_hogwild(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    const em_val *e = env->u.arr;
    em_val sv, recs = args[1], *cell, *list;
    em_arena *a = em_task_arena(t);
    double loss = 0, count = 0, token, done;
    em_status st;
    hog h;

    if ((st = em__lin_weights(t, e[EM__LIN_W], &sv)) != EM_OK)
        return st;
    h.icpt = e[EM__LIN_ICPT].u.b;
    h.d = (sv.len - NCTR) / 2 - (h.icpt ? 1 : 0);
    /* written in place: see the file comment */
    h.w = (double *)(uintptr_t)sv.u.vec;
    h.u = h.w + (sv.len - NCTR) / 2;
    h.ctr = h.w + sv.len - NCTR;
    h.is_avg = e[EM__LIN_AVG].u.b;
    h.loss = (em_linear_loss)e[EM__LIN_LOSS].u.i;
    h.o = em__lin_optim_at(e, (sv.len - NCTR) / 2,
                           (e[EM__LIN_ITER].u.i - 1) * (int64_t)recs.len, a);
    if (h.o == NULL)
        return em__lin_fail_last(t);
    token = process_token(&h.ctr[CTR_TOKEN]);
    for (uint32_t i = 0; i < recs.len && st == EM_OK; i++) {
        if (!em__lin_sampled((uint64_t)e[EM__LIN_SEED].u.i,
                             e[EM__LIN_ITER].u.i, (int)args[0].u.i, i,
                             e[EM__LIN_FRAC].u.f))
            continue;
        st = step_point(&h, recs.u.arr[i], &loss);
        count++;
    }
    em_optim_destroy(h.o);
    if (st != EM_OK)
        return em__lin_fail_last(t);
    /* the task that counts its steps last sees every step of the process
     * (acquire-release on the counter), so the merge keeps its snapshot */
    done = fetch_add(&h.ctr[CTR_DONE], count) + count;
    /* one record: the list of one process's entry */
    if ((cell = em_array_make(a, 1, out)) == NULL ||
        (list = em_array_make(a, 1, &cell[0])) == NULL)
        return EM_ENOMEM;
    return snapshot(&h, token, done, count, loss, a, &list[0]);
}

/* Adds entry x to the n entries of r: a process's counts summed, its
 * later snapshot kept. */
static em_status merge_entry(em_val *r, uint32_t *n, em_val x, em_arena *a)
{
    for (uint32_t i = 0; i < *n; i++) {
        const em_val *y = r[i].u.arr;
        em_val *m;
        if (y[0].u.f != x.u.arr[0].u.f)
            continue;
        if ((m = em_array_make(a, 6, &r[i])) == NULL)
            return EM_ENOMEM;
        memcpy(m, x.u.arr[1].u.f > y[1].u.f ? x.u.arr : y, 6 * sizeof(*m));
        m[2] = em_float(x.u.arr[2].u.f + y[2].u.f);
        m[3] = em_float(x.u.arr[3].u.f + y[3].u.f);
        return EM_OK;
    }
    r[(*n)++] = x;
    return EM_OK;
}

em_status em__lin_hogwild_merge(em_task *t, const em_val *env,
                                const em_val *args, size_t nargs,
                                em_val *out)
{
    em_val x = args[0], y = args[1], *r;
    em_arena *a = em_task_arena(t);
    uint32_t n = 0;
    em_status st = EM_OK;

    if (x.type != EM_ARRAY || y.type != EM_ARRAY)
        return em_task_fail(t, "linear: hogwild results are not arrays");
    if ((r = em_array_make(a, x.len + y.len, out)) == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < x.len && st == EM_OK; i++)
        st = merge_entry(r, &n, x.u.arr[i], a);
    for (uint32_t i = 0; i < y.len && st == EM_OK; i++)
        st = merge_entry(r, &n, y.u.arr[i], a);
    out->len = n;
    return st;
}
