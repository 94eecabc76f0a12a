#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
#
# tpm_interfere.py UPSTREAM_PORT PORT_FILE AFTER_CC TIMES
#
# "Another TPM user" for the fallback tests: a relay on a free loopback
# port pair (data, data + 1 for control) in front of swtpm's socket
# interface.  It passes every command of its clients to swtpm unchanged
# and, the first TIMES times a command with code AFTER_CC (hex) succeeds,
# sends swtpm an unaudited TPM2_GetRandom of its own right after it, as a
# busy host's hwrng thread would.  That breaks the prover's exclusive audit
# session, so its next auditExclusive command fails with TPM_RC_EXCLUSIVE.
# Writes the data port to PORT_FILE; runs until killed.
import socket
import struct
import sys
import threading

upstream = int(sys.argv[1])
after_cc = int(sys.argv[3], 16)
left = int(sys.argv[4])
lock = threading.Lock()
# TPM 2.0 Part 3 section 16.1: TPM2_GetRandom(8), no sessions.
GET_RANDOM = bytes.fromhex("80010000000c0000017b0008")


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def recv_msg(s):
    head = recv_exact(s, 10)
    size = struct.unpack(">I", head[2:6])[0]
    return head + recv_exact(s, size - 10)


def serve_data(client, tpm):
    global left
    try:
        while True:
            cmd = recv_msg(client)
            with lock:
                tpm.sendall(cmd)
                rsp = recv_msg(tpm)
                cc = struct.unpack(">I", cmd[6:10])[0]
                rc = struct.unpack(">I", rsp[6:10])[0]
                if cc == after_cc and rc == 0 and left > 0:
                    left -= 1
                    tpm.sendall(GET_RANDOM)
                    recv_msg(tpm)
            client.sendall(rsp)
    except (EOFError, OSError):
        client.close()


def relay(a, b):
    try:
        while True:
            data = a.recv(4096)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    # shutdown, not just close: the other direction's thread still holds the
    # socket in recv(), and swtpm serves one control connection at a time.
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


def serve_ctrl(client):
    up = socket.create_connection(("127.0.0.1", upstream + 1))
    threading.Thread(target=relay, args=(up, client), daemon=True).start()
    relay(client, up)


def listen_pair():
    while True:
        data = socket.socket()
        data.bind(("127.0.0.1", 0))
        port = data.getsockname()[1]
        ctrl = socket.socket()
        try:
            ctrl.bind(("127.0.0.1", port + 1))
        except OSError:
            data.close()
            ctrl.close()
            continue
        return data, ctrl, port


def accept_loop(sock, handler):
    while True:
        client, _ = sock.accept()
        threading.Thread(target=handler, args=(client,), daemon=True).start()


data, ctrl, port = listen_pair()
data.listen(4)
ctrl.listen(4)
tpm = socket.create_connection(("127.0.0.1", upstream))
threading.Thread(target=accept_loop, args=(ctrl, serve_ctrl), daemon=True).start()
with open(sys.argv[2], "w") as f:
    f.write("%d\n" % port)
accept_loop(data, lambda c: serve_data(c, tpm))
