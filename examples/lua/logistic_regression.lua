-- Binary logistic regression on a CSV of features then a 0/1 label after
-- one header line (scikit-learn's breast_cancer.csv), as the C example
-- logistic_regression: features standardized over all rows, rows 0, 5,
-- 10, ... held out; prints the same lines.
--   ember run examples/lua/logistic_regression.lua CSV [ITERATIONS=300]
--       [STEP=0.1] [OPTIMIZER=adam] [MODE=batch]
local path = assert(arg[1], "usage: logistic_regression.lua CSV " ..
                    "[ITERATIONS] [STEP] [OPTIMIZER] [MODE]")
local pts = ember.ml.MLUtils.loadCSVFile(sc, path,
  {labelCol = -1, skipHeader = 1}):collect()

-- mean 0 and population standard deviation 1 per feature
for j = 1, #pts[1][2] do
  local mean, var = 0, 0
  for _, p in ipairs(pts) do mean = mean + p[2][j] end
  mean = mean / #pts
  for _, p in ipairs(pts) do
    local x = p[2][j] - mean
    var = var + x * x
  end
  local sd = math.sqrt(var / #pts)
  for _, p in ipairs(pts) do p[2][j] = (p[2][j] - mean) / sd end
end
local train, test = {}, {}
for i, p in ipairs(pts) do
  local set = (i - 1) % 5 == 0 and test or train
  set[#set + 1] = p
end

local model = ember.ml.LogisticRegression.train(sc:parallelize(train, 4), {
  iterations = tonumber(arg[2] or 300), step = tonumber(arg[3] or 0.1),
  optimizer = arg[4] or "adam", mode = arg[5] or "batch", regParam = 1e-3,
  regType = "l2", intercept = true, schedule = "constant",
  convergenceTol = 0})

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
