#!/usr/bin/env python3
"""keepalive.py PORT PID [CONNECTIONS RATE SECONDS]: the api listener under a
backend's connection pool, as docs/benchmarks.md's keep-alive target asks.

1. Opens CONNECTIONS keep-alive connections to the api (127.0.0.1:PORT), sends one
   /healthz on each and keeps them open idle: (server RSS after - before) /
   CONNECTIONS is the memory per idle api keep-alive connection.
2. Every connection then publishes RATE times a second for SECONDS (asyncio, one
   request in flight per connection), while a separate process asks /healthz on
   a fresh keep-alive connection every 20 ms and records each answer's latency
   (its own process, so the publishers' event loop does not inflate it).
Prints one JSON object: idle KiB/connection, publishes sent/ok/errors, achieved
rate, /healthz p50/p99/max ms and failures."""
import asyncio
import json
import multiprocessing
import socket
import sys
import time

BODY = b'{"channel":"keepalive","data":1}'
PUBLISH = (b"POST /v1/notifications HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)
HEALTH = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


async def read_answer(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    if length:
        await reader.readexactly(length)
    return status


def probe(port, seconds, out):
    latencies, failures = [], 0
    sock = None
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.monotonic()
        try:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=2)
            sock.sendall(HEALTH)
            data = b""
            while b"\r\n\r\n" not in data or not data.endswith(b'{"status":"ok"}'):
                chunk = sock.recv(4096)
                if not chunk:
                    raise OSError("closed")
                data += chunk
            latencies.append((time.monotonic() - start) * 1000)
        except OSError:
            failures += 1
            sock = None
        time.sleep(max(0.0, 0.02 - (time.monotonic() - start)))
    out.put((latencies, failures))


async def main():
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    connections = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    rate = float(sys.argv[4]) if len(sys.argv) > 4 else 10
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 30
    before = rss(pid)
    conns = []
    for _ in range(connections):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(HEALTH)
        await writer.drain()
        await read_answer(reader)
        conns.append((reader, writer))
    await asyncio.sleep(1)
    idle_kib = (rss(pid) - before) / connections / 1024
    counts = {"sent": 0, "ok": 0, "errors": 0}
    queue = multiprocessing.Queue()
    prober = multiprocessing.Process(target=probe, args=(port, seconds, queue))
    prober.start()
    start = time.monotonic()

    async def publisher(i, reader, writer):
        interval = 1.0 / rate
        next_at = start + (i % 100) * interval / 100  # spread the connections over the interval
        while True:
            now = time.monotonic()
            if now - start >= seconds:
                return
            if next_at > now:
                await asyncio.sleep(next_at - now)
            next_at += interval
            counts["sent"] += 1
            try:
                writer.write(PUBLISH)
                status = await asyncio.wait_for(read_answer(reader), 5)
                counts["ok" if status == 200 else "errors"] += 1
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
                counts["errors"] += 1
                return

    await asyncio.gather(*(publisher(i, r, w) for i, (r, w) in enumerate(conns)))
    elapsed = time.monotonic() - start
    latencies, failures = queue.get()
    prober.join()
    latencies.sort()

    def q(p):
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 2) if latencies else None

    print(json.dumps({"connections": connections, "rate_per_connection": rate, "seconds": seconds,
                      "idle_kib_per_connection": round(idle_kib, 2), "publishes_sent": counts["sent"],
                      "publishes_ok": counts["ok"], "publish_errors": counts["errors"],
                      "publishes_per_s": round(counts["ok"] / elapsed, 1), "healthz_checks": len(latencies),
                      "healthz_failures": failures, "healthz_p50_ms": q(0.5), "healthz_p99_ms": q(0.99),
                      "healthz_max_ms": round(latencies[-1], 2) if latencies else None}))


if __name__ == "__main__":
    asyncio.run(main())
