/* RDD actions in Lua: each builds the lineage (lrdd.c), runs one job
 * through the C API and converts the result to Lua values, with PySpark's
 * names, argument order and results (a Python tuple is one Lua array, None
 * is nil).
 */
#include <math.h>
#include <string.h>

#include "lint.h"

#define NODE(i) em__lua_rdd_node(L, (i))
#define EM_LUA_STATS "ember.StatCounter"

/* Runs an action's C call, then pushes its value and frees the arena. */
#define ACTION(L, what, call_expr)                                            \
    do {                                                                      \
        em_status st_ = (call_expr);                                          \
        em__lua_action_done((L), st_, (what));                                \
    } while (0)

static em_fn fn_at(lua_State *L, int idx, int mode, em_arena *a)
{
    if (lua_isnoneornil(L, idx))
        return EM_FN_NONE;
    return em__lua_check_fn(L, idx, mode, a);
}

/* Pushes v and frees the arena at aidx (v lives in it). */
static int push_result(lua_State *L, em_val v, int aidx)
{
    em__lua_push_val(L, v);
    em__lua_arena_free(L, aidx);
    return 1;
}

/* An action em_status f(rdd, arena, &value) on the RDD at 1: pushes the
 * value. */
static int value_action(lua_State *L, const char *what,
                        em_status (*f)(em_rdd *, em_arena *, em_val *))
{
    em_rdd *r = NODE(1);
    em_arena *a = em__lua_arena(L);
    int ai = lua_gettop(L);
    em_val v;

    ACTION(L, what, f(r, a, &v));
    return push_result(L, v, ai);
}

/* The same with an optional key function at 2 (max, min). */
static int keyed_action(lua_State *L, const char *what,
                        em_status (*f)(em_rdd *, em_fn, em_arena *, em_val *))
{
    em_rdd *r = NODE(1);
    em_arena *a = em__lua_arena(L);
    int ai = lua_gettop(L);
    em_fn key = fn_at(L, 2, EM_LUA_MODE_PLAIN, a);
    em_val v;

    ACTION(L, what, f(r, key, a, &v));
    return push_result(L, v, ai);
}

static int a_collect(lua_State *L)
{
    return value_action(L, "collect", em_rdd_collect);
}

static int a_count(lua_State *L)
{
    em_rdd *r = NODE(1);
    int64_t n = 0;

    ACTION(L, "count", em_rdd_count(r, &n));
    lua_pushinteger(L, n);
    return 1;
}

static int a_first(lua_State *L)
{
    return value_action(L, "first", em_rdd_first);
}

static int a_take(lua_State *L)
{
    em_rdd *r = NODE(1);
    lua_Integer n = luaL_checkinteger(L, 2);
    em_arena *a = em__lua_arena(L);
    int ai = lua_gettop(L);
    em_val v;

    ACTION(L, "take", em_rdd_take(r, n, a, &v));
    return push_result(L, v, ai);
}

static int a_take_ordered(lua_State *L)
{
    em_rdd *r = NODE(1);
    lua_Integer n = luaL_checkinteger(L, 2);
    em_arena *a = em__lua_arena(L);
    int ai = lua_gettop(L);
    em_fn key = fn_at(L, 3, EM_LUA_MODE_PLAIN, a);
    em_val v;

    ACTION(L, "takeOrdered", em_rdd_take_ordered(r, n, key, a, &v));
    return push_result(L, v, ai);
}

static int a_top(lua_State *L)
{
    em_rdd *r = NODE(1);
    lua_Integer n = luaL_checkinteger(L, 2);
    em_arena *a = em__lua_arena(L);
    int ai = lua_gettop(L);
    em_fn key = fn_at(L, 3, EM_LUA_MODE_PLAIN, a);
    em_val v;

    ACTION(L, "top", em_rdd_top(r, n, key, a, &v));
    return push_result(L, v, ai);
}

static int a_reduce(lua_State *L)
{
    em_rdd *r = NODE(1);
    em_arena *a = em__lua_arena(L);
    int ai = lua_gettop(L);
    em_fn f = em__lua_check_fn(L, 2, EM_LUA_MODE_PLAIN, a);
    em_val v;

    ACTION(L, "reduce", em_rdd_reduce(r, f, a, &v));
    return push_result(L, v, ai);
}

static int a_fold(lua_State *L)
{
    em_rdd *r = NODE(1);
    em_arena *a = em__lua_arena(L);
    int ai = lua_gettop(L);
    em_val zero = em__lua_check_val(L, 2, a, "fold: zeroValue");
    em_fn f = em__lua_check_fn(L, 3, EM_LUA_MODE_PLAIN, a);
    em_val v;

    ACTION(L, "fold", em_rdd_fold(r, zero, f, a, &v));
    return push_result(L, v, ai);
}

static int a_aggregate(lua_State *L)
{
    em_rdd *r = NODE(1);
    em_arena *a = em__lua_arena(L);
    int ai = lua_gettop(L);
    em_val zero = em__lua_check_val(L, 2, a, "aggregate: zeroValue");
    em_fn seq = em__lua_check_fn(L, 3, EM_LUA_MODE_PLAIN, a);
    em_fn comb = em__lua_check_fn(L, 4, EM_LUA_MODE_PLAIN, a);
    em_val v;

    ACTION(L, "aggregate", em_rdd_aggregate(r, zero, seq, comb, a, &v));
    return push_result(L, v, ai);
}

static int a_tree_reduce(lua_State *L)
{
    em_rdd *r = NODE(1);
    em_arena *a = em__lua_arena(L);
    int ai = lua_gettop(L);
    em_fn f = em__lua_check_fn(L, 2, EM_LUA_MODE_PLAIN, a);
    int depth = (int)luaL_optinteger(L, 3, 2);
    em_val v;

    ACTION(L, "treeReduce", em_rdd_tree_reduce(r, f, depth, a, &v));
    return push_result(L, v, ai);
}

static int a_tree_aggregate(lua_State *L)
{
    em_rdd *r = NODE(1);
    em_arena *a = em__lua_arena(L);
    int ai = lua_gettop(L);
    em_val zero = em__lua_check_val(L, 2, a, "treeAggregate: zeroValue");
    em_fn seq = em__lua_check_fn(L, 3, EM_LUA_MODE_PLAIN, a);
    em_fn comb = em__lua_check_fn(L, 4, EM_LUA_MODE_PLAIN, a);
    int depth = (int)luaL_optinteger(L, 5, 2);
    em_val v;

    ACTION(L, "treeAggregate",
           em_rdd_tree_aggregate(r, zero, seq, comb, depth, a, &v));
    return push_result(L, v, ai);
}

static int a_sum(lua_State *L)
{
    em_rdd *r = NODE(1);
    em_val v;

    ACTION(L, "sum", em_rdd_sum(r, &v));
    em__lua_push_val(L, v);
    return 1;
}

static int a_mean(lua_State *L)
{
    em_rdd *r = NODE(1);
    double m = 0;

    ACTION(L, "mean", em_rdd_mean(r, &m));
    lua_pushnumber(L, m);
    return 1;
}

static int a_max(lua_State *L)
{
    return keyed_action(L, "max", em_rdd_max);
}

static int a_min(lua_State *L)
{
    return keyed_action(L, "min", em_rdd_min);
}

/* ---- StatCounter: a table of fields behind PySpark's methods ---- */

static const char *const stat_names[] = {
    "count", "mean", "sum", "min", "max", "variance", "sampleVariance",
    "stdev", "sampleStdev",
};

static int stat_get(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_rawgeti(L, 1, (lua_Integer)lua_tointeger(L, lua_upvalueindex(1)));
    return 1;
}

static int stat_as_dict(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_createtable(L, 0, 9);
    for (int i = 0; i < 9; i++) {
        lua_rawgeti(L, 1, i + 1);
        lua_setfield(L, -2, stat_names[i]);
    }
    return 1;
}

static int stat_tostring(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_rawgeti(L, 1, 1);
    lua_rawgeti(L, 1, 2);
    lua_rawgeti(L, 1, 8);
    lua_rawgeti(L, 1, 5);
    lua_rawgeti(L, 1, 4);
    lua_pushfstring(L, "(count: %I, mean: %f, stdev: %f, max: %f, min: %f)",
                    lua_tointeger(L, -5), lua_tonumber(L, -4),
                    lua_tonumber(L, -3), lua_tonumber(L, -2),
                    lua_tonumber(L, -1));
    return 1;
}

static void push_stats(lua_State *L, const em_stats *s)
{
    double f[9] = {0, s->mean, s->sum, s->min, s->max, s->variance,
                   s->sample_variance, s->stdev, s->sample_stdev};

    lua_createtable(L, 9, 0);
    lua_pushinteger(L, s->count);
    lua_rawseti(L, -2, 1);
    for (int i = 1; i < 9; i++) {
        lua_pushnumber(L, f[i]);
        lua_rawseti(L, -2, i + 1);
    }
    if (luaL_newmetatable(L, EM_LUA_STATS)) {
        lua_createtable(L, 0, 10);
        for (int i = 0; i < 9; i++) {
            lua_pushinteger(L, i + 1);
            lua_pushcclosure(L, stat_get, 1);
            lua_setfield(L, -2, stat_names[i]);
        }
        lua_pushcfunction(L, stat_as_dict);
        lua_setfield(L, -2, "asDict");
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, stat_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_setmetatable(L, -2);
}

static int a_stats(lua_State *L)
{
    em_rdd *r = NODE(1);
    em_stats s;

    ACTION(L, "stats", em_rdd_stats(r, &s));
    push_stats(L, &s);
    return 1;
}

/* variance() and friends: one field of stats(). */
static int a_stat_field(lua_State *L)
{
    em_rdd *r = NODE(1);
    int which = (int)lua_tointeger(L, lua_upvalueindex(1));
    em_stats s;
    double v[4];

    ACTION(L, "stats", em_rdd_stats(r, &s));
    v[0] = s.variance;
    v[1] = s.sample_variance;
    v[2] = s.stdev;
    v[3] = s.sample_stdev;
    lua_pushnumber(L, v[which]);
    return 1;
}

/* histogram(buckets): an integer count of even buckets, or the sorted
 * bounds; returns {buckets, counts}. */
static int a_histogram(lua_State *L)
{
    em_rdd *r = NODE(1);
    em_arena *a = em__lua_arena(L);
    int ai = lua_gettop(L);
    double *bounds = NULL;
    int nb;
    em_val v;

    if (lua_isinteger(L, 2)) {
        nb = (int)lua_tointeger(L, 2);
        if (nb < 1)
            return luaL_argerror(L, 2, "the number of buckets must be >= 1");
    } else {
        luaL_checktype(L, 2, LUA_TTABLE);
        nb = (int)lua_rawlen(L, 2) - 1;
        if (nb < 1)
            return luaL_argerror(L, 2, "at least two bucket bounds needed");
        bounds = em_arena_alloc(a, (size_t)(nb + 1) * sizeof(*bounds));
        if (bounds == NULL)
            return luaL_error(L, "out of memory");
        for (int i = 0; i <= nb; i++) {
            lua_rawgeti(L, 2, i + 1);
            if (!lua_isnumber(L, -1))
                return luaL_argerror(L, 2, "bucket bounds must be numbers");
            bounds[i] = lua_tonumber(L, -1);
            lua_pop(L, 1);
            if (i > 0 && !(bounds[i] > bounds[i - 1]))
                return luaL_argerror(L, 2, "bucket bounds must be sorted "
                                           "and distinct");
        }
    }
    ACTION(L, "histogram", em_rdd_histogram(r, nb, bounds, a, &v));
    push_result(L, v, ai);
    if (bounds != NULL) { /* the bounds as given (ints stay ints) */
        lua_createtable(L, nb + 1, 0);
        for (int i = 0; i <= nb; i++) {
            lua_rawgeti(L, 2, i + 1);
            lua_rawseti(L, -2, i + 1);
        }
        lua_rawseti(L, -2, 1);
    }
    return 1;
}

static int a_count_by_value(lua_State *L)
{
    return value_action(L, "countByValue", em_rdd_count_by_value);
}

static int a_count_by_key(lua_State *L)
{
    return value_action(L, "countByKey", em_rdd_count_by_key);
}

static int a_collect_as_map(lua_State *L)
{
    return value_action(L, "collectAsMap", em_rdd_collect_as_map);
}

static int a_lookup(lua_State *L)
{
    em_rdd *r = NODE(1);
    em_arena *a = em__lua_arena(L);
    int ai = lua_gettop(L);
    em_val key = em__lua_check_val(L, 2, a, "lookup: key");
    em_val v;

    ACTION(L, "lookup", em_rdd_lookup(r, key, a, &v));
    return push_result(L, v, ai);
}

static int a_is_empty(lua_State *L)
{
    em_rdd *r = NODE(1);
    bool b = false;

    ACTION(L, "isEmpty", em_rdd_is_empty(r, &b));
    lua_pushboolean(L, b);
    return 1;
}

static int a_take_sample(lua_State *L)
{
    em_rdd *r = NODE(1);
    bool with = (luaL_checktype(L, 2, LUA_TBOOLEAN), lua_toboolean(L, 2));
    lua_Integer num = luaL_checkinteger(L, 3);
    uint64_t seed = (uint64_t)luaL_optinteger(
        L, 4, (lua_Integer)(uintptr_t)lua_topointer(L, 1));
    em_arena *a = em__lua_arena(L);
    int ai = lua_gettop(L);
    em_val v;

    if (num < 0)
        return luaL_argerror(L, 3, "must be >= 0");
    ACTION(L, "takeSample", em_rdd_take_sample(r, with, num, seed, a, &v));
    return push_result(L, v, ai);
}

static int a_foreach(lua_State *L)
{
    em_rdd *r = NODE(1);
    em_arena *a = em__lua_arena(L);
    em_fn f = em__lua_check_fn(L, 2, EM_LUA_MODE_PLAIN, a);

    ACTION(L, "foreach", em_rdd_foreach(r, f));
    return 0;
}

static int a_foreach_partition(lua_State *L)
{
    em_rdd *r = NODE(1);
    em_arena *a = em__lua_arena(L);
    em_fn f = em__lua_check_fn(L, 2, EM_LUA_MODE_FOREACHPART, a);

    ACTION(L, "foreachPartition", em_rdd_foreach_partition(r, f));
    return 0;
}

static int a_save_as_text_file(lua_State *L)
{
    em_rdd *r = NODE(1);

    ACTION(L, "saveAsTextFile",
           em_rdd_save_as_text_file(r, luaL_checkstring(L, 2)));
    return 0;
}

/* An action and how many arguments it takes (the receiver included). */
typedef struct action {
    const char *name;
    lua_CFunction func;
    int nargs;
} action;

static const action actions[] = {
    {"collect", a_collect, 1},
    {"count", a_count, 1},
    {"first", a_first, 1},
    {"take", a_take, 2},
    {"takeOrdered", a_take_ordered, 3},
    {"top", a_top, 3},
    {"reduce", a_reduce, 2},
    {"fold", a_fold, 3},
    {"aggregate", a_aggregate, 4},
    {"treeReduce", a_tree_reduce, 3},
    {"treeAggregate", a_tree_aggregate, 5},
    {"sum", a_sum, 1},
    {"mean", a_mean, 1},
    {"max", a_max, 2},
    {"min", a_min, 2},
    {"stats", a_stats, 1},
    {"histogram", a_histogram, 2},
    {"countByValue", a_count_by_value, 1},
    {"countByKey", a_count_by_key, 1},
    {"collectAsMap", a_collect_as_map, 1},
    {"lookup", a_lookup, 2},
    {"isEmpty", a_is_empty, 1},
    {"takeSample", a_take_sample, 4},
    {"foreach", a_foreach, 2},
    {"foreachPartition", a_foreach_partition, 2},
    {"saveAsTextFile", a_save_as_text_file, 2},
    {NULL, NULL, 0},
};

/* Calls an action with exactly its number of arguments on the stack
 * (missing ones nil), so that what it pushes lands above them. */
static int call_action(lua_State *L)
{
    const action *r = lua_touserdata(L, lua_upvalueindex(2));

    lua_settop(L, (int)lua_tointeger(L, lua_upvalueindex(1)));
    return r->func(L);
}

void em__lua_rdd_actions(lua_State *L, int idx)
{
    static const char *const fields[] = {"variance", "sampleVariance",
                                         "stdev", "sampleStdev"};

    idx = lua_absindex(L, idx);
    for (const action *r = actions; r->name; r++) {
        lua_pushinteger(L, r->nargs);
        lua_pushlightuserdata(L, (void *)r);
        lua_pushcclosure(L, call_action, 2);
        lua_setfield(L, idx, r->name);
    }
    for (int i = 0; i < 4; i++) {
        lua_pushinteger(L, i);
        lua_pushcclosure(L, a_stat_field, 1);
        lua_setfield(L, idx, fields[i]);
    }
}
