/* RDD objects in Lua: transformations, persistence and inspection, with
 * PySpark's names and argument order. A transformation only records its
 * arguments; the C node is built at the first action that needs it (or
 * getNumPartitions, id, toDebugString), so closures capture their globals
 * then, as PySpark's PipelinedRDD does. Actions are in lactions.c.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ember/barrier.h"
#include "lint.h"

/* Builds the node from the recorded arguments, pushed at base (the first
 * is the receiver); temporary data goes to `a`. NULL with em_last_error. */
typedef em_rdd *(*builder)(lua_State *L, int base, em_arena *a);

typedef struct lrdd {
    em__lctx *owner;  /* the context object (user value 1 keeps it) */
    em_rdd *node;     /* NULL until built */
    builder build;    /* how to build it */
    int level;        /* storage level to set when built; 0 none */
    int checkpoint;   /* 1 checkpoint, 2 localCheckpoint when built */
} lrdd;

/* User values of an RDD object. */
enum { UV_CTX = 1, UV_ARGS = 2, UV_NAME = 3, UV_N = 3 };

static lrdd *check_rdd(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, EM_LUA_RDD);
}

/* Pushes a new RDD object sharing the context object of the value at
 * ctx_idx (an RDD or the context). */
static lrdd *new_rdd(lua_State *L, int ctx_idx)
{
    lrdd *r;
    em__lctx *owner;

    ctx_idx = lua_absindex(L, ctx_idx);
    if (luaL_testudata(L, ctx_idx, EM_LUA_RDD)) {
        owner = ((lrdd *)lua_touserdata(L, ctx_idx))->owner;
        lua_getiuservalue(L, ctx_idx, UV_CTX);
    } else {
        owner = luaL_checkudata(L, ctx_idx, EM_LUA_CTX);
        lua_pushvalue(L, ctx_idx);
    }
    r = lua_newuserdatauv(L, sizeof(*r), UV_N);
    memset(r, 0, sizeof(*r));
    r->owner = owner;
    luaL_setmetatable(L, EM_LUA_RDD);
    lua_insert(L, -2);
    lua_setiuservalue(L, -2, UV_CTX);
    return r;
}

void em__lua_push_rdd(lua_State *L, int ctx_idx, em_rdd *node)
{
    new_rdd(L, ctx_idx)->node = node;
}

int em__lua_fail(lua_State *L, const char *what)
{
    em__lua_interrupted = 0;
    return luaL_error(L, "%s: %s", what, em_last_error());
}

void em__lua_action_done(lua_State *L, em_status st, const char *what)
{
    bool was_interrupted = em__lua_interrupted != 0;

    em__lua_interrupted = 0;
    if (st == EM_OK)
        return;
    if (was_interrupted)
        luaL_error(L, "%s: interrupted", what);
    luaL_error(L, "%s: %s", what, em_last_error());
}

em_rdd *em__lua_rdd_node(lua_State *L, int idx)
{
    lrdd *r = check_rdd(L, idx);
    int top = lua_gettop(L), n, base;
    em_arena *a;
    em_rdd *node;

    idx = lua_absindex(L, idx);
    if (r->owner->ctx == NULL)
        luaL_error(L, "the SparkContext was stopped");
    if (r->node != NULL)
        return r->node;
    a = em__lua_arena(L);
    lua_getiuservalue(L, idx, UV_ARGS);
    lua_getfield(L, -1, "n");
    n = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    luaL_checkstack(L, n + 8, "too many arguments");
    for (int i = 1; i <= n; i++)
        lua_rawgeti(L, top + 2, i);
    base = top + 3;
    node = r->build(L, base, a);
    if (node == NULL)
        em__lua_fail(L, "building the RDD");
    r->node = node;
    if (r->level > 0 && em_rdd_persist(node, (em_storage)r->level) != EM_OK)
        em__lua_fail(L, "persist");
    if (r->checkpoint == 1 && em_rdd_checkpoint(node) != EM_OK)
        em__lua_fail(L, "checkpoint");
    if (r->checkpoint == 2 && em_rdd_local_checkpoint(node) != EM_OK)
        em__lua_fail(L, "localCheckpoint");
    if (lua_getiuservalue(L, idx, UV_NAME) == LUA_TSTRING)
        em_rdd_set_name(node, lua_tostring(L, -1));
    lua_pushnil(L); /* the arguments are not needed any more */
    lua_setiuservalue(L, idx, UV_ARGS);
    em__lua_arena_free(L, top + 1);
    lua_settop(L, top);
    return node;
}

/* ---- argument helpers for builders ---- */

static em_fn fn_at(lua_State *L, int idx, int mode, em_arena *a)
{
    if (lua_isnoneornil(L, idx))
        return EM_FN_NONE;
    return em__lua_check_fn(L, idx, mode, a);
}

static int int_at(lua_State *L, int idx, int def)
{
    return lua_isnoneornil(L, idx) ? def : (int)lua_tointeger(L, idx);
}

static bool bool_at(lua_State *L, int idx, bool def)
{
    return lua_isnoneornil(L, idx) ? def : lua_toboolean(L, idx);
}

/* Validates the arguments after the receiver against sig: f function,
 * F optional function, i optional integer, I integer, n number, b
 * optional boolean, r RDD, s string, v any value, . anything. */
static void check_sig(lua_State *L, const char *sig)
{
    for (int i = 2; *sig; sig++, i++) {
        switch (*sig) {
        case 'f':
            luaL_checktype(L, i, LUA_TFUNCTION);
            em__lua_precheck_fn(L, i);
            break;
        case 'F':
            if (!lua_isnoneornil(L, i)) {
                luaL_checktype(L, i, LUA_TFUNCTION);
                em__lua_precheck_fn(L, i);
            }
            break;
        case 'i':
            luaL_optinteger(L, i, 0);
            break;
        case 'I':
            luaL_checkinteger(L, i);
            break;
        case 'n':
            luaL_checknumber(L, i);
            break;
        case 'b':
            if (!lua_isnoneornil(L, i))
                luaL_checktype(L, i, LUA_TBOOLEAN);
            break;
        case 'r':
            check_rdd(L, i);
            break;
        case 's':
            luaL_checkstring(L, i);
            break;
        case 'v':
            luaL_checkany(L, i);
            break;
        default:
            break;
        }
    }
}

/* A transformation: records the call's arguments in a new RDD object. */
static int lazy(lua_State *L, builder b, const char *sig)
{
    int n = lua_gettop(L);
    lrdd *r;

    check_rdd(L, 1);
    check_sig(L, sig);
    lua_createtable(L, n, 1);
    for (int i = 1; i <= n; i++) {
        lua_pushvalue(L, i);
        lua_rawseti(L, -2, i);
    }
    lua_pushinteger(L, n);
    lua_setfield(L, -2, "n");
    r = new_rdd(L, 1);
    r->build = b;
    lua_insert(L, -2);
    lua_setiuservalue(L, -2, UV_ARGS);
    return 1;
}

#define NODE(i) em__lua_rdd_node(L, (i))

/* ---- builders and methods, in the order of include/ember.h ---- */

static em_rdd *b_map(lua_State *L, int b, em_arena *a)
{
    return em_rdd_map(NODE(b), fn_at(L, b + 1, EM_LUA_MODE_PLAIN, a));
}
static int m_map(lua_State *L) { return lazy(L, b_map, "f"); }

static em_rdd *b_filter(lua_State *L, int b, em_arena *a)
{
    return em_rdd_filter(NODE(b), fn_at(L, b + 1, EM_LUA_MODE_PLAIN, a));
}
static int m_filter(lua_State *L) { return lazy(L, b_filter, "f"); }

static em_rdd *b_flat_map(lua_State *L, int b, em_arena *a)
{
    return em_rdd_flat_map(NODE(b), fn_at(L, b + 1, EM_LUA_MODE_FLAT, a));
}
static int m_flat_map(lua_State *L) { return lazy(L, b_flat_map, "f"); }

static em_rdd *b_map_partitions(lua_State *L, int b, em_arena *a)
{
    return em_rdd_map_partitions(NODE(b),
                                 fn_at(L, b + 1, EM_LUA_MODE_PART, a));
}
static int m_map_partitions(lua_State *L)
{
    return lazy(L, b_map_partitions, "fb");
}

/* rdd:barrier():mapPartitions(f): an RDDBarrier holds the RDD. */
#define EM_LUA_RDD_BARRIER "ember.RDDBarrier"

static em_rdd *b_barrier_map_partitions(lua_State *L, int b, em_arena *a)
{
    return em_rdd_barrier_map_partitions(
        NODE(b), fn_at(L, b + 1, EM_LUA_MODE_PART, a));
}
static int barrier_map_partitions(lua_State *L)
{
    luaL_checkudata(L, 1, EM_LUA_RDD_BARRIER);
    lua_getiuservalue(L, 1, 1);
    lua_replace(L, 1);
    return lazy(L, b_barrier_map_partitions, "fb");
}
static int m_barrier(lua_State *L)
{
    check_rdd(L, 1);
    lua_newuserdatauv(L, 1, 1);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, EM_LUA_RDD_BARRIER);
    return 1;
}

static em_rdd *b_map_partitions_wi(lua_State *L, int b, em_arena *a)
{
    return em_rdd_map_partitions_with_index(
        NODE(b), fn_at(L, b + 1, EM_LUA_MODE_PARTIDX, a));
}
static int m_map_partitions_wi(lua_State *L)
{
    return lazy(L, b_map_partitions_wi, "fb");
}

static em_rdd *b_glom(lua_State *L, int b, em_arena *a)
{
    return em_rdd_glom(NODE(b));
}
static int m_glom(lua_State *L) { return lazy(L, b_glom, ""); }

static em_rdd *b_map_values(lua_State *L, int b, em_arena *a)
{
    return em_rdd_map_values(NODE(b), fn_at(L, b + 1, EM_LUA_MODE_PLAIN, a));
}
static int m_map_values(lua_State *L) { return lazy(L, b_map_values, "f"); }

static em_rdd *b_flat_map_values(lua_State *L, int b, em_arena *a)
{
    return em_rdd_flat_map_values(NODE(b),
                                  fn_at(L, b + 1, EM_LUA_MODE_FLAT, a));
}
static int m_flat_map_values(lua_State *L)
{
    return lazy(L, b_flat_map_values, "f");
}

static em_rdd *b_key_by(lua_State *L, int b, em_arena *a)
{
    return em_rdd_key_by(NODE(b), fn_at(L, b + 1, EM_LUA_MODE_PLAIN, a));
}
static int m_key_by(lua_State *L) { return lazy(L, b_key_by, "f"); }

static em_rdd *b_keys(lua_State *L, int b, em_arena *a)
{
    return em_rdd_keys(NODE(b));
}
static int m_keys(lua_State *L) { return lazy(L, b_keys, ""); }

static em_rdd *b_values(lua_State *L, int b, em_arena *a)
{
    return em_rdd_values(NODE(b));
}
static int m_values(lua_State *L) { return lazy(L, b_values, ""); }

static em_rdd *b_zip(lua_State *L, int b, em_arena *a)
{
    return em_rdd_zip(NODE(b), NODE(b + 1));
}
static int m_zip(lua_State *L) { return lazy(L, b_zip, "r"); }

static em_rdd *b_zip_with_index(lua_State *L, int b, em_arena *a)
{
    return em_rdd_zip_with_index(NODE(b));
}
static int m_zip_with_index(lua_State *L)
{
    return lazy(L, b_zip_with_index, "");
}

static em_rdd *b_zip_with_unique_id(lua_State *L, int b, em_arena *a)
{
    return em_rdd_zip_with_unique_id(NODE(b));
}
static int m_zip_with_unique_id(lua_State *L)
{
    return lazy(L, b_zip_with_unique_id, "");
}

static em_rdd *b_sample(lua_State *L, int b, em_arena *a)
{
    return em_rdd_sample(NODE(b), lua_toboolean(L, b + 1),
                         lua_tonumber(L, b + 2),
                         (uint64_t)lua_tointeger(L, b + 3));
}
static int m_sample(lua_State *L)
{
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    if (luaL_checknumber(L, 3) < 0)
        return luaL_argerror(L, 3, "fraction must be >= 0");
    if (lua_isnoneornil(L, 4)) { /* no seed: a different sample each time */
        lua_settop(L, 3);
        lua_pushinteger(L, (lua_Integer)time(NULL) ^
                               (lua_Integer)(uintptr_t)lua_topointer(L, 1));
    }
    return lazy(L, b_sample, "bnI");
}

static em_rdd *b_coalesce(lua_State *L, int b, em_arena *a)
{
    int n = int_at(L, b + 1, 1);

    if (bool_at(L, b + 2, false))
        return em_rdd_coalesce_shuffle(NODE(b), n);
    return em_rdd_coalesce(NODE(b), n);
}
static int m_coalesce(lua_State *L) { return lazy(L, b_coalesce, "Ib"); }

static em_rdd *b_repartition(lua_State *L, int b, em_arena *a)
{
    return em_rdd_repartition(NODE(b), int_at(L, b + 1, 1));
}
static int m_repartition(lua_State *L) { return lazy(L, b_repartition, "I"); }

static em_rdd *b_pipe(lua_State *L, int b, em_arena *a)
{
    return em_rdd_pipe(NODE(b), lua_tostring(L, b + 1));
}
static int m_pipe(lua_State *L) { return lazy(L, b_pipe, "s"); }

/* rdd:union(other, ...) */
static em_rdd *b_union(lua_State *L, int b, em_arena *a)
{
    int n = lua_gettop(L) - b + 1;
    em_rdd **nodes = em_arena_alloc(a, (size_t)n * sizeof(*nodes));

    if (nodes == NULL)
        return NULL;
    for (int i = 0; i < n; i++)
        nodes[i] = NODE(b + i);
    return em_ctx_union(em_rdd_ctx(nodes[0]), nodes, (size_t)n);
}
static int m_union(lua_State *L)
{
    for (int i = 2; i <= lua_gettop(L); i++)
        check_rdd(L, i);
    return lazy(L, b_union, "r");
}

/* ---- wide ---- */

static em_rdd *b_partition_by(lua_State *L, int b, em_arena *a)
{
    return em_rdd_partition_by(NODE(b), int_at(L, b + 1, 0),
                               fn_at(L, b + 2, EM_LUA_MODE_PLAIN, a));
}
static int m_partition_by(lua_State *L)
{
    return lazy(L, b_partition_by, "IF");
}

static em_rdd *b_combine_by_key(lua_State *L, int b, em_arena *a)
{
    return em_rdd_combine_by_key(NODE(b),
                                 fn_at(L, b + 1, EM_LUA_MODE_PLAIN, a),
                                 fn_at(L, b + 2, EM_LUA_MODE_PLAIN, a),
                                 fn_at(L, b + 3, EM_LUA_MODE_PLAIN, a),
                                 int_at(L, b + 4, 0));
}
static int m_combine_by_key(lua_State *L)
{
    return lazy(L, b_combine_by_key, "fffi");
}

static em_rdd *b_reduce_by_key(lua_State *L, int b, em_arena *a)
{
    return em_rdd_reduce_by_key(NODE(b),
                                fn_at(L, b + 1, EM_LUA_MODE_PLAIN, a),
                                int_at(L, b + 2, 0));
}
static int m_reduce_by_key(lua_State *L)
{
    return lazy(L, b_reduce_by_key, "fi");
}

static em_rdd *b_fold_by_key(lua_State *L, int b, em_arena *a)
{
    em_val zero = em__lua_check_val(L, b + 1, a, "foldByKey: zeroValue");

    return em_rdd_fold_by_key(NODE(b), zero,
                              fn_at(L, b + 2, EM_LUA_MODE_PLAIN, a),
                              int_at(L, b + 3, 0));
}
static int m_fold_by_key(lua_State *L)
{
    return lazy(L, b_fold_by_key, "vfi");
}

static em_rdd *b_aggregate_by_key(lua_State *L, int b, em_arena *a)
{
    em_val zero = em__lua_check_val(L, b + 1, a,
                                    "aggregateByKey: zeroValue");

    return em_rdd_aggregate_by_key(NODE(b), zero,
                                   fn_at(L, b + 2, EM_LUA_MODE_PLAIN, a),
                                   fn_at(L, b + 3, EM_LUA_MODE_PLAIN, a),
                                   int_at(L, b + 4, 0));
}
static int m_aggregate_by_key(lua_State *L)
{
    return lazy(L, b_aggregate_by_key, "vffi");
}

static em_rdd *b_group_by_key(lua_State *L, int b, em_arena *a)
{
    return em_rdd_group_by_key(NODE(b), int_at(L, b + 1, 0));
}
static int m_group_by_key(lua_State *L)
{
    return lazy(L, b_group_by_key, "i");
}

static em_rdd *b_group_by(lua_State *L, int b, em_arena *a)
{
    return em_rdd_group_by(NODE(b), fn_at(L, b + 1, EM_LUA_MODE_PLAIN, a),
                           int_at(L, b + 2, 0));
}
static int m_group_by(lua_State *L) { return lazy(L, b_group_by, "fi"); }

static em_rdd *b_distinct(lua_State *L, int b, em_arena *a)
{
    return em_rdd_distinct(NODE(b), int_at(L, b + 1, 0));
}
static int m_distinct(lua_State *L) { return lazy(L, b_distinct, "i"); }

static em_rdd *b_sort_by_key(lua_State *L, int b, em_arena *a)
{
    return em_rdd_sort_by_key(NODE(b), bool_at(L, b + 1, true),
                              int_at(L, b + 2, 0),
                              fn_at(L, b + 3, EM_LUA_MODE_PLAIN, a));
}
static int m_sort_by_key(lua_State *L)
{
    return lazy(L, b_sort_by_key, "biF");
}

static em_rdd *b_sort_by(lua_State *L, int b, em_arena *a)
{
    return em_rdd_sort_by(NODE(b), fn_at(L, b + 1, EM_LUA_MODE_PLAIN, a),
                          bool_at(L, b + 2, true), int_at(L, b + 3, 0));
}
static int m_sort_by(lua_State *L) { return lazy(L, b_sort_by, "fbi"); }

static em_rdd *b_repart_sort(lua_State *L, int b, em_arena *a)
{
    return em_rdd_repartition_and_sort_within_partitions(
        NODE(b), int_at(L, b + 1, 0), fn_at(L, b + 2, EM_LUA_MODE_PLAIN, a),
        bool_at(L, b + 3, true), fn_at(L, b + 4, EM_LUA_MODE_PLAIN, a));
}
static int m_repart_sort(lua_State *L)
{
    return lazy(L, b_repart_sort, "iFbF");
}

/* cogroup(other, numPartitions); groupWith(other, ...) */
static em_rdd *b_cogroup(lua_State *L, int b, em_arena *a)
{
    em_rdd *nodes[2] = {NODE(b), NODE(b + 1)};

    return em_rdd_cogroup(nodes, 2, int_at(L, b + 2, 0));
}
static int m_cogroup(lua_State *L) { return lazy(L, b_cogroup, "ri"); }

static em_rdd *b_group_with(lua_State *L, int b, em_arena *a)
{
    int n = lua_gettop(L) - b + 1;
    em_rdd **nodes = em_arena_alloc(a, (size_t)n * sizeof(*nodes));

    if (nodes == NULL)
        return NULL;
    for (int i = 0; i < n; i++)
        nodes[i] = NODE(b + i);
    return em_rdd_cogroup(nodes, (size_t)n, 0);
}
static int m_group_with(lua_State *L)
{
    for (int i = 2; i <= lua_gettop(L); i++)
        check_rdd(L, i);
    return lazy(L, b_group_with, "r");
}

#define JOIN(name, cfn)                                                       \
    static em_rdd *b_##name(lua_State *L, int b, em_arena *a)                 \
    {                                                                         \
        return cfn(NODE(b), NODE(b + 1), int_at(L, b + 2, 0));                \
    }                                                                         \
    static int m_##name(lua_State *L) { return lazy(L, b_##name, "ri"); }

JOIN(join, em_rdd_join)
JOIN(left_outer_join, em_rdd_left_outer_join)
JOIN(right_outer_join, em_rdd_right_outer_join)
JOIN(full_outer_join, em_rdd_full_outer_join)
JOIN(subtract, em_rdd_subtract)
JOIN(subtract_by_key, em_rdd_subtract_by_key)

static em_rdd *b_intersection(lua_State *L, int b, em_arena *a)
{
    return em_rdd_intersection(NODE(b), NODE(b + 1));
}
static int m_intersection(lua_State *L)
{
    return lazy(L, b_intersection, "r");
}

static em_rdd *b_cartesian(lua_State *L, int b, em_arena *a)
{
    return em_rdd_cartesian(NODE(b), NODE(b + 1));
}
static int m_cartesian(lua_State *L) { return lazy(L, b_cartesian, "r"); }

/* ---- persistence and inspection ---- */

static int m_persist(lua_State *L)
{
    lrdd *r = check_rdd(L, 1);
    const char *name = luaL_optstring(L, 2, "MEMORY_ONLY");
    int level = em__lua_storage_of(name);

    if (level <= 0)
        return luaL_argerror(L, 2, "not a storage level (use "
                                   "ember.StorageLevel.MEMORY_ONLY, ...)");
    if (r->node != NULL) {
        if (em_rdd_persist(r->node, (em_storage)level) != EM_OK)
            return em__lua_fail(L, "persist");
    } else if (r->level != 0 && r->level != level) {
        return luaL_error(L, "persist: cannot change the storage level of "
                             "an RDD once it has one");
    }
    r->level = level;
    lua_settop(L, 1);
    return 1;
}

static int m_cache(lua_State *L)
{
    lua_settop(L, 1);
    lua_pushliteral(L, "MEMORY_ONLY");
    return m_persist(L);
}

static int m_unpersist(lua_State *L)
{
    lrdd *r = check_rdd(L, 1);

    if (r->node != NULL && em_rdd_unpersist(r->node) != EM_OK)
        return em__lua_fail(L, "unpersist");
    r->level = 0;
    lua_settop(L, 1);
    return 1;
}

static int m_get_storage_level(lua_State *L)
{
    lrdd *r = check_rdd(L, 1);

    lua_pushstring(L, em__lua_storage_name(
                          r->node ? (int)em_rdd_storage(r->node) : r->level));
    return 1;
}

static int m_checkpoint(lua_State *L)
{
    lrdd *r = check_rdd(L, 1);

    if (r->node != NULL) {
        if (em_rdd_checkpoint(r->node) != EM_OK)
            return em__lua_fail(L, "checkpoint");
    } else {
        r->checkpoint = 1;
    }
    return 0;
}

static int m_local_checkpoint(lua_State *L)
{
    lrdd *r = check_rdd(L, 1);

    if (r->node != NULL) {
        if (em_rdd_local_checkpoint(r->node) != EM_OK)
            return em__lua_fail(L, "localCheckpoint");
    } else {
        r->checkpoint = 2;
    }
    return 0;
}

static int m_is_checkpointed(lua_State *L)
{
    lrdd *r = check_rdd(L, 1);

    lua_pushboolean(L, r->node != NULL && em_rdd_is_checkpointed(r->node));
    return 1;
}

static int m_get_num_partitions(lua_State *L)
{
    lua_pushinteger(L, em_rdd_num_partitions(NODE(1)));
    return 1;
}

static int m_id(lua_State *L)
{
    lua_pushinteger(L, em_rdd_id(NODE(1)));
    return 1;
}

static int m_set_name(lua_State *L)
{
    lrdd *r = check_rdd(L, 1);

    luaL_checkstring(L, 2);
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, 1, UV_NAME);
    if (r->node != NULL)
        em_rdd_set_name(r->node, lua_tostring(L, 2));
    lua_settop(L, 1);
    return 1;
}

static int m_name(lua_State *L)
{
    check_rdd(L, 1);
    lua_getiuservalue(L, 1, UV_NAME);
    return 1;
}

static int m_to_debug_string(lua_State *L)
{
    em_rdd *node = NODE(1);
    em_arena *a = em__lua_arena(L);
    const char *s;

    if (em_rdd_debug_string(node, a, &s) != EM_OK)
        return em__lua_fail(L, "toDebugString");
    lua_pushstring(L, s);
    return 1;
}

static int rdd_tostring(lua_State *L)
{
    lrdd *r = check_rdd(L, 1);

    if (r->node != NULL && r->owner->ctx != NULL)
        lua_pushfstring(L, "RDD[%d]", em_rdd_id(r->node));
    else
        lua_pushliteral(L, "RDD[not built yet]");
    return 1;
}

static const luaL_Reg methods[] = {
    {"map", m_map},
    {"filter", m_filter},
    {"flatMap", m_flat_map},
    {"mapPartitions", m_map_partitions},
    {"mapPartitionsWithIndex", m_map_partitions_wi},
    {"barrier", m_barrier},
    {"glom", m_glom},
    {"mapValues", m_map_values},
    {"flatMapValues", m_flat_map_values},
    {"keyBy", m_key_by},
    {"keys", m_keys},
    {"values", m_values},
    {"zip", m_zip},
    {"zipWithIndex", m_zip_with_index},
    {"zipWithUniqueId", m_zip_with_unique_id},
    {"sample", m_sample},
    {"coalesce", m_coalesce},
    {"repartition", m_repartition},
    {"pipe", m_pipe},
    {"union", m_union},
    {"partitionBy", m_partition_by},
    {"combineByKey", m_combine_by_key},
    {"reduceByKey", m_reduce_by_key},
    {"foldByKey", m_fold_by_key},
    {"aggregateByKey", m_aggregate_by_key},
    {"groupByKey", m_group_by_key},
    {"groupBy", m_group_by},
    {"distinct", m_distinct},
    {"sortByKey", m_sort_by_key},
    {"sortBy", m_sort_by},
    {"repartitionAndSortWithinPartitions", m_repart_sort},
    {"cogroup", m_cogroup},
    {"groupWith", m_group_with},
    {"join", m_join},
    {"leftOuterJoin", m_left_outer_join},
    {"rightOuterJoin", m_right_outer_join},
    {"fullOuterJoin", m_full_outer_join},
    {"subtract", m_subtract},
    {"subtractByKey", m_subtract_by_key},
    {"intersection", m_intersection},
    {"cartesian", m_cartesian},
    {"persist", m_persist},
    {"cache", m_cache},
    {"unpersist", m_unpersist},
    {"getStorageLevel", m_get_storage_level},
    {"checkpoint", m_checkpoint},
    {"localCheckpoint", m_local_checkpoint},
    {"isCheckpointed", m_is_checkpointed},
    {"getNumPartitions", m_get_num_partitions},
    {"id", m_id},
    {"setName", m_set_name},
    {"name", m_name},
    {"toDebugString", m_to_debug_string},
    {NULL, NULL},
};

/* Attributes: is_cached, context. */
static int rdd_index(lua_State *L)
{
    lrdd *r = check_rdd(L, 1);
    const char *k = luaL_checkstring(L, 2);

    if (lua_getfield(L, lua_upvalueindex(1), k) != LUA_TNIL)
        return 1;
    if (strcmp(k, "is_cached") == 0) {
        lua_pushboolean(L, r->node && r->owner->ctx
                               ? em_rdd_storage(r->node) != EM_STORAGE_NONE
                               : r->level != 0);
    } else if (strcmp(k, "context") == 0) {
        lua_getiuservalue(L, 1, UV_CTX);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

void em__lua_open_rdd(lua_State *L)
{
    if (!luaL_newmetatable(L, EM_LUA_RDD)) {
        lua_pop(L, 1);
        return;
    }
    luaL_newlib(L, methods);
    em__lua_rdd_actions(L, lua_gettop(L));
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "ember.RDD.methods");
    lua_pushcclosure(L, rdd_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, rdd_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    luaL_newmetatable(L, EM_LUA_RDD_BARRIER);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, barrier_map_partitions);
    lua_setfield(L, -2, "mapPartitions");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
