-- ember.text and ember.ml: tokenizers, word and n-gram counts, PMI, corpus
-- comparison, HashingTF and naive Bayes, against naive Lua computations.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local t = require("testlib")
local eq, near, sorted = t.eq, t.near, t.sorted
local data = os.getenv("EMBER_TEST_DATA") or "tests/data"

-- the lines of a file, and the naive ASCII tokenizer
local function read_lines(path)
  local out = {}
  for l in io.lines(path) do out[#out + 1] = l end
  return out
end
local function naive_words(l)
  local out = {}
  for w in l:lower():gmatch("%a+") do out[#out + 1] = w end
  return out
end
local lines = read_lines(data .. "/words.txt")
-- a second corpus: the lines reversed word by word, plus some of its own
local other = {}
for i, l in ipairs(lines) do
  local ws = naive_words(l)
  local r = {}
  for j = #ws, 1, -1 do r[#r + 1] = ws[j] end
  other[i] = table.concat(r, " ") .. (i % 2 == 0 and " zebra quagga" or "")
end

local function naive_ngrams(ls, n)
  local c = {}
  for _, l in ipairs(ls) do
    local ws = naive_words(l)
    for i = 1, #ws - n + 1 do
      local g = table.concat(ws, " ", i, i + n - 1)
      c[g] = (c[g] or 0) + 1
    end
  end
  return c
end

t.case("words: ASCII and Unicode tokenizers", function()
  eq(ember.text.words("The quick-brown FOX, 42 times!"),
     {"the", "quick", "brown", "fox", "times"})
  for _, l in ipairs(lines) do eq(ember.text.words(l), naive_words(l), l) end
  eq(ember.op.words("Hello, World"), {"hello", "world"})
  eq(ember.text.words("Straße 42", "unicode"), {"strasse", "42"})
  eq(ember.op.tokens("ÉCOLE été"), {"école", "été"})
  local toks, bad = ember.text.words("ab\xffcd\xc3", "unicode")
  eq(toks, {"ab", "cd"}, "invalid bytes separate")
  eq(bad, 2, "invalid bytes counted")
end)

t.case("tokenize and the native tokenizer in map and flatMap", function()
  local rdd = sc:parallelize(lines, 3)
  local want = {}
  for i, l in ipairs(lines) do want[i] = naive_words(l) end
  eq(ember.text.tokenize(rdd):collect(), want, "tokenize")
  eq(rdd:map(ember.op.words):collect(), want, "map(ember.op.words)")
  local flat = {}
  for _, ws in ipairs(want) do
    for _, w in ipairs(ws) do flat[#flat + 1] = w end
  end
  eq(rdd:flatMap(ember.op.words):collect(), flat, "flatMap(ember.op.words)")
  eq(rdd:flatMap(function(l) return ember.text.words(l) end):collect(), flat,
     "ember.text.words in a closure")
  local acc = sc:accumulator(0)
  local u = ember.text.tokenize(sc:parallelize({"Ünï\xff x", "\xfe"}, 2),
                                {tokenizer = "unicode", invalidBytes = acc})
  eq(u:collect(), {{"ünï", "x"}, {}})
  eq(acc.value, 2, "invalid bytes accumulated")
end)

t.case("wordCount and ngrams against naive counts", function()
  local rdd = sc:parallelize(lines, 4)
  local c1 = naive_ngrams(lines, 1)
  eq(rdd:map(function(l) return l end):count(), #lines)
  eq(ember.text.wordCount(rdd):collectAsMap(), c1, "wordCount")
  local want2 = {}
  for w, n in pairs(c1) do if n >= 2 then want2[w] = n end end
  eq(ember.text.wordCount(rdd, 2):collectAsMap(), want2, "minCount 2")
  eq(ember.text.wordCount(rdd, {minCount = 2}):collectAsMap(), want2)
  for n = 1, 3 do
    local got = {}
    for _, kv in ipairs(ember.text.ngrams(rdd, n):collect()) do
      eq(#kv[1], n, "n-gram length")
      got[table.concat(kv[1], " ")] = kv[2]
    end
    eq(got, naive_ngrams(lines, n), n .. "-grams")
  end
  t.fails(function() ember.text.ngrams(rdd, 0):collect() end, "", "n = 0")
end)

t.case("bigramPMI against the formula", function()
  local rdd = sc:parallelize(lines, 3)
  local c1, c2 = naive_ngrams(lines, 1), naive_ngrams(lines, 2)
  local N, B = 0, 0
  for _, n in pairs(c1) do N = N + n end
  for _, n in pairs(c2) do B = B + n end
  for _, min in ipairs({1, 2}) do
    local got, nwant = {}, 0
    for _, r in ipairs(ember.text.bigramPMI(rdd, {minCount = min}):collect()) do
      got[r[1][1] .. " " .. r[1][2]] = r
    end
    for g, n in pairs(c2) do
      if n >= min then
        nwant = nwant + 1
        local w1, w2 = g:match("(%a+) (%a+)")
        local pmi = math.log((n / B) / ((c1[w1] / N) * (c1[w2] / N)))
        eq(got[g] and got[g][3], n, g .. " count")
        near(got[g][2], pmi, 1e-9 * math.max(1, math.abs(pmi)), g .. " pmi")
      end
    end
    local ngot = 0
    for _ in pairs(got) do ngot = ngot + 1 end
    eq(ngot, nwant, "bigrams kept with minCount " .. min)
  end
end)

t.case("compareCorpora against the formula", function()
  local ca, cb = naive_ngrams(lines, 1), naive_ngrams(other, 1)
  local NA, NB, V, vocab = 0, 0, 0, {}
  for w, n in pairs(ca) do NA = NA + n; vocab[w] = true end
  for w, n in pairs(cb) do NB = NB + n; vocab[w] = true end
  for _ in pairs(vocab) do V = V + 1 end
  for _, o in ipairs({{minCount = 1, smoothing = 1}, {minCount = 3, smoothing = 0.5}}) do
    local a = o.smoothing
    local got = {}
    local rdd = ember.text.compareCorpora(sc:parallelize(lines, 2),
                                          sc:parallelize(other, 3), o)
    for _, r in ipairs(rdd:collect()) do got[r[1]] = r end
    local n = 0
    for w in pairs(vocab) do
      local x, y = ca[w] or 0, cb[w] or 0
      if x + y >= o.minCount then
        n = n + 1
        local s = math.log((x + a) / (NA + a * V)) - math.log((y + a) / (NB + a * V))
        eq({got[w][2], got[w][3]}, {x, y}, w .. " counts")
        near(got[w][4], s, 1e-9 * math.max(1, math.abs(s)), w .. " score")
      end
    end
    eq(rdd:count(), n, "words kept")
  end
  -- the words only the second corpus has lean to B
  local z = ember.text.compareCorpora(sc:parallelize(lines), sc:parallelize(other))
            :filter(function(r) return r[1] == "zebra" end):collect()
  eq(#z, 1); eq(z[1][4] < 0, true, "zebra leans to B")
end)

t.case("HashingTF", function()
  local tf = ember.text.HashingTF(64)
  eq(tf.numFeatures, 64)
  local toks = {"a", "b", "a", "c", "a"}
  local v = tf:transform(toks)
  local want = {}
  for _, w in ipairs(toks) do
    local i = tf:indexOf(w)
    eq(i >= 0 and i < 64, true, "index in range")
    want[i] = (want[i] or 0) + 1
  end
  eq(v.dim, 64)
  local got = {}
  for k, i in ipairs(v.indices) do got[i] = v.values[k] end
  for i, n in pairs(want) do near(got[i], n, 0, "entry " .. i) end
  for i in pairs(got) do eq(want[i] ~= nil, true, "no extra entry") end
  local bin = ember.text.HashingTF(64, {binary = true}):transform(toks)
  for _, x in ipairs(bin.values) do near(x, 1, 0, "binary") end
  local sgn = ember.text.HashingTF(64, {signed = true}):transform({"a"})
  eq(math.abs(sgn.values[1]), 1.0, "signed")
  -- on an RDD, the same vectors
  local docs = {}
  for i, l in ipairs(lines) do docs[i] = naive_words(l) end
  local r = tf:transform(sc:parallelize(docs, 3)):collect()
  for i, d in ipairs(docs) do eq(r[i], tf:transform(d), "doc " .. i) end
end)

-- naive Bayes on a tiny set, against the formulas of ml.h
local points = {
  {0, {1, 0, 2}}, {0, {2, 0, 1}}, {0, {3, 1, 0}},
  {1, {0, 3, 1}}, {1, {0, 2, 2}}, {2, {1, 1, 5}},
}
local function naive_nb(lambda)
  local labels, n, sums = {}, {}, {}
  for _, p in ipairs(points) do
    local y = p[1]
    if not n[y] then n[y] = 0; sums[y] = {0, 0, 0}; labels[#labels + 1] = y end
    n[y] = n[y] + 1
    for j = 1, 3 do sums[y][j] = sums[y][j] + p[2][j] end
  end
  table.sort(labels)
  local pi, theta = {}, {}
  for i, y in ipairs(labels) do
    pi[i] = math.log(n[y] + lambda) - math.log(#points + #labels * lambda)
    local tot = sums[y][1] + sums[y][2] + sums[y][3]
    theta[i] = {}
    for j = 1, 3 do
      theta[i][j] = math.log(sums[y][j] + lambda) - math.log(tot + 3 * lambda)
    end
  end
  local function predict(x)
    local best, bl
    for i, y in ipairs(labels) do
      local s = pi[i]
      for j = 1, 3 do s = s + x[j] * theta[i][j] end
      if not best or s > best then best, bl = s, y end
    end
    return bl
  end
  return labels, pi, theta, predict
end

t.case("NaiveBayes against the formulas", function()
  for _, lambda in ipairs({1.0, 0.5}) do
    local lp = {}
    for i, p in ipairs(points) do
      lp[i] = ember.ml.LabeledPoint(p[1], p[2])
    end
    local model = ember.ml.NaiveBayes.train(sc:parallelize(lp, 2), lambda)
    local labels, pi, theta, predict = naive_nb(lambda)
    for i, y in ipairs(labels) do
      near(model.labels[i], y, 0, "label")
      near(model.pi[i], pi[i], 1e-12, "pi")
      for j = 1, 3 do near(model.theta[i][j], theta[i][j], 1e-12, "theta") end
    end
    local queries = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {2, 2, 2}, {0, 5, 1}}
    for _, q in ipairs(queries) do
      near(model:predict(q), predict(q), 0, "predict")
    end
    -- sparse features, an RDD of features, and a rebuilt model in a task
    near(model:predict({dim = 3, indices = {1}, values = {4}}),
         predict({0, 4, 0}), 0, "sparse")
    local got = model:predict(sc:parallelize(queries, 2)):collect()
    for i, q in ipairs(queries) do near(got[i], predict(q), 0, "rdd") end
    local b = sc:broadcast(model:value())
    got = sc:parallelize(queries, 3):map(function(q)
      return ember.ml.NaiveBayesModel.fromValue(b.value):predict(q)
    end):collect()
    for i, q in ipairs(queries) do near(got[i], predict(q), 0, "in a task") end
  end
  -- features built in a closure, by HashingTF in a task
  local tf = ember.text.HashingTF(32)
  local docs = sc:parallelize({{1, "good fine great"}, {0, "bad awful"},
                               {1, "great good"}, {0, "awful bad bad"}}, 2)
  local pts = tf:transform(docs:map(function(r) return ember.text.words(r[2]) end))
  local lab = docs:map(function(r) return r[1] end)
  local model = ember.ml.NaiveBayes.train(lab:zip(pts))
  near(model:predict(tf:transform({"good"})), 1, 0, "text: good")
  near(model:predict(tf:transform({"awful"})), 0, 0, "text: awful")
  t.fails(function() ember.ml.NaiveBayes.train(sc:parallelize({{0, {-1}}})) end,
          "", "negative feature")
end)

t.run()
