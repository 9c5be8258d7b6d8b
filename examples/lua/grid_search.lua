-- k-fold cross-validation of logistic regression over a grid of step
-- sizes and L2 regularization (ember.ml.gridSearch) on a CSV of features
-- then a 0/1 label after one header line (scikit-learn's
-- breast_cancer.csv), the features standardized; prints what the C
-- example grid_search does.
--   ember run examples/lua/grid_search.lua CSV [FOLDS=5]
local path = assert(arg[1], "usage: grid_search.lua CSV [FOLDS]")
local folds = tonumber(arg[2] or 5)
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

-- trains inside the tasks, on each fold's complement (a Lua array)
local function fit(points, params)
  local o = {mode = "averaging", iterations = 5, regType = "l2",
             intercept = true}
  for k, v in pairs(params) do o[k] = v end
  return ember.ml.LogisticRegression.train(points, o)
end

local res = ember.ml.gridSearch(fit,
  {step = {0.01, 0.1, 1}, regParam = {0.0, 0.01, 0.1}},
  sc:parallelize(pts, 4), {folds = folds})

-- name=value,... in the names' order
local function show(params)
  local names, parts = {}, {}
  for k in pairs(params) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    parts[#parts + 1] = string.format("%s=%g", k, params[k])
  end
  return table.concat(parts, ",")
end
print(string.format("folds\t%d", folds))
for c, params in ipairs(res.params) do
  print(string.format("%s\t%.4f\t%.4f", show(params),
                      res.mean_test_score[c], res.std_test_score[c]))
end
print(string.format("best\t%s\t%.4f", show(res.best_params),
                    res.best_score))
