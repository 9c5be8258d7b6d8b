-- The averaged perceptron on a CSV of features then a 0/1 label after one
-- header line (scikit-learn's breast_cancer.csv), as the C example
-- perceptron: features standardized over all rows, rows 0, 5, 10, ...
-- held out; prints the same lines.
--   ember run examples/lua/perceptron.lua CSV [ITERATIONS=10] [MODE=ipm]
local path = assert(arg[1], "usage: perceptron.lua CSV [ITERATIONS] [MODE]")
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

-- the perceptron's defaults: step 1, constant, the weights averaged
local model = ember.ml.Perceptron.train(sc:parallelize(train, 4), {
  iterations = tonumber(arg[2] or 10), mode = arg[3] or "ipm",
  intercept = true, convergenceTol = 0})

local function accuracy(set)
  local right = 0
  for _, p in ipairs(set) do
    if model:predict(p[2]) == p[1] then right = right + 1 end
  end
  return right / #set
end
print(string.format("train\t%d\nheld_out\t%d", #train, #test))
print(string.format("train_accuracy\t%.4f", accuracy(train)))
print(string.format("held_out_accuracy\t%.4f", accuracy(test)))
