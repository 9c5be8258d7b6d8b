-- Helpers for the Lua tests (run by `ember run`): deep equality that tells
-- integers from floats, sorting for results whose order is not defined,
-- and a runner that reports every failing case and exits 1.
local M = {}

local function show(v, depth)
  depth = depth or 0
  if type(v) == "table" and depth < 6 then
    local keys, parts = {}, {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do
      parts[#parts + 1] = show(k, depth + 1) .. "=" .. show(v[k], depth + 1)
    end
    return "{" .. table.concat(parts, ", ") .. "}"
  elseif math.type(v) == "float" then
    return string.format("%.17g(f)", v)
  elseif type(v) == "string" then
    return string.format("%q", v)
  end
  return tostring(v)
end
M.show = show

-- Deep equality: same keys, integers equal only to integers, floats to
-- floats (NaN equals NaN).
local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then
    if math.type(a) ~= math.type(b) then return false end
    return a == b or (a ~= a and b ~= b)
  end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do
    if not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end
M.same = same

function M.eq(got, want, what)
  if not same(got, want) then
    error(string.format("%s: got %s, want %s", what or "value", show(got),
                        show(want)), 2)
  end
end

function M.near(got, want, tol, what)
  if type(got) ~= "number" or math.abs(got - want) > (tol or 1e-9) then
    error(string.format("%s: got %s, want %s", what or "value",
                        show(got), show(want)), 2)
  end
end

-- Expects f to raise an error whose message contains pattern (plain).
function M.fails(f, pattern, what)
  local ok, err = pcall(f)
  if ok then error((what or "call") .. ": no error", 2) end
  if not tostring(err):find(pattern, 1, true) then
    error(string.format("%s: error %q does not mention %q", what or "call",
                        tostring(err), pattern), 2)
  end
  return err
end

-- A sorted copy (by the values, or by their rendering for tables).
function M.sorted(t, key)
  local c = {}
  for i, v in ipairs(t) do c[i] = v end
  key = key or function(v) return type(v) == "table" and show(v) or v end
  table.sort(c, function(a, b) return key(a) < key(b) end)
  return c
end

local cases = {}
function M.case(name, f) cases[#cases + 1] = {name, f} end

function M.run()
  local failed = 0
  for _, c in ipairs(cases) do
    local ok, err = xpcall(c[2], debug.traceback)
    if ok then
      print("ok   " .. c[1])
    else
      failed = failed + 1
      print("FAIL " .. c[1] .. ": " .. tostring(err))
    end
  end
  print(string.format("%d cases, %d failed (%s)", #cases, failed, sc.master))
  if failed > 0 then os.exit(1) end
end

return M
