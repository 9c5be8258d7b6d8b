/* Checkpoints (include/ember.h): after a job, every node of its lineage
 * that was marked is saved (to files in the checkpoint directory, or to the
 * block store for a local checkpoint) by a job of its own, and its node
 * becomes a reader of what was saved: its parents are forgotten, so the
 * lineage of long iterative jobs stays short.
 *
 * A checkpoint file holds one partition as a record file
 * (runtime/recfile.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx.h"
#include "job.h"
#include "runtime/arena.h"
#include "runtime/buf.h"
#include "runtime/codec.h"
#include "runtime/err.h"
#include "runtime/mem.h"
#include "runtime/recfile.h"

em_status em_ctx_set_checkpoint_dir(em_ctx *ctx, const char *dir)
{
    char path[4096];
    char *d;

    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return em__err(EM_EIO, "checkpoint directory %s: %s", dir,
                       strerror(errno));
    snprintf(path, sizeof(path), "%s/ember-XXXXXX", dir);
    if (mkdtemp(path) == NULL)
        return em__err(EM_EIO, "checkpoint directory %s: %s", dir,
                       strerror(errno));
    if ((d = em__mem_strdup(path)) == NULL)
        return EM_ENOMEM;
    if (ctx->checkpoint_dir != NULL)
        em__mem_free(ctx->checkpoint_dir, strlen(ctx->checkpoint_dir) + 1);
    ctx->checkpoint_dir = d;
    return EM_OK;
}

static em_status mark(em_rdd *rdd, int how)
{
    if (rdd == NULL)
        return em__err(EM_EINVAL, "checkpoint: no RDD");
    if (rdd->checkpoint == EM__CKPT_DONE)
        return EM_OK;
    if (how == EM__CKPT_MARKED && rdd->ctx->checkpoint_dir == NULL)
        return em__err(EM_ESTATE, "checkpoint: no checkpoint directory set "
                       "(em_ctx_set_checkpoint_dir)");
    rdd->checkpoint = how;
    rdd->ctx->has_marked_checkpoints = true;
    return EM_OK;
}

em_status em_rdd_checkpoint(em_rdd *rdd)
{
    return mark(rdd, EM__CKPT_MARKED);
}

em_status em_rdd_local_checkpoint(em_rdd *rdd)
{
    em_status st = mark(rdd, EM__CKPT_LOCAL_MARKED);

    if (st == EM_OK && rdd->storage == EM_STORAGE_NONE)
        rdd->storage = EM_MEMORY_AND_DISK;
    return st;
}

bool em_rdd_is_checkpointed(const em_rdd *rdd)
{
    return rdd->checkpoint == EM__CKPT_DONE;
}

static void part_path(const em_rdd *rdd, int part, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/rdd-%d/part-%05d", rdd->ctx->checkpoint_dir,
             rdd->id, part);
}

/* ---- reading a checkpoint ---- */

static em_status file_compute(em_rdd *rdd, int part, em_task *t,
                              em__sink *out)
{
    char path[4200];
    em__buf rec = EM__BUF_INIT;
    em_status st;
    bool has = true;
    FILE *f;

    part_path(rdd, part, path, sizeof(path));
    if ((f = fopen(path, "rb")) == NULL)
        return em__err(EM_EIO, "checkpoint of RDD %d: cannot read %s: %s",
                       rdd->id, path, strerror(errno));
    do {
        em__arena_mark mk = em__arena_mark_get(t->scratch);
        em_val v;
        st = em__recfile_read(f, path, &rec, t->scratch, &v, &has);
        if (st == EM_OK && has)
            st = em__sink_push(out, t, v);
        em__arena_rewind(t->scratch, mk);
    } while (st == EM_OK && has);
    fclose(f);
    em__buf_fini(&rec);
    return st;
}

static const em__rdd_kind file_kind = {"checkpoint", file_compute, NULL};

static em_status local_compute(em_rdd *rdd, int part, em_task *t,
                               em__sink *out)
{
    em_status st = em__blocks_get(rdd->blocks, rdd->id, part, t, out);

    if (st == EM_ENOENT)
        return em__err(EM_EIO, "local checkpoint of RDD %d: partition %d "
                       "was lost and its lineage is gone", rdd->id, part);
    return st;
}

static const em__rdd_kind local_kind = {"localCheckpoint", local_compute,
                                        NULL};

/* ---- writing one ---- */

typedef struct file_sink {
    em__sink base;
    FILE *f;
    em__buf b;
} file_sink;

static em_status file_push(em__sink *s, em_task *t, em_val rec)
{
    file_sink *fs = (file_sink *)s;

    return em__recfile_write(fs->f, &fs->b, rec);
}

static em_status write_task(em_task *t, em_rdd *rdd, int part, em_val arg,
                            em_arena *res, em_val *out)
{
    char path[4200], tmp[4300];
    file_sink fs = {{file_push}, NULL, EM__BUF_INIT};
    em_status st;

    part_path(rdd, part, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, t->attempt);
    if ((fs.f = fopen(tmp, "wb")) == NULL)
        return em__err(EM_EIO, "checkpoint: cannot write %s: %s", tmp,
                       strerror(errno));
    st = em__rdd_compute(rdd, part, t, &fs.base);
    if (fclose(fs.f) != 0 && st == EM_OK)
        st = EM_EIO;
    em__buf_fini(&fs.b);
    if (st == EM_EIO)
        st = em__err(EM_EIO, "checkpoint: writing %s failed: %s", tmp,
                     strerror(errno));
    if (st == EM_OK && rename(tmp, path) != 0)
        st = em__err(EM_EIO, "checkpoint: cannot rename %s: %s", tmp,
                     strerror(errno));
    if (st != EM_OK)
        unlink(tmp);
    *out = em_nil();
    return st;
}

/* Counting is enough to fill the block store for a local checkpoint. */
static em_status touch_task(em_task *t, em_rdd *rdd, int part, em_val arg,
                            em_arena *res, em_val *out)
{
    em__part p;
    em_status st = em__part_init(&p);

    if (st == EM_OK)
        st = em__rdd_materialize(rdd, part, t, &p);
    em__part_fini(&p);
    *out = em_nil();
    return st;
}

static em_status save(em_ctx *ctx, em_rdd *rdd)
{
    char dir[4200];
    em__job_result r;
    em_status st;

    if (rdd->checkpoint == EM__CKPT_MARKED) {
        snprintf(dir, sizeof(dir), "%s/rdd-%d", ctx->checkpoint_dir,
                 rdd->id);
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
            return em__err(EM_EIO, "checkpoint: cannot create %s: %s", dir,
                           strerror(errno));
        st = em__job_run(ctx, rdd, NULL, 0, write_task, em_nil(), &r);
    } else {
        st = em__job_run(ctx, rdd, NULL, 0, touch_task, em_nil(), &r);
    }
    if (st != EM_OK)
        return st;
    em__job_result_fini(&r);
    if (rdd->checkpoint == EM__CKPT_MARKED) {
        rdd->kind = &file_kind;
        rdd->storage = EM_STORAGE_NONE;
        em__blocks_drop_rdd(rdd->blocks, rdd->id);
    } else {
        rdd->kind = &local_kind;
    }
    /* cut the lineage: the node reads what was saved */
    rdd->nparents = 0;
    rdd->shuffles = NULL;
    rdd->checkpoint = EM__CKPT_DONE;
    return EM_OK;
}

static em_status visit(em_ctx *ctx, em_rdd *rdd, unsigned epoch)
{
    em_status st;

    if (rdd->visit == epoch)
        return EM_OK;
    rdd->visit = epoch;
    for (int i = 0; i < rdd->nparents; i++) {
        if ((st = visit(ctx, rdd->parents[i], epoch)) != EM_OK)
            return st;
    }
    if (rdd->checkpoint == EM__CKPT_MARKED ||
        rdd->checkpoint == EM__CKPT_LOCAL_MARKED)
        return save(ctx, rdd);
    return EM_OK;
}

em_status em__checkpoint_after_job(em_ctx *ctx, em_rdd *rdd)
{
    unsigned epoch;
    em_status st;

    if (!ctx->has_marked_checkpoints || ctx->is_checkpointing)
        return EM_OK; /* the saving jobs themselves save nothing */
    pthread_mutex_lock(&ctx->lock);
    epoch = ++ctx->visit_epoch;
    pthread_mutex_unlock(&ctx->lock);
    ctx->is_checkpointing = true;
    st = visit(ctx, rdd, epoch);
    ctx->is_checkpointing = false;
    return st;
}

void em__checkpoint_free(em_ctx *ctx)
{
    if (ctx->checkpoint_dir != NULL)
        em__mem_free(ctx->checkpoint_dir, strlen(ctx->checkpoint_dir) + 1);
    ctx->checkpoint_dir = NULL;
}
