-- Requests spread over known customers, round robin, for wrk:
--   wrk ... -s customers.lua <invoke base URL> -- <ids file> <get|put|mixed|segment|addresses>
-- mixed is the issue's workload: 70% GET customer, 10% GET segment, 10% GET addresses, 10% PUT.
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)")
dofile(here .. "report.lua")
dofile(here .. "common.lua")

local ids = {}
local mode = "get"
local base = ""
local n = 0

init = function(args)
  ids = read_ids(args[1])
  mode = args[2] or "get"
  base = wrk.path == "/" and "" or wrk.path
end

local function get(path)
  return wrk.format("GET", path)
end

local function put(path)
  return wrk.format("PUT", path, json_headers(),
                    string.format('{"profile":{"firstName":"Bench%d"}}', n))
end

request = function()
  n = n + 1
  local customer = base .. "/v1/customers/" .. ids[(n % #ids) + 1]
  if mode == "get" then return get(customer) end
  if mode == "put" then return put(customer) end
  if mode == "segment" then return get(customer .. "/segment") end
  if mode == "addresses" then return get(customer .. "/addresses") end
  local roll = n % 10
  if roll == 7 then return get(customer .. "/segment") end
  if roll == 8 then return get(customer .. "/addresses") end
  if roll == 9 then return put(customer) end
  return get(customer)
end
