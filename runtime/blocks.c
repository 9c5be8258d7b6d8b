/* The block store (see blocks.h). Blocks sit in one array searched
 * linearly (a context holds few of them) with an LRU tick each. A reader
 * pins its block, so eviction never frees what a task is reading.
 */
#include "blocks.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "codec.h"
#include "err.h"
#include "mem.h"
#include "rdd.h"

typedef enum where {
    IN_MEMORY,     /* decoded records in part */
    IN_MEMORY_SER, /* encoded records in ser */
    ON_DISK,       /* encoded records in the file at path */
} where;

typedef struct block {
    int rdd;            /* RDD id */
    int part;           /* partition index */
    em_storage level;   /* requested level */
    where at;           /* where the records are now */
    em__part recs;      /* IN_MEMORY */
    em__buf ser;        /* IN_MEMORY_SER */
    char *path;         /* ON_DISK (mem.h string) */
    int64_t bytes;      /* memory charged to the budget */
    uint64_t tick;      /* last use, for LRU */
    int pins;           /* readers now */
    bool is_dead;       /* removed while pinned: free at unpin */
} block;

typedef struct claim {
    int rdd, part;     /* a block being computed */
} claim;

struct em__blocks {
    pthread_mutex_t lock;
    pthread_cond_t claims_done; /* a claim ended */
    claim *claims;     /* blocks being computed now */
    size_t nclaims, claims_cap;
    block **v;          /* live blocks */
    size_t n, cap;
    int64_t budget;     /* bytes of memory blocks allowed */
    int64_t mem_bytes;  /* bytes of memory blocks held */
    uint64_t clock;     /* LRU clock */
    char *parent_dir;   /* where the store's directory goes */
    char *dir;          /* the store's directory, once made */
    uint64_t file_seq;  /* unique file names */
};

static bool level_has_disk(em_storage l)
{
    return l == EM_MEMORY_AND_DISK || l == EM_MEMORY_AND_DISK_SER ||
           l == EM_DISK_ONLY || l == EM_MEMORY_AND_DISK_2 ||
           l == EM_MEMORY_AND_DISK_SER_2 || l == EM_DISK_ONLY_2;
}

static bool level_is_ser(em_storage l)
{
    return l == EM_MEMORY_ONLY_SER || l == EM_MEMORY_AND_DISK_SER ||
           l == EM_MEMORY_ONLY_SER_2 || l == EM_MEMORY_AND_DISK_SER_2;
}

static bool level_is_disk_only(em_storage l)
{
    return l == EM_DISK_ONLY || l == EM_DISK_ONLY_2;
}

em__blocks *em__blocks_create(int64_t budget_bytes, const char *dir)
{
    em__blocks *b = em__mem_calloc(1, sizeof(*b));

    if (b == NULL)
        return NULL;
    b->parent_dir = em__mem_strdup(dir ? dir : "/tmp");
    if (b->parent_dir == NULL) {
        em__mem_free(b, sizeof(*b));
        return NULL;
    }
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->claims_done, NULL);
    b->budget = budget_bytes;
    return b;
}

static void block_free(em__blocks *b, block *blk)
{
    if (blk->at == IN_MEMORY)
        em__part_fini(&blk->recs);
    em__buf_fini(&blk->ser);
    if (blk->path != NULL) {
        unlink(blk->path);
        em__mem_free(blk->path, strlen(blk->path) + 1);
    }
    b->mem_bytes -= blk->bytes;
    em__mem_free(blk, sizeof(*blk));
}

/* Removes entry i from the array; frees it unless a reader holds it. */
static void block_remove(em__blocks *b, size_t i)
{
    block *blk = b->v[i];

    b->v[i] = b->v[--b->n];
    if (blk->pins > 0) {
        b->mem_bytes -= blk->bytes;
        blk->bytes = 0;
        blk->is_dead = true;
    } else {
        block_free(b, blk);
    }
}

void em__blocks_destroy(em__blocks *b)
{
    if (b == NULL)
        return;
    while (b->n > 0)
        block_remove(b, b->n - 1);
    em__mem_free(b->v, b->cap * sizeof(*b->v));
    if (b->dir != NULL) {
        rmdir(b->dir);
        em__mem_free(b->dir, strlen(b->dir) + 1);
    }
    em__mem_free(b->parent_dir, strlen(b->parent_dir) + 1);
    em__mem_free(b->claims, b->claims_cap * sizeof(*b->claims));
    pthread_cond_destroy(&b->claims_done);
    pthread_mutex_destroy(&b->lock);
    em__mem_free(b, sizeof(*b));
}

static em_status encode_part(const em__part *p, em__buf *out)
{
    for (size_t i = 0; i < p->n; i++) {
        em_status st = em__codec_encode(out, p->recs[i]);
        if (st != EM_OK)
            return st;
    }
    return EM_OK;
}

/* Writes encoded records to a new file in the store's directory. */
static em_status write_file(em__blocks *b, const em__buf *data, char **path_out)
{
    char path[4096];
    FILE *f;
    size_t ok;

    if (b->dir == NULL) {
        snprintf(path, sizeof(path), "%s/ember-blocks-XXXXXX", b->parent_dir);
        if (mkdtemp(path) == NULL)
            return em__err(EM_EIO, "block store: cannot create directory "
                           "%s: %s", path, strerror(errno));
        b->dir = em__mem_strdup(path);
        if (b->dir == NULL) {
            rmdir(path);
            return EM_ENOMEM;
        }
    }
    snprintf(path, sizeof(path), "%s/block-%llu", b->dir,
             (unsigned long long)b->file_seq++);
    f = fopen(path, "wb");
    if (f == NULL)
        return em__err(EM_EIO, "block store: cannot write %s: %s", path,
                       strerror(errno));
    ok = data->len == 0 || fwrite(data->data, 1, data->len, f) == data->len;
    if (fclose(f) != 0 || !ok) {
        em_status st = em__err(EM_EIO, "block store: writing %s failed: %s",
                               path, strerror(errno));
        unlink(path);
        return st;
    }
    *path_out = em__mem_strdup(path);
    if (*path_out == NULL) {
        unlink(path);
        return EM_ENOMEM;
    }
    return EM_OK;
}

/* Moves a memory block to disk (its level allows it). */
static em_status spill_block(em__blocks *b, block *blk)
{
    em__buf tmp = EM__BUF_INIT;
    em__buf *data = &blk->ser;
    em_status st;

    if (blk->at == IN_MEMORY) {
        st = encode_part(&blk->recs, &tmp);
        if (st != EM_OK)
            goto out;
        data = &tmp;
    }
    st = write_file(b, data, &blk->path);
    if (st != EM_OK)
        goto out;
    if (blk->at == IN_MEMORY)
        em__part_fini(&blk->recs);
    em__buf_fini(&blk->ser);
    blk->at = ON_DISK;
    b->mem_bytes -= blk->bytes;
    blk->bytes = 0;
out:
    em__buf_fini(&tmp);
    return st;
}

/* Evicts least recently used unpinned memory blocks until `need` more
 * bytes fit the budget (or nothing more can go). */
static void make_room(em__blocks *b, int64_t need)
{
    while (b->mem_bytes + need > b->budget) {
        size_t victim = SIZE_MAX;
        for (size_t i = 0; i < b->n; i++) {
            block *blk = b->v[i];
            if (blk->pins > 0 || blk->at == ON_DISK)
                continue;
            if (victim == SIZE_MAX || blk->tick < b->v[victim]->tick)
                victim = i;
        }
        if (victim == SIZE_MAX)
            return;
        if (!level_has_disk(b->v[victim]->level) ||
            spill_block(b, b->v[victim]) != EM_OK)
            block_remove(b, victim);
    }
}

static size_t find(em__blocks *b, int rdd, int part)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->v[i]->rdd == rdd && b->v[i]->part == part)
            return i;
    }
    return SIZE_MAX;
}

em_status em__blocks_put(em__blocks *b, int rdd, int part, em_storage level,
                         em__part *p)
{
    block *blk = em__mem_calloc(1, sizeof(*blk));
    em_status st = EM_OK;
    size_t i;

    if (blk == NULL) {
        em__part_fini(p);
        return EM_ENOMEM;
    }
    blk->rdd = rdd;
    blk->part = part;
    blk->level = level;
    if (level_is_ser(level) || level_is_disk_only(level)) {
        st = encode_part(p, &blk->ser);
        em__part_fini(p);
        blk->at = IN_MEMORY_SER;
        blk->bytes = (int64_t)blk->ser.cap;
    } else {
        blk->recs = *p;
        memset(p, 0, sizeof(*p));
        blk->at = IN_MEMORY;
        blk->bytes = (int64_t)em__part_bytes(&blk->recs);
    }
    if (st != EM_OK)
        goto out_free;
    pthread_mutex_lock(&b->lock);
    if ((i = find(b, rdd, part)) != SIZE_MAX)
        block_remove(b, i);
    if (level_is_disk_only(level) ||
        (blk->bytes > b->budget && level_has_disk(level))) {
        b->mem_bytes += blk->bytes;
        st = spill_block(b, blk);
    } else if (blk->bytes > b->budget) {
        st = EM_ECANCELED; /* does not fit: not stored */
        blk->bytes = 0;    /* never charged */
    } else {
        make_room(b, blk->bytes);
        b->mem_bytes += blk->bytes;
    }
    if (st == EM_OK) {
        if (em__mem_grow((void **)&b->v, &b->cap, b->n + 1,
                         sizeof(*b->v)) != 0) {
            st = EM_ENOMEM;
        } else {
            blk->tick = ++b->clock;
            b->v[b->n++] = blk;
            blk = NULL;
        }
    }
    if (blk != NULL)
        block_free(b, blk);
    pthread_mutex_unlock(&b->lock);
    return st == EM_ECANCELED ? EM_OK : st;
out_free:
    blk->bytes = 0; /* never charged */
    block_free(b, blk);
    return st;
}

/* Decodes encoded records and pushes them one at a time. */
static em_status push_encoded(const uint8_t *p, size_t n, em_task *t,
                              em__sink *out)
{
    size_t off = 0;

    while (off < n) {
        em__arena_mark m = em__arena_mark_get(t->scratch);
        em_val rec;
        size_t used;
        em_status st = em__codec_decode(p + off, n - off, NULL, t->scratch,
                                        &rec, &used);
        if (st == EM_OK)
            st = em__sink_push(out, t, rec);
        em__arena_rewind(t->scratch, m);
        if (st != EM_OK)
            return st;
        off += used;
    }
    return EM_OK;
}

/* Reads a whole block file; EM_ENOENT when it is gone. */
static em_status read_file(const char *path, em__buf *out)
{
    FILE *f = fopen(path, "rb");
    uint8_t chunk[65536];
    size_t got;
    em_status st = EM_OK;

    if (f == NULL)
        return errno == ENOENT ? EM_ENOENT
                               : em__err(EM_EIO, "block store: cannot read "
                                         "%s: %s", path, strerror(errno));
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if ((st = em__buf_append(out, chunk, got)) != EM_OK)
            break;
    }
    if (st == EM_OK && ferror(f))
        st = em__err(EM_EIO, "block store: reading %s failed", path);
    fclose(f);
    return st;
}

em_status em__blocks_get(em__blocks *b, int rdd, int part, em_task *t,
                         em__sink *out)
{
    em__buf file = EM__BUF_INIT;
    em_status st;
    block *blk;
    size_t i;

    pthread_mutex_lock(&b->lock);
    i = find(b, rdd, part);
    if (i == SIZE_MAX) {
        pthread_mutex_unlock(&b->lock);
        return EM_ENOENT;
    }
    blk = b->v[i];
    blk->pins++;
    blk->tick = ++b->clock;
    pthread_mutex_unlock(&b->lock);

    switch (blk->at) {
    case IN_MEMORY:
        st = em__push_all(t, blk->recs.recs, blk->recs.n, out);
        break;
    case IN_MEMORY_SER:
        st = push_encoded(blk->ser.data, blk->ser.len, t, out);
        break;
    default:
        st = read_file(blk->path, &file);
        if (st == EM_OK)
            st = push_encoded(file.data, file.len, t, out);
        em__buf_fini(&file);
        break;
    }

    pthread_mutex_lock(&b->lock);
    blk->pins--;
    if (st == EM_ENOENT && !blk->is_dead && (i = find(b, rdd, part)) !=
        SIZE_MAX && b->v[i] == blk)
        block_remove(b, i); /* its file vanished: forget it (and free it,
                               or mark it dead while others read it) */
    else if (blk->is_dead && blk->pins == 0)
        block_free(b, blk);
    pthread_mutex_unlock(&b->lock);
    return st;
}

em_status em__blocks_lend(em__blocks *b, int rdd, int part,
                          const em_val **recs, size_t *n, void **loan)
{
    size_t i;
    block *blk;

    pthread_mutex_lock(&b->lock);
    i = find(b, rdd, part);
    if (i == SIZE_MAX || b->v[i]->at != IN_MEMORY) {
        pthread_mutex_unlock(&b->lock);
        return EM_ENOENT;
    }
    blk = b->v[i];
    blk->pins++;
    blk->tick = ++b->clock;
    *recs = blk->recs.recs;
    *n = blk->recs.n;
    *loan = blk;
    pthread_mutex_unlock(&b->lock);
    return EM_OK;
}

void em__blocks_give_back(em__blocks *b, void *loan)
{
    block *blk = loan;

    pthread_mutex_lock(&b->lock);
    if (--blk->pins == 0 && blk->is_dead)
        block_free(b, blk);
    pthread_mutex_unlock(&b->lock);
}

static size_t find_claim(const em__blocks *b, int rdd, int part)
{
    for (size_t i = 0; i < b->nclaims; i++) {
        if (b->claims[i].rdd == rdd && b->claims[i].part == part)
            return i;
    }
    return SIZE_MAX;
}

em_status em__blocks_begin_compute(em__blocks *b, int rdd, int part)
{
    bool has_waited = false;
    void *p;

    pthread_mutex_lock(&b->lock);
    while (find_claim(b, rdd, part) != SIZE_MAX) {
        pthread_cond_wait(&b->claims_done, &b->lock);
        has_waited = true;
    }
    if (has_waited && find(b, rdd, part) != SIZE_MAX) {
        pthread_mutex_unlock(&b->lock);
        return EM_EEXIST; /* the other task stored it */
    }
    p = b->claims;
    if (em__mem_grow(&p, &b->claims_cap, b->nclaims + 1,
                     sizeof(*b->claims)) != 0) {
        pthread_mutex_unlock(&b->lock);
        return EM_ENOMEM;
    }
    b->claims = p;
    b->claims[b->nclaims].rdd = rdd;
    b->claims[b->nclaims].part = part;
    b->nclaims++;
    pthread_mutex_unlock(&b->lock);
    return EM_OK;
}

void em__blocks_end_compute(em__blocks *b, int rdd, int part)
{
    size_t i;

    pthread_mutex_lock(&b->lock);
    if ((i = find_claim(b, rdd, part)) != SIZE_MAX)
        b->claims[i] = b->claims[--b->nclaims];
    pthread_cond_broadcast(&b->claims_done);
    pthread_mutex_unlock(&b->lock);
}

void em__blocks_drop_rdd(em__blocks *b, int rdd)
{
    pthread_mutex_lock(&b->lock);
    for (size_t i = b->n; i-- > 0;) {
        if (b->v[i]->rdd == rdd)
            block_remove(b, i);
    }
    pthread_mutex_unlock(&b->lock);
}

int em__blocks_count_rdd(em__blocks *b, int rdd)
{
    int n = 0;

    pthread_mutex_lock(&b->lock);
    for (size_t i = 0; i < b->n; i++)
        n += b->v[i]->rdd == rdd;
    pthread_mutex_unlock(&b->lock);
    return n;
}

void em__blocks_evict_memory(em__blocks *b)
{
    int64_t budget;

    pthread_mutex_lock(&b->lock);
    budget = b->budget;
    b->budget = 0;
    make_room(b, 0);
    b->budget = budget;
    pthread_mutex_unlock(&b->lock);
}

int64_t em__blocks_memory_bytes(em__blocks *b)
{
    int64_t n;

    pthread_mutex_lock(&b->lock);
    n = b->mem_bytes;
    pthread_mutex_unlock(&b->lock);
    return n;
}
