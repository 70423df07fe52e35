// SPDX-License-Identifier: GPL-2.0
/*
 * The Lua workload's host (issue 16): a Lua 5.4 state from Debian's static
 * liblua5.4.a with the standard libraries, running the script named first
 * with the rest as its `arg` table, as the stand-alone `lua` does.  The
 * script is a file under `--root`, read through the guest kernel's files.
 *
 *   exec_lua SCRIPT [ARG...]
 */
#include <stdio.h>

#include <lua5.4/lauxlib.h>
#include <lua5.4/lua.h>
#include <lua5.4/lualib.h>

int main(int argc, char **argv)
{
	lua_State *L;
	int i, ret;

	if (argc < 2) {
		fprintf(stderr, "usage: exec_lua SCRIPT [ARG...]\n");
		return 2;
	}
	L = luaL_newstate();
	if (!L)
		return 1;
	luaL_openlibs(L);
	lua_createtable(L, argc - 2, 1);
	for (i = 1; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i - 1);
	}
	lua_setglobal(L, "arg");
	ret = luaL_dofile(L, argv[1]);
	if (ret != LUA_OK) {
		fprintf(stderr, "exec_lua: %s\n", lua_tostring(L, -1));
		lua_close(L);
		return 1;
	}
	lua_close(L);
	return 0;
}
