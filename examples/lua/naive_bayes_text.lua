-- Multinomial naive Bayes on text: one label per fortune(6)-format file of
-- DIR (records end at a line holding "%"), every fifth record of each file
-- held out; tokens by the ASCII tokenizer, hashed to FEATURES features.
-- Prints the labels, the record counts and the accuracy on both parts.
--   ember run examples/lua/naive_bayes_text.lua DIR [FEATURES=262144] [LAMBDA=1]
local dir = assert(arg[1], "usage: naive_bayes_text.lua DIR [FEATURES] [LAMBDA]")
local features, lambda = tonumber(arg[2] or 262144), tonumber(arg[3] or 1)

local files = sc:wholeTextFiles(dir)
local names = files:keys():collect()
table.sort(names)
local label = {}
for i, n in ipairs(names) do label[n] = i - 1 end
-- {label, held out?, tokens} per record
local records = files:flatMap(function(f)
  local out, n, cur = {}, 0, {}
  for line in (f[2] .. "\n"):gmatch("([^\n]*)\n") do
    if line == "%" then
      n = n + 1
      out[#out + 1] = {label[f[1]], n % 5 == 0, table.concat(cur, "\n")}
      cur = {}
    else
      cur[#cur + 1] = line
    end
  end
  if #cur > 0 and table.concat(cur):find("%S") then
    n = n + 1
    out[#out + 1] = {label[f[1]], n % 5 == 0, table.concat(cur, "\n")}
  end
  return out
end):cache()

local tf = ember.text.HashingTF(features)
local function points(held)
  local part = records:filter(function(r) return r[2] == held end)
  local vecs = tf:transform(part:map(function(r) return ember.text.words(r[3]) end))
  return part:map(function(r) return r[1] end):zip(vecs)
end
local train, test = points(false):cache(), points(true):cache()
local model = ember.ml.NaiveBayes.train(train, lambda)
local function accuracy(pts)
  local got = model:predict(pts):zip(pts:map(function(p) return p[1] end))
  return got:filter(function(r) return r[1] == r[2] end):count() / pts:count()
end
print(string.format("labels\t%d", #model.labels))
print(string.format("records\ttrain %d\theld out %d", train:count(), test:count()))
print(string.format("accuracy\ttrain %.4f\theld out %.4f", accuracy(train),
                    accuracy(test)))
