/* Values across Lua and C (docs/shell.md, "Values"): Lua integers and
 * floats stay distinct, a sequence is an array, any other table a map, an
 * empty table an empty array; ember.null stands for nil inside containers.
 */
#include <stdio.h>
#include <string.h>

#include "lint.h"

#define MAX_DEPTH 64
#define EM_LUA_HANDLE "ember.handle"

/* ember.null: the address of this byte, as a light userdata. */
static const char null_sentinel;

/* A handle value held by Lua: kind and a copy of the state bytes. */
typedef struct lhandle {
    uint16_t kind;
    uint32_t len;
    uint8_t state[]; /* len bytes */
} lhandle;

void em__lua_push_null(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&null_sentinel);
}

bool em__lua_is_null(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA &&
           lua_touserdata(L, idx) == (void *)&null_sentinel;
}

/* The arena holder userdata. */
typedef struct larena {
    em_arena *a;
} larena;

static int arena_gc(lua_State *L)
{
    larena *h = luaL_checkudata(L, 1, EM_LUA_ARENA);

    em_arena_destroy(h->a);
    h->a = NULL;
    return 0;
}

em_arena *em__lua_arena(lua_State *L)
{
    larena *h = lua_newuserdatauv(L, sizeof(*h), 0);

    h->a = NULL;
    luaL_setmetatable(L, EM_LUA_ARENA);
    h->a = em_arena_create();
    if (h->a == NULL)
        luaL_error(L, "out of memory");
    return h->a;
}

void em__lua_arena_free(lua_State *L, int idx)
{
    larena *h = luaL_checkudata(L, idx, EM_LUA_ARENA);

    em_arena_destroy(h->a);
    h->a = NULL;
}

static const char *what_is(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TFUNCTION:
        return "a function";
    case LUA_TTHREAD:
        return "a coroutine";
    case LUA_TUSERDATA:
        if (luaL_testudata(L, idx, EM_LUA_BCAST))
            return "a broadcast variable (use its .value)";
        if (luaL_testudata(L, idx, EM_LUA_ACCUM))
            return "an accumulator (use its .value)";
        if (luaL_testudata(L, idx, EM_LUA_RDD))
            return "an RDD";
        if (luaL_testudata(L, idx, EM_LUA_CTX))
            return "the SparkContext";
        if (luaL_testudata(L, idx, LUA_FILEHANDLE))
            return "a file";
        return "a userdata";
    default:
        return "a light userdata";
    }
}

static em_status to_val(lua_State *L, int idx, em_arena *a, em_val *out,
                        int depth, char *err, size_t cap);

/* The table at idx as an array when its keys are exactly 1..n. */
static bool is_sequence(lua_State *L, int idx, size_t *n_out)
{
    size_t n = (size_t)lua_rawlen(L, idx), count = 0;

    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_Integer k;
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1) || (k = lua_tointeger(L, -1)) < 1 ||
            (size_t)k > n) {
            lua_pop(L, 1);
            return false;
        }
        count++;
    }
    *n_out = n;
    return count == n;
}

/* Prefixes err with a path element ("[3]" or ".name"). */
static void prefix_path(lua_State *L, int kidx, char *err, size_t cap)
{
    char tmp[256], key[64];

    if (lua_type(L, kidx) == LUA_TSTRING)
        snprintf(key, sizeof(key), ".%.60s", lua_tostring(L, kidx));
    else if (lua_isinteger(L, kidx))
        snprintf(key, sizeof(key), "[%lld]",
                 (long long)lua_tointeger(L, kidx));
    else
        snprintf(key, sizeof(key), "[?]");
    snprintf(tmp, sizeof(tmp), "%s%s", key, err);
    snprintf(err, cap, "%s", tmp);
}

static em_status table_to_val(lua_State *L, int idx, em_arena *a,
                              em_val *out, int depth, char *err, size_t cap)
{
    size_t n = 0, i = 0;
    em_val *items;
    em_status st;

    if (is_sequence(L, idx, &n)) {
        items = em_array_make(a, n, out);
        if (items == NULL)
            return EM_ENOMEM;
        for (i = 0; i < n; i++) {
            lua_rawgeti(L, idx, (lua_Integer)i + 1);
            st = to_val(L, lua_gettop(L), a, &items[i], depth + 1, err, cap);
            lua_pop(L, 1);
            if (st != EM_OK) {
                lua_pushinteger(L, (lua_Integer)i + 1);
                prefix_path(L, lua_gettop(L), err, cap);
                lua_pop(L, 1);
                return st;
            }
        }
        return EM_OK;
    }
    n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        n++;
    }
    items = em_arena_alloc(a, 2 * n * sizeof(*items) + 1);
    if (items == NULL)
        return EM_ENOMEM;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        int top = lua_gettop(L);
        st = to_val(L, top - 1, a, &items[2 * i], depth + 1, err, cap);
        if (st == EM_OK)
            st = to_val(L, top, a, &items[2 * i + 1], depth + 1, err, cap);
        lua_pop(L, 1);
        if (st != EM_OK) {
            prefix_path(L, lua_gettop(L), err, cap);
            lua_pop(L, 1);
            return st;
        }
        i++;
    }
    return em_map_make(a, items, n, out);
}

static em_status to_val(lua_State *L, int idx, em_arena *a, em_val *out,
                        int depth, char *err, size_t cap)
{
    size_t len;
    const char *s;
    lhandle *h;

    if (depth > MAX_DEPTH) {
        snprintf(err, cap, ": nested more than %d levels (or a cycle)",
                 MAX_DEPTH);
        return EM_ELIMIT;
    }
    if (!lua_checkstack(L, 4)) {
        snprintf(err, cap, ": Lua stack overflow");
        return EM_ELIMIT;
    }
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        *out = em_nil();
        return EM_OK;
    case LUA_TBOOLEAN:
        *out = em_bool(lua_toboolean(L, idx));
        return EM_OK;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            *out = em_int(lua_tointeger(L, idx));
        else
            *out = em_float(lua_tonumber(L, idx));
        return EM_OK;
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        if (len > UINT32_MAX) {
            snprintf(err, cap, ": a string of %zu bytes (too long)", len);
            return EM_ELIMIT;
        }
        return em_str_copy(a, s, len, out);
    case LUA_TTABLE:
        return table_to_val(L, idx, a, out, depth, err, cap);
    case LUA_TLIGHTUSERDATA:
        if (em__lua_is_null(L, idx)) {
            *out = em_nil();
            return EM_OK;
        }
        break;
    case LUA_TUSERDATA:
        h = luaL_testudata(L, idx, EM_LUA_HANDLE);
        if (h != NULL) {
            void *p = em_arena_alloc(a, h->len + 1);
            if (p == NULL)
                return EM_ENOMEM;
            memcpy(p, h->state, h->len);
            memset(out, 0, sizeof(*out));
            out->type = EM_HANDLE;
            out->kind = h->kind;
            out->len = h->len;
            out->u.state = p;
            return EM_OK;
        }
        break;
    default:
        break;
    }
    snprintf(err, cap, ": %s is not a value", what_is(L, idx));
    return EM_ETYPE;
}

em_status em__lua_to_val(lua_State *L, int idx, em_arena *a, em_val *out,
                         char *err, size_t cap)
{
    int top = lua_gettop(L);
    em_status st;

    idx = lua_absindex(L, idx);
    err[0] = '\0';
    st = to_val(L, idx, a, out, 0, err, cap);
    lua_settop(L, top);
    if (st == EM_ENOMEM && err[0] == '\0')
        snprintf(err, cap, ": out of memory");
    return st;
}

em_val em__lua_check_val(lua_State *L, int idx, em_arena *a,
                         const char *what)
{
    char err[320];
    em_val v;

    if (em__lua_to_val(L, idx, a, &v, err, sizeof(err)) != EM_OK)
        luaL_error(L, "%s%s", what, err);
    return v;
}

static void push_val(lua_State *L, em_val v, bool is_inner);

static void push_spvec(lua_State *L, em_val v)
{
    const em_spvec *sp = v.u.sp;

    lua_createtable(L, 0, 3);
    lua_pushinteger(L, sp->dim);
    lua_setfield(L, -2, "dim");
    lua_createtable(L, (int)v.len, 0);
    for (uint32_t i = 0; i < v.len; i++) {
        lua_pushinteger(L, sp->idx[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "indices");
    lua_createtable(L, (int)v.len, 0);
    for (uint32_t i = 0; i < v.len; i++) {
        lua_pushnumber(L, sp->val[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "values");
}

static void push_val(lua_State *L, em_val v, bool is_inner)
{
    lhandle *h;

    luaL_checkstack(L, 4, "value nested too deeply");
    switch ((em_type)v.type) {
    case EM_NIL:
        if (is_inner)
            em__lua_push_null(L);
        else
            lua_pushnil(L);
        break;
    case EM_BOOL:
        lua_pushboolean(L, v.u.b);
        break;
    case EM_INT:
        lua_pushinteger(L, v.u.i);
        break;
    case EM_FLOAT:
        lua_pushnumber(L, v.u.f);
        break;
    case EM_STR:
        lua_pushlstring(L, v.u.s, v.len);
        break;
    case EM_BYTES:
        lua_pushlstring(L, (const char *)v.u.bytes, v.len);
        break;
    case EM_ARRAY:
        lua_createtable(L, (int)v.len, 0);
        for (uint32_t i = 0; i < v.len; i++) {
            push_val(L, v.u.arr[i], true);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    case EM_MAP:
        lua_createtable(L, 0, (int)v.len);
        for (uint32_t i = 0; i < v.len; i++) {
            em_val k = v.u.map[2 * i];
            if (k.type == EM_FLOAT && k.u.f != k.u.f)
                continue; /* a NaN key cannot index a Lua table */
            push_val(L, k, true);
            push_val(L, v.u.map[2 * i + 1], true);
            lua_rawset(L, -3);
        }
        break;
    case EM_VEC:
        lua_createtable(L, (int)v.len, 0);
        for (uint32_t i = 0; i < v.len; i++) {
            lua_pushnumber(L, v.u.vec[i]);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    case EM_SPVEC:
        push_spvec(L, v);
        break;
    case EM_HANDLE:
    default:
        h = lua_newuserdatauv(L, sizeof(*h) + v.len, 0);
        h->kind = v.kind;
        h->len = v.len;
        if (v.len > 0)
            memcpy(h->state, v.u.state, v.len);
        luaL_setmetatable(L, EM_LUA_HANDLE);
        break;
    }
}

void em__lua_push_val(lua_State *L, em_val v)
{
    push_val(L, v, false);
}

static int handle_tostring(lua_State *L)
{
    lhandle *h = luaL_checkudata(L, 1, EM_LUA_HANDLE);

    lua_pushfstring(L, "handle(kind %d, %d bytes)", (int)h->kind,
                    (int)h->len);
    return 1;
}

static int handle_eq(lua_State *L)
{
    lhandle *a = luaL_checkudata(L, 1, EM_LUA_HANDLE);
    lhandle *b = luaL_checkudata(L, 2, EM_LUA_HANDLE);

    lua_pushboolean(L, a->kind == b->kind && a->len == b->len &&
                           memcmp(a->state, b->state, a->len) == 0);
    return 1;
}

/* h.name: the method of that name registered for the handle's kind
 * (EM_LUA_HANDLE_METHODS), or nil. */
static int handle_index(lua_State *L)
{
    lhandle *h = luaL_checkudata(L, 1, EM_LUA_HANDLE);

    if (lua_getfield(L, LUA_REGISTRYINDEX, EM_LUA_HANDLE_METHODS) !=
            LUA_TTABLE ||
        lua_rawgeti(L, -1, h->kind) != LUA_TTABLE)
        return 0;
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

void em__lua_open_vals(lua_State *L)
{
    if (luaL_newmetatable(L, EM_LUA_HANDLE)) {
        lua_pushcfunction(L, handle_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushcfunction(L, handle_eq);
        lua_setfield(L, -2, "__eq");
        lua_pushcfunction(L, handle_index);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    if (luaL_newmetatable(L, EM_LUA_ARENA)) {
        lua_pushcfunction(L, arena_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
}
