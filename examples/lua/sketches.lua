-- Bloom filter and count-min sketch on word lists: a filter of MEMBERS
-- (a word a line) queried with the words of OTHERS that are not members
-- (measured false-positive rate next to the configured and expected
-- ones), then a count-min sketch of both lists' lines checked against the
-- exact counts, and the heavy hitters.
--   ember run examples/lua/sketches.lua MEMBERS OTHERS [FPP=0.01] [EPS=0.0001]
local mpath, opath = arg[1], arg[2]
assert(mpath and opath, "usage: sketches.lua MEMBERS OTHERS [FPP] [EPS]")
local fpp, eps, conf = tonumber(arg[3] or 0.01), tonumber(arg[4] or 0.0001), 0.99
local members, others = sc:textFile(mpath):cache(), sc:textFile(opath)
local n = members:count()
local bf = ember.sketch.bloomFilter(members, n, fpp)
print(string.format("bloom\tmembers %d\tbits %d\thashes %d", n, bf:bitSize(),
                    bf:numHashes()))
local b = sc:broadcast(bf:value())
-- the filter is rebuilt once per partition, from the broadcast value
local function count_where(rdd, want)
  return rdd:mapPartitions(function(it)
    local f, n = ember.sketch.BloomFilter.fromValue(b.value), 0
    for w in it do if f:mightContain(w) == want then n = n + 1 end end
    return {n}
  end):sum()
end
local negatives = count_where(members, false)
print(string.format("bloom\tfalse negatives %d", negatives))
local queries = others:subtract(members)
local q = queries:count()
local fp = count_where(queries, true)
print(string.format("bloom\tqueries %d\tfalse positives %d\trate %.5f\tconfigured %.5f\texpected %.5f",
                    q, fp, fp / math.max(q, 1), fpp, bf:expectedFpp()))

local items = members:union(others):cache()
local N = items:count()
local cms = ember.sketch.countMinSketch(items, eps, conf, 0)
local exact = items:map(function(w) return {w, 1} end):reduceByKey(ember.op.add)
local c = sc:broadcast(cms:value())
local checked = exact:mapPartitions(function(it)
  local s, below, over = ember.sketch.CountMinSketch.fromValue(c.value), 0, 0
  for kv in it do
    local e = s:estimateCount(kv[1])
    if e < kv[2] then below = below + 1 end
    if e > kv[2] + eps * N then over = over + 1 end
  end
  return {{below, over}}
end):reduce(function(x, y) return {x[1] + y[1], x[2] + y[2]} end)
print(string.format("count-min\titems %d\tdistinct %d\twidth %d\tdepth %d", N,
                    exact:count(), cms:width(), cms:depth()))
print(string.format("count-min\tbelow truth %d\tover eps*N %d (%.5f, bound %.5f)",
                    checked[1], checked[2], checked[2] / exact:count(), 1 - conf))
for _, kv in ipairs(ember.sketch.heavyHitters(items, 0.001, eps, conf)) do
  print(string.format("heavy\t%d\t%s", kv[2], kv[1]))
end
