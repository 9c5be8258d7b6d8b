-- ember.ml.MatrixFactorization.trainDSGD: on a noisy rank-2 matrix the
-- held-out and training RMSE come close to the noise, far below the
-- ratings' spread; predictions are the dot products of the factors the
-- model gives; the model is the same for any number of partitions of the
-- same data; bad options fail.
package.path = (arg[0]:match("(.*/)") or "./") .. "?.lua;" .. package.path
local t = require("testlib")
local eq, near = t.eq, t.near

local NU, NI, NOISE = 40, 30, 0.1

-- A deterministic value in [-1, 1) for (seed, i).
local function noise(seed, i)
  local x = (seed * 7919 + i * 104729) % 1000003
  return (x / 1000003) * 2 - 1
end

-- Ratings u_i . v_j + uniform noise of standard deviation NOISE, three in
-- four observed; those with i + 2j a multiple of 5 held out.
local function ratings()
  local train, test = {}, {}
  local a = NOISE * math.sqrt(3)
  for i = 1, NU do
    local u = {1 + 0.5 * math.sin(i), 0.8 * math.cos(1.3 * i)}
    for j = 1, NI do
      local v = {1 + 0.5 * math.cos(j), 0.8 * math.sin(0.7 * j)}
      local k = (i - 1) * NI + j
      if (i * 7 + j * 3) % 4 ~= 0 then
        local r = {i, 100 + j, u[1] * v[1] + u[2] * v[2] + a * noise(3, k)}
        local set = (i + 2 * j) % 5 == 0 and test or train
        set[#set + 1] = r
      end
    end
  end
  return train, test
end

local function rmse_of(m, rs)
  local s = 0
  for _, r in ipairs(rs) do s = s + (m:predict(r[1], r[2]) - r[3]) ^ 2 end
  return math.sqrt(s / #rs)
end

local function spread(rs)
  local mean, s = 0, 0
  for _, r in ipairs(rs) do mean = mean + r[3] / #rs end
  for _, r in ipairs(rs) do s = s + (r[3] - mean) ^ 2 end
  return math.sqrt(s / #rs)
end

local OPTS = {iterations = 60, step = 0.3, lambda_ = 0.02, d = 3, seed = 3}

t.case("trainDSGD recovers a noisy rank-2 matrix", function()
  local train, test = ratings()
  local m = ember.ml.MatrixFactorization.trainDSGD(
    sc:parallelize(train, 5), 2, OPTS)
  eq(m.rank, 2, "rank")
  local held, fit = rmse_of(m, test), rmse_of(m, train)
  -- the noise is all that is left to explain: a rank-2 fit of 2 x (40 +
  -- 30) parameters to ~700 ratings lands near it, and the ratings
  -- themselves spread several times wider
  assert(fit < 1.3 * NOISE, "training RMSE " .. fit)
  assert(held < 1.6 * NOISE, "held-out RMSE " .. held)
  assert(spread(test) > 3 * held, "the ratings' spread " .. spread(test))
  local got, skipped = m:rmse(sc:parallelize(test, 2))
  near(got, held, 1e-12, "rmse() is the RMSE of predict()")
  eq(skipped, 0, "no unknown ids")
end)

t.case("predict is the dot product of the model's factors", function()
  local train = ratings()
  local m = ember.ml.MatrixFactorization.trainDSGD(
    sc:parallelize(train, 4), 2, OPTS)
  local uf, pf = {}, {}
  for _, p in ipairs(m:userFeatures()) do uf[p[1]] = p[2] end
  for _, p in ipairs(m:productFeatures()) do pf[p[1]] = p[2] end
  local nu, ni = 0, 0
  for _ in pairs(uf) do nu = nu + 1 end
  for _ in pairs(pf) do ni = ni + 1 end
  eq(nu, NU, "a factor per user")
  eq(ni, NI, "a factor per item")
  local pairs_ = {}
  for i = 1, NU do
    eq(#uf[i], 2, "user factor of rank 2")
    for j = 1, NI do
      local want = uf[i][1] * pf[100 + j][1] + uf[i][2] * pf[100 + j][2]
      near(m:predict(i, 100 + j), want, 1e-12, "predict " .. i .. "," .. j)
      pairs_[#pairs_ + 1] = {i, 100 + j}
    end
  end
  local all = m:predict(sc:parallelize(pairs_, 3)):collect()
  eq(#all, #pairs_, "predictAll")
  for k, r in ipairs(all) do
    eq({r[1], r[2]}, pairs_[k], "predictAll keeps the pair")
    near(r[3], m:predict(r[1], r[2]), 0, "predictAll rating")
  end
  t.fails(function() m:predict(NU + 1, 101) end, "", "unknown user")
end)

t.case("trainDSGD's model does not depend on the partitioning", function()
  local train = ratings()
  local a = ember.ml.MatrixFactorization.trainDSGD(
    sc:parallelize(train, 1), 2, OPTS)
  local b = ember.ml.MatrixFactorization.trainDSGD(
    sc:parallelize(train, 6), 2, OPTS)
  eq(a:value(), b:value(), "same model from 1 and 6 partitions")
  t.fails(function()
    ember.ml.MatrixFactorization.trainDSGD(sc:parallelize(train, 2), 2,
                                           {step = -1})
  end, "step", "negative step")
  t.fails(function()
    ember.ml.MatrixFactorization.trainDSGD(sc:parallelize(train, 2), 0)
  end, "rank", "rank 0")
  t.fails(function()
    ember.ml.MatrixFactorization.trainDSGD(
      sc:parallelize({{1, 2, "five"}}, 1), 2)
  end, "", "a rating that is not a number")
end)

t.run()
