#!/usr/bin/env bash
# Where a served request's time goes (issue 16): start `distilkit serve` from the source tree SRC on
# EXPORT_DIR, load it with wrk (single texts from 8 connections, then 32 texts/request from 2),
# print req/s, p50/p99 and wrk's own CPU; with PROFILE=1 also sample the server with py-spy
# (`pip install py-spy`; raw stacks in /tmp/prof-TAG-b1.txt / -b32.txt, summarised by
# benchmarks/profile_summary.py). Run it under the shared lock:
#   flock /tmp/distilkit-cpu.lock bash benchmarks/profile_serving.sh runs/demo/student-export new src
#   flock /tmp/distilkit-cpu.lock bash benchmarks/profile_serving.sh runs/demo/student-export old /path/to/previous/src
#   PROFILE=1 ... ; python benchmarks/profile_summary.py /tmp/prof-new-b1.txt
# usage: profile_serving.sh EXPORT_DIR TAG [SRC] [EXTRA SERVE FLAGS]
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
EXP=$1; TAG=$2; SRC=${3:-src}; EXTRA=${4:-}
PORT=8765
PYTHONPATH=$SRC HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false $PY -m distilkit.cli serve --model $EXP --port $PORT --threads 2 --max-length 64 --max-texts 32 $EXTRA > /tmp/serve-$TAG.log 2>&1 &
SPID=$!
for i in $(seq 1 120); do curl -s localhost:$PORT/health >/dev/null && break; sleep 0.5; done
PYTHONPATH=src $PY - <<'PY'
import json
from distilkit.data import prepare_task
from distilkit.config import ExportConfig
val = prepare_task(ExportConfig(data="rotten-tomatoes", max_length=64, seed=42), label_names=["fresh","rotten"]).splits["validation"]
texts = list(val["text"][:640])
def lua(path, bodies):
    q = ",\n".join("[==[" + b + "]==]" for b in bodies)
    open(path, "w").write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n' + f"local bodies = {{\n{q}\n}}\nlocal i = 0\n" + "request = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, '/predict', nil, bodies[i])\nend\n")
lua("/tmp/b1.lua", [json.dumps({"texts": [t]}) for t in texts])
lua("/tmp/b32.lua", [json.dumps({"texts": texts[i:i+32]}) for i in range(0, 640, 32)])
PY
wrk -t1 -c8 -d5s -s /tmp/b1.lua http://127.0.0.1:$PORT >/dev/null  # warm-up
echo "== single text, 8 connections"; /usr/bin/time -f "wrk cpu user %U sys %S wall %e" wrk -t1 -c8 -d10s --latency -s /tmp/b1.lua http://127.0.0.1:$PORT 2>&1 | grep -E "Requests/sec|50%|99%|Non-2xx|wrk cpu"
echo "== 32 texts, 2 connections"; /usr/bin/time -f "wrk cpu user %U sys %S wall %e" wrk -t1 -c2 -d10s --latency -s /tmp/b32.lua http://127.0.0.1:$PORT 2>&1 | grep -E "Requests/sec|50%|99%|Non-2xx|wrk cpu"
curl -s localhost:$PORT/stats; echo
if [ -n "${PROFILE:-}" ]; then
echo "== profile single text"
(wrk -t1 -c8 -d12s -s /tmp/b1.lua http://127.0.0.1:$PORT > /dev/null &) ; sleep 1
${PYSPY:-py-spy} record -p $SPID -d 10 -r 250 -f raw -o /tmp/prof-$TAG-b1.txt --threads --nonblocking > /dev/null 2>&1
sleep 2
echo "== profile 32 texts"
(wrk -t1 -c2 -d12s -s /tmp/b32.lua http://127.0.0.1:$PORT > /dev/null &) ; sleep 1
${PYSPY:-py-spy} record -p $SPID -d 10 -r 250 -f raw -o /tmp/prof-$TAG-b32.txt --threads --nonblocking > /dev/null 2>&1
sleep 2
fi
kill $SPID; wait $SPID 2>/dev/null
