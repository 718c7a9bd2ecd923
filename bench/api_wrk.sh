#!/usr/bin/env bash
# API throughput with wrk (a C load generator, so the client does not eat the server's CPU):
# gunicorn (2 workers, semroute_site/gunicorn.conf.py) + PostgreSQL + Redis on 127.0.0.1, demo router.
#   bash bench/api_wrk.sh [seconds]
# Needs Debian's wrk (`apt-get install wrk`). Creates and drops the database semroute_wrk; uses Redis db 7.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
port=8730
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/semroute_wrk REDIS_URL=redis://127.0.0.1:6379/7
unset CELERY_BROKER_URL
psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS semroute_wrk WITH (FORCE)" -c "CREATE DATABASE semroute_wrk"
redis-cli -n 7 flushdb >/dev/null
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py load_demo
work=$(mktemp -d)
.venv/bin/python manage.py shell -c "
from routing.services.api_keys import api_key_create
key, raw = api_key_create(name='wrk bench', scopes=['route'])
key.rate_limit_per_minute = 10**8
key.save()
open('$work/key', 'w').write(raw)
" >/dev/null
key=$(cat "$work/key")
.venv/bin/python - "$work" "$key" <<'PY'
import json, sys
work, key = sys.argv[1], sys.argv[2]
# 18,000 distinct queries (train + validation): at ~400 req/s the validation set alone repeats
# after 7.5 s, and the repeats would be decision-cache hits inside the "uncached" runs.
splits = json.load(open("../shared/data/clinc150/clinc150_train_val.json"))
val = list(dict.fromkeys(text for split in ("val", "train") for text, _ in splits[split]))
bodies = ",\n".join("  " + json.dumps(json.dumps({"query": q})) for q in val)
headers = '{["Content-Type"]="application/json", ["X-API-Key"]="%s"}' % key
open(f"{work}/uncached.lua", "w").write(
    "local queries = {\n" + bodies + "\n}\nlocal i = 0\nrequest = function()\n  i = i % #queries + 1\n"
    f'  return wrk.format("POST", nil, {headers}, queries[i])\nend\n'
)
open(f"{work}/cached.lua", "w").write(
    f'wrk.method = "POST"\nwrk.body = \'{{"query": "where is my parcel"}}\'\n'
    f'wrk.headers["Content-Type"] = "application/json"\nwrk.headers["X-API-Key"] = "{key}"\n'
)
PY
url=http://127.0.0.1:$port/api/v1/routers/support/route
gunicorn_pid=""
stop_server() { [ -n "$gunicorn_pid" ] && kill "$gunicorn_pid" 2>/dev/null && wait "$gunicorn_pid" 2>/dev/null || true; gunicorn_pid=""; }
trap 'stop_server; psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS semroute_wrk WITH (FORCE)"' EXIT
run() {  # name, threads, connections, script: each run on fresh workers (empty encoder caches)
  stop_server
  redis-cli -n 7 --scan --pattern '*semroute:decision:*' | xargs -r redis-cli -n 7 del >/dev/null
  GUNICORN_BIND=127.0.0.1:$port .venv/bin/gunicorn -c semroute_site/gunicorn.conf.py semroute_site.wsgi >>"$work/gunicorn.log" 2>&1 &
  gunicorn_pid=$!
  for _ in $(seq 60); do curl -s -o /dev/null -X POST -H "X-API-Key: $key" -H 'Content-Type: application/json' -d '{"query":"where is my parcel"}' $url && break; sleep 1; done
  wrk -t2 -c8 -d5s -s "$work/cached.lua" $url >/dev/null  # both workers load the encoder and compile
  [ "$4" = uncached.lua ] && redis-cli -n 7 --scan --pattern '*semroute:decision:*' | xargs -r redis-cli -n 7 del >/dev/null
  echo "== $1 ($3 connections, ${seconds}s)"
  local before after
  before=$(worker_ticks)
  wrk -t"$2" -c"$3" -d"${seconds}s" -s "$work/$4" --latency $url | grep -E "Requests/sec|  50%|  90%|  99%|Non-2xx|Socket errors"
  after=$(worker_ticks)
  # gunicorn's workers share one listening socket: whichever wakes first accepts, and with a few
  # keep-alive connections one worker may hold them all (about half the throughput). Shown here.
  # shellcheck disable=SC2086  # one tick count per word
  paste <(printf '%s\n' $before) <(printf '%s\n' $after) \
    | awk '{d[NR]=$2-$1; t+=d[NR]} END {printf "worker CPU shares:"; for (i=1;i<=NR;i++) printf " %d%%", t ? 100*d[i]/t : 0; print ""}'
}
worker_ticks() {  # user+system clock ticks of each gunicorn worker, in pid order
  for pid in $(pgrep -P "$gunicorn_pid" | sort -n); do awk '{printf "%d ", $14+$15}' "/proc/$pid/stat"; done
}
run "uncached, 1 client" 1 1 uncached.lua
run "uncached, saturated" 2 8 uncached.lua
run "cached, saturated" 2 8 cached.lua
