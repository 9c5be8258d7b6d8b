/* Contexts (include/ember.h): configuration and master URLs, the node
 * registry that owns every RDD, persistence calls and inspection.
 */
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctx.h"
#include "job.h"
#include "shuffle.h"
#include "cluster/driver.h"
#include "runtime/arena.h"
#include "runtime/buf.h"
#include "runtime/err.h"
#include "runtime/mem.h"

em_status em_parse_size(const char *s, int64_t *out)
{
    char *end;
    double x;
    int64_t mult = 1;

    if (s == NULL || !isdigit((unsigned char)s[0]))
        return em__err(EM_EINVAL, "invalid size '%s'", s ? s : "");
    end = (char *)s;
    while (isdigit((unsigned char)*end))
        end++;
    if (*end == '.') /* digits, an optional fraction, then the suffix */
        for (end++; isdigit((unsigned char)*end);)
            end++;
    x = strtod(s, NULL);
    switch (tolower((unsigned char)*end)) {
    case 't': mult <<= 10; /* fall through */
    case 'g': mult <<= 10; /* fall through */
    case 'm': mult <<= 10; /* fall through */
    case 'k': mult <<= 10; end++; break;
    case '\0': break;
    default: return em__err(EM_EINVAL, "invalid size '%s'", s);
    }
    if (tolower((unsigned char)*end) == 'b')
        end++;
    if (*end != '\0' || x * (double)mult > 9.2e18)
        return em__err(EM_EINVAL, "invalid size '%s'", s);
    *out = (int64_t)(x * (double)mult);
    return EM_OK;
}

/* Serial numbers of contexts: references to broadcasts and accumulators
 * carry their context's, so one context cannot resolve another's. */
static atomic_uint_least64_t ctx_serials;

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n > 0 ? (int)n : 1;
}

/* Parses local, local[N], local[*], local[N,F] into threads and attempts. */
static em_status parse_master(const char *m, int *threads, int *attempts)
{
    const char *p;
    char *end;
    long n;

    *threads = online_cpus();
    *attempts = 1;
    if (strncmp(m, "ember://", 8) == 0) { /* the pool: see em__driver_start */
        *threads = 1;
        *attempts = 4;
        return EM_OK;
    }
    if (strcmp(m, "local") == 0) {
        *threads = 1;
        return EM_OK;
    }
    if (strncmp(m, "local[", 6) != 0)
        goto bad;
    p = m + 6;
    if (*p == '*') {
        p++;
    } else {
        n = strtol(p, &end, 10);
        if (end == p || n < 1 || n > 4096)
            goto bad;
        *threads = (int)n;
        p = end;
    }
    if (*p == ',') {
        n = strtol(p + 1, &end, 10);
        if (end == p + 1 || n < 1 || n > 1000)
            goto bad;
        *attempts = (int)n;
        p = end;
    }
    if (p[0] == ']' && p[1] == '\0')
        return EM_OK;
bad:
    return em__err(EM_EINVAL, "invalid master URL '%s' (expected local, "
                   "local[N], local[*], local[N,F] or ember://HOST:PORT)",
                   m);
}

static int64_t half_of_ram(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

    if (pages <= 0 || size <= 0)
        return (int64_t)1 << 30;
    return (int64_t)pages * size / 2;
}

static char *dup_or_null(const char *s, em_status *st)
{
    char *d;

    if (s == NULL)
        return NULL;
    d = em__mem_strdup(s);
    if (d == NULL)
        *st = EM_ENOMEM;
    return d;
}

static void free_str(char *s)
{
    if (s != NULL)
        em__mem_free(s, strlen(s) + 1);
}

/* True when the environment variable name is "1" (`ember run --gpu`). */
static bool env_is_on(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && strcmp(v, "1") == 0;
}

em_ctx *em_ctx_create(const em_conf *conf)
{
    em_conf c = {0};
    em_status st = EM_OK;
    const char *master, *tmp;
    em_ctx *ctx;

    if (conf != NULL)
        c = *conf;
    master = c.master ? c.master : getenv("EMBER_MASTER");
    if (master == NULL || master[0] == '\0')
        master = "local[*]";
    tmp = c.local_dir ? c.local_dir : getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    ctx = em__mem_calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    pthread_mutex_init(&ctx->lock, NULL);
    pthread_mutex_init(&ctx->job_lock, NULL);
    ctx->serial = atomic_fetch_add(&ctx_serials, 1) + 1;
    if (parse_master(master, &ctx->threads, &ctx->max_attempts) != EM_OK)
        goto out_free;
    ctx->master = dup_or_null(master, &st);
    ctx->app_name = dup_or_null(c.app_name ? c.app_name : "ember", &st);
    ctx->local_dir = dup_or_null(tmp, &st);
    if (st != EM_OK)
        goto out_free;
    ctx->default_parallelism =
        c.default_parallelism > 0 ? c.default_parallelism : ctx->threads;
    ctx->has_default_parallelism = c.default_parallelism > 0;
    ctx->memory_bytes = c.memory_bytes > 0 ? c.memory_bytes : half_of_ram();
    ctx->has_memory = c.memory_bytes > 0;
    ctx->has_progress = c.progress > 0 ||
                        (c.progress == 0 && isatty(STDERR_FILENO));
    ctx->is_gpu = c.gpu > 0 || (c.gpu == 0 && env_is_on("EMBER_GPU"));
    ctx->next_rdd_id = 1;
    ctx->fetcher = &em__local_fetcher;
    ctx->blocks = em__blocks_create(ctx->memory_bytes / 2, ctx->local_dir);
    if (ctx->blocks == NULL)
        goto out_free;
    ctx->pool = em__pool_create(ctx, ctx->threads);
    if (ctx->pool == NULL)
        goto out_free;
    if (strncmp(master, "ember://", 8) == 0) {
        if (em__driver_start(ctx, master) != EM_OK)
            goto out_free;
        if (!ctx->has_default_parallelism) { /* the pool's cores, as Spark */
            int cores = em__driver_cores(ctx);
            ctx->default_parallelism = cores > 2 ? cores : 2;
        }
    }
    return ctx;
out_free:
    em_ctx_destroy(ctx);
    return NULL;
}

void em_ctx_destroy(em_ctx *ctx)
{
    em_rdd *r, *next;

    if (ctx == NULL)
        return;
    em__driver_stop(ctx);
    em__pool_destroy(ctx->pool);
    for (r = ctx->nodes; r != NULL; r = next) {
        next = r->next;
        if (r->kind->free_state != NULL)
            r->kind->free_state(r);
        free_str(r->name);
        em__arena_destroy(r->arena);
        em__mem_free(r, sizeof(*r));
    }
    em__blocks_destroy(ctx->blocks);
    em__shuffles_free(ctx);
    em__checkpoint_free(ctx);
    em__shared_vars_free(ctx);
    free_str(ctx->master);
    free_str(ctx->app_name);
    free_str(ctx->local_dir);
    pthread_mutex_destroy(&ctx->job_lock);
    pthread_mutex_destroy(&ctx->lock);
    em__mem_free(ctx, sizeof(*ctx));
}

void em_ctx_cancel(em_ctx *ctx)
{
    if (ctx != NULL)
        ctx->is_cancel_asked = 1;
}

int em_ctx_default_parallelism(const em_ctx *ctx)
{
    return ctx->default_parallelism;
}

bool em_ctx_gpu(const em_ctx *ctx)
{
    return ctx->is_gpu;
}

void em_ctx_get_stats(em_ctx *ctx, em_ctx_stats *out)
{
    pthread_mutex_lock(&ctx->lock);
    out->jobs = ctx->next_job_id;
    out->stages_run = ctx->stages_run;
    out->map_tasks_run = ctx->map_tasks_run;
    out->stages_skipped = ctx->stages_skipped;
    out->task_us = __atomic_load_n(&ctx->task_us, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&ctx->lock);
}

int em_ctx_threads(const em_ctx *ctx)
{
    return ctx->threads;
}

em_rdd *em__rdd_new(em_ctx *ctx, const em__rdd_kind *kind, int nparts,
                    em_rdd *const *parents, int nparents, em__dep dep)
{
    em_rdd *r = em__mem_calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->arena = em__arena_create(1024);
    if (r->arena == NULL)
        goto out_free;
    if (nparents > 0) {
        r->parents = em__arena_alloc(r->arena,
                                     (size_t)nparents * sizeof(em_rdd *), 8);
        if (r->parents == NULL)
            goto out_free;
        memcpy(r->parents, parents, (size_t)nparents * sizeof(em_rdd *));
    }
    r->ctx = ctx;
    r->kind = kind;
    r->nparts = nparts;
    r->nparents = nparents;
    r->dep = dep;
    r->blocks = ctx->blocks;
    pthread_mutex_lock(&ctx->lock);
    r->id = ctx->next_rdd_id++;
    r->next = ctx->nodes;
    ctx->nodes = r;
    pthread_mutex_unlock(&ctx->lock);
    return r;
out_free:
    em__arena_destroy(r->arena);
    em__mem_free(r, sizeof(*r));
    return NULL;
}

em_status em__rdd_set_fn(em_rdd *rdd, em_fn f, em_fn *slot)
{
    em_val env;
    em_status st;

    if (f.call == NULL) {
        *slot = f;
        return EM_OK;
    }
    st = em_val_copy(rdd->arena, f.env, &env);
    if (st != EM_OK)
        return st;
    slot->call = f.call;
    slot->env = env;
    return EM_OK;
}

em_status em__rdd_set_arg(em_rdd *rdd, em_val v)
{
    return em_val_copy(rdd->arena, v, &rdd->arg);
}

/* ---- persistence ---- */

em_status em_rdd_persist(em_rdd *rdd, em_storage level)
{
    if (rdd == NULL)
        return em__err(EM_EINVAL, "persist: no RDD");
    if (level < EM_STORAGE_NONE || level > EM_DISK_ONLY_2)
        return em__err(EM_EINVAL, "persist: unknown storage level %d",
                       (int)level);
    if (rdd->storage != EM_STORAGE_NONE && rdd->storage != level)
        return em__err(EM_ESTATE, "cannot change the storage level of RDD "
                       "%d once it was set", rdd->id);
    rdd->storage = level;
    return EM_OK;
}

em_status em_rdd_cache(em_rdd *rdd)
{
    return em_rdd_persist(rdd, EM_MEMORY_ONLY);
}

em_status em_rdd_unpersist(em_rdd *rdd)
{
    if (rdd == NULL)
        return em__err(EM_EINVAL, "unpersist: no RDD");
    rdd->storage = EM_STORAGE_NONE;
    em__blocks_drop_rdd(rdd->blocks, rdd->id);
    em__driver_unpersist(rdd->ctx, rdd->id);
    return EM_OK;
}

em_storage em_rdd_storage(const em_rdd *rdd)
{
    return rdd->storage;
}

int em_rdd_cached_partitions(const em_rdd *rdd)
{
    if (rdd->ctx->exec != NULL) /* on the pool: what executors reported */
        return em__driver_cached_parts(rdd->ctx, rdd->id);
    return em__blocks_count_rdd(rdd->blocks, rdd->id);
}

/* ---- inspection ---- */

int em_rdd_num_partitions(const em_rdd *rdd)
{
    return rdd->nparts;
}

int em_rdd_id(const em_rdd *rdd)
{
    return rdd->id;
}

em_ctx *em_rdd_ctx(const em_rdd *rdd)
{
    return rdd->ctx;
}

em_status em_rdd_set_name(em_rdd *rdd, const char *name)
{
    char *d = em__mem_strdup(name);

    if (d == NULL)
        return EM_ENOMEM;
    free_str(rdd->name);
    rdd->name = d;
    return EM_OK;
}

const char *em_rdd_name(const em_rdd *rdd)
{
    return rdd->name;
}

static const char *const storage_names[] = {
    "", "MEMORY_ONLY", "MEMORY_ONLY_SER", "MEMORY_AND_DISK",
    "MEMORY_AND_DISK_SER", "DISK_ONLY", "MEMORY_ONLY_2", "MEMORY_ONLY_SER_2",
    "MEMORY_AND_DISK_2", "MEMORY_AND_DISK_SER_2", "DISK_ONLY_2",
};

static em_status debug_lines(em__buf *b, em_rdd *r, int depth)
{
    char line[512];
    int n;

    n = snprintf(line, sizeof(line), "%*s%s(%d) %s[%d]%s%s%s\n", 2 * depth,
                 depth ? "| " : "", r->name ? r->name : r->kind->name,
                 r->nparts, r->kind->name, r->id,
                 r->storage ? " [" : "",
                 r->storage ? storage_names[r->storage] : "",
                 r->storage ? "]" : "");
    if (em__buf_append(b, line, (size_t)n < sizeof(line) ? (size_t)n
                                                         : sizeof(line) - 1))
        return EM_ENOMEM;
    for (int i = 0; i < r->nparents; i++) {
        em_status st = debug_lines(b, r->parents[i], depth + 1);
        if (st != EM_OK)
            return st;
    }
    return EM_OK;
}

em_status em_rdd_debug_string(em_rdd *rdd, em_arena *a, const char **out)
{
    em__buf b = EM__BUF_INIT;
    em_status st = debug_lines(&b, rdd, 0);
    char *s;

    if (st == EM_OK)
        st = em__buf_append(&b, "", 1);
    if (st != EM_OK) {
        em__buf_fini(&b);
        return st;
    }
    s = em__arena_dup(a, b.data, b.len);
    em__buf_fini(&b);
    if (s == NULL)
        return EM_ENOMEM;
    *out = s;
    return EM_OK;
}
