#!/usr/bin/env python3
"""faultproxy: an HTTP/1.1 forwarding proxy that injects network faults (embassyfs tests).

    faultproxy.py --upstream http://127.0.0.1:8080 [--port 0] [--port-file F] [faults...]

Listens on 127.0.0.1:PORT (0: the kernel picks one; it is printed and, once the proxy is
ready, written atomically to --port-file) and forwards every request to the plain-HTTP
upstream, Host header unchanged (S3 SigV4 signs it: clients use the proxy address as the
endpoint). Keep-alive toward the client; one upstream connection per client connection.

Faults (command-line flags, changeable at run time with GET /__fault?name=value&...):
  latency_ms=N   added delay per request
  bandwidth=N    cap on reply body bytes/s per connection (0: none)
  fail503=P      fraction of requests answered 503 without forwarding
  fail429=P      fraction answered 429
  reset=P        fraction whose connection is reset (RST) halfway through the reply body
  truncate=P     fraction whose reply body stops halfway (full Content-Length, then FIN)
  stall=P        fraction never answered (the connection is held open until the client goes)
  methods=LIST   comma-separated methods the faults apply to (empty: all)
  hold=LIST      requests of these methods (e.g. PUT) are counted, then held until hold is
                 changed (hold= releases them; at most 120 s): a test can act while a
                 client's request is in flight, without a timed sleep
  hold_path=S    hold only those whose path contains S (empty: all); /__stats "held" counts
                 the requests being held now
  clear=1        all faults off (and held requests released)
Other control paths: GET /__stats (JSON: requests by method, injected faults by kind),
GET /__reset (zero the counters). Control requests are neither counted nor faulted.
Python standard library only.
"""
import argparse
import http.client
import http.server
import json
import os
import random
import select
import socket
import struct
import sys
import threading
import time
import urllib.parse

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate",
    "proxy-authorization", "te", "trailers", "transfer-encoding", "upgrade", "expect",
}
FAULT_KINDS = ("fail503", "fail429", "reset", "truncate", "stall")


class State:
    """Fault settings and counters, shared by all connection threads (guarded by lock)."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.cfg = {
            "latency_ms": args.latency_ms, "bandwidth": args.bandwidth,
            "fail503": args.fail503, "fail429": args.fail429, "reset": args.reset,
            "truncate": args.truncate, "stall": args.stall, "methods": args.methods,
            "hold": "", "hold_path": "",
        }
        self.holding = 0
        self.rng = random.Random(args.seed)
        self.reset_stats()

    def reset_stats(self):
        with self.lock:
            self.requests = {}
            self.faults = {k: 0 for k in FAULT_KINDS}
            self.total = 0

    def update(self, query):
        with self.lock:
            for key, values in urllib.parse.parse_qs(query, keep_blank_values=True).items():
                value = values[-1]
                if key == "clear":
                    for k in FAULT_KINDS + ("latency_ms", "bandwidth"):
                        self.cfg[k] = 0
                    self.cfg["methods"] = ""
                    self.cfg["hold"] = ""
                    self.cfg["hold_path"] = ""
                elif key in ("methods", "hold", "hold_path"):
                    self.cfg[key] = value
                elif key in ("latency_ms", "bandwidth"):
                    self.cfg[key] = int(float(value))
                elif key in FAULT_KINDS:
                    self.cfg[key] = float(value)
                else:
                    raise ValueError("unknown fault %r" % key)
            return dict(self.cfg)

    def held(self, method, path):
        with self.lock:
            return (method in [m for m in self.cfg["hold"].split(",") if m]
                    and self.cfg["hold_path"] in path)

    def holding_add(self, n):
        with self.lock:
            self.holding += n

    def stats(self):
        with self.lock:
            return {"total": self.total, "requests": dict(self.requests), "held": self.holding,
                    "faults": dict(self.faults), "config": dict(self.cfg)}

    def choose(self, method):
        """Count the request; return (fault kind or None, latency_ms, bandwidth)."""
        with self.lock:
            self.total += 1
            self.requests[method] = self.requests.get(method, 0) + 1
            cfg = self.cfg
            methods = [m for m in cfg["methods"].split(",") if m]
            kind = None
            if not methods or method in methods:
                for k in FAULT_KINDS:
                    if cfg[k] > 0 and self.rng.random() < cfg[k]:
                        kind = k
                        self.faults[k] += 1
                        break
            return kind, cfg["latency_ms"], cfg["bandwidth"]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultproxy"
    upstream = None  # per-connection http.client.HTTPConnection

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("faultproxy: " + (fmt % args) + "\n")

    # -- request body --
    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = self.headers.get("Content-Length")
        return self.rfile.read(int(length)) if length else None

    # -- upstream --
    def forward(self, body):
        host, port = self.server.upstream
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        if body is not None and not any(k.lower() == "content-length" for k, _ in headers):
            headers.append(("Content-Length", str(len(body))))
        for attempt in range(2):
            conn = self.upstream or http.client.HTTPConnection(host, port, timeout=600)
            self.upstream = None
            try:
                conn.putrequest(self.command, self.path, skip_host=True,
                                skip_accept_encoding=True)
                for k, v in headers:
                    conn.putheader(k, v)
                conn.endheaders(body)
                resp = conn.getresponse()
                data = resp.read()
                self.upstream = conn
                return resp, data
            except (OSError, http.client.HTTPException):
                conn.close()  # a stale keep-alive connection: one more try on a new one
                if attempt:
                    raise

    # -- reply --
    def send_head(self, status, reason, headers, length):
        self.send_response_only(status, reason)
        for k, v in headers:
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def send_paced(self, data, bandwidth):
        step = 65536 if not bandwidth else max(1, min(65536, bandwidth // 20))
        for i in range(0, len(data), step):
            self.wfile.write(data[i:i + step])
            if bandwidth:
                self.wfile.flush()
                time.sleep(len(data[i:i + step]) / bandwidth)
        self.wfile.flush()

    def reset_connection(self):
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def stall(self):
        """Never answer; hold the connection until the client (or the proxy) gives up."""
        self.close_connection = True
        sock = self.connection
        while not self.server.stopping:
            ready, _, _ = select.select([sock], [], [], 0.5)
            if ready:
                try:
                    if not sock.recv(65536):
                        return
                except OSError:
                    return

    def error_reply(self, status, reason):
        body = ("%d %s (faultproxy)\n" % (status, reason)).encode()
        self.send_head(status, reason, [("Content-Type", "text/plain"), ("Retry-After", "0")],
                       len(body))
        self.wfile.write(body)

    def control(self):
        url = urllib.parse.urlsplit(self.path)
        try:
            if url.path == "/__fault":
                out = self.server.state.update(url.query)
            elif url.path == "/__stats":
                out = self.server.state.stats()
            else:
                self.server.state.reset_stats()
                out = {"reset": True}
            code = 200
        except ValueError as e:
            out, code = {"error": str(e)}, 400
        body = (json.dumps(out, sort_keys=True) + "\n").encode()
        self.send_head(code, "OK" if code == 200 else "Bad Request",
                       [("Content-Type", "application/json")], len(body))
        self.wfile.write(body)

    def handle_any(self):
        if self.path.split("?")[0] in ("/__fault", "/__stats", "/__reset"):
            return self.control()
        body = self.read_body()
        kind, latency_ms, bandwidth = self.server.state.choose(self.command)
        deadline = time.monotonic() + 120
        if self.server.state.held(self.command, self.path):
            self.server.state.holding_add(1)
            while self.server.state.held(self.command, self.path) and \
                    time.monotonic() < deadline:
                time.sleep(0.01)  # until the test releases it (hold=)
            self.server.state.holding_add(-1)
        if latency_ms:
            time.sleep(latency_ms / 1000.0)
        if kind == "stall":
            return self.stall()
        if kind in ("fail503", "fail429"):
            status = 503 if kind == "fail503" else 429
            return self.error_reply(status, "Service Unavailable" if status == 503
                                    else "Too Many Requests")
        try:
            resp, data = self.forward(body)
        except (OSError, http.client.HTTPException) as e:
            return self.error_reply(502, "Bad Gateway (%s)" % type(e).__name__)
        bodyless = self.command == "HEAD" or resp.status in (204, 304) or resp.status < 200
        length = resp.getheader("Content-Length") if bodyless else len(data)
        if kind in ("reset", "truncate"):
            if data:
                self.send_head(resp.status, resp.reason, resp.getheaders(), length)
                self.wfile.write(data[:len(data) // 2])
            if kind == "reset":
                return self.reset_connection()
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_head(resp.status, resp.reason, resp.getheaders(), length)
        if not bodyless:
            self.send_paced(data, bandwidth)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = handle_any
    do_MKCOL = do_MOVE = do_COPY = do_PROPFIND = do_OPTIONS = handle_any

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        if self.upstream:
            self.upstream.close()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    stopping = False

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True, help="http://host:port of the real server")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--bandwidth", type=int, default=0)
    for k in FAULT_KINDS:
        ap.add_argument("--" + k, type=float, default=0.0)
    ap.add_argument("--methods", default="")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    up = urllib.parse.urlsplit(args.upstream)
    if up.scheme != "http" or not up.hostname:
        ap.error("--upstream must be http://host:port")
    server = Server(("127.0.0.1", args.port), Handler)
    server.upstream = (up.hostname, up.port or 80)
    server.state = State(args)
    server.verbose = args.verbose
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print("faultproxy: 127.0.0.1:%d -> %s" % (port, args.upstream), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping = True
        server.server_close()


if __name__ == "__main__":
    main()
