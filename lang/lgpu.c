/* ember.gpu in Lua: info(), the build's GPU toolkit and the devices this
 * process sees, as `ember info` prints them (include/ember/gpu.h,
 * docs/gpu.md).
 */
#include <lauxlib.h>
#include <lua.h>

#include "ember.h"
#include "ember/gpu.h"
#include "lint.h"

/* ember.gpu.info() -> {build = "CUDA 13.0" or nil, devices = {{name,
 * memory, major, minor}...}, text = the line `ember info` prints}. */
static int gpu_info(lua_State *L)
{
    const char *build = em_gpu_build();
    int n = em_gpu_count();

    lua_createtable(L, 0, 3);
    if (build != NULL) {
        lua_pushstring(L, build);
        lua_setfield(L, -2, "build");
    }
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        em_gpu_info d;
        if (em_gpu_device_info(i, &d) != EM_OK)
            return luaL_error(L, "ember.gpu.info: %s", em_last_error());
        lua_createtable(L, 0, 4);
        lua_pushstring(L, d.name);
        lua_setfield(L, -2, "name");
        lua_pushinteger(L, d.memory_bytes);
        lua_setfield(L, -2, "memory");
        lua_pushinteger(L, d.major);
        lua_setfield(L, -2, "major");
        lua_pushinteger(L, d.minor);
        lua_setfield(L, -2, "minor");
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "devices");
    if (build == NULL)
        lua_pushliteral(L, "built without CUDA");
    else if (n == 0)
        lua_pushfstring(L, "no GPU device found (built with %s)", build);
    else
        lua_pushfstring(L, "%d GPU device%s (built with %s)", n,
                        n == 1 ? "" : "s", build);
    lua_setfield(L, -2, "text");
    return 1;
}

void em__lua_open_gpu(lua_State *L)
{
    static const luaL_Reg fns[] = {{"info", gpu_info}, {NULL, NULL}};

    luaL_newlib(L, fns);
    lua_setfield(L, -2, "gpu");
}
