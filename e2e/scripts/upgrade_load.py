#!/usr/bin/env python3
"""Load for the e2e's version upgrade, driven by MLflow's own Python client.

Writers create runs with params, metrics, tags and a text artifact; readers get runs,
search, read metric histories and GET /version; pingers GET /version with short random
pauses, so that at any moment some pooled connections sit idle for a few milliseconds (the
moment a stopping server may close one under a request). All through MlflowClient's
pooled keep-alive session, with retries OFF by default (--retries 0): a connection reset
is then a failed request, not hidden by a retry.

Two figures are counted: requests (one per client call, what a user's code sees fail) and
HTTP attempts (each try urllib3 makes; with retries on, a retried reset shows up here).
Every run is read back afterwards, and the experiment must hold each run exactly once (a
retried create that the server had already done would add one).

  python upgrade_load.py --url http://node:port --stop-file /tmp/stop [--retries N] [--pingers N]

Prints `READY <runs>` once the runs written before the upgrade exist, keeps going until
the stop file appears, then reads every run back and prints `RESULT <json>`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time

os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
# Test traffic goes to the server under test only: no telemetry, no run URLs on stdout.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"
os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"

import requests.adapters  # noqa: E402
import urllib3.connectionpool  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import RunStatus  # noqa: E402


class Counter:
    """Counts requests (requests' adapter: one per client call) and HTTP attempts (urllib3: one per try)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bucket = "before"
        self.totals = {"before": 0, "load": 0, "verify": 0}
        self.failures = {"before": 0, "load": 0, "verify": 0}
        self.attempts = {"before": 0, "load": 0, "verify": 0}
        self.failed_attempts = {"before": 0, "load": 0, "verify": 0}
        self.samples: list[str] = []
        self.attempt_samples: list[str] = []

    def record(self, ok: bool, what: str, attempt: bool = False) -> None:
        with self.lock:
            (self.attempts if attempt else self.totals)[self.bucket] += 1
            if not ok:
                (self.failed_attempts if attempt else self.failures)[self.bucket] += 1
                samples = self.attempt_samples if attempt else self.samples
                if len(samples) < 8 and what not in samples:
                    samples.append(what)


COUNTER = Counter()
_send = requests.adapters.HTTPAdapter.send
_make_request = urllib3.connectionpool.HTTPConnectionPool._make_request


def _describe(method: str, url: str, outcome: str) -> str:
    return f"{method} {url.split('?')[0]}: {outcome}"[:300]


def counting_send(self, request, *args, **kwargs):
    try:
        response = _send(self, request, *args, **kwargs)
    except Exception as e:
        COUNTER.record(False, _describe(request.method, request.path_url, f"{type(e).__name__}: {e}"))
        raise
    COUNTER.record(response.status_code < 400, _describe(request.method, request.path_url, f"HTTP {response.status_code}"))
    return response


def counting_make_request(self, conn, method, url, *args, **kwargs):
    try:
        response = _make_request(self, conn, method, url, *args, **kwargs)
    except Exception as e:
        COUNTER.record(False, _describe(method, url, f"{type(e).__name__}: {e}"), attempt=True)
        raise
    COUNTER.record(response.status < 500, _describe(method, url, f"HTTP {response.status}"), attempt=True)
    return response


requests.adapters.HTTPAdapter.send = counting_send
urllib3.connectionpool.HTTPConnectionPool._make_request = counting_make_request


class Load:
    def __init__(self, url: str) -> None:
        self.client = MlflowClient(tracking_uri=url)
        self.url = url
        self.lock = threading.Lock()
        self.runs: dict[str, dict] = {}
        self.versions: list[str] = []
        self.last_version = ""
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.experiment_id = self.client.create_experiment(f"upgrade-{int(time.time() * 1000)}")

    def write_run(self, writer: int, i: int, phase: str) -> None:
        c = self.client
        run = c.create_run(self.experiment_id, run_name=f"w{writer}-{i}", tags={"phase": phase})
        run_id = run.info.run_id
        params = {"writer": str(writer), "i": str(i)}
        for key, value in params.items():
            c.log_param(run_id, key, value)
        losses = [1.0 / (i + step + 1) for step in range(3)]
        for step, value in enumerate(losses):
            c.log_metric(run_id, "loss", value, step=step)
        text = f"run {run_id} writer {writer} item {i} {phase}\n"
        c.log_text(run_id, text, "notes/run.txt")
        c.set_terminated(run_id, RunStatus.to_string(RunStatus.FINISHED))
        with self.lock:
            self.runs[run_id] = {"params": params, "losses": losses, "text": text, "phase": phase}

    def writer(self, writer: int, phase: str, count: int | None = None) -> None:
        i = 0
        while (count is None and not self.stop.is_set()) or (count is not None and i < count):
            try:
                self.write_run(writer, i, phase)
            except Exception as e:  # counted by the adapter too; keep writing
                self.note(e)
            i += 1

    def reader(self) -> None:
        from mlflow.utils.rest_utils import http_request

        creds = self.client._tracking_client.store.get_host_creds()
        while not self.stop.is_set():
            try:
                with self.lock:
                    run_id = random.choice(list(self.runs)) if self.runs else None
                if run_id:
                    self.client.get_run(run_id)
                    self.client.get_metric_history(run_id, "loss")
                self.client.search_runs([self.experiment_id], max_results=20)
                version = http_request(creds, "/version", "GET").text.strip()
                with self.lock:
                    # Versions in the order first seen (old and new pods alternate during the rollout).
                    if version not in self.versions:
                        self.versions.append(version)
                    self.last_version = version
            except Exception as e:
                self.note(e)

    def pinger(self) -> None:
        from mlflow.utils.rest_utils import http_request

        creds = self.client._tracking_client.store.get_host_creds()
        while not self.stop.is_set():
            try:
                http_request(creds, "/version", "GET")
            except Exception as e:
                self.note(e)
            time.sleep(random.uniform(0.0, 0.02))

    def note(self, error: Exception) -> None:
        with self.lock:
            if len(self.errors) < 8:
                self.errors.append(f"{type(error).__name__}: {str(error)[:200]}")

    def verify(self) -> list[str]:
        """Every run reads back with its params, metric history, status and artifact, exactly once."""
        problems = []
        stored = self.client.search_runs([self.experiment_id], max_results=50000)
        if sorted(r.info.run_id for r in stored) != sorted(self.runs):
            problems.append(f"the experiment holds {len(stored)} runs, {len(self.runs)} were written")
        for run_id, want in self.runs.items():
            try:
                run = self.client.get_run(run_id)
                if run.data.params != want["params"]:
                    problems.append(f"{run_id}: params {run.data.params} != {want['params']}")
                history = [m.value for m in sorted(self.client.get_metric_history(run_id, "loss"), key=lambda m: m.step)]
                if history != want["losses"]:
                    problems.append(f"{run_id}: loss history {history} != {want['losses']}")
                if run.info.status != "FINISHED":
                    problems.append(f"{run_id}: status {run.info.status}")
                with tempfile.TemporaryDirectory() as d:
                    path = self.client.download_artifacts(run_id, "notes/run.txt", d)
                    with open(path, encoding="utf-8") as f:
                        if f.read() != want["text"]:
                            problems.append(f"{run_id}: artifact content differs")
            except Exception as e:
                problems.append(f"{run_id}: {type(e).__name__}: {str(e)[:200]}")
        return problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--writers", type=int, default=3)
    parser.add_argument("--readers", type=int, default=3)
    parser.add_argument("--pingers", type=int, default=8)
    parser.add_argument("--runs-before", type=int, default=12)
    parser.add_argument("--retries", type=int, default=0, help="MLflow's HTTP retries (its default is 7); 0: none")
    args = parser.parse_args()
    # Read by MLflow at each call; the pool holds one keep-alive connection per thread.
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = str(args.retries)
    os.environ["MLFLOW_HTTP_POOL_MAXSIZE"] = str(args.writers + args.readers + args.pingers + 4)

    load = Load(args.url)
    before = [threading.Thread(target=load.writer, args=(w, "before", args.runs_before // args.writers)) for w in range(args.writers)]
    for t in before:
        t.start()
    for t in before:
        t.join()
    runs_before = len(load.runs)
    COUNTER.bucket = "load"
    print(f"READY {runs_before}", flush=True)

    started = time.monotonic()
    threads = [threading.Thread(target=load.writer, args=(w, "during")) for w in range(args.writers)]
    threads += [threading.Thread(target=load.reader) for _ in range(args.readers)]
    threads += [threading.Thread(target=load.pinger) for _ in range(args.pingers)]
    for t in threads:
        t.start()
    while not os.path.exists(args.stop_file):
        time.sleep(0.2)
    load.stop.set()
    for t in threads:
        t.join()
    seconds = time.monotonic() - started

    COUNTER.bucket = "verify"
    problems = load.verify()
    result = {
        "before_requests": COUNTER.totals["before"],
        "before_failed": COUNTER.failures["before"],
        "requests": COUNTER.totals["load"],
        "failed": COUNTER.failures["load"],
        "seconds": round(seconds, 1),
        "failure_samples": COUNTER.samples,
        "attempts": COUNTER.attempts["load"],
        "failed_attempts": COUNTER.failed_attempts["load"] + COUNTER.failed_attempts["before"],
        "attempt_samples": COUNTER.attempt_samples,
        "operation_errors": load.errors,
        "versions": load.versions,
        "last_version": load.last_version,
        "retries": args.retries,
        "connections": args.writers + args.readers + args.pingers,
        "runs_before": runs_before,
        "runs_during": len(load.runs) - runs_before,
        "verify_requests": COUNTER.totals["verify"],
        "verify_failed": COUNTER.failures["verify"],
        "verify_problems": problems[:10],
        "verify_problem_count": len(problems),
    }
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
