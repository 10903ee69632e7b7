-- wrk script for bench/routing_http.sh: POST /v1/route with bodies from 4096 client addresses
-- and locations (precomputed; cycled per request), so per-source limits do not throttle the run.
local requests = {}
local counter = 0

function init(args)
  for i = 0, 4095 do
    local body = string.format(
      '{"clientAddress":"10.%d.%d.%d","location":{"latitude":%.2f,"longitude":%.2f},"trafficClass":"interactive","requestBytes":1024}',
      math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256,
      -60 + (i * 37) % 130, -180 + (i * 97) % 360)
    requests[i] = wrk.format("POST", "/v1/route", {["Content-Type"] = "application/json"}, body)
  end
end

function request()
  counter = counter + 1
  return requests[counter % 4096]
end
