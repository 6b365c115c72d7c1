#!/usr/bin/env bash
# make spark-cluster-demo: the Spark parity test (make test-spark) run on a real Spark
# standalone cluster instead of the Spark inside the test process. A master and one
# worker are started from pyspark's own distribution (spark-class), bound to 127.0.0.1 on
# free ports; the `spark` profile's session then submits its work there
# (OPSMETRICS_SPARK_MASTER=spark://127.0.0.1:<port>): the driver stays in the pytest
# process, the executors run in the worker's JVM. The tiny data set is loaded and built
# in one go (make test-spark) and every relation compared with DuckDB's build; with
# OPSMETRICS_SPARK_INCREMENTAL=1 the days before the last are loaded and built first,
# then the last day incrementally (make test-spark-incremental: about twice the time). Master and worker are stopped and their folder removed on exit.
# Not part of CI (docs/warehouses.md, "On a Spark cluster").
#
#   scripts/spark/cluster_demo.sh            # worker: 2 cores, 3g (SPARK_WORKER_*)
#   OPSMETRICS_SPARK_INCREMENTAL=1 scripts/spark/cluster_demo.sh   # two deliveries
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=.venv/bin
scripts/ci/ensure_java.sh
SPARK_HOME=$("$BIN/python" -c "import os, pyspark; print(os.path.dirname(pyspark.__file__))")
export SPARK_HOME SPARK_LOCAL_IP=127.0.0.1
# Executors run Python only for rows built in Python (the loader's ledger): this venv's.
export PYSPARK_PYTHON="$PWD/$BIN/python"
WORK=$(mktemp -d -t opsmetrics-spark-cluster-XXXXXX)
export SPARK_LOG_DIR="$WORK/logs" SPARK_WORKER_DIR="$WORK/work"
# No REST submission server (it would take the fixed port 6066).
export SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false"
mkdir -p "$SPARK_LOG_DIR" "$SPARK_WORKER_DIR"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    "$BIN/python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
}
wait_for_log() {  # file, text, what: wait up to 120 s for the text to appear in the log
    for _ in $(seq 240); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.5
    done
    echo "spark-cluster-demo: $3 did not start; its log: $1" >&2
    tail -5 "$1" >&2
    return 1
}

MASTER_PORT=$(free_port)
MASTER_UI=$(free_port)
MASTER="spark://127.0.0.1:$MASTER_PORT"
"$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$MASTER_PORT" --webui-port "$MASTER_UI" \
    > "$SPARK_LOG_DIR/master.log" 2>&1 &
pids+=($!)
wait_for_log "$SPARK_LOG_DIR/master.log" "I have been elected leader" "the master"
"$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker \
    --host 127.0.0.1 --webui-port "$(free_port)" --work-dir "$SPARK_WORKER_DIR" \
    --cores "${SPARK_WORKER_CORES:-2}" --memory "${SPARK_WORKER_MEMORY:-3g}" "$MASTER" \
    > "$SPARK_LOG_DIR/worker.log" 2>&1 &
pids+=($!)
wait_for_log "$SPARK_LOG_DIR/worker.log" "Successfully registered with master" "the worker"
echo "spark-cluster-demo: master $MASTER (web UI http://127.0.0.1:$MASTER_UI), one worker"

started=$(date +%s)
OPSMETRICS_SPARK_MASTER="$MASTER" OPSMETRICS_TEST_SPARK=1 \
    OPSMETRICS_SPARK_INCREMENTAL="${OPSMETRICS_SPARK_INCREMENTAL:-0}" \
    "$BIN/pytest" -m spark tests/python/integration -q
echo "spark-cluster-demo: parity on $MASTER passed in $(($(date +%s) - started)) s"
# What the master saw: the test's application and its executor on the worker.
"$BIN/python" - "$MASTER_UI" <<'EOF'
import json, sys, urllib.request

state = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/json/"))
for app in state["completedapps"] + state["activeapps"]:
    print(f"spark-cluster-demo: application {app['name']} ran {app['duration'] / 1000:.0f} s "
          f"on {app['cores']} cores of {len(state['workers'])} worker(s)")
EOF
