-- orders.order.completed events published through the order service's daprd, for wrk:
--   wrk ... -s orders.lua <daprd publish URL> -- <ids file> <run id> <how many>
-- Every event has an id and order id of its own and an amount of 25.00 USD, so the books can be checked.
-- Stops after <how many> answers: publishing outruns processing many times over, and the measurement
-- is how fast a known amount is processed.
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)")
dofile(here .. "report.lua")
dofile(here .. "common.lua")

local ids = {}
local run = ""
local n = 0
local limit = 0
local answered = 0

init = function(args)
  ids = read_ids(args[1])
  run = args[2]
  limit = tonumber(args[3])
end

response = function()
  answered = answered + 1
  if answered >= limit then wrk.thread:stop() end
end

request = function()
  n = n + 1
  local body = string.format(
    '{"eventId":"evt_%s_%d","data":{"orderId":"ord_%s_%d","customerId":"%s","amount":"25.00",' ..
    '"currency":"USD","completedAt":"%s"}}',
    run, n, run, n, ids[(n % #ids) + 1], os.date("!%Y-%m-%dT%H:%M:%SZ"))
  return wrk.format("POST", nil, json_headers(), body)
end
