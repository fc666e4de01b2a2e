#!/usr/bin/python3
"""
Stand-in for the Cloud SQL Auth Proxy (e2e only): listens on <address>:<port> (127.0.0.1 by
default, like the real proxy) and forwards every connection to --forward-to=<host:port>.
Takes the real proxy's flags the chart renders and refuses any other, so a chart change the
stand-in does not know about shows up as a failed container, not as a silent pass.
Health (with --health-check, on --http-address:--http-port): /startup and /liveness answer
200 once the listener is up; /readiness answers 200 only while the forward target accepts
a TCP connection. Logs one line per event (JSON with --structured-logs).
"""
import argparse
import json
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser(prog="cloud-sql-proxy", allow_abbrev=False)
parser.add_argument("--port", type=int, default=5432)
parser.add_argument("--address", default="127.0.0.1")
parser.add_argument("--health-check", action="store_true")
parser.add_argument("--http-address", default="localhost")
parser.add_argument("--http-port", type=int, default=9090)
parser.add_argument("--structured-logs", action="store_true")
parser.add_argument("--exit-zero-on-sigterm", action="store_true")
parser.add_argument("--auto-iam-authn", action="store_true")
parser.add_argument("--private-ip", action="store_true")
parser.add_argument("--psc", action="store_true")
parser.add_argument("--forward-to", required=True, help="host:port the stand-in forwards to (the test PostgreSQL)")
parser.add_argument("instances", nargs="+", help="instance connection names <project>:<region>:<instance>")
args = parser.parse_args()

target_host, _, target_port = args.forward_to.rpartition(":")
target = (target_host.strip("[]"), int(target_port))
started = threading.Event()
connections = 0


def log(msg, **fields):
    if args.structured_logs:
        print(json.dumps({"severity": "INFO", "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "message": msg, **fields}), flush=True)
    else:
        print(f"{time.strftime('%Y/%m/%d %H:%M:%S')} {msg} {fields if fields else ''}".rstrip(), flush=True)


def pump(src, dst):
    try:
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(conn, peer):
    global connections
    try:
        upstream = socket.create_connection(target, timeout=10)
    except OSError as e:
        log("failed to connect to instance", instance=args.instances[0], client=f"{peer[0]}:{peer[1]}", error=str(e))
        conn.close()
        return
    upstream.settimeout(None)
    connections += 1
    log("client connection accepted", instance=args.instances[0], client=f"{peer[0]}:{peer[1]}", connections=connections)
    threading.Thread(target=pump, args=(upstream, conn), daemon=True).start()
    pump(conn, upstream)


def target_reachable():
    try:
        socket.create_connection(target, timeout=2).close()
        return True
    except OSError:
        return False


class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        ok = {"/startup": started.is_set, "/liveness": lambda: True, "/readiness": lambda: started.is_set() and target_reachable()}.get(self.path)
        status = 404 if ok is None else (200 if ok() else 503)
        body = (b"ok" if status == 200 else b"error")
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


def on_sigterm(*_):
    log("SIGTERM received, exiting", code=0 if args.exit_zero_on_sigterm else 143)
    sys.exit(0 if args.exit_zero_on_sigterm else 143)


signal.signal(signal.SIGTERM, on_sigterm)
listener = socket.create_server((args.address, args.port), reuse_port=False)
if args.health_check:
    http = ThreadingHTTPServer((args.http_address, args.http_port), Health)
    threading.Thread(target=http.serve_forever, daemon=True).start()
log("stand-in proxy listening", address=f"{args.address}:{args.port}", instance=args.instances[0], forward_to=args.forward_to,
    iam=args.auto_iam_authn)
started.set()
while True:
    conn, peer = listener.accept()
    threading.Thread(target=serve, args=(conn, peer), daemon=True).start()
