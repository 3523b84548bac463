#!/usr/bin/env python3
"""Prints a TCP port on 127.0.0.1 that nothing uses right now, for test servers.

It is taken below Linux's ephemeral range (32768+ by default), where client
sockets of tests running in parallel (thousands in the load smoke test) get
their ports, so such a client cannot take it before the server binds it.
"""
import random
import socket

FIRST, LAST = 20000, 32000

for _ in range(500):
    port = random.randint(FIRST, LAST)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        break
else:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])
