-- Least-squares linear regression, as the C example linear_regression: a
-- CSV with one header line, the target in column LABEL (0-based, default
-- 3) and the features the columns before it (on scikit-learn's iris.csv,
-- the petal width from the other measurements); rows 0, 5, 10, ... held
-- out; prints the same lines.
--   ember run examples/lua/linear_regression.lua CSV [LABEL=3]
--       [ITERATIONS=3000] [STEP=0.05] [OPTIMIZER=adam]
local path = assert(arg[1], "usage: linear_regression.lua CSV [LABEL] " ..
                    "[ITERATIONS] [STEP] [OPTIMIZER]")
local label = tonumber(arg[2] or 3)
local rows = ember.ml.MLUtils.loadCSVFile(sc, path,
  {labelCol = label, skipHeader = 1}):collect()
local train, test = {}, {}
for i, p in ipairs(rows) do
  local x = {}
  for j = 1, label do x[j] = p[2][j] end
  local set = (i - 1) % 5 == 0 and test or train
  set[#set + 1] = {p[1], x}
end

local model = ember.ml.LinearRegression.train(sc:parallelize(train, 4), {
  iterations = tonumber(arg[3] or 3000), step = tonumber(arg[4] or 0.05),
  optimizer = arg[5] or "adam", intercept = true, schedule = "constant",
  convergenceTol = 0})

local function rmse(set)
  local s = 0
  for _, p in ipairs(set) do
    local e = model:predict(p[2]) - p[1]
    s = s + e * e
  end
  return math.sqrt(s / #set)
end
local w = {}
for j, x in ipairs(model.weights) do w[j] = string.format("%.6f", x) end
print(string.format("train\t%d\nheld_out\t%d", #train, #test))
print("weights\t" .. table.concat(w, ","))
print(string.format("intercept\t%.6f", model.intercept))
print(string.format("train_rmse\t%.6f\nheld_out_rmse\t%.6f", rmse(train),
                    rmse(test)))
