#!/usr/bin/env python3
"""A TCP proxy for the e2e tests, as a network that can hang: forwards 127.0.0.1:LISTEN to
127.0.0.1:TARGET. SIGUSR1 freezes it (no byte moves either way, connections stay open, new ones
are accepted and held), SIGUSR2 thaws it. It exits by itself after LIFETIME seconds.

    tcp_proxy.py LISTEN_PORT TARGET_PORT LIFETIME_SECONDS
"""
import select
import signal
import socket
import sys
import threading
import time

listen_port, target_port, lifetime = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
frozen = threading.Event()
signal.signal(signal.SIGUSR1, lambda *_: frozen.set())
signal.signal(signal.SIGUSR2, lambda *_: frozen.clear())


def pipe(source, sink):
    try:
        while True:
            if frozen.is_set():
                time.sleep(0.05)
                continue
            readable, _, _ = select.select([source], [], [], 0.1)
            if not readable:
                continue
            data = source.recv(65536)
            if not data:
                break
            while frozen.is_set():
                time.sleep(0.05)
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client):
    try:
        upstream = socket.create_connection(("127.0.0.1", target_port), timeout=5)
        upstream.settimeout(None)
    except OSError:
        client.close()
        return
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", listen_port))
listener.listen(64)
listener.settimeout(0.2)
deadline = time.monotonic() + lifetime
while time.monotonic() < deadline:
    try:
        client, _ = listener.accept()
    except socket.timeout:
        continue
    except InterruptedError:
        continue
    serve(client)
