#!/usr/bin/env python3
# broker_memory.py HERALD STREAM_PORT API_PORT: resident memory of the memory broker per
# channel (100,000 channels, one small notification each) and per history entry (100,000
# entries of one channel), read from /proc/<pid>/status. Prints one JSON line.
import json, subprocess, sys, time, urllib.request, os
herald, sp, ap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
p = subprocess.Popen([herald, "--stream-listen", f"127.0.0.1:{sp}", "--api-listen", f"127.0.0.1:{ap}",
                      "--history-size", "100000", "--history-ttl", "1h"], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
def rss():
    for line in open(f"/proc/{p.pid}/status"):
        if line.startswith("VmRSS:"): return int(line.split()[1]) * 1024
def post(path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{ap}{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
for _ in range(100):
    try: post("/v1/notifications", {"channel": "warm", "data": 1}); break
    except Exception: time.sleep(0.1)
time.sleep(0.5); r0 = rss()
N = 100000
for f in range(0, N, 1000):
    post("/v1/notifications", {"channels": [f"c:{i}" for i in range(f, f + 1000)], "data": 1})
time.sleep(0.5); r1 = rss()
for f in range(0, N, 1000):
    post("/v1/notifications/batch", {"notifications": [{"channel": "deep", "data": 1}] * 1000})
time.sleep(0.5); r2 = rss()
print(json.dumps({"channels": N, "entries": N, "rss_kib_before": r0 // 1024, "rss_kib_after_channels": r1 // 1024,
                  "rss_kib_after_entries": r2 // 1024, "bytes_per_channel_with_one_entry": (r1 - r0) // N,
                  "bytes_per_entry": (r2 - r1) // N}))
p.kill()
