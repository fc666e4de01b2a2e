"""The write limit under the server: the SQL one log-batch request executes, replayed straight
into the same PostgreSQL with psycopg2 over the same number of connections.

1. MLflow's own SqlAlchemyStore (the code the server's handler calls) logs one batch of
   METRICS metrics to a fresh run, then a second one while a SQLAlchemy event hook records
   every statement and its parameters: the steady-state path, where the run's latest_metrics
   rows already exist.
2. CONNECTIONS threads, each with its own psycopg2 connection, replay that statement list in
   one transaction per batch (as the server commits one per request), all against the same
   run as the HTTP load does, with each replay's step and timestamp made new so it writes new
   rows. Batches per second over SECONDS, REPEATS times.

The database URI comes from the environment (MLFLOW_BENCH_DB_URI), never argv. Prints one
JSON line: {"statements": [...], "batchesPerSecond": [...], "errors": n}.
"""

import argparse
import json
import os
import threading
import time
import uuid
from collections.abc import Mapping

import psycopg2
from sqlalchemy import event
from mlflow.entities import Metric
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore


def capture_log_batch(uri: str, metrics: int):
    store = SqlAlchemyStore(uri, "/tmp/mlflow-bench-unused-artifacts")
    experiment_id = store.create_experiment(f"log-batch-limit-{uuid.uuid4().hex[:8]}")
    run = store.create_run(experiment_id, user_id="bench", start_time=int(time.time() * 1000), tags=[], run_name="limit")
    run_id = run.info.run_id

    def batch(step: int):
        now = int(time.time() * 1000)
        return [Metric(f"m{i}", float(i + step), now, step) for i in range(metrics)]

    store.log_batch(run_id, metrics=batch(1), params=[], tags=[])
    captured = []

    def record(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters, executemany))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        store.log_batch(run_id, metrics=batch(2), params=[], tags=[])
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    store.engine.dispose()
    return captured


def fresh(parameters, step: int, now: int):
    """The parameters with every step and timestamp value made new (dicts and lists of dicts)."""
    if isinstance(parameters, Mapping):
        out = {}
        for key, value in parameters.items():
            k = key.lower()
            if "step" in k and isinstance(value, int):
                out[key] = step
            elif "timestamp" in k and isinstance(value, int):
                out[key] = now
            else:
                out[key] = value
        return out
    if isinstance(parameters, (list, tuple)) and parameters and isinstance(parameters[0], Mapping):
        return [fresh(p, step, now) for p in parameters]
    return parameters


def replay(dsn: str, statements, connections: int, seconds: float):
    counter = [1000]
    lock = threading.Lock()
    done = [0]
    errors = [0]
    stop_at = time.monotonic() + seconds

    def worker():
        conn = psycopg2.connect(dsn)
        cur = conn.cursor()
        try:
            while time.monotonic() < stop_at:
                with lock:
                    counter[0] += 1
                    step = counter[0]
                now = int(time.time() * 1000)
                try:
                    for statement, parameters, executemany in statements:
                        p = fresh(parameters, step, now)
                        # insertmanyvalues reports executemany with one batched dict: that is one execute.
                        if executemany and isinstance(p, list):
                            cur.executemany(statement, p)
                        else:
                            cur.execute(statement, p)
                    conn.commit()
                    with lock:
                        done[0] += 1
                except psycopg2.Error:
                    conn.rollback()
                    with lock:
                        errors[0] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0] / (time.monotonic() - started), errors[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--metrics", type=int, default=10)
    args = parser.parse_args()
    uri = os.environ["MLFLOW_BENCH_DB_URI"]
    statements = capture_log_batch(uri, args.metrics)
    dsn = uri.replace("postgresql+psycopg2://", "postgresql://", 1)
    rates, errors = [], 0
    for _ in range(args.repeats):
        rate, errs = replay(dsn, statements, args.connections, args.seconds)
        rates.append(rate)
        errors += errs
    shapes = [" ".join(s.split())[:120] for s, _, _ in statements]
    print(json.dumps({"statements": shapes, "batchesPerSecond": rates, "errors": errors}))


if __name__ == "__main__":
    main()
