-- Key-value operations (shuffles), against the PySpark documentation's
-- examples and naive Lua computations.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local t = require("testlib")
local eq, sorted = t.eq, t.sorted
local add = function(a, b) return a + b end

t.case("reduceByKey", function()
  local rdd = sc:parallelize({{"a", 1}, {"b", 1}, {"a", 1}})
  eq(sorted(rdd:reduceByKey(add):collect()), {{"a", 2}, {"b", 1}})
  eq(sorted(rdd:reduceByKey(ember.op.add, 3):collect()),
     {{"a", 2}, {"b", 1}}, "native op")
  eq(rdd:reduceByKey(add, 3):getNumPartitions(), 3)
  -- against a naive count of 10000 keys
  local pairs_, want = {}, {}
  for i = 1, 10000 do
    local k = (i * 7919) % 97
    pairs_[i] = {k, i}
    want[k] = (want[k] or 0) + i
  end
  local got = sc:parallelize(pairs_, 5):reduceByKey(add, 4):collectAsMap()
  eq(got, want, "naive sums")
end)

t.case("foldByKey aggregateByKey combineByKey", function()
  local rdd = sc:parallelize({{"a", 1}, {"b", 1}, {"a", 1}})
  eq(sorted(rdd:foldByKey(0, add):collect()), {{"a", 2}, {"b", 1}})
  local seq = function(x, y) return {x[1] + y, x[2] + 1} end
  local comb = function(x, y) return {x[1] + y[1], x[2] + y[2]} end
  local p = sc:parallelize({{"a", 1}, {"b", 1}, {"a", 2}})
  eq(sorted(p:aggregateByKey({0, 0}, seq, comb):collect()),
     {{"a", {3, 2}}, {"b", {1, 1}}})
  local x = sc:parallelize({{"a", 1}, {"b", 1}, {"a", 2}})
  local to_list = function(a) return {a} end
  local append = function(a, b) a[#a + 1] = b; return a end
  local extend = function(a, b)
    for _, v in ipairs(b) do a[#a + 1] = v end
    return a
  end
  local got = x:combineByKey(to_list, append, extend):collect()
  for _, kv in ipairs(got) do table.sort(kv[2]) end
  eq(sorted(got), {{"a", {1, 2}}, {"b", {1}}})
end)

t.case("groupByKey groupBy", function()
  local rdd = sc:parallelize({{"a", 1}, {"b", 1}, {"a", 1}})
  eq(sorted(rdd:groupByKey():mapValues(function(v) return #v end)
       :collect()), {{"a", 2}, {"b", 1}})
  local g = sc:parallelize({1, 1, 2, 3, 5, 8})
      :groupBy(function(x) return x % 2 end):collect()
  for _, kv in ipairs(g) do table.sort(kv[2]) end
  eq(sorted(g), {{0, {2, 8}}, {1, {1, 1, 3, 5}}})
end)

t.case("sortByKey sortBy", function()
  local tmp = {{"a", 1}, {"b", 2}, {"1", 3}, {"d", 4}, {"2", 5}}
  eq(sc:parallelize(tmp):sortByKey():first(), {"1", 3})
  eq(sc:parallelize(tmp):sortByKey(true, 1):take(2), {{"1", 3}, {"2", 5}})
  eq(sc:parallelize(tmp):sortByKey(true, 2):take(2), {{"1", 3}, {"2", 5}})
  local tmp2 = {{"Mary", 1}, {"had", 2}, {"a", 3}, {"little", 4},
                {"lamb", 5}, {"whose", 6}, {"fleece", 7}, {"was", 8},
                {"white", 9}}
  eq(sc:parallelize(tmp2):sortByKey(true, 3, function(k)
       return k:lower() end):collect(),
     {{"a", 3}, {"fleece", 7}, {"had", 2}, {"lamb", 5}, {"little", 4},
      {"Mary", 1}, {"was", 8}, {"white", 9}, {"whose", 6}})
  eq(sc:parallelize(tmp):sortBy(function(x) return x[1] end):collect(),
     {{"1", 3}, {"2", 5}, {"a", 1}, {"b", 2}, {"d", 4}})
  eq(sc:parallelize(tmp):sortBy(function(x) return x[2] end):collect(),
     {{"a", 1}, {"b", 2}, {"1", 3}, {"d", 4}, {"2", 5}})
  eq(sc:parallelize({3, 1, 2}):sortBy(function(x) return x end, false)
       :collect(), {3, 2, 1}, "descending")
end)

t.case("partitionBy repartitionAndSortWithinPartitions", function()
  local pairs_ = sc:parallelize({1, 2, 3, 4, 2, 4, 1})
      :map(function(x) return {x, x} end)
  local sets = pairs_:partitionBy(2):glom():collect()
  eq(#sets, 2)
  local seen = {}
  for i, part in ipairs(sets) do
    for _, kv in ipairs(part) do
      assert(seen[kv[1]] == nil or seen[kv[1]] == i,
             "a key in one partition only")
      seen[kv[1]] = i
    end
  end
  local by_parity = pairs_:partitionBy(2, function(k) return k % 2 end)
      :glom():collect()
  eq(sorted(by_parity[1]), {{2, 2}, {2, 2}, {4, 4}, {4, 4}})
  local rdd = sc:parallelize({{0, 5}, {3, 8}, {2, 6}, {0, 8}, {3, 8},
                              {1, 3}})
  local r2 = rdd:repartitionAndSortWithinPartitions(2, function(x)
    return x % 2 end, true)
  local got = r2:glom():collect()
  eq(got[1][1][1], 0)
  eq(#got[1], 3)
  eq(got[2][1][1], 1)
  eq(got[2][2][1], 3)
  for _, part in ipairs(got) do
    for i = 2, #part do assert(part[i - 1][1] <= part[i][1], "sorted") end
  end
end)

t.case("cogroup groupWith", function()
  local x = sc:parallelize({{"a", 1}, {"b", 4}})
  local y = sc:parallelize({{"a", 2}})
  eq(sorted(x:cogroup(y):collect()),
     {{"a", {{1}, {2}}}, {"b", {{4}, {}}}})
  local w = sc:parallelize({{"a", 5}, {"b", 6}})
  local z = sc:parallelize({{"b", 42}})
  eq(sorted(w:groupWith(x, y, z):collect()),
     {{"a", {{5}, {1}, {2}, {}}}, {"b", {{6}, {4}, {}, {42}}}})
end)

t.case("joins use ember.null for a missing side", function()
  local x = sc:parallelize({{"a", 1}, {"b", 4}})
  local y = sc:parallelize({{"a", 2}, {"a", 3}})
  eq(sorted(x:join(y):collect()), {{"a", {1, 2}}, {"a", {1, 3}}})
  eq(sorted(x:leftOuterJoin(y):collect()),
     {{"a", {1, 2}}, {"a", {1, 3}}, {"b", {4, ember.null}}})
  eq(sorted(y:rightOuterJoin(x):collect()),
     {{"a", {2, 1}}, {"a", {3, 1}}, {"b", {ember.null, 4}}})
  local x2 = sc:parallelize({{"a", 1}, {"b", 4}})
  local y2 = sc:parallelize({{"a", 2}, {"c", 8}})
  eq(sorted(x2:fullOuterJoin(y2):collect()),
     {{"a", {1, 2}}, {"b", {4, ember.null}}, {"c", {ember.null, 8}}})
  -- ember.null is accepted as an input value and comes back
  eq(sc:parallelize({{"k", ember.null}}):collect(), {{"k", ember.null}})
end)

t.case("subtractByKey countByKey lookup collectAsMap", function()
  local x = sc:parallelize({{"a", 1}, {"b", 4}, {"b", 5}, {"a", 2}})
  local y = sc:parallelize({{"a", 3}, {"c", ember.null}})
  eq(sorted(x:subtractByKey(y):collect()), {{"b", 4}, {"b", 5}})
  local rdd = sc:parallelize({{"a", 1}, {"b", 1}, {"a", 1}})
  eq(rdd:countByKey(), {a = 2, b = 1})
  eq(sc:parallelize({{1, 2}, {3, 4}}):collectAsMap(), {[1] = 2, [3] = 4})
  local l = {}
  for i = 0, 999 do l[#l + 1] = {i, i} end
  local r = sc:parallelize(l, 10)
  eq(r:lookup(42), {42})
  local sorted_ = r:sortByKey()
  eq(sorted_:lookup(42), {42})
  eq(sorted_:lookup(1024), {})
  local r2 = sc:parallelize({{"a", "a"}, {"b", "b"}}):partitionBy(2)
  eq(r2:lookup("a"), {"a"})
end)

t.run()
