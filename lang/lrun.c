/* Driver Lua states and `ember run`: the standard libraries, the `ember`
 * module, `sc`, a few RDD methods written in Lua (the prelude below), and
 * running a script with a traceback on error.
 */
#include <stdio.h>
#include <string.h>

#include <lualib.h>

#include "lint.h"

/* RDD methods written on top of the others; receives the method table. */
static const char prelude[] =
    "local methods = ...\n"
    "function methods:randomSplit(weights, seed)\n"
    "  local total = 0\n"
    "  for _, w in ipairs(weights) do\n"
    "    if type(w) ~= 'number' or w < 0 then\n"
    "      error('randomSplit: weights must be numbers >= 0', 2)\n"
    "    end\n"
    "    total = total + w\n"
    "  end\n"
    "  if total <= 0 then error('randomSplit: weights sum to 0', 2) end\n"
    "  seed = math.tointeger(seed) or os.time()\n"
    "  local out, acc = {}, 0\n"
    "  for i, w in ipairs(weights) do\n"
    "    local lo, hi = acc / total, (acc + w) / total\n"
    "    if i == #weights then hi = 1.0 end\n"
    "    acc = acc + w\n"
    "    out[i] = self:mapPartitionsWithIndex(function(idx, it)\n"
    "      local x = (seed ~ (idx * 0x9E3779B97F4A7C15)) | 1\n"
    "      return function()\n"
    "        for v in it do\n"
    "          x = x ~ (x << 13); x = x ~ (x >> 7); x = x ~ (x << 17)\n"
    "          local u = (x >> 11) * (1.0 / 9007199254740992)\n"
    "          if u >= lo and u < hi then return v end\n"
    "        end\n"
    "      end\n"
    "    end)\n"
    "  end\n"
    "  return out\n"
    "end\n"
    "function methods:toLocalIterator()\n"
    "  local t, i = self:collect(), 0\n"
    "  return function() i = i + 1; return t[i] end\n"
    "end\n";

int em__lua_msgh(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);

    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") &&
            lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)",
                              luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Runs in protected mode: everything that may raise while setting up. */
static int setup(lua_State *L)
{
    const em__lang_opts *o = lua_touserdata(L, 1);
    int64_t mem = 0;

    if (o->memory != NULL && em_parse_size(o->memory, &mem) != EM_OK)
        return luaL_error(L, "--memory %s: not a size (use 512m, 2g, ...)",
                          o->memory);
    luaL_openlibs(L);
    em__lua_open_ember(L, true);
    lua_setglobal(L, "ember");
    if (luaL_loadbuffer(L, prelude, sizeof(prelude) - 1, "=prelude") !=
        LUA_OK)
        return lua_error(L);
    lua_getfield(L, LUA_REGISTRYINDEX, "ember.RDD.methods");
    lua_call(L, 1, 0);
    em__lua_snapshot_std(L);
    em__lua_new_ctx(L, o->master, mem, 0);
    lua_setglobal(L, "sc");
    return 0;
}

lua_State *em__lua_driver_new(const em__lang_opts *o, char *err,
                              size_t cap)
{
    lua_State *L = em__lua_newstate();

    if (L == NULL) {
        snprintf(err, cap, "cannot create a Lua state: out of memory");
        return NULL;
    }
    *(void **)lua_getextraspace(L) = NULL; /* no task on the driver */
    lua_pushcfunction(L, setup);
    lua_pushlightuserdata(L, (void *)o);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        snprintf(err, cap, "%s", lua_tostring(L, -1));
        lua_close(L);
        return NULL;
    }
    return L;
}

void em__lua_driver_close(lua_State *L)
{
    lua_close(L);
    em__lua_exec_shutdown();
}

int em__lang_run(const em__lang_opts *o, const char *path, int argc,
                 char **argv)
{
    char err[512];
    lua_State *L = em__lua_driver_new(o, err, sizeof(err));
    int rc, status = 0;

    if (L == NULL) {
        fprintf(stderr, "ember: %s\n", err);
        return 1;
    }
    lua_createtable(L, argc, 1);
    lua_pushstring(L, path);
    lua_rawseti(L, -2, 0);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setglobal(L, "arg");
    lua_pushcfunction(L, em__lua_msgh);
    rc = luaL_loadfile(L, strcmp(path, "-") == 0 ? NULL : path);
    if (rc != LUA_OK) {
        fprintf(stderr, "ember: %s\n", lua_tostring(L, -1));
        status = 1;
        goto out;
    }
    luaL_checkstack(L, argc + 2, "too many arguments");
    for (int i = 0; i < argc; i++)
        lua_pushstring(L, argv[i]);
    if (lua_pcall(L, argc, 0, 1) != LUA_OK) {
        fprintf(stderr, "ember: %s\n", lua_tostring(L, -1));
        status = 1;
    }
out:
    em__lua_driver_close(L);
    return status;
}
