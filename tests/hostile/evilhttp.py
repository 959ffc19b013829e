#!/usr/bin/env python3
"""evilhttp: a hostile embassy host over HTTP/WebDAV, for tests/hostile/http_hostile.sh.

Serves the store directory ROOT read-only (GET with Range, HEAD, PROPFIND Depth: 1) under
    http://127.0.0.1:PORT/<attack>-<scope>/<key>
where scope says which objects are attacked: "all", "packs" (packs/...), "desc" (embassy.json),
and attack is one of
    good      no attack (a sanity check of the server itself)
    endless   200 with no Content-Length, then bytes until the client hangs up
    huge      200 with "Content-Length: 10737418240", then zeros until the client hangs up
    redirect  302 to the same object on another host name (http://localhost:PORT/landed/...)
    lying     a Content-Length 1000 bytes larger than the body, then the connection closes
    shortrange  206 for a Range request, with half the bytes asked for
    fullbody  200 with the whole object for a Range request (Range ignored)
    listing   PROPFIND replies are an endless multistatus document
Prints "PORT <n>" once listening; every request is logged to --log (one line: method path).
stdlib only; binds 127.0.0.1 on a free port.
"""
import argparse
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote

ARGS = None
LOG_LOCK = threading.Lock()
ENDLESS_CHUNK = b"\x5a" * 65536


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):  # quiet: requests go to --log
        pass

    def record(self):
        with LOG_LOCK, open(ARGS.log, "a") as f:
            f.write("%s %s\n" % (self.command, self.path))

    def split(self):
        """-> (attack, scope, key) from /<attack>-<scope>/<key>."""
        parts = unquote(self.path).lstrip("/").split("/", 1)
        mode, key = parts[0], parts[1] if len(parts) > 1 else ""
        attack, _, scope = mode.partition("-")
        return attack, scope or "all", key

    def attacked(self, scope, key):
        return (scope == "all" or (scope == "packs" and key.startswith("packs/"))
                or (scope == "desc" and key == "embassy.json"))

    def send_plain(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def stream_forever(self, headers):
        self.close_connection = True
        self.send_response(200)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            while True:
                self.wfile.write(ENDLESS_CHUNK)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def read_object(self, key):
        path = os.path.join(ARGS.root, key)
        if ".." in key.split("/") or not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    def byte_range(self, size):
        r = self.headers.get("Range", "")
        if not r.startswith("bytes="):
            return None
        a, _, b = r[6:].partition("-")
        start = int(a)
        end = int(b) if b else size - 1
        return start, min(end, size - 1)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.record()
        attack, scope, key = self.split()
        if attack == "landed":
            return self.send_plain(500, b"redirect followed")
        data = self.read_object(key)
        if data is None:
            return self.send_plain(404)
        if self.attacked(scope, key) and attack != "good":
            if self.attack(attack, key, data):
                return
        rng = self.byte_range(len(data))
        if rng:
            s, e = rng
            return self.send_plain(206, data[s:e + 1],
                                   [("Content-Range", "bytes %d-%d/%d" % (s, e, len(data)))])
        self.send_plain(200, data)

    def attack(self, attack, key, data):
        """Serve the attack; False when this attack does not apply to this request."""
        rng = self.byte_range(len(data))
        if attack == "endless":
            self.stream_forever([])
        elif attack == "huge":
            self.stream_forever([("Content-Length", str(10 << 30))])
        elif attack == "redirect":
            port = self.server.server_address[1]
            loc = "http://localhost:%d/landed/%s" % (port, quote(key))
            self.send_plain(302, b"", [("Location", loc)])
        elif attack == "lying":
            body = data[rng[0]:rng[1] + 1] if rng else data
            self.close_connection = True
            self.send_response(206 if rng else 200)
            if rng:
                self.send_header("Content-Range", "bytes %d-%d/%d" % (rng[0], rng[1], len(data)))
            self.send_header("Content-Length", str(len(body) + 1000))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        elif attack == "shortrange" and rng:
            s, e = rng
            half = data[s:s + max(1, (e - s + 1) // 2)]
            self.send_plain(206, half, [("Content-Range", "bytes %d-%d/%d" % (s, e, len(data)))])
        elif attack == "fullbody" and rng:
            self.send_plain(200, data)
        else:
            return False
        return True

    def do_PROPFIND(self):
        self.record()
        n = int(self.headers.get("Content-Length", "0") or 0)
        if n:
            self.rfile.read(n)
        attack, _, key = self.split()
        if attack == "listing":
            return self.endless_listing()
        d = os.path.join(ARGS.root, key)
        if not os.path.isdir(d):
            return self.send_plain(404)
        base = "/" + self.path.lstrip("/").split("/", 1)[0] + "/"
        out = ['<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:">']
        out.append(self.response(base + key, True))
        for name in sorted(os.listdir(d)):
            isdir = os.path.isdir(os.path.join(d, name))
            out.append(self.response(base + key + name + ("/" if isdir else ""), isdir))
        out.append("</D:multistatus>")
        self.send_plain(207, "".join(out).encode(), [("Content-Type", "application/xml")])

    @staticmethod
    def response(href, isdir):
        rt = "<D:collection/>" if isdir else ""
        return ("<D:response><D:href>%s</D:href><D:propstat><D:prop><D:resourcetype>%s"
                "</D:resourcetype></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>"
                "</D:response>" % (quote(href), rt))

    def endless_listing(self):
        self.close_connection = True
        self.send_response(207)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(b'<?xml version="1.0"?><D:multistatus xmlns:D="DAV:">')
            i = 0
            while True:
                i += 1
                self.wfile.write(self.response("/x/keys/pass-%016d" % i, False).encode())
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--log", required=True)
    ARGS = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
