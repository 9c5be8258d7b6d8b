-- Corpus comparison: for each side, the words most typical of it against
-- the other (score = ln((cA + a) / (NA + a V)) - ln((cB + a) / (NB + a V))),
-- most typical first: positive scores lean to A, negative to B.
--   ember run examples/lua/compare_corpora.lua A B [MINCOUNT=5] [TOP=10]
local a, b = arg[1], arg[2]
assert(a and b, "usage: compare_corpora.lua A B [MINCOUNT] [TOP]")
local min, top = tonumber(arg[3] or 5), tonumber(arg[4] or 10)
local cmp = ember.text.compareCorpora(sc:textFile(a), sc:textFile(b),
                                      {minCount = min}):cache()
local function show(r)
  print(string.format("%.4f\t%d\t%d\t%s", r[4], r[2], r[3], r[1]))
end
for _, r in ipairs(cmp:takeOrdered(top, function(r) return {-r[4], r[1]} end)) do
  show(r)
end
for _, r in ipairs(cmp:takeOrdered(top, function(r) return {r[4], r[1]} end)) do
  show(r)
end
