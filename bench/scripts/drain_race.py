"""Local model of a rolling restart behind a Service, to count the keep-alive reset race.

A TCP proxy stands for kube-proxy: new connections go to the current backend, established
ones stay where they are. Each cycle starts a new uvicorn backend (2 workers, the image's
drain protocol), points the proxy at it (the endpoint update), then, like the pod's preStop:
with --drain creates the old backend's drain file; waits --pause seconds; sends SIGTERM to the
old backend. Clients: MLflow's http_request (requests/urllib3 keep-alive pool, retries 0),
`--clients` threads, 0-20 ms pauses. Prints failures per cycle.

  "$(packages/testbed/scripts/install-python.sh)"/bin/python bench/scripts/drain_race.py [--drain] [--cycles N] [--pause S]

Measured 2026-11-28 on 2 shared CPUs, 10 restarts each, pause 10 s, 14 clients:
no drain 24 of 28806 requests failed (9 of 10 restarts; ConnectionResetError and
RemoteDisconnected), drain 0 of 27957.
"""
from pathlib import Path
import argparse, asyncio, os, random, socket, subprocess, sys, tempfile, threading, time

os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_HTTP_POOL_MAXSIZE"] = "64"
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
from mlflow.utils.rest_utils import MlflowHostCreds, http_request  # noqa: E402

IMAGE = str(Path(__file__).resolve().parents[2] / "images" / "mlflow")
APP = 'async def app(scope, receive, send):\n    if scope["type"] != "http": return\n    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})\n    await send({"type": "http.response.body", "body": b"ok"})\n'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


class Proxy:
    def __init__(self): self.target = None
    async def pipe(self, r, w):
        try:
            while data := await r.read(65536):
                w.write(data); await w.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            try: w.close()
            except Exception: pass
    async def handle(self, cr, cw):
        try:
            br, bw = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            cw.close(); return
        await asyncio.gather(self.pipe(cr, bw), self.pipe(br, cw))
    def start(self, port):
        loop = asyncio.new_event_loop()
        async def main():
            await asyncio.start_server(self.handle, "127.0.0.1", port)
        loop.run_until_complete(main())
        threading.Thread(target=loop.run_forever, daemon=True).start()


def backend(d, drain_file):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([IMAGE, d]), "MLFLOW_DRAIN_FILE": drain_file}
    p = subprocess.Popen([sys.executable, "-m", "uvicorn", "--http", "mlflow_drain:DrainingH11Protocol", "--workers", "2",
                          "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "race_app:app"], env=env)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close(); return p, port
        except OSError: time.sleep(0.1)
    raise RuntimeError("backend did not start")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--drain", action="store_true"); ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--pause", type=float, default=10); ap.add_argument("--clients", type=int, default=14)
    a = ap.parse_args()
    d = tempfile.mkdtemp(); open(os.path.join(d, "race_app.py"), "w").write(APP)
    proxy, pport = Proxy(), free_port()
    drain = os.path.join(d, "drain-0")
    old, proxy.target = backend(d, drain)
    proxy.start(pport)
    creds = MlflowHostCreds(f"http://127.0.0.1:{pport}")
    stats = {"ok": 0, "failed": 0, "samples": []}; lock = threading.Lock(); stop = threading.Event()
    def client():
        while not stop.is_set():
            try:
                http_request(creds, "/version", "GET", timeout=10).raise_for_status(); k = "ok"; e = None
            except Exception as ex:
                k = "failed"; e = str(ex)[-150:]
            with lock:
                stats[k] += 1
                if e and len(stats["samples"]) < 5: stats["samples"].append(e)
            time.sleep(random.uniform(0, 0.02))
    threads = [threading.Thread(target=client, daemon=True) for _ in range(a.clients)]
    for t in threads: t.start()
    time.sleep(2)
    totals = []
    for c in range(a.cycles):
        with lock: before = (stats["ok"], stats["failed"])
        new_drain = os.path.join(d, f"drain-{c + 1}")
        new, nport = backend(d, new_drain)
        proxy.target = nport                     # the endpoint update
        if a.drain: open(drain, "w").close()     # preStop: drain mode on
        time.sleep(a.pause)                      # preStop pause
        old.terminate(); old.wait(60)            # SIGTERM, graceful shutdown
        time.sleep(1)
        with lock: after = (stats["ok"], stats["failed"])
        ok, failed = after[0] - before[0], after[1] - before[1]
        totals.append((ok + failed, failed))
        print(f"cycle {c + 1}: {ok + failed} requests, {failed} failed", flush=True)
        old, drain = new, new_drain
    stop.set(); time.sleep(0.5); old.terminate(); old.wait(60)
    n, f = sum(t[0] for t in totals), sum(t[1] for t in totals)
    print(f"{'drain' if a.drain else 'no drain'}, pause {a.pause:g} s, {a.clients} keep-alive clients, {a.cycles} restarts: "
          f"{n} requests, {f} failed ({sum(1 for t in totals if t[1])} of {a.cycles} restarts with failures); samples: {stats['samples']}")


main()
