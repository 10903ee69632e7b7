-- wrk script for bench/routing_http.sh: POST /v1/route with bodies from 4096 client addresses
-- and locations (precomputed; cycled per request), each also sent as X-Forwarded-For: the router
-- trusts 127.0.0.1 as a proxy in this run, so per-source limits do not throttle it.
local requests = {}
local counter = 0

function init(args)
  for i = 0, 4095 do
    local address = string.format("10.%d.%d.%d", math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
    local body = string.format(
      '{"clientAddress":"%s","location":{"latitude":%.2f,"longitude":%.2f},"trafficClass":"interactive","requestBytes":1024}',
      address, -60 + (i * 37) % 130, -180 + (i * 97) % 360)
    requests[i] = wrk.format("POST", "/v1/route",
      {["Content-Type"] = "application/json", ["X-Forwarded-For"] = address}, body)
  end
end

function request()
  counter = counter + 1
  return requests[counter % 4096]
end
