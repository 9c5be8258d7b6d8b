-- k-means, as the C example kmeans: the rows of a CSV, features then a
-- label that is ignored (scikit-learn's digits.csv); the first centres are
-- the rows of CENTERS (features only) when given, else k-means|| from the
-- seed. Prints the same lines: the cost of the final centres, the
-- iterations run and the centres.
--   ember run examples/lua/kmeans.lua CSV [K=10] [CENTERS] [MAXITER=100]
local path = assert(arg[1], "usage: kmeans.lua CSV [K] [CENTERS] [MAXITER]")
local function read_rows(file, keep_last)
  local rows = {}
  for line in io.lines(file) do
    local v = {}
    for x in line:gmatch("[^,]+") do v[#v + 1] = tonumber(x) end
    if not keep_last then v[#v] = nil end
    if #v > 0 then rows[#rows + 1] = v end
  end
  return rows
end
local data = sc:parallelize(read_rows(path, false)):cache()
local model = ember.ml.KMeans.train(data, tonumber(arg[2] or 10), {
  maxIterations = tonumber(arg[4] or 100), seed = 0,
  initialCenters = arg[3] and read_rows(arg[3], true) or nil})
print(string.format("cost\t%.17g", model:computeCost(data)))
print(string.format("iterations\t%d", model.numIter))
for j, c in ipairs(model.clusterCenters) do
  local xs = {}
  for i, x in ipairs(c) do xs[i] = string.format("%.6f", x) end
  print(string.format("center %d\t%s", j - 1, table.concat(xs, ",")))
end
