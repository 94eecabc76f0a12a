#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
#
# tcp_delay.py UPSTREAM_PORT PORT_FILE DELAY_MS
#
# A slow server for the prover's tests: a relay on a free loopback port in
# front of a server on loopback port UPSTREAM_PORT.  It passes the client's
# bytes on at once, and on each connection holds the server's first bytes
# back for DELAY_MS before it passes them and everything after.  Writes
# its port to PORT_FILE; runs until killed.
import os
import socket
import sys
import threading
import time

upstream = int(sys.argv[1])
port_file = sys.argv[2]
delay = int(sys.argv[3]) / 1000.0


def pipe(src, dst, hold):
    """Copy src to dst until src ends; the first bytes wait hold seconds."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if hold:
                time.sleep(hold)
                hold = 0
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(client):
    try:
        server = socket.create_connection(("127.0.0.1", upstream))
    except OSError:
        client.close()
        return
    to_server = threading.Thread(target=pipe, args=(client, server, 0), daemon=True)
    to_server.start()
    pipe(server, client, delay)
    to_server.join()
    client.close()
    server.close()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(16)
with open(port_file + ".new", "w") as f:
    f.write("%d\n" % listener.getsockname()[1])
os.rename(port_file + ".new", port_file)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
