# SPDX-License-Identifier: BSD-2-Clause
#
# Source this from a test or bench: real TLS 1.3 servers on free loopback
# ports, each stopped by pid.
#
#   . tests/lib/servers.sh
#   servers_dir DIR              where the servers' files live (DIR/www is served)
#   s_server ARGS...             openssl s_server -WWW; sets PORT
#   test_server MODE CERT KEY    build/tests/prog/tls_test_server; sets PORT
#   nginx_server CERT KEY        Debian's nginx, TLS 1.3 and P-256 only; sets PORT
#   servers_stop                 stop every server started so far
#
# A script that installs its own EXIT trap must call servers_stop from it.

SERVERS_DIR=
SERVERS_PIDS=()

servers_dir() {
	SERVERS_DIR=$1
	mkdir -p "$SERVERS_DIR/www"
}

# A loopback port nobody listens on (the kernel picks it, then lets it go).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT: up to 5 s for a listener.
wait_port() {
	local i
	for i in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

s_server() {
	PORT=$(free_port)
	(cd "$SERVERS_DIR/www" && exec openssl s_server -accept "127.0.0.1:$PORT" -WWW -quiet \
		-naccept 1000 "$@" >/dev/null 2>&1) &
	SERVERS_PIDS+=($!)
	wait_port "$PORT"
}

# test_server MODE CERT KEY: serves $SERVERS_DIR/www/small.bin; the early
# mode's report goes to $SERVERS_DIR/report.
test_server() {
	local top i
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	rm -f "$SERVERS_DIR/port"
	"$top/build/tests/prog/tls_test_server" --mode "$1" --cert "$2" --key "$3" \
		--port-file "$SERVERS_DIR/port" --body "$SERVERS_DIR/www/small.bin" \
		--report "$SERVERS_DIR/report" 2>/dev/null &
	SERVERS_PIDS+=($!)
	for i in $(seq 1 100); do
		[ -s "$SERVERS_DIR/port" ] && break
		sleep 0.05
	done
	PORT=$(cat "$SERVERS_DIR/port" 2>/dev/null)
	[ -n "$PORT" ] && wait_port "$PORT"
}

nginx_server() {
	local conf="$SERVERS_DIR/nginx"
	PORT=$(free_port)
	mkdir -p "$conf"
	# nginx's worker runs as www-data and must read the files.
	chmod 755 "$SERVERS_DIR" "$SERVERS_DIR/www"
	chmod 644 "$SERVERS_DIR/www"/* 2>/dev/null
	cat >"$conf/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $conf/nginx.pid;
error_log $conf/error.log;
events { worker_connections 16; }
http {
	access_log off;
	client_body_temp_path $conf;
	proxy_temp_path $conf;
	fastcgi_temp_path $conf;
	uwsgi_temp_path $conf;
	scgi_temp_path $conf;
	server {
		listen 127.0.0.1:$PORT ssl;
		server_name localhost;
		ssl_certificate $1;
		ssl_certificate_key $2;
		ssl_protocols TLSv1.3;
		ssl_ecdh_curve prime256v1;
		root $SERVERS_DIR/www;
	}
}
CONF
	nginx -c "$conf/nginx.conf" -e "$conf/error.log" 2>/dev/null &
	SERVERS_PIDS+=($!)
	wait_port "$PORT"
}

servers_stop() {
	local p
	for p in "${SERVERS_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	SERVERS_PIDS=()
}
