-- Word statistics: the most frequent words and bigrams of a text, then the
-- bigrams of highest pointwise mutual information among those seen at
-- least MINCOUNT times.
--   ember run examples/lua/word_stats.lua PATH [TOP=10] [MINCOUNT=10]
local path = assert(arg[1], "usage: word_stats.lua PATH [TOP] [MINCOUNT]")
local top, min = tonumber(arg[2] or 10), tonumber(arg[3] or 10)
local lines = sc:textFile(path)
local by_count = function(r) return {-r[2], r[1]} end

for _, r in ipairs(ember.text.wordCount(lines):takeOrdered(top, by_count)) do
  print(string.format("%d\t%s", r[2], r[1]))
end
local bigrams = ember.text.ngrams(lines, 2):map(function(r)
  return {r[1][1] .. " " .. r[1][2], r[2]}
end)
for _, r in ipairs(bigrams:takeOrdered(top, by_count)) do
  print(string.format("%d\t%s", r[2], r[1]))
end
local pmi = ember.text.bigramPMI(lines, {minCount = min})
for _, r in ipairs(pmi:takeOrdered(top, function(r)
  return {-r[2], r[1][1], r[1][2]} end)) do
  print(string.format("%.4f\t%d\t%s %s", r[2], r[3], r[1][1], r[1][2]))
end
