-- Parameter-server throughput and hot-key load (bench/ps/run-ps.sh runs
-- it on local[2] and on a 2-worker pool). Prints tab-separated lines:
--   push  keys/s        (tasks pushing batches of 100 keys of dim 8)
--   pull  keys/s        (tasks pulling the same batches, blocking reads)
--   zipf_before  max/mean shard requests under Zipf(1.1) over 10,000 keys,
--                then each shard's requests (and keys)
--   zipf_after   the same workload after rebalance(16)
--   check  ok|bad       (the sums against the count the tasks pushed)
-- ember run --master M bench/ps/ps_bench.lua [BATCHES]
local batches = tonumber(arg[1]) or 200
local parts, batch, dim = 4, 100, 8

local function timed(ps, f)
  local t0 = ember.clock()
  sc:parallelize({1, 2, 3, 4}, parts):foreach(f)
  return parts * batches * batch / (ember.clock() - t0)
end

local ps = ember.ps.create(sc, {dim = dim, blocking = true})
local push = timed(ps, function(p)
  local keys, d = {}, {}
  for i = 1, batch do d[i] = {1, 1, 1, 1, 1, 1, 1, 1} end
  for b = 1, batches do
    for i = 1, batch do keys[i] = (p * 7919 + b * batch + i) % 20000 end
    ps:push(keys, d)
  end
end)
local pull = timed(ps, function(p)
  local keys = {}
  for b = 1, batches do
    for i = 1, batch do keys[i] = (p * 7919 + b * batch + i) % 20000 end
    ps:pull(keys)
  end
end)
-- every pushed element was 1: the total over all keys is known
local all, total = {}, 0
for k = 0, 19999 do all[#all + 1] = k end
for _, v in ipairs(ps:pull(all)) do total = total + v[1] end
print("push", string.format("%.0f", push))
print("pull", string.format("%.0f", pull))
print("check", total == parts * batches * batch and "ok" or "bad")
ps:destroy()

-- hot keys: the same Zipfian workload before and after a rebalance
local zps = ember.ps.create(sc, {dim = 1})
local function zipf_job(seed)
  sc:parallelize({1, 2, 3, 4}, parts):foreach(function(p)
    local n, cdf, h = 10000, {}, 0
    for k = 1, n do h = h + k ^ -1.1; cdf[k] = h end
    local rng = seed * 1000 + p
    local function draw()
      rng = (rng * 6364136223846793005 + 1442695040888963407)
      local u = ((rng >> 11) & ((1 << 53) - 1)) / 2 ^ 53 * h
      local lo, hi = 1, n
      while lo < hi do
        local mid = (lo + hi) // 2
        if cdf[mid] < u then lo = mid + 1 else hi = mid end
      end
      return lo
    end
    local keys, d = {}, {}
    for b = 1, batches // 4 do
      for i = 1, batch do keys[i], d[i] = draw(), 1 end
      zps:pull(keys)
      zps:push(keys, d)
    end
  end)
end
local function ratio(h)
  local st, max, sum = h:stats(), 0, 0
  for _, s in ipairs(st.perShard) do
    sum = sum + s.requests
    if s.requests > max then max = s.requests end
  end
  local out = {}
  for _, s in ipairs(st.perShard) do
    out[#out + 1] = s.requests .. " (" .. s.keys .. " keys)"
  end
  return max / (sum / #st.perShard), table.concat(out, ", ")
end
zipf_job(1)
local before, loads_before = ratio(zps)
zps = zps:rebalance(16)
zipf_job(2)
local after, loads_after = ratio(zps)
print("zipf_before", string.format("%.3f", before), loads_before)
print("zipf_after", string.format("%.3f", after), loads_after)
