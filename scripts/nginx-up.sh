#!/usr/bin/env bash
# nginx-up.sh DIR [PORT] — serve DIR/data as an embassyfs HTTP(S)/WebDAV store on 127.0.0.1:PORT
# (PORT defaults to a free one). Everything (config, PKI, pid, logs, temp files) lives in DIR;
# runs without systemd. Needs nginx-full (Debian: it brings the dav-ext module for PROPFIND).
#   HTTPS with HTTP/2 and HTTP/1.1 keep-alive, a throwaway CA made with openssl (EC P-256,
#   valid 2 days): DIR/pki/{ca,server,client}.{crt,key}
#   WebDAV: PUT (atomic), DELETE, MKCOL, COPY, MOVE (Overwrite: F -> 412), PROPFIND, OPTIONS
# env: NGINX_TLS=1|0                  1 (default): https + h2; 0: plain http/1.1, no PKI
#      NGINX_MTLS=off|optional|on     client certificates checked against DIR/pki/ca.crt
#                                     (default off)
#      NGINX_BASIC_AUTH=user:pass     additionally require HTTP basic auth
# Output: DIR/http.env (STORE_URL, STORE_ROOT, STORE_CA, STORE_CLIENT_CERT, STORE_CLIENT_KEY)
#         DIR/nginx.master.pid.  Stop with nginx-down.sh DIR.
set -euo pipefail
DIR=${1:?usage: $0 DIR [PORT]}
PORT=${2:-$("$(dirname "$0")/free-port.sh")}
TLS=${NGINX_TLS:-1}
MTLS=${NGINX_MTLS:-off}
case $MTLS in off|optional|on) ;; *) echo "NGINX_MTLS must be off, optional or on" >&2; exit 2;; esac
command -v nginx >/dev/null || { echo "nginx not found (apt-get install nginx-full)" >&2; exit 1; }
# A busy port would make us test someone else's server.
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "127.0.0.1:$PORT is already in use" >&2; exit 1
fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
if [ -f "$DIR/nginx.master.pid" ]; then
  echo "$DIR/nginx.master.pid exists: run nginx-down.sh $DIR first" >&2; exit 1
fi
mkdir -p "$DIR"/{data,tmp,pki}

make_pki() {
  local p=$DIR/pki who ext
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$p/ca.key" -out "$p/ca.crt" -subj "/CN=embassyfs test CA $(basename "$DIR")" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  for who in server client; do
    if [ $who = server ]; then
      ext="subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth"
    else
      ext="extendedKeyUsage=clientAuth"
    fi
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=embassyfs-$who" \
      -keyout "$p/$who.key" -out "$p/$who.csr" 2>/dev/null
    openssl x509 -req -in "$p/$who.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial \
      -days 2 -out "$p/$who.crt" 2>/dev/null \
      -extfile <(printf "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n$ext\n")
  done
  chmod 600 "$p"/*.key
}

if [ "$TLS" = 1 ]; then
  [ -f "$DIR/pki/client.crt" ] || make_pki
  SCHEME=https
  LISTEN="listen 127.0.0.1:$PORT ssl http2;
    ssl_certificate $DIR/pki/server.crt;
    ssl_certificate_key $DIR/pki/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:1m;"
  if [ "$MTLS" != off ]; then
    LISTEN="$LISTEN
    ssl_client_certificate $DIR/pki/ca.crt;
    ssl_verify_client $MTLS;
    ssl_verify_depth 1;"
  fi
else
  SCHEME=http
  LISTEN="listen 127.0.0.1:$PORT;"
fi

AUTH=""
if [ -n "${NGINX_BASIC_AUTH:-}" ]; then
  printf '%s:%s\n' "${NGINX_BASIC_AUTH%%:*}" "$(openssl passwd -apr1 "${NGINX_BASIC_AUTH#*:}")" \
    > "$DIR/htpasswd"
  AUTH="auth_basic \"embassy store\"; auth_basic_user_file $DIR/htpasswd;"
fi

cat > "$DIR/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_http_dav_ext_module.so;
# test rig: the worker runs as the invoking user so it can write DIR/data
user $(id -un) $(id -gn);
worker_processes 1;
daemon off;
pid $DIR/nginx.pid;
error_log $DIR/error.log warn;
events { worker_connections 1024; }
http {
  access_log $DIR/access.log;
  client_body_temp_path $DIR/tmp/body;
  proxy_temp_path $DIR/tmp/proxy;
  fastcgi_temp_path $DIR/tmp/fastcgi;
  uwsgi_temp_path $DIR/tmp/uwsgi;
  scgi_temp_path $DIR/tmp/scgi;
  default_type application/octet-stream;
  sendfile on;
  tcp_nodelay on;
  keepalive_timeout 75s;
  keepalive_requests 100000;
  client_max_body_size 0;
  server_tokens off;
  server {
    $LISTEN
    root $DIR/data;
    location / {
      $AUTH
      dav_methods PUT DELETE MKCOL COPY MOVE;
      dav_ext_methods PROPFIND OPTIONS;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      min_delete_depth 0;
      max_ranges 16;
    }
  }
}
CONF
nginx -t -q -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/error.log"
setsid nginx -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/error.log" </dev/null >>"$DIR/nginx.out" 2>&1 &
echo $! > "$DIR/nginx.master.pid"

# Ready when it answers an HTTP request (any status: 400 without a client cert still counts).
PROBE=(curl -s -o /dev/null -w '%{http_code}' --max-time 2)
[ "$TLS" = 1 ] && PROBE+=(--cacert "$DIR/pki/ca.crt" --cert "$DIR/pki/client.crt" --key "$DIR/pki/client.key")
for _ in $(seq 1 500); do
  code=$("${PROBE[@]}" "$SCHEME://127.0.0.1:$PORT/" 2>/dev/null || true)
  [ -n "$code" ] && [ "$code" != 000 ] && break
  if ! kill -0 "$(cat "$DIR/nginx.master.pid")" 2>/dev/null; then
    echo "nginx exited:" >&2; cat "$DIR/error.log" "$DIR/nginx.out" >&2 2>/dev/null
    rm -f "$DIR/nginx.master.pid"; exit 1
  fi
  sleep 0.02
done
[ -n "$code" ] && [ "$code" != 000 ] || { echo "nginx did not answer on $PORT" >&2; exit 1; }
cat > "$DIR/http.env" <<ENV
STORE_URL=$SCHEME://127.0.0.1:$PORT
STORE_PORT=$PORT
STORE_ROOT=$DIR/data
STORE_CA=$DIR/pki/ca.crt
STORE_CLIENT_CERT=$DIR/pki/client.crt
STORE_CLIENT_KEY=$DIR/pki/client.key
ENV
echo "nginx ready: $SCHEME://127.0.0.1:$PORT (root $DIR/data, mTLS $MTLS)"
