#!/usr/bin/env bash
# HTTP benchmarks of the routing API (issue 5), printed as JSON:
#   1. throughput: wrk (THREADS threads, CONNECTIONS connections, SECONDS s, bench/routing_wrk.lua
#      POST bodies) against dwcp-router's POST /v1/route and, in the same run, against nginx
#      serving a static 200 on loopback; RUNS rounds, the two servers alternating; requests/s and
#      p99 of every run, the medians and the ratio of the medians (goal >= 0.5 x nginx). Both
#      servers swing between runs on 2 cores (how the kernel pairs client threads with server
#      threads across the CPUs), hence the rounds.
#      The router trusts 127.0.0.1 as a proxy here and the clients send X-Forwarded-For with
#      4096 addresses, so the per-source limits (by TCP peer otherwise) do not throttle the run.
#   2. flood: bench_routing_flood — one source (its own loopback address) at 100 x its limit
#      while well-behaved sources (one loopback address each) send at their normal rate; their
#      success rate and p99 (goal >= 99.9 % and < 5 ms). No trusted proxies in this run.
# Needs `wrk` and `nginx` (hack/install-deps.sh installs them); installs nothing itself. Without
# them it says so and measures dwcp-router alone with the C++ driver's closed-loop mode.
# Everything listens on 127.0.0.1 and every run is bounded in time.
#   BUILD_DIR=build-x bash bench/routing_http.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
THREADS=${THREADS:-2}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-64}
ROUTER_THREADS=${ROUTER_THREADS:-$(nproc)}
ROUTER_PORT=${ROUTER_PORT:-18090}
NGINX_PORT=${NGINX_PORT:-18091}
FLOOD_LIMIT=${FLOOD_LIMIT:-100}
FLOOD_CLIENTS=${FLOOD_CLIENTS:-20}
FLOOD_CLIENT_RATE=${FLOOD_CLIENT_RATE:-50}

ROUTER=$BUILD_DIR/bin/dwcp-router
FLOOD=$BUILD_DIR/bin/bench_routing_flood
for bin in "$ROUTER" "$FLOOD"; do
  [[ -x $bin ]] || { echo "routing_http: $bin missing; build it: ninja -C $BUILD_DIR dwcp-router bench_routing_flood" >&2; exit 1; }
done
have_wrk=1; have_nginx=1
command -v wrk >/dev/null || have_wrk=0
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || have_nginx=0
NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
if ((!have_wrk || !have_nginx)); then
  echo "routing_http: wrk and/or nginx missing (Debian packages wrk, nginx; run hack/install-deps.sh);" \
       "measuring dwcp-router alone with bench_routing_flood --load" >&2
fi
for port in "$ROUTER_PORT" "$NGINX_PORT"; do
  if ss -ltn "sport = :$port" | grep -q LISTEN; then echo "routing_http: port $port is in use" >&2; exit 1; fi
done

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_http() {  # url
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "routing_http: $1 did not come up" >&2
  return 1
}

start_router() {  # config-file
  "$ROUTER" --regions examples/regions.yaml --listen "127.0.0.1:$ROUTER_PORT" --threads "$ROUTER_THREADS" \
    --config "$1" >"$WORK/router.log" 2>&1 &
  ROUTER_PID=$!
  PIDS+=("$ROUTER_PID")
  wait_http "http://127.0.0.1:$ROUTER_PORT/healthz"
}

stop_router() {
  kill -TERM "$ROUTER_PID"
  wait "$ROUTER_PID" || true
}

# wrk's summary -> {"requestsPerSec": N, "p99Ms": N}
wrk_json() {
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec:/ { rps = $2 }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    END { printf "{\"requestsPerSec\": %.0f, \"p99Ms\": %.3f, \"non2xx\": %d}", rps, p99, non2xx + 0 }'
}

cat >"$WORK/throughput.yaml" <<YAML
routing:
  ddos_protection:
    thresholds: {max_requests_per_sec: 1000}
    trusted_proxies: [127.0.0.1]
YAML
cat >"$WORK/flood.yaml" <<YAML
routing:
  ddos_protection:
    thresholds: {max_requests_per_sec: $FLOOD_LIMIT}
    blacklist_duration: 1h
YAML

# 1. Throughput.
start_router "$WORK/throughput.yaml"
if ((have_wrk && have_nginx)); then
  mkdir -p "$WORK/nginx/logs"
  cat >"$WORK/nginx/nginx.conf" <<NGINX
worker_processes $ROUTER_THREADS;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      default_type application/json;
      return 200 '{"region":"eu-west-1","endpoint":"https://dwcp-eu-west-1.example.com:7443"}';
    }
  }
}
NGINX
  "$NGINX_BIN" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' 2>"$WORK/nginx/stderr" &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$NGINX_PORT/"
  router_runs=(); nginx_runs=()
  for _ in $(seq 1 "$RUNS"); do
    router_runs+=("$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s bench/routing_wrk.lua \
      "http://127.0.0.1:$ROUTER_PORT/v1/route" | wrk_json)")
    nginx_runs+=("$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s bench/routing_wrk.lua \
      "http://127.0.0.1:$NGINX_PORT/" | wrk_json)")
  done
  # runs -> {runs: [...], requestsPerSec: median, p99Ms: median}
  summarize='{runs: ., requestsPerSec: (map(.requestsPerSec) | sort | .[length / 2 | floor]),
              p99Ms: (map(.p99Ms) | sort | .[length / 2 | floor]), non2xx: (map(.non2xx) | add)}'
  router_json=$(printf '%s\n' "${router_runs[@]}" | jq -s "$summarize")
  nginx_json=$(printf '%s\n' "${nginx_runs[@]}" | jq -s "$summarize")
  ratio=$(jq -n --argjson r "$router_json" --argjson n "$nginx_json" '($r.requestsPerSec / $n.requestsPerSec * 1000 | round) / 1000')
  throughput=$(jq -n --argjson r "$router_json" --argjson n "$nginx_json" --argjson ratio "$ratio" \
    --arg tool "wrk -t$THREADS -c$CONNECTIONS -d${SECONDS_PER_RUN}s, $RUNS rounds, medians" \
    '{tool: $tool, dwcpRouter: $r, nginx: $n, ratio: $ratio, goalRatio: 0.5, met: ($ratio >= 0.5)}')
else
  load_json=$("$FLOOD" --port "$ROUTER_PORT" --load --seconds "$SECONDS_PER_RUN" --connections 16)
  throughput=$(jq -n --argjson r "$load_json" \
    '{tool: "bench_routing_flood --load (wrk/nginx not installed)", dwcpRouter: $r, nginx: null, ratio: null}')
fi
stop_router

# 2. Flood.
start_router "$WORK/flood.yaml"
flood_json=$("$FLOOD" --port "$ROUTER_PORT" --seconds "$SECONDS_PER_RUN" --limit "$FLOOD_LIMIT" \
  --clients "$FLOOD_CLIENTS" --client-rate "$FLOOD_CLIENT_RATE" --flood-factor 100)
blacklisted=$(curl -fsS "http://127.0.0.1:$ROUTER_PORT/metrics" | awk '/^dwcp_federation_routing_blacklisted_sources /{print $2}')
stop_router

jq -n --argjson t "$throughput" --argjson f "$flood_json" --arg date "$(date -u +%F)" \
  --arg cores "$(nproc)" --arg routerThreads "$ROUTER_THREADS" --argjson blacklisted "${blacklisted:-0}" \
  '{benchmark: "routing_http", date: $date, cores: ($cores | tonumber), routerThreads: ($routerThreads | tonumber),
    throughput: $t, flood: ($f + {blacklistedSourcesAfter: $blacklisted})}'
