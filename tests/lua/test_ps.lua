-- ember.ps, the parameter server: handles captured in task closures pull
-- and push; sums exact against a naive Lua table, a server-side optimizer
-- against its rule written out, the staleness bound, stats and bad input.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local t = require("testlib")
local eq, near, fails = t.eq, t.near, t.fails

t.case("tasks push into dim 2 vectors; the sums are exact", function()
  local ps = ember.ps.create(sc, {dim = 2, shards = 3})
  sc:parallelize({1, 2, 3, 4, 5}, 5):foreach(function(x)
    for i = 1, 20 do
      ps:push({"k" .. (i % 7), i}, {{x, 1}, {x * i, -1}})
    end
  end)
  local want = {}
  for x = 1, 5 do
    for i = 1, 20 do
      local a = "k" .. (i % 7)
      want[a] = want[a] or {0.0, 0.0}
      want[a][1], want[a][2] = want[a][1] + x, want[a][2] + 1
      want[i] = want[i] or {0.0, 0.0}
      want[i][1], want[i][2] = want[i][1] + x * i, want[i][2] - 1
    end
  end
  local keys = {}
  for k in pairs(want) do keys[#keys + 1] = k end
  local got = ps:pull(keys)
  for i, k in ipairs(keys) do eq(got[i], want[k], "key " .. tostring(k)) end
  -- tasks read the same values
  local seen = sc:parallelize({1}, 1):map(function()
    return ps:pull(keys)
  end):collect()[1]
  eq(seen, got, "pulled in a task")
  ps:destroy()
end)

t.case("dim 1 is key -> float; init constant", function()
  local ps = ember.ps.create(sc, {dim = 1, init = "constant", value = 0.25})
  eq(ps:pull({"a", 3}), {0.25, 0.25}, "initial values")
  ps:push({"a", "a"}, {1, 2})
  eq(ps:pull({"a", 3}), {3.25, 0.25}, "after a push")
end)

t.case("server-side sgd applies w -= step * g per push", function()
  local ps = ember.ps.create(sc, {dim = 2, optimizer = "sgd",
                                  stepSize = 0.5, schedule = "constant"})
  sc:parallelize({1}, 1):foreach(function()
    ps:push({"w"}, {{1, -2}})
    ps:push({"w"}, {{4, 0}})
  end)
  eq(ps:pull({"w"})[1], {-0.5 * 1 - 0.5 * 4, 0.5 * 2}, "two steps")
end)

t.case("staleness 2: a copy is read again after 3 pushes", function()
  local ps = ember.ps.create(sc, {dim = 1, shards = 1, staleness = 2})
  local reads = sc:parallelize({1}, 1):map(function()
    local out = {}
    for _ = 1, 7 do
      out[#out + 1] = ps:pull({"x"})[1]
      ps:push({"x"}, {1})
    end
    return out
  end):collect()[1]
  eq(reads, {0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 6.0}, "values read")
end)

t.case("stats count keys and requests; rebalance gives a new handle",
       function()
  local ps = ember.ps.create(sc, {dim = 1, shards = 2})
  for i = 1, 10 do ps:push({"hot", "k" .. i}, {1, 1}) end
  local st = ps:stats()
  eq(st.shards, 2, "shards")
  local keys, reqs = 0, 0
  for _, s in ipairs(st.perShard) do
    keys, reqs = keys + s.keys, reqs + s.requests
  end
  eq(keys, 11, "keys")
  eq(reqs, 20, "requests: one per key pushed")
  local h = ps:rebalance(1)
  eq(h:stats().hotKeys, 1, "one hot key")
  eq(h:pull({"hot"}), {10.0}, "the hot key's value moved with it")
end)

t.case("bad input fails clearly", function()
  fails(function() ember.ps.create(sc, {dim = 0}) end, "dim", "dim 0")
  fails(function() ember.ps.create(sc, {dim = 1, init = "bogus"}) end,
        "init", "init name")
  local ps = ember.ps.create(sc, {dim = 2})
  fails(function() ps:push({"a"}, {{1}}) end, "2 numbers", "short delta")
  fails(function() ps:push({"a"}, {{1, 0 / 0}}) end, "not finite",
        "NaN delta")
  fails(function() ps:push({"a", "b"}, {{1, 2}}) end, "deltas",
        "count mismatch")
end)

t.run()
