#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Hostile and busy HTTP clients for tests/integration/test-api-abuse.sh (raw sockets, so
# that the timing is the test's and not a client library's).
#   clients.py burst PORT THREADS REQUESTS
#       THREADS threads, each REQUESTS times: connect, GET /api/v1/health with
#       "Connection: close", read the answer, close. Prints "ok N refused N other N".
#   clients.py slow-headers PORT FIRST-ADDR N-ADDRS PER-ADDR SECONDS
#       N-ADDRS source addresses from FIRST-ADDR on (127.0.0.x), PER-ADDR connections
#       each, sending a request's headers one byte a second for SECONDS, reconnecting
#       whenever the server closes. Prints "connections N closed-by-server N".
#   clients.py slow-body PORT SECONDS
#       one POST /api/v1/bundles announcing 1 MB and sending 10 bytes a second; prints
#       "closed after S s" when the server closes it, or "open after S s".
import socket
import sys
import threading
import time


def burst(port, threads, requests):
    res = {"ok": 0, "refused": 0, "other": 0}
    lock = threading.Lock()

    def worker():
        for _ in range(requests):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\n"
                          b"Connection: close\r\n\r\n")
                data = b""
                while True:
                    d = s.recv(65536)
                    if not d:
                        break
                    data += d
                s.close()
                k = "ok" if data.startswith(b"HTTP/1.1 200") else \
                    "refused" if not data else "other"
            except (ConnectionResetError, BrokenPipeError):
                k = "refused"
            except OSError:
                k = "other"
            with lock:
                res[k] += 1

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("ok %d refused %d other %d" % (res["ok"], res["refused"], res["other"]))


def slow_headers(port, first, n_addrs, per_addr, seconds):
    base = first.rsplit(".", 1)
    stop = time.monotonic() + seconds
    stats = {"connections": 0, "closed": 0}
    lock = threading.Lock()
    request = b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 1000

    def worker(addr):
        while time.monotonic() < stop:
            try:
                s = socket.socket()
                s.bind((addr, 0))
                s.settimeout(2)
                s.connect(("127.0.0.1", port))
            except OSError:
                time.sleep(0.2)
                continue
            with lock:
                stats["connections"] += 1
            try:
                for i in range(len(request)):
                    if time.monotonic() >= stop:
                        break
                    s.sendall(request[i:i + 1])
                    time.sleep(1)
                    s.settimeout(0)
                    try:
                        if s.recv(1) == b"":
                            raise ConnectionResetError
                    except BlockingIOError:
                        pass
            except OSError:
                with lock:
                    stats["closed"] += 1
            s.close()

    ts = []
    for a in range(n_addrs):
        addr = "%s.%d" % (base[0], int(base[1]) + a)
        for _ in range(per_addr):
            ts.append(threading.Thread(target=worker, args=(addr,)))
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("connections %d closed-by-server %d" % (stats["connections"], stats["closed"]))


def slow_body(port, seconds):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"POST /api/v1/bundles HTTP/1.1\r\nHost: t\r\n"
              b"Authorization: Bearer " + sys.argv[4].encode() + b"\r\n"
              b"Content-Length: 1000000\r\n\r\n")
    t0 = time.monotonic()
    s.settimeout(0)
    while time.monotonic() - t0 < seconds:
        try:
            s.sendall(b"x" * 10)
        except OSError:
            break
        time.sleep(1)
        try:
            if s.recv(65536) == b"":
                break
        except BlockingIOError:
            pass
        except OSError:
            break
    else:
        print("open after %.0f s" % (time.monotonic() - t0))
        return
    print("closed after %.0f s" % (time.monotonic() - t0))


if __name__ == "__main__":
    what, port = sys.argv[1], int(sys.argv[2])
    if what == "burst":
        burst(port, int(sys.argv[3]), int(sys.argv[4]))
    elif what == "slow-headers":
        slow_headers(port, sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
                     float(sys.argv[6]))
    elif what == "slow-body":
        slow_body(port, float(sys.argv[3]))
    else:
        sys.exit("unknown command " + what)
