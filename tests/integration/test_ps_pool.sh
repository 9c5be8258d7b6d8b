#!/usr/bin/env bash
# The parameter server on a pool of real processes on loopback (`ember
# master`, 1 to 3 `ember worker`s, a Lua driver): tasks on the workers push
# and pull, and the sums equal local mode's and a naive count; then, on 3
# workers, an
# executor is killed (1) after every push was snapshotted: its shards come
# back whole from the snapshots their keepers hold, nothing lost; (2) with
# no snapshot: its shards restart from their initial values and exactly
# the pushes they had applied are reported lost; (3) during training: the
# job finishes, the shard is restored and the loss is reported in the
# stats and the log.
#
#   tests/integration/test_ps_pool.sh BUILD_DIR
set -uo pipefail
build=$1
. "$(dirname "$0")/pool_lib.sh"
mkdir -p "$tmp/sync"

start_master

# kills one executor process of worker $1 (the worker stays)
kill_executor() {
    local p
    p=$(pgrep -f "$tmp/$1/" | head -1)
    [ -n "$p" ] && kill -9 "$p"
}

# ---- exact sums on 1, 2 and 3 workers: against local mode and a naive
# count ----
cat > "$tmp/sums.lua" <<'LUA'
local ps = ember.ps.create(sc, {dim = 2, staleness = 2})
sc:parallelize({1, 2, 3, 4, 5, 6, 7, 8, 9}, 9):foreach(function(x)
  for i = 1, 30 do
    ps:push({i % 11, "s" .. (i % 4)}, {{x, 1}, {1, -x}})
    ps:pull({i % 11})
  end
end)
local keys = {"s0", "s1", "s2", "s3"}
for k = 0, 10 do keys[#keys + 1] = k end
local got = ps:pull(keys)
-- the naive count
local want = {}
for x = 1, 9 do
  for i = 1, 30 do
    local a, b = i % 11, "s" .. (i % 4)
    want[a] = want[a] or {0, 0}; want[b] = want[b] or {0, 0}
    want[a][1], want[a][2] = want[a][1] + x, want[a][2] + 1
    want[b][1], want[b][2] = want[b][1] + 1, want[b][2] - x
  end
end
local same = true
for i, k in ipairs(keys) do
  print(k, got[i][1], got[i][2])
  if got[i][1] ~= want[k][1] or got[i][2] ~= want[k][2] then same = false end
end
print("naive count matches", same)
LUA
"$ember" run --master 'local[2]' "$tmp/sums.lua" > "$tmp/local.out" 2> "$tmp/local.err"
for n in 1 2 3; do
    start_worker "w$n"
    if timeout 120 "$ember" run --master "$url" "$tmp/sums.lua" > "$tmp/pool.out" 2> "$tmp/pool.err" &&
        cmp -s "$tmp/local.out" "$tmp/pool.out" &&
        grep -q "^naive count matches	true$" "$tmp/pool.out"; then
        ok "tasks on $n worker(s) push and pull: sums exact, as in local mode"
    else bad "sums on $n worker(s): $(tail -3 "$tmp/pool.out") $(tail -3 "$tmp/pool.err")"; fi
done

# ---- executors killed between jobs and during one ----
# The driver pushes (so the counts are known), signals ready, waits for
# the test to kill an executor of w2 and for the restore, and reports.
cat > "$tmp/lost.lua" <<'LUA'
local sync, every, from = arg[1], tonumber(arg[2]), arg[3]
local function exists(p) local f = io.open(p) if f then f:close() end return f ~= nil end
local function touch(p) io.open(p, "w"):close() end
local ps = ember.ps.create(sc, {dim = 1, snapshotEvery = every})
local keys, ones = {}, {}
for k = 1, 60 do keys[k], ones[k] = k, 1 end
-- each key pushed 12 times, one key at a time: by 3 tasks, or by the
-- driver (whose acknowledged pushes the restore counts exactly)
local function push4()
  for _ = 1, 4 do
    for k = 1, 60 do ps:push({k}, {1}) end
  end
end
if from == "tasks" then
  sc:parallelize({1, 2, 3}, 3):foreach(function() push4() end)
else
  for _ = 1, 3 do push4() end
end
local before = ps:stats()
local pushes = {}
for s, st in ipairs(before.perShard) do pushes[s] = st.pushes end
touch(sync .. "/ready")
local t0 = ember.clock()
while not exists(sync .. "/killed") and ember.clock() - t0 < 60 do
  os.execute("sleep 0.1")
end
while ps:stats().restores == 0 and ember.clock() - t0 < 60 do
  os.execute("sleep 0.1")
end
local st = ps:stats()
print("restores", st.restores)
print("lost", st.lostPushes)
-- the pushes the restored shards had applied, from the counts before
local got, zeros, twelves = ps:pull(keys), 0, 0
for _, v in ipairs(got) do
  if v == 0 then zeros = zeros + 1 elseif v == 12 then twelves = twelves + 1 end
end
print("values 12", twelves, "values 0", zeros)
local lostShardPushes = 0
for s, shard in ipairs(st.perShard) do
  if shard.pushes ~= pushes[s] then lostShardPushes = lostShardPushes + pushes[s] end
end
print("pushes of the restored shards", lostShardPushes)
LUA

run_lost() { # name, snapshot every, who pushes
    local name=$1 every=$2
    rm -f "$tmp/sync/"*
    timeout 150 "$ember" run --master "$url" "$tmp/lost.lua" "$tmp/sync" "$every" "$3" \
        > "$tmp/pool.out" 2> "$tmp/pool.err" &
    local jp=$!
    wait_for 60 test -e "$tmp/sync/ready" && kill_executor w2 && touch "$tmp/sync/killed"
    wait "$jp" || bad "$name: the driver failed: $(tail -3 "$tmp/pool.err")"
}

# (1) every push snapshotted, kept on another executor: nothing lost
run_lost "snapshot every push" 1 tasks
if grep -q "^restores	1$" "$tmp/pool.out" && grep -q "^lost	0$" "$tmp/pool.out" &&
    grep -q "^values 12	60	values 0	0$" "$tmp/pool.out"; then
    ok "a killed executor's shards come back whole from their snapshots"
else bad "restore from snapshots: $(cat "$tmp/pool.out") $(tail -3 "$tmp/pool.err")"; fi

# (2) no snapshot: the shards restart from init, their pushes reported lost
run_lost "no snapshot" 0 driver
lost=$(awk '$1 == "lost" {print $2}' "$tmp/pool.out")
applied=$(awk '/^pushes of the restored shards/ {print $NF}' "$tmp/pool.out")
if grep -q "^restores	1$" "$tmp/pool.out" && [ -n "$lost" ] && [ "$lost" -gt 0 ] &&
    [ "$lost" = "$applied" ] && grep -q "pushes since the snapshot are lost" "$tmp/pool.err"; then
    ok "without a snapshot the loss is counted exactly ($lost pushes) and logged"
else bad "loss without snapshot: $(cat "$tmp/pool.out") $(tail -3 "$tmp/pool.err")"; fi

# (3) killed during training: the job finishes, the loss is reported
# The tasks train until the test has killed an executor, then 200 steps
# more, so that they meet the lost shard and wait for its restore.
cat > "$tmp/train.lua" <<'LUA'
local sync = arg[1]
local ps = ember.ps.create(sc, {dim = 4, snapshotEvery = 20,
                                optimizer = "adagrad", stepSize = 0.1})
sc:parallelize({1, 2, 3, 4, 5, 6}, 6):foreach(function(x)
  local function step(i)
    local k = (i * x) % 50
    local w = ps:pull({k})[1]
    ps:push({k}, {{w[1] - 1, w[2] + 1, 0.5, -0.5}})
  end
  local f = io.open(sync .. "/ready", "w"); f:close()
  local i, t0 = 0, ember.clock()
  while ember.clock() - t0 < 60 do
    i = i + 1
    step(i)
    f = io.open(sync .. "/killed")
    if f then f:close() break end
  end
  for j = 1, 200 do step(i + j) end
end)
local st = ps:stats()
print("restores", st.restores, "lost", st.lostPushes)
LUA
rm -f "$tmp/sync/"*
timeout 150 "$ember" run --master "$url" "$tmp/train.lua" "$tmp/sync" > "$tmp/pool.out" 2> "$tmp/pool.err" &
jp=$!
wait_for 60 test -e "$tmp/sync/ready" && sleep 0.5 && kill_executor w3 &&
    touch "$tmp/sync/killed"
if wait "$jp" && grep -Eq "^restores	[1-9]	lost	[0-9]+$" "$tmp/pool.out" &&
    grep -q "restored at .* pushes since the snapshot are lost" "$tmp/pool.err"; then
    ok "an executor killed during training: shard restored, loss reported ($(cat "$tmp/pool.out"))"
else bad "killed during training: $(cat "$tmp/pool.out") $(tail -3 "$tmp/pool.err")"; fi

exit $fail
