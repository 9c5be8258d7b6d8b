-- A multilayer perceptron, as the C example mlp: a CSV of features then a
-- class 0 .. C - 1 without a header (scikit-learn's digits.csv), features
-- divided by SCALE, rows 0, 5, 10, ... held out, tanh hidden layers trained
-- by Adam; prints the same lines.
--   ember run examples/lua/mlp.lua CSV [HIDDEN=32] [EPOCHS=15] [STEP=0.02]
--       [SCALE=16]      (HIDDEN: sizes separated by commas)
local path = assert(arg[1], "usage: mlp.lua CSV [HIDDEN] [EPOCHS] [STEP] " ..
                    "[SCALE]")
local scale = tonumber(arg[5] or 16)
local rows = ember.ml.MLUtils.loadCSVFile(sc, path, {labelCol = -1}):collect()
local train, test, classes = {}, {}, 0
for i, p in ipairs(rows) do
  for j = 1, #p[2] do p[2][j] = p[2][j] / scale end
  classes = math.max(classes, math.tointeger(p[1]) + 1)
  local set = (i - 1) % 5 == 0 and test or train
  set[#set + 1] = p
end
local layers = {#rows[1][2]}
for h in (arg[2] or "32"):gmatch("%d+") do layers[#layers + 1] = tonumber(h) end
layers[#layers + 1] = classes

local model = ember.ml.MLP.train(sc:parallelize(train, 4), {layers = layers,
  activation = "tanh", optimizer = "adam", step = tonumber(arg[4] or 0.02),
  schedule = "constant", iterations = tonumber(arg[3] or 15), blockSize = 64,
  seed = 1})

local function accuracy(set)
  local right = 0
  for _, p in ipairs(set) do
    if model:predict(p[2]) == p[1] then right = right + 1 end
  end
  return right / #set
end
print(string.format("train\t%d\nheld_out\t%d", #train, #test))
print(string.format("loss\t%.6f", model.loss[#model.loss]))
print(string.format("train_accuracy\t%.4f", accuracy(train)))
print(string.format("held_out_accuracy\t%.4f", accuracy(test)))
