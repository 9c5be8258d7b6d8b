-- ember.sketch: Bloom filters, count-min sketches, random-projection and
-- MinHash LSH, against naive Lua computations and the sketches' bounds.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local t = require("testlib")
local eq, near = t.eq, t.near

-- generated words: a fixed pseudo-random stream (an LCG)
local function gen(seed, n, len)
  local s, out = seed, {}
  for i = 1, n do
    local w = {}
    for j = 1, len do
      s = (s * 6364136223846793005 + 1442695040888963407) & 0x7fffffffffffffff
      w[j] = string.char(97 + (s >> 33) % 26)
    end
    out[i] = table.concat(w) .. i
  end
  return out
end

t.case("BloomFilter: sizing, no false negatives, fpp bound", function()
  local n, p = 2000, 0.01
  local bf = ember.sketch.BloomFilter.create(n, p)
  local m = math.ceil(-n * math.log(p) / math.log(2) ^ 2)
  eq(bf:bitSize(), m, "m")
  eq(bf:numHashes(), math.max(1, math.floor(m / n * math.log(2) + 0.5)), "k")
  local ins, probe = gen(1, n, 7), gen(2, 20000, 8)
  for _, w in ipairs(ins) do bf:put(w) end
  for _, w in ipairs(ins) do eq(bf:mightContain(w), true, "inserted " .. w) end
  local fp = 0
  for _, w in ipairs(probe) do if bf:mightContain(w) then fp = fp + 1 end end
  eq(fp / #probe <= 2 * p, true, "measured fpp " .. fp / #probe)
  eq(bf:expectedFpp() <= 1.5 * p and bf:expectedFpp() > 0, true,
     "expectedFpp " .. bf:expectedFpp())
  -- merge of two halves holds both; another size is refused
  local a = ember.sketch.BloomFilter.create(n, p)
  local b = ember.sketch.BloomFilter.create(n, p)
  for i, w in ipairs(ins) do (i % 2 == 0 and a or b):put(w) end
  a:mergeInPlace(b)
  for _, w in ipairs(ins) do eq(a:mightContain(w), true, "merged") end
  t.fails(function() a:mergeInPlace(ember.sketch.BloomFilter.create(10, p)) end,
          "", "size mismatch")
  -- value round trip; on an RDD; read in a task through a broadcast
  local c = ember.sketch.BloomFilter.fromValue(bf:value())
  for _, w in ipairs(ins) do eq(c:mightContain(w), true, "fromValue") end
  local r = ember.sketch.bloomFilter(sc:parallelize(ins, 4), n, p)
  for _, w in ipairs(ins) do eq(r:mightContain(w), true, "bloomFilter(rdd)") end
  local bv = sc:broadcast(r:value())
  local missing = sc:parallelize(ins, 3):filter(function(w)
    return not ember.sketch.BloomFilter.fromValue(bv.value):mightContain(w)
  end):count()
  eq(missing, 0, "no false negatives in tasks")
end)

t.case("dropSingletons keeps every repeated value", function()
  local recs, counts = {}, {}
  local words = gen(3, 3000, 6)
  for i, w in ipairs(words) do
    local k = (i % 3 == 0) and 1 or (i % 3)  -- 1 or 2 copies
    if i % 5 == 0 then k = 3 end
    for _ = 1, k do recs[#recs + 1] = w end
    counts[w] = k
  end
  local kept = ember.sketch.dropSingletons(sc:parallelize(recs, 4)):collect()
  local got, singles = {}, 0
  for _, w in ipairs(kept) do got[w] = (got[w] or 0) + 1 end
  local nsingle = 0
  for w, k in pairs(counts) do
    if k >= 2 then eq(got[w], k, "every copy of " .. w) end
    if k == 1 then
      nsingle = nsingle + 1
      if got[w] then singles = singles + 1 end
    end
  end
  eq(singles <= 0.05 * nsingle, true, "singletons kept: " .. singles)
  local k2 = ember.sketch.dropSingletons(sc:parallelize(recs, 2), 3000, 0.001):count()
  eq(k2 >= #recs - nsingle, true, "explicit parameters")
end)

t.case("CountMinSketch: sizing, never below the truth, eps bound", function()
  local eps, conf = 0.001, 0.99
  local cms = ember.sketch.CountMinSketch.create(eps, conf, 7)
  eq(cms:width(), math.ceil(math.exp(1) / eps), "width")
  eq(cms:depth(), math.ceil(math.log(1 / (1 - conf))), "depth")
  local words = gen(4, 5000, 3)
  local recs, truth = {}, {}
  for i = 1, 30000 do
    local w = words[(i * i) % 5000 + 1]
    recs[i] = w
    truth[w] = (truth[w] or 0) + 1
  end
  for _, w in ipairs(recs) do cms:add(w) end
  eq(cms:totalCount(), #recs)
  local over = 0
  for w, c in pairs(truth) do
    local e = cms:estimateCount(w)
    eq(e >= c, true, "estimate of " .. w)
    if e > c + eps * #recs then over = over + 1 end
  end
  eq(over == 0, true, "over the eps*N bound: " .. over)
  -- counts, merge, the RDD builder and conservative update
  local a = ember.sketch.CountMinSketch.create(eps, conf, 7)
  local b = ember.sketch.CountMinSketch.create(eps, conf, 7)
  a:add("x", 5); b:add("x", 3); b:add("y")
  a:mergeInPlace(b)
  eq(a:estimateCount("x") >= 8, true); eq(a:totalCount(), 9)
  t.fails(function() a:mergeInPlace(ember.sketch.CountMinSketch.create(eps, conf, 8)) end,
          "", "seed mismatch")
  for _, cons in ipairs({false, true}) do
    local r = ember.sketch.countMinSketch(sc:parallelize(recs, 4), eps, conf, 7,
                                          {conservative = cons})
    eq(r:totalCount(), #recs)
    for w, c in pairs(truth) do eq(r:estimateCount(w) >= c, true, "rdd " .. w) end
    local c = ember.sketch.CountMinSketch.fromValue(r:value())
    eq(c:estimateCount(recs[1]), r:estimateCount(recs[1]), "fromValue")
  end
  -- heavy hitters: every item with count >= phi N is there
  local hh_recs = {}
  for i = 1, 2000 do hh_recs[i] = (i % 10 < 4) and "hot" .. (i % 2) or words[i] end
  local hh = ember.sketch.heavyHitters(sc:parallelize(hh_recs, 3), 0.1, 0.01, 0.99)
  local got = {}
  for _, kv in ipairs(hh) do got[kv[1]] = kv[2] end
  eq(got.hot0 >= 400 and got.hot1 >= 400, true, "hot items")
  for k in pairs(got) do eq(k == "hot0" or k == "hot1", true, "only hot: " .. k) end
end)

-- vectors and the naive cosine
local function cosine(x, y)
  local d, nx, ny = 0, 0, 0
  for i = 1, #x do d = d + x[i] * y[i]; nx = nx + x[i] ^ 2; ny = ny + y[i] ^ 2 end
  if nx == 0 or ny == 0 then return 0 end
  return d / math.sqrt(nx * ny)
end
local function vectors(n, dim, seed)
  local s, out = seed, {}
  for i = 1, n do
    local v = {}
    for j = 1, dim do
      s = (s * 6364136223846793005 + 1442695040888963407) & 0x7fffffffffffffff
      v[j] = ((s >> 11) / 2 ^ 52) * 2 - 1
    end
    out[i] = v
  end
  return out
end

t.case("RandomProjectionLSH: signature properties", function()
  local dim, bits = 16, 128
  local lsh = ember.sketch.RandomProjectionLSH.create(dim, bits, 3)
  eq(lsh:bits(), bits)
  local vs = vectors(50, dim, 9)
  for _, v in ipairs(vs) do
    local s = lsh:signature(v)
    eq(#s, bits // 8, "signature bytes")
    local scaled, neg = {}, {}
    for j = 1, dim do scaled[j] = 3 * v[j]; neg[j] = -v[j] end
    eq(lsh:signature(scaled), s, "scale invariant")
    local sn = lsh:signature(neg)
    for k = 1, #s do eq(s:byte(k) ~ sn:byte(k), 255, "negation flips bits") end
    near(lsh:estimateCosine(s, s), 1, 1e-12)
    near(lsh:estimateCosine(s, sn), -1, 1e-12)
  end
  -- the estimate follows the exact cosine (b = 128: sd of h/b below 0.05)
  local err = 0
  for i = 2, #vs do
    local e = lsh:estimateCosine(lsh:signature(vs[1]), lsh:signature(vs[i]))
    err = err + math.abs(math.acos(math.max(-1, math.min(1, e))) -
                         math.acos(cosine(vs[1], vs[i])))
  end
  eq(err / (#vs - 1) < 0.2, true, "mean angle error " .. err / (#vs - 1))
  -- sparse and dense agree
  eq(lsh:signature({dim = dim, indices = {0, 5}, values = {1, 2}}),
     lsh:signature({1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), "sparse")
end)

t.case("LSH index and approxSimilarityJoin against exact cosines", function()
  local dim = 8
  local vs = vectors(300, dim, 5)
  local recs = {}
  for i, v in ipairs(vs) do recs[i] = {i, v} end
  local lsh = ember.sketch.RandomProjectionLSH.create(dim, 64, 1)
  local idx = lsh:index(sc:parallelize(recs, 3))
  local hits, total = 0, 0
  for q = 1, 30 do
    local got = idx:nearest(vs[q], 5)
    eq(#got, 5, "k results")
    eq(got[1][1], q, "the query is its own nearest")
    near(got[1][2], 1, 1e-9)
    for i, r in ipairs(got) do
      near(r[2], cosine(vs[q], vs[r[1]]), 1e-9, "exact cosine")
      if i > 1 then eq(r[2] <= got[i - 1][2], true, "descending") end
    end
    -- recall against the naive top 5
    local order = {}
    for i = 1, #vs do order[i] = i end
    table.sort(order, function(a, b)
      return cosine(vs[q], vs[a]) > cosine(vs[q], vs[b]) end)
    local want = {}
    for i = 1, 5 do want[order[i]] = true end
    for _, r in ipairs(got) do if want[r[1]] then hits = hits + 1 end end
    total = total + 5
  end
  eq(hits / total >= 0.6, true, "recall@5 " .. hits / total)
  -- the join: only pairs at or above the threshold, with exact cosines
  local b = {}
  for i = 1, 50 do b[i] = {1000 + i, vs[i]} end
  for _, j in ipairs({
      lsh:approxSimilarityJoin(sc:parallelize(recs, 2), sc:parallelize(b, 2), 0.9),
      ember.sketch.approxSimilarityJoin(sc:parallelize(recs, 2),
                                        sc:parallelize(b, 2), 0.9, {bits = 64, seed = 1})}) do
    local got, self = j:collect(), 0
    for _, r in ipairs(got) do
      local c = cosine(vs[r[1]], vs[r[2] - 1000])
      eq(c >= 0.9, true, "threshold")
      near(r[3], c, 1e-9, "join cosine")
      if r[2] - 1000 == r[1] then self = self + 1 end
    end
    eq(self, 50, "identical vectors always join")
  end
end)

t.case("MinHashLSH: signatures, Jaccard estimates, near duplicates", function()
  local mh = ember.sketch.MinHashLSH.create(128, 32, 11)
  local function jaccard(a, b)
    local sa, sb, inter, union = {}, {}, 0, 0
    for _, x in ipairs(a) do sa[x] = true end
    for _, x in ipairs(b) do sb[x] = true end
    for x in pairs(sa) do union = union + 1; if sb[x] then inter = inter + 1 end end
    for x in pairs(sb) do if not sa[x] then union = union + 1 end end
    return inter / union
  end
  local base = gen(6, 100, 5)
  local docs = {}
  for d = 1, 10 do
    local s = {}
    for i = 1, 100 do s[i] = (i <= d * 8) and base[i] .. "x" .. d or base[i] end
    docs[d] = s
  end
  local s1 = mh:signature(docs[1])
  eq(#s1, 128)
  eq(mh:signature({table.unpack(docs[1])}), s1, "same set, same signature")
  for d = 2, 10 do
    near(mh:estimateJaccard(s1, mh:signature(docs[d])), jaccard(docs[1], docs[d]),
         0.15, "estimate " .. d)
  end
  local recs = {}
  for d = 1, 10 do recs[d] = {d, docs[d]} end
  local got = mh:approxSimilarityJoin(sc:parallelize(recs, 3), 0.6):collect()
  for _, r in ipairs(got) do
    eq(r[1] < r[2], true, "idA < idB")
    near(r[3], jaccard(docs[r[1]], docs[r[2]]), 1e-12, "exact jaccard")
    eq(r[3] >= 0.6, true)
  end
  eq(#got >= 1, true, "some near duplicates found")
end)

t.run()
