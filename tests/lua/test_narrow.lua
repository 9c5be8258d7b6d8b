-- Narrow transformations, against the PySpark documentation's examples
-- and naive Lua computations.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local t = require("testlib")
local eq, sorted = t.eq, t.sorted

t.case("map", function()
  local rdd = sc:parallelize({"b", "a", "c"})
  eq(sorted(rdd:map(function(x) return {x, 1} end):collect()),
     {{"a", 1}, {"b", 1}, {"c", 1}}, "map pairs")
  local n = {}
  for i = 1, 1000 do n[i] = i end
  local want = {}
  for i = 1, 1000 do want[i] = i * i + 0.5 end
  eq(sc:parallelize(n, 7):map(function(x) return x * x + 0.5 end):collect(),
     want, "map keeps order")
end)

t.case("filter", function()
  local rdd = sc:parallelize({1, 2, 3, 4, 5})
  eq(rdd:filter(function(x) return x % 2 == 0 end):collect(), {2, 4})
  -- Lua truthiness: 0 is true, nil and false are not
  eq(sc:parallelize({0, 1, 2}):filter(function(x) return x ~= 1 and x end)
       :collect(), {0, 2}, "0 is truthy")
end)

t.case("flatMap", function()
  local rdd = sc:parallelize({2, 3, 4})
  eq(sorted(rdd:flatMap(function(x)
    local r = {}
    for i = 1, x - 1 do r[#r + 1] = i end
    return r
  end):collect()), {1, 1, 1, 2, 2, 3})
  eq(sorted(rdd:flatMap(function(x) return {{x, x}, {x, x}} end):collect()),
     {{2, 2}, {2, 2}, {3, 3}, {3, 3}, {4, 4}, {4, 4}}, "pairs")
  -- an iterator works too, and an empty table is an empty result
  eq(sc:parallelize({3, 0}):flatMap(function(x)
    local i = 0
    return function() i = i + 1; if i <= x then return i end end
  end):collect(), {1, 2, 3}, "iterator")
  eq(sc:parallelize({1, 2}):flatMap(function() return {} end):count(), 0)
end)

t.case("mapPartitions", function()
  local rdd = sc:parallelize({1, 2, 3, 4}, 2)
  eq(rdd:mapPartitions(function(it)
    local s = 0
    for x in it do s = s + x end
    return {s}
  end):collect(), {3, 7})
  -- returning an iterator (a generator)
  eq(rdd:mapPartitions(function(it)
    return coroutine.wrap(function()
      for x in it do coroutine.yield(x * 10) end
    end)
  end):collect(), {10, 20, 30, 40}, "generator")
end)

t.case("mapPartitionsWithIndex", function()
  local rdd = sc:parallelize({1, 2, 3, 4}, 4)
  eq(rdd:mapPartitionsWithIndex(function(i, it)
    local s = 0
    for _ in it do s = s + i end
    return {s}
  end):sum(), 6)
  eq(sc:parallelize({"a", "b"}, 2):mapPartitionsWithIndex(function(i, it)
    local r = {}
    for x in it do r[#r + 1] = {i, x} end
    return r
  end):collect(), {{0, "a"}, {1, "b"}}, "0-based index")
end)

t.case("glom", function()
  eq(sc:parallelize({1, 2, 3, 4}, 2):glom():collect(), {{1, 2}, {3, 4}})
  eq(sc:parallelize({1}, 3):glom():collect(), {{}, {}, {1}},
     "empty partitions are empty arrays")
end)

t.case("mapValues flatMapValues keyBy keys values", function()
  local x = sc:parallelize({{"a", {"apple", "banana", "lemon"}},
                            {"b", {"grapes"}}})
  eq(x:mapValues(function(v) return #v end):collect(), {{"a", 3}, {"b", 1}})
  local y = sc:parallelize({{"a", {"x", "y", "z"}}, {"b", {"p", "r"}}})
  eq(y:flatMapValues(function(v) return v end):collect(),
     {{"a", "x"}, {"a", "y"}, {"a", "z"}, {"b", "p"}, {"b", "r"}})
  local z = sc:parallelize({1, 2, 3}):keyBy(function(v) return v * v end)
  eq(z:collect(), {{1, 1}, {4, 2}, {9, 3}})
  eq(z:keys():collect(), {1, 4, 9})
  eq(z:values():collect(), {1, 2, 3})
end)

t.case("zip zipWithIndex zipWithUniqueId", function()
  local x = sc:parallelize({0, 1, 2, 3, 4}, 3)
  local y = sc:parallelize({1000, 1001, 1002, 1003, 1004}, 3)
  eq(x:zip(y):collect(),
     {{0, 1000}, {1, 1001}, {2, 1002}, {3, 1003}, {4, 1004}})
  eq(sc:parallelize({"a", "b", "c", "d"}, 3):zipWithIndex():collect(),
     {{"a", 0}, {"b", 1}, {"c", 2}, {"d", 3}})
  eq(sc:parallelize({"a", "b", "c", "d", "e"}, 3):zipWithUniqueId()
       :collect(),
     {{"a", 0}, {"b", 1}, {"c", 4}, {"d", 2}, {"e", 5}})
end)

t.case("sample and randomSplit", function()
  local n = {}
  for i = 1, 1000 do n[i] = i end
  local rdd = sc:parallelize(n, 4)
  local a = rdd:sample(false, 0.3, 81):collect()
  eq(rdd:sample(false, 0.3, 81):collect(), a, "same seed, same sample")
  assert(#a > 200 and #a < 400, "about 30%: " .. #a)
  local seen = {}
  for _, v in ipairs(a) do
    assert(not seen[v], "no repeats without replacement")
    seen[v] = true
  end
  local parts = rdd:randomSplit({2, 3}, 17)
  local c1, c2 = parts[1]:collect(), parts[2]:collect()
  eq(#c1 + #c2, 1000, "a split loses nothing")
  local all = {}
  for _, v in ipairs(c1) do all[#all + 1] = v end
  for _, v in ipairs(c2) do all[#all + 1] = v end
  eq(sorted(all), n, "and repeats nothing")
  assert(#c1 > 300 and #c1 < 500, "about 40%: " .. #c1)
end)

t.case("coalesce repartition", function()
  local rdd = sc:parallelize({1, 2, 3, 4, 5}, 3)
  eq(rdd:glom():collect(), {{1}, {2, 3}, {4, 5}})
  eq(rdd:coalesce(1):glom():collect(), {{1, 2, 3, 4, 5}})
  eq(rdd:coalesce(5):getNumPartitions(), 3, "no more partitions")
  local r = sc:parallelize({1, 2, 3, 4, 5, 6, 7}, 4)
  eq(#r:glom():collect(), 4)
  eq(#r:repartition(2):glom():collect(), 2)
  eq(sorted(r:repartition(10):collect()), {1, 2, 3, 4, 5, 6, 7})
  eq(r:coalesce(6, true):getNumPartitions(), 6, "coalesce with shuffle")
end)

t.case("pipe", function()
  eq(sc:parallelize({"1", "2", "", "3"}):pipe("cat"):collect(),
     {"1", "2", "", "3"})
end)

t.case("union distinct cartesian intersection subtract", function()
  local rdd = sc:parallelize({1, 1, 2, 3})
  eq(rdd:union(rdd):collect(), {1, 1, 2, 3, 1, 1, 2, 3})
  eq(sc:union({rdd, rdd, rdd}):count(), 12, "sc:union")
  eq(sorted(sc:parallelize({1, 1, 2, 3}):distinct():collect()), {1, 2, 3})
  eq(sorted(sc:parallelize({1, 2}):cartesian(sc:parallelize({1, 2}))
       :collect()), {{1, 1}, {1, 2}, {2, 1}, {2, 2}})
  local r1 = sc:parallelize({1, 10, 2, 3, 4, 5})
  local r2 = sc:parallelize({1, 6, 2, 3, 7, 8})
  eq(sorted(r1:intersection(r2):collect()), {1, 2, 3})
  local x = sc:parallelize({{"a", 1}, {"b", 4}, {"b", 5}, {"a", 3}})
  local y = sc:parallelize({{"a", 3}, {"c", nil}})
  eq(sorted(x:subtract(y):collect()), {{"a", 1}, {"b", 4}, {"b", 5}})
end)

t.run()
