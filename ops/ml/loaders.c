/* Loaders of labelled points: LIBSVM text and CSV lines parsed by one
 * mapPartitionsWithIndex each, so a malformed line is named by partition
 * and line, and either fails the job or is counted in an accumulator
 * (never dropped unseen). docs/ml.md, "Linear models".
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ember/ml.h"
#include "ember/ml_linear.h"
#include "runtime/err.h"

enum { FMT_LIBSVM = 0, FMT_CSV = 1 };

/* The environment: [format, num_features, label_col, skip_header, bad
 * lines accumulator ref or nil]. */
enum { ENV_FMT, ENV_DIM, ENV_LABEL, ENV_SKIP, ENV_ACC, ENV_N };

/* One line being parsed: a NUL-terminated copy and where the fault is. */
typedef struct line_ctx {
    char *s;           /* the copy, in the task arena */
    const char *fault; /* a static message, set by a failing parse */
} line_ctx;

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

/* A finite double at *p, moving *p past it. */
static bool parse_num(const char **p, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(*p, &end);
    if (end == *p || !isfinite(*out))
        return false;
    *p = end;
    return true;
}

/* "label i:v ..." to a point in a; false with lc->fault set. */
static bool parse_libsvm(line_ctx *lc, int64_t dim, em_arena *a,
                         em_val *out)
{
    const char *p = skip_space(lc->s);
    size_t cap = 0, nnz = 0;
    uint32_t *idx;
    double label, *val;
    int64_t last = 0;
    em_val f;

    for (const char *q = p; *q; q++)
        cap += *q == ':';
    idx = em_arena_alloc(a, (cap + 1) * sizeof(uint32_t));
    val = em_arena_alloc(a, (cap + 1) * sizeof(double));
    if (idx == NULL || val == NULL)
        return (lc->fault = "out of memory"), false;
    if (!parse_num(&p, &label))
        return (lc->fault = "the label is not a finite number"), false;
    for (p = skip_space(p); *p; p = skip_space(p)) {
        char *end;
        long long i;
        if (p[-1] != ' ' && p[-1] != '\t' && p[-1] != '\r')
            return (lc->fault = "no space before a feature"), false;
        errno = 0;
        i = strtoll(p, &end, 10);
        if (end == p || *end != ':' || errno != 0)
            return (lc->fault = "a feature is not index:value"), false;
        if (i < 1 || i > dim)
            return (lc->fault = "a feature index is outside 1..numFeatures"),
                   false;
        if (i <= last)
            return (lc->fault = "feature indices are not increasing"), false;
        p = end + 1;
        if (nnz >= cap || !parse_num(&p, &val[nnz]))
            return (lc->fault = "a feature value is not a finite number"),
                   false;
        if (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r')
            return (lc->fault = "junk after a feature value"), false;
        idx[nnz++] = (uint32_t)(i - 1);
        last = i;
    }
    if (em_spvec_make(a, dim, idx, val, nnz, &f) != EM_OK ||
        em_ml_labeled_point(a, label, f, out) != EM_OK)
        return (lc->fault = "out of memory"), false;
    return true;
}

/* "x,x,...": the label from column label_col (negative from the end);
 * *ncols is the expected count (0: set it from this line). */
static bool parse_csv(line_ctx *lc, int label_col, uint32_t *ncols,
                      em_arena *a, em_val *out)
{
    const char *p = lc->s;
    uint32_t n = 1, j = 0, col;
    double *x, label = 0, v;
    em_val f;

    for (const char *q = p; *q; q++)
        n += *q == ',';
    if (*ncols == 0)
        *ncols = n;
    if (n != *ncols)
        return (lc->fault = "a different number of columns than the "
                            "partition's first line"), false;
    col = label_col < 0 ? (uint32_t)((int64_t)n + label_col)
                        : (uint32_t)label_col;
    if (n < 2 || (label_col < 0 && -(int64_t)label_col > n) || col >= n)
        return (lc->fault = "no label column (too few columns)"), false;
    if ((x = em_vec_make(a, n - 1, &f)) == NULL)
        return (lc->fault = "out of memory"), false;
    for (uint32_t c = 0; c < n; c++) {
        p = skip_space(p);
        if (!parse_num(&p, &v))
            return (lc->fault = "a column is not a finite number"), false;
        p = skip_space(p);
        if (*p != (c + 1 < n ? ',' : '\0'))
            return (lc->fault = "junk after a number"), false;
        p++;
        if (c == col)
            label = v;
        else
            x[j++] = v;
    }
    if (em_ml_labeled_point(a, label, f, out) != EM_OK)
        return (lc->fault = "out of memory"), false;
    return true;
}

/* True for a line with nothing but spaces or (LIBSVM) a comment. */
static bool is_blank(const char *s)
{
    s = skip_space(s);
    return *s == '\0' || *s == '\n';
}

/* (index, lines) -> points */
static em_status load_partition(em_task *t, const em_val *env,
                                const em_val *args, size_t nargs,
                                em_val *out)
{
    const em_val *e = env->u.arr, lines = args[1];
    em_arena *a = em_task_arena(t);
    int part = (int)args[0].u.i;
    int64_t skip = part == 0 ? e[ENV_SKIP].u.i : 0, bad = 0;
    uint32_t ncols = 0, n = 0;
    em_val *pts = em_array_make(a, lines.len, out);
    em_status st;

    if (pts == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < lines.len; i++) {
        em_val ln = lines.u.arr[i];
        line_ctx lc = {NULL, NULL};
        char *hash;
        bool ok;
        if ((int64_t)i < skip)
            continue;
        if (ln.type != EM_STR)
            return em_task_fail(t, "load: partition %d record %u is %s, "
                                "not a line (str)", part, i + 1,
                                em_type_name((em_type)ln.type));
        if ((lc.s = em_arena_alloc(a, (size_t)ln.len + 1)) == NULL)
            return EM_ENOMEM;
        memcpy(lc.s, ln.u.s, ln.len);
        lc.s[ln.len] = '\0';
        if (e[ENV_FMT].u.i == FMT_LIBSVM && (hash = strchr(lc.s, '#')))
            *hash = '\0';
        if (is_blank(lc.s))
            continue;
        ok = e[ENV_FMT].u.i == FMT_LIBSVM
                 ? parse_libsvm(&lc, e[ENV_DIM].u.i, a, &pts[n])
                 : parse_csv(&lc, (int)e[ENV_LABEL].u.i, &ncols, a, &pts[n]);
        if (ok) {
            n++;
            continue;
        }
        if (e[ENV_ACC].type == EM_NIL)
            return em_task_fail(t, "%s: partition %d line %u: %s: '%.*s'",
                                e[ENV_FMT].u.i == FMT_LIBSVM ? "LIBSVM"
                                                             : "CSV",
                                part, i + 1, lc.fault,
                                ln.len > 60 ? 60 : (int)ln.len, ln.u.s);
        bad++;
    }
    if (bad > 0 &&
        (st = em_task_accum_add(t, e[ENV_ACC], em_int(bad))) != EM_OK)
        return st;
    out->len = n;
    return EM_OK;
}

static em_rdd *load(em_rdd *lines, int fmt, const em_ml_load_opts *opts)
{
    em_ml_load_opts o = {0};
    em_val env[ENV_N];

    if (lines == NULL)
        return NULL;
    if (opts != NULL)
        o = *opts;
    if (fmt == FMT_LIBSVM && (o.num_features < 1 ||
                              o.num_features > (int64_t)UINT32_MAX)) {
        em__err(EM_EINVAL, "LIBSVM: numFeatures must be in [1, 2^32), not "
                "%lld", (long long)o.num_features);
        return NULL;
    }
    if (o.skip_header < 0) {
        em__err(EM_EINVAL, "load: skip_header must be >= 0");
        return NULL;
    }
    env[ENV_FMT] = em_int(fmt);
    env[ENV_DIM] = em_int(o.num_features);
    env[ENV_LABEL] = em_int(o.label_col);
    env[ENV_SKIP] = em_int(o.skip_header);
    env[ENV_ACC] = o.bad_lines != NULL ? em_accum_ref(o.bad_lines) : em_nil();
    return em_rdd_map_partitions_with_index(
        lines, em_fn_of(load_partition, em_array(env, ENV_N)));
}

em_rdd *em_ml_load_libsvm(em_rdd *lines, const em_ml_load_opts *opts)
{
    return load(lines, FMT_LIBSVM, opts);
}

em_rdd *em_ml_load_csv(em_rdd *lines, const em_ml_load_opts *opts)
{
    return load(lines, FMT_CSV, opts);
}
