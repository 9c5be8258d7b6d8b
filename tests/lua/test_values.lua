-- Values crossing Lua and C both ways: through a shuffle (which encodes
-- them) and through a Lua function that runs in a task.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local t = require("testlib")
local eq = t.eq

local samples = {
  0, -1, math.maxinteger, math.mininteger, 0.0, -0.5, 1e300, 3.0,
  "", "text", "with\0nul\255bytes", true, false,
  {}, {1, 2, 3}, {1, {2, {3, {}}}}, {"k", 1.5},
  {a = 1, b = {c = "d"}}, {[1] = "a", [3] = "c"}, {[2.5] = true},
  {1, ember.null, 3},
}

t.case("round trip through the runtime", function()
  -- collect returns what parallelize was given
  eq(sc:parallelize(samples, 3):collect(), samples, "parallelize/collect")
  -- a shuffle encodes every value (msgpack) and decodes it again
  local keyed = {}
  for i, v in ipairs(samples) do keyed[i] = {i, v} end
  local got = sc:parallelize(keyed, 4):partitionBy(3):collectAsMap()
  for i, v in ipairs(samples) do eq(got[i], v, "shuffled sample " .. i) end
end)

t.case("through a Lua function in a task", function()
  local got = sc:parallelize(samples, 5):map(function(v)
    return {math.type(v) or type(v), v}
  end):collect()
  for i, v in ipairs(samples) do
    eq(got[i][2], v, "sample " .. i)
    eq(got[i][1], math.type(v) or (v == ember.null and "userdata") or type(v),
       "type of sample " .. i)
  end
end)

t.case("ints stay ints, floats stay floats", function()
  local r = sc:parallelize({1, 2.0, 3}):map(function(x) return x * 2 end)
  eq(r:collect(), {2, 4.0, 6})
  eq(math.type(sc:parallelize({1, 2}):sum()), "integer")
  eq(math.type(sc:parallelize({1, 2.5}):sum()), "float")
  eq(sc:parallelize({{1, 1}, {1, 2.5}}):reduceByKey(ember.op.add):collect(),
     {{1, 3.5}})
end)

t.case("nil results and ember.null", function()
  eq(sc:parallelize({1, 2}):map(function() return nil end):collect(),
     {ember.null, ember.null}, "nil records collect as ember.null")
  eq(sc:parallelize({ember.null, 1}):map(function(x)
    return x == nil and "nil" or "value" end):collect(),
     {"nil", "value"}, "a nil record reaches a function as nil")
  eq(sc:parallelize({ember.null, 1}):mapPartitions(function(it)
    local r = {}
    for x in it do r[#r + 1] = x == ember.null and "null" or "value" end
    return r
  end):collect(), {"null", "value"}, "and an iterator gives ember.null")
  eq(tostring(ember.null), "ember.null")
end)

t.case("values that are not values fail clearly", function()
  t.fails(function() sc:parallelize({print}) end, "[1]: a function")
  t.fails(function() sc:parallelize({{a = {coroutine.create(print)}}}) end,
          "[1].a[1]: a coroutine")
  t.fails(function() sc:parallelize({a = 1}) end, "must be an array")
  local cyc = {}
  cyc[1] = cyc
  t.fails(function() sc:parallelize({cyc}) end, "nested more than")
  t.fails(function()
    sc:parallelize({1}):map(function() return print end):collect()
  end, "not a value")
  t.fails(function()
    sc:parallelize({1}):flatMap(function() return 5 end):collect()
  end, "must return an array or an iterator")
end)

t.run()
