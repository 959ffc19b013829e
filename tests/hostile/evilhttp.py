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
    auth      no attack, but every request needs HTTP basic auth as alice / "s3cr3t@x!"
              (401 otherwise); the path must never carry the credentials
    evilloc   302 whose Location holds terminal control sequences (ESC ] 0 ; … BEL, ESC [ 2 J)
    evilhref  PROPFIND replies also list an entry outside the directory whose href holds
              "&#27;]0;pwned&#7;" (ESC and BEL once the XML is decoded)
    s3keys    S3 (path-style, bucket = first path component): objects as above, and
              ListObjectsV2 replies that also name a key outside the prefix holding
              "&#27;[2J&#27;]0;pwned&#7;"
    reversed  PROPFIND lists a directory's names in reverse byte order (a legal order)
Prints "PORT <n>" once listening; every request is logged to --log (one line: method path).
stdlib only; binds 127.0.0.1 on a free port.
"""
import argparse
import base64
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

ARGS = None
LOG_LOCK = threading.Lock()
ENDLESS_CHUNK = b"\x5a" * 65536
AUTH = "Basic " + base64.b64encode(b"alice:s3cr3t@x!").decode()
EVIL = "\x1b]0;pwned\x07\x1b[2J"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):  # quiet: requests go to --log
        pass

    def record(self):
        with LOG_LOCK, open(ARGS.log, "a") as f:
            f.write("%s %s\n" % (self.command, self.path))

    def split(self):
        """-> (attack, scope, key) from /<attack>-<scope>/<key>[?query]."""
        parts = unquote(urlsplit(self.path).path).lstrip("/").split("/", 1)
        mode, key = parts[0], parts[1] if len(parts) > 1 else ""
        attack, _, scope = mode.partition("-")
        if attack.startswith("s3"):
            key = key.partition("/")[2]  # path-style: the bucket comes first
        return attack, scope or "all", key

    def refused(self, attack):
        """True (after answering 401) when this request lacks the credentials it needs."""
        if attack != "auth" or self.headers.get("Authorization") == AUTH:
            return False
        self.send_plain(401, b"who are you?", [("WWW-Authenticate", 'Basic realm="embassy"')])
        return True

    def s3_listing(self, key):
        q = parse_qs(urlsplit(self.path).query)
        if key or q.get("list-type") != ["2"]:
            return False
        prefix = q.get("prefix", [""])[0]
        keys = []
        for dirpath, _, files in os.walk(ARGS.root):
            for f in files:
                k = os.path.relpath(os.path.join(dirpath, f), ARGS.root)
                if k.startswith(prefix):
                    keys.append(k)
        keys.append("\x1b[2J\x1b]0;pwned\x07")  # outside any prefix the client asked for
        body = "".join("<Contents><Key>%s</Key></Contents>" % "".join(
            c if " " <= c < "\x7f" and c not in "<&>" else "&#%d;" % ord(c) for c in k)
            for k in sorted(keys))
        doc = ('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>'
               "<IsTruncated>false</IsTruncated>%s</ListBucketResult>" % body)
        self.send_plain(200, doc.encode(), [("Content-Type", "application/xml")])
        return True

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
        if self.refused(attack):
            return None
        if attack == "s3keys" and self.s3_listing(key):
            return None
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
        elif attack == "evilloc":
            self.send_plain(302, b"", [("Location", "http://x/" + EVIL)])
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
        if self.refused(attack):
            return None
        if attack == "listing":
            return self.endless_listing()
        d = os.path.join(ARGS.root, key)
        if not os.path.isdir(d):
            return self.send_plain(404)
        base = "/" + self.path.lstrip("/").split("/", 1)[0] + "/"
        out = ['<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:">']
        out.append(self.response(base + key, True))
        for name in sorted(os.listdir(d), reverse=attack == "reversed"):
            isdir = os.path.isdir(os.path.join(d, name))
            out.append(self.response(base + key + name + ("/" if isdir else ""), isdir))
        if attack == "evilhref":
            out.append(self.response("/elsewhere/&#27;]0;pwned&#7;", False, escape=False))
        out.append("</D:multistatus>")
        self.send_plain(207, "".join(out).encode(), [("Content-Type", "application/xml")])

    @staticmethod
    def response(href, isdir, escape=True):
        rt = "<D:collection/>" if isdir else ""
        return ("<D:response><D:href>%s</D:href><D:propstat><D:prop><D:resourcetype>%s"
                "</D:resourcetype></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>"
                "</D:response>" % (quote(href) if escape else href, rt))

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
