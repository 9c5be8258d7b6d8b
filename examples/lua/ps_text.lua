-- Hogwild-style asynchronous sparse SGD through the parameter server on
-- text, as the C example ps_text: two fortune(6)-format topic files of DIR
-- (records end at a line holding "%") are the classes 0 and 1, every fifth
-- record of each held out; tokens hashed to 2^18 features; logistic
-- regression in MODE (default ps) with adagrad, or with MODEL mlp a
-- perceptron of 8 tanh hidden units. Prints the C program's lines but the
-- time.
--   ember run examples/lua/ps_text.lua DIR TOPIC0 TOPIC1 [MODE=ps]
--       [ITERATIONS=10] [PARTITIONS=2] [MODEL=logistic]
local dir, topic0, topic1 = arg[1], arg[2], arg[3]
assert(topic1, "usage: ps_text.lua DIR TOPIC0 TOPIC1 [MODE] [ITERATIONS] " ..
       "[PARTITIONS]")
local mode, iterations = arg[4] or "ps", tonumber(arg[5] or 10)
local parts = tonumber(arg[6] or 2)
local kind = arg[7] or "logistic"

-- {label, held out?, text} per record of a topic's file
local function records(topic, label)
  return sc:wholeTextFiles(dir .. "/" .. topic):flatMap(function(f)
    local out, n, cur = {}, 0, {}
    local function close()
      n = n + 1
      out[#out + 1] = {label, n % 5 == 0, table.concat(cur, "\n")}
      cur = {}
    end
    for line in (f[2] .. "\n"):gmatch("([^\n]*)\n") do
      if line == "%" then close() else cur[#cur + 1] = line end
    end
    if table.concat(cur):find("%S") then close() end
    return out
  end)
end
local all = sc:union({records(topic0, 0), records(topic1, 1)}):cache()

local tf = ember.text.HashingTF(2 ^ 18)
local function points(held)
  local part = all:filter(function(r) return r[2] == held end)
                  :repartition(parts)
  local vecs = tf:transform(part:map(function(r)
    return ember.text.words(r[3])
  end))
  return part:map(function(r) return r[1] end):zip(vecs):cache()
end
local train, test = points(false), points(true)

local model
if kind == "mlp" then
  model = ember.ml.MLP.train(train, {
    layers = {1 << 18, 8, 2}, mode = mode, iterations = iterations,
    step = 0.1, optimizer = "adagrad", schedule = "constant",
    blockSize = 16, seed = 1})
else
  model = ember.ml.LogisticRegression.train(train, {
    mode = mode, iterations = iterations, step = 0.5, optimizer = "adagrad",
    schedule = "constant", intercept = true, regParam = 0, regType = "none",
    convergenceTol = 0, batchSize = 16})
end

local function ones(pts)
  return pts:filter(function(p) return p[1] == 1 end):count()
end
local ntrain, ntest = train:count(), test:count()
local majority = ones(test) / ntest
if 2 * ones(train) < ntrain then majority = 1 - majority end
local hits = model:predict(test):zip(test:map(function(p) return p[1] end))
  :filter(function(r) return r[1] == r[2] end):count()
print(string.format("model\t%s", kind))
print(string.format("mode\t%s", mode))
print(string.format("training records\t%d", ntrain))
print(string.format("held-out records\t%d", ntest))
print(string.format("held-out majority rate\t%.4f", majority))
print(string.format("held-out accuracy\t%.4f", hits / ntest))
print(string.format("last training loss\t%.4f", model.loss[#model.loss]))
