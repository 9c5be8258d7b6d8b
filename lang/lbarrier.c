/* ember.BarrierTaskContext, as PySpark's BarrierTaskContext: inside a task
 * of rdd:barrier():mapPartitions(f), BarrierTaskContext.get() gives the
 * task's partitionId, numTasks, barrier, allGather, allReduce and the
 * bytes it sent (include/ember/barrier.h; docs/collectives.md).
 */
#include <string.h>

#include "ember/barrier.h"
#include "lml_int.h"

#define EM_LUA_BARRIER_CTX "ember.BarrierTaskContext"

typedef struct lbarrier {
    em_barrier *b; /* valid while its task runs */
} lbarrier;

/* The context at idx, refused outside the task it was got in. */
static em_barrier *check_bctx(lua_State *L, int idx)
{
    lbarrier *x = luaL_checkudata(L, idx, EM_LUA_BARRIER_CTX);
    em_task *t = em__lua_task(L);

    if (t == NULL || em_task_barrier(t) != x->b)
        luaL_error(L, "BarrierTaskContext: used outside the barrier task "
                      "that got it");
    return x->b;
}

static void check_status(lua_State *L, em_status st, const char *what)
{
    if (st != EM_OK)
        luaL_error(L, "%s: %s", what, em_last_error());
}

static int bctx_get(lua_State *L)
{
    em_task *t = em__lua_task(L);
    em_barrier *b = t ? em_task_barrier(t) : NULL;
    lbarrier *x;

    if (b == NULL)
        return luaL_error(L, "BarrierTaskContext.get: not in a task of a "
                             "barrier stage (rdd:barrier():mapPartitions(f))");
    x = lua_newuserdatauv(L, sizeof(*x), 0);
    x->b = b;
    luaL_setmetatable(L, EM_LUA_BARRIER_CTX);
    return 1;
}

static int bctx_partition_id(lua_State *L)
{
    lua_pushinteger(L, em_barrier_partition(check_bctx(L, 1)));
    return 1;
}

static int bctx_num_tasks(lua_State *L)
{
    lua_pushinteger(L, em_barrier_num_tasks(check_bctx(L, 1)));
    return 1;
}

static int bctx_barrier(lua_State *L)
{
    check_status(L, em_barrier_sync(check_bctx(L, 1)), "barrier");
    return 0;
}

/* ctx:allGather(value) -> {value of task 0, value of task 1, ...} */
static int bctx_all_gather(lua_State *L)
{
    em_barrier *b = check_bctx(L, 1);
    em_arena *a = em__lua_arena(L);
    int top = lua_gettop(L);
    em_val v = em__lua_check_val(L, 2, a, "allGather"), out;

    check_status(L, em_barrier_all_gather(b, v, a, &out), "allGather");
    em__lua_push_val(L, out);
    em__lua_arena_free(L, top);
    return 1;
}

static em_reduce_op check_op(lua_State *L, int idx)
{
    static const char *const ops[] = {"sum", "mean", "max", "min", NULL};

    return (em_reduce_op)luaL_checkoption(L, idx, "sum", ops);
}

static em_allreduce_algo check_algo(lua_State *L, int idx)
{
    static const char *const algos[] = {"ring", "tree", NULL};
    em_allreduce_algo algo = EM_ALLREDUCE_RING;

    if (lua_isnoneornil(L, idx))
        return algo;
    luaL_checktype(L, idx, LUA_TTABLE);
    if (lua_getfield(L, idx, "algorithm") != LUA_TNIL)
        algo = (em_allreduce_algo)luaL_checkoption(L, -1, NULL, algos);
    lua_pop(L, 1);
    return algo;
}

/* ctx:allReduce(vector, op, {algorithm = "ring" | "tree"}) -> vector: a
 * table of numbers (or a sparse {dim, indices, values}) reduced over the
 * stage's tasks, the same in each. */
static int bctx_all_reduce(lua_State *L)
{
    em_barrier *b = check_bctx(L, 1);
    em_reduce_op op = check_op(L, 3);
    em_allreduce_algo algo = check_algo(L, 4);
    em_arena *a = em__lua_arena(L);
    int top = lua_gettop(L);
    em_val v = em__lml_check_vector(L, 2, a, "allReduce"), out;

    check_status(L, em_barrier_all_reduce(b, v, op, algo, a, &out),
                 "allReduce");
    em__lua_push_val(L, out);
    em__lua_arena_free(L, top);
    return 1;
}

/* ctx:stats() -> {messages, elements, bytes}: what the task has sent. */
static int bctx_stats(lua_State *L)
{
    em_barrier_stats s;

    em_barrier_stats_get(check_bctx(L, 1), &s);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)s.messages);
    lua_setfield(L, -2, "messages");
    lua_pushinteger(L, (lua_Integer)s.elements);
    lua_setfield(L, -2, "elements");
    lua_pushinteger(L, (lua_Integer)s.bytes);
    lua_setfield(L, -2, "bytes");
    return 1;
}

void em__lua_open_barrier(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"partitionId", bctx_partition_id},
        {"numTasks", bctx_num_tasks},
        {"barrier", bctx_barrier},
        {"allGather", bctx_all_gather},
        {"allReduce", bctx_all_reduce},
        {"stats", bctx_stats},
        {NULL, NULL},
    };

    if (luaL_newmetatable(L, EM_LUA_BARRIER_CTX)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, bctx_get);
    lua_setfield(L, -2, "get");
    lua_setfield(L, -2, "BarrierTaskContext");
}
