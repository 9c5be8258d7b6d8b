-- Matrix factorization of a ratings file, as the C example als: lines
-- "user,item,rating" (more fields ignored, such as MovieLens's timestamp),
-- every fifth line (the 5th, 10th, ...) held out, ALS (ember.ml.ALS.train)
-- or DSGD (ember.ml.MatrixFactorization.trainDSGD). Prints the numbers of
-- training and held-out ratings, the held-out ones it could not score
-- (user or item unseen in training) and the RMSE on both sets.
--   ember run examples/lua/als.lua CSV [als|dsgd] [RANK=10] [ITERATIONS]
--       [LAMBDA] [BLOCKS] [STEP]
-- BLOCKS is ALS's blocks or DSGD's d; the defaults are those of ALS.train
-- and trainDSGD.
local path = assert(arg[1], "usage: als.lua CSV [als|dsgd] [RANK] " ..
                    "[ITERATIONS] [LAMBDA] [BLOCKS] [STEP]")
local method, rank = arg[2] or "als", tonumber(arg[3] or 10)
local all = sc:textFile(path):zipWithIndex():map(function(r)
  local u, i, x = r[1]:match("^(%d+),(%d+),([^,\r]+)")
  assert(x, "not user,item,rating: " .. r[1])
  return {r[2] % 5 == 4, {tonumber(u), tonumber(i), tonumber(x)}}
end):cache()
local train = all:filter(function(r) return not r[1] end):values():cache()
local test = all:filter(function(r) return r[1] end):values():cache()

local blocks = tonumber(arg[6])
local opts = {iterations = tonumber(arg[4]), lambda_ = tonumber(arg[5]),
              blocks = blocks, d = blocks, step = tonumber(arg[7])}
local model
if method == "dsgd" then
  model = ember.ml.MatrixFactorization.trainDSGD(train, rank, opts)
else
  model = ember.ml.ALS.train(train, rank, opts)
end
local train_rmse = model:rmse(train)
local test_rmse, unscored = model:rmse(test)
print(string.format("train\t%d\nheld_out\t%d\nunscored\t%d", train:count(),
                    test:count(), unscored))
print(string.format("train_rmse\t%.6f\nheld_out_rmse\t%.6f", train_rmse,
                    test_rmse))
