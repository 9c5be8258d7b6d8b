/* Finds the globals a Lua function uses, so that a closure can carry them
 * to the executors (PySpark captures a function's globals when the action
 * runs). Reads the function's own dump (string.dump format of Lua 5.4,
 * lundump.c): every GETTABUP/SETTABUP whose table is the upvalue named
 * _ENV and whose key is a string constant names a global. Nested
 * functions are included.
 */
#include <string.h>

#include "lint.h"

/* Opcodes of Lua 5.4 (lopcodes.h) and the iABC field layout. */
enum { OP_GETTABUP = 11, OP_SETTABUP = 15 };
#define OP(i) ((i) & 0x7Fu)
#define ARG_A(i) (((i) >> 7) & 0xFFu)
#define ARG_B(i) (((i) >> 16) & 0xFFu)
#define ARG_C(i) (((i) >> 24) & 0xFFu)

/* Constant type tags of the dump (lobject.h variants). */
enum {
    K_NIL = 0,
    K_FALSE = 1,
    K_TRUE = 17,
    K_INT = 3,
    K_FLT = 19,
    K_SHRSTR = 4,
    K_LNGSTR = 20
};

typedef struct reader {
    const uint8_t *p, *end;
    bool is_bad;
} reader;

static uint8_t rd_byte(reader *r)
{
    if (r->p >= r->end) {
        r->is_bad = true;
        return 0;
    }
    return *r->p++;
}

static size_t rd_size(reader *r)
{
    size_t x = 0;
    uint8_t b;

    do {
        b = rd_byte(r);
        if (x > (SIZE_MAX >> 8)) {
            r->is_bad = true;
            return 0;
        }
        x = (x << 7) | (b & 0x7f);
    } while ((b & 0x80) == 0 && !r->is_bad);
    return x;
}

static void rd_skip(reader *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n) {
        r->is_bad = true;
        r->p = r->end;
        return;
    }
    r->p += n;
}

/* A string of the dump: its bytes (NULL for none) and length. */
static const char *rd_string(reader *r, size_t *len)
{
    size_t n = rd_size(r);
    const char *s;

    if (n == 0) {
        *len = 0;
        return NULL;
    }
    s = (const char *)r->p;
    rd_skip(r, n - 1);
    *len = n - 1;
    return r->is_bad ? NULL : s;
}

typedef struct kstr {
    const char *s; /* NULL when the constant is not a string */
    size_t len;
} kstr;

/* One function prototype: records the global names it uses into the set
 * table at the top of L, then recurses into its nested prototypes. */
static void rd_function(lua_State *L, reader *r, int depth)
{
    size_t ncode, nk, nup, nproto, n, len;
    const uint8_t *code;
    kstr *ks;
    int envup[256];
    size_t i;

    if (depth > 200) {
        r->is_bad = true;
        return;
    }
    rd_string(r, &len);           /* source */
    rd_size(r);                   /* linedefined */
    rd_size(r);                   /* lastlinedefined */
    rd_skip(r, 3);                /* numparams, is_vararg, maxstacksize */
    ncode = rd_size(r);
    code = r->p;
    if (ncode > (size_t)(r->end - r->p) / 4) {
        r->is_bad = true;
        return;
    }
    rd_skip(r, ncode * 4);
    nk = rd_size(r);
    if (r->is_bad || nk > (size_t)(r->end - r->p))
        return (void)(r->is_bad = true);
    ks = lua_newuserdatauv(L, (nk + 1) * sizeof(*ks), 0); /* freed by GC */
    for (i = 0; i < nk && !r->is_bad; i++) {
        uint8_t t = rd_byte(r);
        ks[i].s = NULL;
        if (t == K_INT || t == K_FLT)
            rd_skip(r, 8);
        else if (t == K_SHRSTR || t == K_LNGSTR)
            ks[i].s = rd_string(r, &ks[i].len);
        else if (t != K_NIL && t != K_FALSE && t != K_TRUE)
            r->is_bad = true;
    }
    nup = rd_size(r);
    if (nup > 255)
        return (void)(r->is_bad = true);
    rd_skip(r, nup * 3);
    nproto = rd_size(r);
    for (i = 0; i < nproto && !r->is_bad; i++) {
        lua_pushvalue(L, -2); /* the set, above our constants */
        rd_function(L, r, depth + 1);
        lua_pop(L, 1);
    }
    /* debug: lineinfo, abslineinfo, locvars, upvalue names */
    n = rd_size(r);
    rd_skip(r, n);
    n = rd_size(r);
    for (i = 0; i < n && !r->is_bad; i++) {
        rd_size(r);
        rd_size(r);
    }
    n = rd_size(r);
    for (i = 0; i < n && !r->is_bad; i++) {
        rd_string(r, &len);
        rd_size(r);
        rd_size(r);
    }
    n = rd_size(r);
    if (n != 0 && n != nup)
        r->is_bad = true;
    for (i = 0; i < 256; i++)
        envup[i] = 0;
    for (i = 0; i < n && !r->is_bad; i++) {
        const char *name = rd_string(r, &len);
        envup[i] = name != NULL && len == 4 && memcmp(name, "_ENV", 4) == 0;
    }
    if (r->is_bad)
        return;
    for (i = 0; i < ncode; i++) {
        uint32_t ins;
        unsigned up, k;
        memcpy(&ins, code + 4 * i, 4);
        if (OP(ins) == OP_GETTABUP) {
            up = ARG_B(ins);
            k = ARG_C(ins);
        } else if (OP(ins) == OP_SETTABUP) {
            up = ARG_A(ins);
            k = ARG_B(ins);
        } else {
            continue;
        }
        if (!envup[up] || k >= nk || ks[k].s == NULL)
            continue;
        lua_pushlstring(L, ks[k].s, ks[k].len);
        lua_pushboolean(L, 1);
        lua_rawset(L, -4); /* set, ks userdata, key, true */
    }
    lua_pop(L, 1); /* ks */
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

bool em__lua_globals_of(lua_State *L, int idx)
{
    static const uint8_t header[] = "\x1bLua\x54\x00\x19\x93\r\n\x1a\n";
    dump_state d;
    size_t len;
    const char *s;
    reader r;

    idx = lua_absindex(L, idx);
    lua_pushvalue(L, idx);
    d.is_init = false;
    if (lua_dump(L, dump_writer, &d, 0) != 0 || !d.is_init) {
        if (d.is_init)
            luaL_pushresult(&d.b);
        lua_settop(L, lua_gettop(L) - (d.is_init ? 2 : 1));
        lua_pushliteral(L, "the function cannot be dumped");
        return false;
    }
    luaL_pushresult(&d.b);
    lua_remove(L, -2);
    s = lua_tolstring(L, -1, &len);
    r.p = (const uint8_t *)s;
    r.end = r.p + len;
    r.is_bad = false;
    if (len < sizeof(header) - 1 + 3 + 16 + 1 ||
        memcmp(s, header, sizeof(header) - 1) != 0) {
        lua_pop(L, 1);
        lua_pushliteral(L, "unexpected bytecode format (not Lua 5.4)");
        return false;
    }
    rd_skip(&r, sizeof(header) - 1 + 3 + 16 + 1); /* sizes, checks, nup */
    lua_newtable(L);
    rd_function(L, &r, 0);
    if (r.is_bad) {
        lua_pop(L, 2);
        lua_pushliteral(L, "malformed bytecode");
        return false;
    }
    lua_remove(L, -2);
    return true;
}
