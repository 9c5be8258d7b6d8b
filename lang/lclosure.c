/* Closure encoding on the driver: a Lua function becomes an em_fn whose
 * code is the trampoline em__lua_fn_call and whose environment describes
 * the function fully (bytecode with debug info, upvalues and the globals
 * it uses, each encoded as a tagged value), so that any process can run it
 * without the driver's Lua state. The format is in lang/README.md.
 */
#include <stdio.h>
#include <string.h>

#include "lint.h"

#define MAX_NEST 64
#define REG_NAMES "ember.names"
#define REG_STD "ember.std"

/* The state of one encoding. */
typedef struct enc {
    lua_State *L;
    em_arena *a;
    int stack;        /* index of a table: the functions being described */
    int depth;        /* how many are on it */
    int tdepth;       /* nesting of tables being described */
    int nest;         /* tables and functions entered */
    char path[512];   /* where we are, for messages */
} enc;

static em_val enc_tagged(enc *e, int idx);

/* Raises the error of a value that cannot travel. */
static int enc_fail(enc *e, const char *what)
{
    return luaL_error(e->L,
                      "a function cannot be sent to the executors: %s is "
                      "%s",
                      e->path, what);
}

/* Appends a segment to the path; returns the old length for path_pop. */
static size_t path_push(enc *e, const char *fmt, const char *name)
{
    size_t n = strlen(e->path), orig = n;

    if (fmt[0] != '.' && n > 0 && e->path[n - 1] != ' ' &&
        n + 2 < sizeof(e->path)) {
        memcpy(e->path + n, ": ", 3);
        n += 2;
    }
    snprintf(e->path + n, sizeof(e->path) - n, fmt, name);
    return orig;
}

static void path_pop(enc *e, size_t n)
{
    e->path[n] = '\0';
}

static em_val *arr_make(enc *e, size_t n, em_val *out)
{
    em_val *items = em_array_make(e->a, n, out);

    if (items == NULL)
        luaL_error(e->L, "out of memory");
    return items;
}

static em_val tag_make(enc *e, int tag, em_val payload)
{
    em_val out, *items = arr_make(e, 2, &out);

    items[0] = em_int(tag);
    items[1] = payload;
    return out;
}

static em_val str_make(enc *e, const char *s, size_t n)
{
    em_val v;

    if (em_str_copy(e->a, s, n, &v) != EM_OK)
        luaL_error(e->L, "out of memory");
    return v;
}

/* Builds the registry table mapping standard values to their names. */
static void build_names(lua_State *L)
{
    static const char *const libs[] = {"string", "table", "math", "utf8",
                                       "os", "io", "coroutine", "ember"};

    lua_newtable(L);
    /* the globals as they were before the user's code ran */
    if (lua_getfield(L, LUA_REGISTRYINDEX, REG_STD) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_pushglobaltable(L);
    }
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING &&
            (lua_type(L, -1) == LUA_TFUNCTION ||
             lua_type(L, -1) == LUA_TTABLE)) {
            lua_pushvalue(L, -1);
            lua_pushvalue(L, -3);
            lua_rawset(L, -6);
        }
        lua_pop(L, 1);
    }
    for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
        if (lua_getfield(L, -1, libs[i]) != LUA_TTABLE) {
            lua_pop(L, 1);
            continue;
        }
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
            if (lua_type(L, -2) == LUA_TSTRING &&
                (lua_type(L, -1) == LUA_TFUNCTION ||
                 lua_type(L, -1) == LUA_TTABLE ||
                 lua_type(L, -1) == LUA_TLIGHTUSERDATA)) {
                lua_pushvalue(L, -1);
                lua_pushfstring(L, "%s.%s", libs[i], lua_tostring(L, -3));
                lua_rawset(L, -7);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    /* ember.op.* members */
    if (lua_getfield(L, -1, "ember") == LUA_TTABLE) {
        if (lua_getfield(L, -1, "op") == LUA_TTABLE) {
            lua_pushnil(L);
            while (lua_next(L, -2) != 0) {
                if (lua_type(L, -2) == LUA_TSTRING) {
                    lua_pushvalue(L, -1);
                    lua_pushfstring(L, "ember.op.%s", lua_tostring(L, -3));
                    lua_rawset(L, -8);
                }
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 2); /* ember, the standard globals */
    lua_setfield(L, LUA_REGISTRYINDEX, REG_NAMES);
}

bool em__lua_name_of(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (lua_getfield(L, LUA_REGISTRYINDEX, REG_NAMES) != LUA_TTABLE) {
        lua_pop(L, 1);
        build_names(L);
        lua_getfield(L, LUA_REGISTRYINDEX, REG_NAMES);
    }
    lua_pushvalue(L, idx);
    if (lua_rawget(L, -2) != LUA_TSTRING) {
        lua_pop(L, 2);
        return false;
    }
    lua_remove(L, -2);
    return true;
}

bool em__lua_push_named(lua_State *L, const char *name)
{
    const char *dot;

    lua_pushglobaltable(L);
    for (;;) {
        dot = strchr(name, '.');
        if (dot == NULL)
            lua_pushstring(L, name);
        else
            lua_pushlstring(L, name, (size_t)(dot - name));
        lua_rawget(L, -2);
        lua_remove(L, -2);
        if (dot == NULL)
            break;
        if (lua_type(L, -1) != LUA_TTABLE) {
            lua_pop(L, 1);
            return false;
        }
        name = dot + 1;
    }
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return false;
    }
    return true;
}

void em__lua_snapshot_std(lua_State *L)
{
    lua_newtable(L);
    lua_pushglobaltable(L);
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -5);
    }
    lua_pop(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_STD);
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_NAMES);
}

/* "file.lua:12" for the function at idx. */
static em_val fn_where(enc *e, int idx)
{
    lua_Debug ar;
    char buf[LUA_IDSIZE + 24];

    lua_pushvalue(e->L, idx);
    lua_getinfo(e->L, ">S", &ar);
    snprintf(buf, sizeof(buf), "%s:%d", ar.short_src, ar.linedefined);
    return str_make(e, buf, strlen(buf));
}

/* lua_dump's writer: the buffer starts on the first write, once the
 * function is no longer needed on the top of the stack (as str_dump). */
typedef struct dump_state {
    bool is_init;
    luaL_Buffer b;
} dump_state;

static int dump_writer(lua_State *L, const void *p, size_t n, void *ud)
{
    dump_state *d = ud;

    if (!d->is_init) {
        d->is_init = true;
        luaL_buffinit(L, &d->b);
    }
    luaL_addlstring(&d->b, p, n);
    return 0;
}

static em_val fn_bytecode(enc *e, int idx)
{
    lua_State *L = e->L;
    dump_state d;
    const char *s;
    size_t len;
    void *p;

    lua_pushvalue(L, idx);
    d.is_init = false;
    if (lua_dump(L, dump_writer, &d, 0) != 0 || !d.is_init)
        enc_fail(e, "a function that cannot be dumped");
    luaL_pushresult(&d.b);
    s = lua_tolstring(L, -1, &len);
    p = em_arena_alloc(e->a, len + 1);
    if (p == NULL)
        luaL_error(L, "out of memory");
    memcpy(p, s, len);
    lua_pop(L, 2);
    return em_bytes(p, len);
}

/* Upvalues of the Lua function at idx as [name, tagged] pairs. */
static em_val fn_upvalues(enc *e, int idx)
{
    lua_State *L = e->L;
    lua_Debug ar;
    em_val out, *items;
    int n;

    lua_pushvalue(L, idx);
    lua_getinfo(L, ">u", &ar);
    n = ar.nups;
    items = arr_make(e, (size_t)n, &out);
    for (int i = 1; i <= n; i++) {
        const char *name = lua_getupvalue(L, idx, i);
        em_val pair, *pi = arr_make(e, 2, &pair);
        size_t mark;

        if (name == NULL || name[0] == '\0')
            name = "?";
        pi[0] = str_make(e, name, strlen(name));
        lua_pushglobaltable(L);
        if (strcmp(name, "_ENV") == 0 && lua_rawequal(L, -1, -2)) {
            pi[1] = tag_make(e, EM_LUA_TAG_ENV, em_nil());
        } else {
            mark = path_push(e, "upvalue '%s'", name);
            pi[1] = enc_tagged(e, lua_gettop(L) - 1);
            path_pop(e, mark);
        }
        lua_pop(L, 2);
        items[i - 1] = pair;
    }
    return out;
}

/* Pushes the _ENV upvalue of the Lua function at idx, or nil. */
static void push_env_upvalue(lua_State *L, int idx)
{
    const char *name;

    for (int i = 1; (name = lua_getupvalue(L, idx, i)) != NULL; i++) {
        if (strcmp(name, "_ENV") == 0)
            return;
        lua_pop(L, 1);
    }
    lua_pushnil(L);
}

/* Globals the Lua function at idx uses, with their current values, as
 * [name, tagged] pairs; standard globals left as they are travel as
 * nothing (the executor has its own). */
static em_val fn_globals(enc *e, int idx)
{
    lua_State *L = e->L;
    em_val out, *items;
    int set, env, std;
    size_t n = 0, k = 0;

    if (!em__lua_globals_of(L, idx))
        return luaL_error(L, "%s: %s", e->path, lua_tostring(L, -1)),
               em_nil();
    set = lua_gettop(L);
    push_env_upvalue(L, idx);
    env = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_STD);
    std = lua_gettop(L);
    if (lua_type(L, env) != LUA_TTABLE) {
        lua_settop(L, set - 1);
        arr_make(e, 0, &out);
        return out;
    }
    lua_newtable(L); /* names to capture, as a sequence */
    lua_pushnil(L);
    while (lua_next(L, set) != 0) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_gettable(L, env);
        if (!lua_isnil(L, -1)) {
            bool is_std = false;
            if (lua_type(L, std) == LUA_TTABLE) {
                lua_pushvalue(L, -2);
                lua_rawget(L, std);
                is_std = lua_rawequal(L, -1, -2);
                lua_pop(L, 1);
            }
            if (!is_std) {
                lua_pushvalue(L, -2);
                lua_rawseti(L, std + 1, (lua_Integer)++n);
            }
        }
        lua_pop(L, 1);
    }
    items = arr_make(e, n, &out);
    for (k = 0; k < n; k++) {
        em_val pair, *pi = arr_make(e, 2, &pair);
        const char *name;
        size_t mark;

        lua_rawgeti(L, std + 1, (lua_Integer)k + 1);
        name = lua_tostring(L, -1);
        pi[0] = str_make(e, name, strlen(name));
        lua_gettable(L, env);
        mark = path_push(e, "global '%s'", name);
        pi[1] = enc_tagged(e, lua_gettop(L));
        path_pop(e, mark);
        lua_pop(L, 1);
        items[k] = pair;
    }
    lua_settop(L, set - 1);
    return out;
}

/* The description of the function at idx (array of EM_LUA_FD_N). */
static em_val enc_fn(enc *e, int idx)
{
    lua_State *L = e->L;
    em_val out, *fd;

    idx = lua_absindex(L, idx);
    if (e->depth >= MAX_NEST || ++e->nest > 10000)
        enc_fail(e, "nested too deeply");
    fd = arr_make(e, EM_LUA_FD_N, &out);
    if (lua_iscfunction(L, idx)) {
        if (!em__lua_name_of(L, idx))
            enc_fail(e, "a C function that is not part of a standard "
                        "library");
        fd[EM_LUA_FD_KIND] = em_int(1);
        fd[EM_LUA_FD_CODE] = str_make(e, lua_tostring(L, -1),
                                      lua_rawlen(L, -1));
        lua_pop(L, 1);
        arr_make(e, 0, &fd[EM_LUA_FD_UPVALS]);
        arr_make(e, 0, &fd[EM_LUA_FD_GLOBALS]);
        fd[EM_LUA_FD_WHERE] = str_make(e, "[C]", 3);
        return out;
    }
    lua_pushvalue(L, idx);
    lua_rawseti(L, e->stack, ++e->depth);
    fd[EM_LUA_FD_KIND] = em_int(0);
    fd[EM_LUA_FD_CODE] = fn_bytecode(e, idx);
    fd[EM_LUA_FD_WHERE] = fn_where(e, idx);
    fd[EM_LUA_FD_UPVALS] = fn_upvalues(e, idx);
    fd[EM_LUA_FD_GLOBALS] = fn_globals(e, idx);
    lua_pushnil(L);
    lua_rawseti(L, e->stack, e->depth--);
    return out;
}

/* A table that holds functions or shared variables: [key, tagged]
 * pairs. Keys must be plain values. */
static em_val enc_table(enc *e, int idx)
{
    lua_State *L = e->L;
    char err[256];
    em_val out, probe, *items;
    size_t n = 0, i = 0;

    if (++e->nest > 100000 || e->tdepth + 1 >= MAX_NEST)
        enc_fail(e, "nested too deeply (or a cycle)");
    if (em__lua_to_val(L, idx, e->a, &probe, err, sizeof(err)) == EM_OK)
        return tag_make(e, EM_LUA_TAG_DATA, probe);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        n++;
    }
    items = arr_make(e, n, &out);
    e->tdepth++;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        em_val pair, *pi = arr_make(e, 2, &pair);
        size_t mark;
        int t = lua_type(L, -2);

        if (t != LUA_TSTRING && t != LUA_TNUMBER && t != LUA_TBOOLEAN)
            enc_fail(e, "a table with a key that is not a number, string "
                        "or boolean");
        if (t == LUA_TSTRING)
            mark = path_push(e, ".%s", lua_tostring(L, -2));
        else
            mark = path_push(e, "%s", "[...]");
        pi[0] = em__lua_check_val(L, -2, e->a, e->path);
        pi[1] = enc_tagged(e, lua_gettop(L));
        path_pop(e, mark);
        lua_pop(L, 1);
        items[i++] = pair;
    }
    e->tdepth--;
    return tag_make(e, EM_LUA_TAG_TABLE, out);
}

static em_val enc_userdata(enc *e, int idx)
{
    lua_State *L = e->L;
    em__lshared *sh;
    char err[256];
    em_val v;

    if ((sh = luaL_testudata(L, idx, EM_LUA_BCAST)) != NULL) {
        if (sh->is_destroyed)
            enc_fail(e, "a destroyed broadcast variable");
        if (em_val_copy(e->a, sh->ref, &v) != EM_OK)
            luaL_error(L, "out of memory");
        return tag_make(e, EM_LUA_TAG_BCAST, v);
    }
    if ((sh = luaL_testudata(L, idx, EM_LUA_ACCUM)) != NULL) {
        if (em_val_copy(e->a, sh->ref, &v) != EM_OK)
            luaL_error(L, "out of memory");
        return tag_make(e, EM_LUA_TAG_ACCUM, v);
    }
    if (luaL_testudata(L, idx, EM_LUA_CTX))
        enc_fail(e, "the SparkContext (sc), which exists only on the "
                    "driver");
    if (luaL_testudata(L, idx, EM_LUA_RDD))
        enc_fail(e, "an RDD (RDDs cannot be used inside functions that "
                    "run on executors, as in Spark)");
    if (luaL_testudata(L, idx, LUA_FILEHANDLE))
        enc_fail(e, "an open file (userdata)");
    if (em__lua_to_val(L, idx, e->a, &v, err, sizeof(err)) == EM_OK)
        return tag_make(e, EM_LUA_TAG_DATA, v); /* a handle value */
    return enc_fail(e, "a userdata"), em_nil();
}

static em_val enc_tagged(enc *e, int idx)
{
    lua_State *L = e->L;
    em_val v;

    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 8, "closure nested too deeply");
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
    case LUA_TBOOLEAN:
    case LUA_TNUMBER:
    case LUA_TSTRING:
        v = em__lua_check_val(L, idx, e->a, e->path);
        return tag_make(e, EM_LUA_TAG_DATA, v);
    case LUA_TLIGHTUSERDATA:
        if (em__lua_is_null(L, idx))
            return tag_make(e, EM_LUA_TAG_NULL, em_nil());
        return enc_fail(e, "a light userdata"), em_nil();
    case LUA_TFUNCTION:
        for (int d = e->depth; d >= 1; d--) {
            lua_rawgeti(L, e->stack, d);
            if (lua_rawequal(L, -1, idx)) {
                lua_pop(L, 1);
                return tag_make(e, EM_LUA_TAG_SELF, em_int(e->depth - d));
            }
            lua_pop(L, 1);
        }
        if (em__lua_name_of(L, idx)) {
            v = str_make(e, lua_tostring(L, -1), lua_rawlen(L, -1));
            lua_pop(L, 1);
            return tag_make(e, EM_LUA_TAG_NAMED, v);
        }
        return tag_make(e, EM_LUA_TAG_FN, enc_fn(e, idx));
    case LUA_TTABLE:
        if (em__lua_name_of(L, idx)) {
            v = str_make(e, lua_tostring(L, -1), lua_rawlen(L, -1));
            lua_pop(L, 1);
            return tag_make(e, EM_LUA_TAG_NAMED, v);
        }
        return enc_table(e, idx);
    case LUA_TUSERDATA:
        return enc_userdata(e, idx);
    case LUA_TTHREAD:
    default:
        return enc_fail(e, "a coroutine"), em_nil();
    }
}

em_fn_ptr em__lua_native_op(lua_State *L, int idx)
{
    em_fn_ptr p = NULL;

    if (!lua_iscfunction(L, idx))
        return NULL;
    idx = lua_absindex(L, idx);
    if (lua_getfield(L, LUA_REGISTRYINDEX, "ember.natives") == LUA_TTABLE) {
        lua_pushvalue(L, idx);
        if (lua_rawget(L, -2) == LUA_TLIGHTUSERDATA)
            p = (em_fn_ptr)(uintptr_t)lua_touserdata(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return p;
}

/* FNV-1a of n bytes. */
static uint64_t fnv1a(const uint8_t *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

em_fn em__lua_check_fn(lua_State *L, int idx, int mode, em_arena *a)
{
    em_fn_ptr native;
    em_val env, *items, desc;
    enc e;

    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TFUNCTION)
        luaL_error(L, "bad argument #%d (a function expected, got %s)",
                   idx - 1, luaL_typename(L, idx));
    native = em__lua_native_op(L, idx);
    if (native != NULL && mode == EM_LUA_MODE_PLAIN)
        return EM_FN(native);
    memset(&e, 0, sizeof(e));
    e.L = L;
    e.a = a;
    lua_newtable(L);
    e.stack = lua_gettop(L);
    snprintf(e.path, sizeof(e.path), "%s", "");
    if (!lua_iscfunction(L, idx)) {
        lua_Debug ar;
        lua_pushvalue(L, idx);
        lua_getinfo(L, ">S", &ar);
        snprintf(e.path, sizeof(e.path), "in the function at %s:%d, ",
                 ar.short_src, ar.linedefined);
    }
    desc = enc_fn(&e, idx);
    lua_pop(L, 1);
    items = em_array_make(a, EM_LUA_ENV_N, &env);
    if (items == NULL)
        luaL_error(L, "out of memory");
    items[EM_LUA_ENV_MAGIC] = em_cstr(EM_LUA_MAGIC);
    items[EM_LUA_ENV_ID1] = em_int((int64_t)em_val_hash(desc));
    items[EM_LUA_ENV_ID2] = em_int((int64_t)fnv1a(
        desc.u.arr[EM_LUA_FD_CODE].u.bytes, desc.u.arr[EM_LUA_FD_CODE].len,
        0xcbf29ce484222325ULL ^ (uint64_t)mode));
    items[EM_LUA_ENV_MODE] = em_int(mode);
    items[EM_LUA_ENV_FN] = desc;
    return em_fn_of(em__lua_fn_call, env);
}

void em__lua_precheck_fn(lua_State *L, int idx)
{
    int top = lua_gettop(L);
    em_arena *a;

    idx = lua_absindex(L, idx);
    a = em__lua_arena(L);
    em__lua_check_fn(L, idx, EM_LUA_MODE_PLAIN, a);
    em__lua_arena_free(L, top + 1);
    lua_settop(L, top);
}
