#!/usr/bin/env python3
"""measure.py PIDS -- COMMAND...: runs a load command (wrk) and prints one JSON
object: its parsed wrk figures, the CPU seconds the server processes (PIDS,
comma-separated) spent meanwhile and the CPU the load command itself used --
the load generator shares the cores with the server, so both are recorded."""
import json
import os
import re
import resource
import subprocess
import sys


def server_cpu(pids):
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except OSError:
            pass
    return total


def seconds(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def main():
    pids = [p for p in sys.argv[1].split(",") if p]
    command = sys.argv[sys.argv.index("--") + 1:]
    before = server_cpu(pids)
    out = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    after = server_cpu(pids)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {"loadgen_cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
              "server_cpu_s": round(after - before, 3)}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
        result["requests_per_s"] = float(m.group(1))
    if m := re.search(r"(\d+) requests in ([\d.]+\w+)", out):
        result["requests"] = int(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = int(m.group(1)) if m else 0
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["socket_errors"] = sum(int(g) for g in errors.groups()) if errors else 0
    for q in ("50", "99"):
        if m := re.search(rf"\s{q}%\s+([\d.]+\w+)", out):
            result[f"latency_p{q}_ms"] = round(seconds(m.group(1)) * 1000, 3)
    if result.get("requests"):
        result["cpu_us_per_request"] = round(result["server_cpu_s"] * 1e6 / result["requests"], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
