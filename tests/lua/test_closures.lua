-- What closures carry to the executors: upvalues of every kind, nested
-- and recursive functions, globals captured when the action runs, shared
-- variables; and the errors for what cannot travel, or fails in a task.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local t = require("testlib")
local eq, sorted = t.eq, t.sorted

t.case("upvalues: numbers, strings, tables, nested functions", function()
  local k, s, tab = 3, "x", {a = 1, list = {10, 20}}
  local function helper(v) return v * k end
  local r = sc:parallelize({1, 2}):map(function(x)
    return s .. helper(x) + tab.a + tab.list[2]
  end)
  eq(r:collect(), {"x24", "x27"})
  -- a table holding functions
  local ops = {double = function(v) return 2 * v end, k = k}
  eq(sc:parallelize({1, 2}):map(function(x)
    return ops.double(x) + ops.k end):collect(), {5, 7})
end)

t.case("recursive and global functions", function()
  local function fact(n) if n <= 1 then return 1 end return n * fact(n - 1) end
  eq(sc:parallelize({5, 6}):map(fact):collect(), {120, 720})
  function gfib(n) if n < 2 then return n end return gfib(n - 1) + gfib(n - 2) end
  eq(sc:parallelize({10, 20}):map(function(x) return gfib(x) end):collect(),
     {55, 6765})
  gfib = nil
end)

t.case("globals are captured when the action runs", function()
  factor = 2
  local r = sc:parallelize({1, 2, 3}):map(function(x) return x * factor end)
  factor = 10
  eq(r:collect(), {10, 20, 30})
  factor = 100                   -- already built: PySpark keeps the first
  eq(r:collect(), {10, 20, 30})
  factor = nil
  -- a standard global the script replaced travels as its new value
  local saved = tostring
  tostring = function(v) return "<" .. saved(v) .. ">" end
  local r2 = sc:parallelize({1}):map(function(x) return tostring(x) end)
  eq(r2:collect(), {"<1>"})
  tostring = saved
end)

t.case("standard functions and native ops by name", function()
  eq(sc:parallelize({1, 4, 9}):map(math.sqrt):collect(), {1.0, 2.0, 3.0})
  eq(sc:parallelize({1, 2}):map(tostring):collect(), {"1", "2"})
  local sqrt, fmt = math.sqrt, string.format
  eq(sc:parallelize({16}):map(function(x) return fmt("%g", sqrt(x)) end)
       :collect(), {"4"})
  local add = ember.op.add
  eq(sc:parallelize({{1, 2}, {3, 4}}):map(function(p) return add(p[1], p[2]) end)
       :collect(), {3, 7})
  eq(ember.op.max(3, 7), 7)
  eq(ember.op.min("a", "b"), "a")
  eq(ember.op.concat({1}, {2, 3}), {1, 2, 3})
  eq(ember.op.mul(2, 2.5), 5.0)
  eq(sc:parallelize({"a", "b", "c"}, 2):reduce(ember.op.concat), "abc")
  eq(sc:parallelize({4, 2, 9}, 2):reduce(ember.op.max), 9)
  eq(sc:parallelize({4, 2, 9}, 2):reduce(ember.op.min), 2)
  eq(sc:parallelize({4, 2, 9}, 2):reduce(ember.op.mul), 72)
end)

t.case("broadcast variables", function()
  local b = sc:broadcast({a = 1, b = 2, list = {5, 6}})
  eq(b.value.list, {5, 6})
  eq(sc:parallelize({"a", "b", "a"}, 2):map(function(x) return b.value[x] end)
       :sum(), 4)
  local nested = {lookup = b}
  eq(sc:parallelize({"b"}):map(function(x) return nested.lookup.value[x] end)
       :collect(), {2}, "a broadcast inside a captured table")
  b:unpersist()
  eq(b.value.a, 1, "unpersist keeps the value usable")
  b:destroy()
  t.fails(function() return b.value end, "destroyed")
  t.fails(function()
    sc:parallelize({1}):map(function() return b.value end):collect()
  end, "destroyed broadcast")
end)

t.case("accumulators: sum and user-defined", function()
  local acc = sc:accumulator(0)
  local double = sc:accumulator(0.0)
  sc:parallelize({1, 2, 3, 4}, 3):foreach(function(x)
    acc:add(x)
    double:add(x / 2)
  end)
  eq(acc.value, 10)
  eq(double.value, 5.0)
  acc:add(5)
  eq(acc.value, 15, "the driver may add")
  acc.value = 1
  eq(acc.value, 1, "the driver may assign")
  t.fails(function() sc:accumulator("x") end, "addInPlace")
  local lists = sc:accumulator({}, {
    zero = function() return {} end,
    addInPlace = function(a, b)
      local r = {}
      for _, v in ipairs(a) do r[#r + 1] = v end
      for _, v in ipairs(b) do r[#r + 1] = v end
      return r
    end,
  })
  sc:parallelize({"x", "y", "z"}, 2):foreach(function(v) lists:add({v}) end)
  eq(sorted(lists.value), {"x", "y", "z"})
  t.fails(function()
    sc:parallelize({1}):map(function() return acc.value end):collect()
  end, "only on the driver")
end)

t.case("what cannot travel fails, naming the variable", function()
  local co = coroutine.create(print)
  t.fails(function() sc:parallelize({1}):map(function() return co end) end,
          "upvalue 'co' is a coroutine")
  local fh = io.tmpfile()
  t.fails(function()
    sc:parallelize({1}):map(function() fh:write("x") end)
  end, "upvalue 'fh' is an open file")
  fh:close()
  local other = sc:parallelize({2})
  t.fails(function()
    sc:parallelize({1}):map(function() return other:count() end)
  end, "upvalue 'other' is an RDD")
  t.fails(function()
    sc:parallelize({1}):map(function() return sc.defaultParallelism end)
      :collect()
  end, "global 'sc' is the SparkContext")
  local cfg = {log = io.stderr}
  local function inner() return cfg.log end
  t.fails(function()
    sc:parallelize({1}):map(function() return inner() end)
  end, "upvalue 'inner': upvalue 'cfg'.log is an open file")
  -- a global that becomes bad before the action fails at the action
  bad_global = 1
  local r = sc:parallelize({1}):map(function(x) return x + bad_global end)
  bad_global = coroutine.create(print)
  t.fails(function() r:collect() end, "global 'bad_global' is a coroutine")
  bad_global = nil
end)

t.case("a Lua error in a task fails the job with message and traceback",
       function()
  local function check(x)
    if x == 3 then error("record " .. x .. " is bad") end
    return x
  end
  local err = t.fails(function()
    sc:parallelize({1, 2, 3, 4}, 2):map(check):collect()
  end, "record 3 is bad")
  assert(err:find("traceback", 1, true), "has a traceback: " .. err)
  assert(err:find("in function", 1, true), err)
  t.fails(function()
    sc:parallelize({"a"}):map(function(x) local y; return y.field end)
      :collect()
  end, "attempt to index a nil value")
  -- the context stays usable
  eq(sc:parallelize({1, 2, 3}):filter(function(x)
    return x ~= 3 end):map(check):count(), 2)
  eq(sc:parallelize({1, 2}):map(function(x) return x end):sum(), 3)
end)

t.case("closures decode in a fresh state (no driver state)", function()
  -- a closure that writes a global keeps it in its own environment
  local r = sc:parallelize({1, 2, 3}, 1):map(function(x)
    seen_in_task = (seen_in_task or 0) + x
    return seen_in_task
  end)
  eq(r:collect(), {1, 3, 6})
  eq(seen_in_task, nil, "the driver's globals are untouched")
end)

t.run()
