# Lua tests (label `lua`): each tests/lua/test_*.lua runs under `ember run`
# for local[1], local[2] and local[7] (results must not depend on the
# number of threads); test_*.sh drive the command itself; test_shell.c
# drives `ember shell` through a pseudo-terminal.
set(EM_LUA_TEST_DIR ${PROJECT_SOURCE_DIR}/tests/lua)
file(GLOB EM_LUA_TESTS CONFIGURE_DEPENDS ${EM_LUA_TEST_DIR}/test_*.lua)
foreach(t ${EM_LUA_TESTS})
  get_filename_component(name ${t} NAME_WE)
  foreach(n 1 2 7)
    add_test(NAME lua_${name}_local${n}
             COMMAND $<TARGET_FILE:ember_cli> run --master local[${n}] ${t})
    set_tests_properties(lua_${name}_local${n} PROPERTIES LABELS lua
      ENVIRONMENT "EMBER_TEST_DATA=${PROJECT_SOURCE_DIR}/tests/data")
  endforeach()
endforeach()
file(GLOB EM_LUA_SH_TESTS CONFIGURE_DEPENDS ${EM_LUA_TEST_DIR}/test_*.sh)
foreach(t ${EM_LUA_SH_TESTS})
  get_filename_component(name ${t} NAME_WE)
  add_test(NAME lua_${name} COMMAND bash ${t} $<TARGET_FILE:ember_cli>)
  set_tests_properties(lua_${name} PROPERTIES LABELS lua)
endforeach()
if(EXISTS ${EM_LUA_TEST_DIR}/test_shell.c)
  add_executable(test_shell ${EM_LUA_TEST_DIR}/test_shell.c)
  target_link_libraries(test_shell PRIVATE util)
  add_test(NAME lua_test_shell
           COMMAND test_shell $<TARGET_FILE:ember_cli>)
  set_tests_properties(lua_test_shell PROPERTIES LABELS lua)
endif()
