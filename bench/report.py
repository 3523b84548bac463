#!/usr/bin/env python3
"""report.py: the bookkeeping side of bench/compare.

  report.py collect RUNS.jsonl RESULT.json COMMAND SCENARIO  -- one result file per run
  report.py docs RESULTS_DIR DOCS_DIR                        -- docs/benchmarks.md + SVG plots

The docs show, per scenario, the newest result file: a table per case with
herald and Nchan side by side, the ratio the issue's target is about, whether
it holds, and a gnuplot chart. Ratios only compare servers of the same run."""
import datetime
import glob
import json
import os
import platform
import subprocess
import sys

SCENARIOS = ["idle", "fanout", "channels", "publish", "reconnect"]
SERVERS = ["herald-memory", "nchan-memory", "herald-redis", "nchan-redis"]


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip() + \
            subprocess.run(cmd, capture_output=True, text=True, timeout=10).stderr.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def collect(runs_path, out_path, command, scenario):
    with open(runs_path) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    meta = {
        "scenario": scenario,
        "command": command,
        "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"cores": os.cpu_count(), "kernel": platform.release(),
                    "load_average_at_end": os.getloadavg()},
        "herald_commit": sh("git", "-C", root, "rev-parse", "--short", "HEAD"),
        "nginx": sh("nginx", "-v"),
        "nchan": sh("dpkg-query", "-W", "-f=${Version}", "libnginx-mod-nchan"),
        "note": "2 shared cores, other builds running: compare ratios within this file only",
        "runs": runs,
    }
    with open(out_path, "w") as f:
        json.dump(meta, f, indent=1)


def newest(results_dir, scenario):
    files = sorted(glob.glob(os.path.join(results_dir, f"*-{scenario}.json")))
    if not files:
        return None, None
    with open(files[-1]) as f:
        return os.path.basename(files[-1]), json.load(f)


def by_case(data):
    cases = {}
    for run in data["runs"]:
        cases.setdefault(run["case"], {})[run["server"]] = run["result"]
    return cases


def ratio(a, b):
    return a / b if b else float("inf")


def fmt(x, digits=1):
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    return f"{x:,}"


def verdict(ok):
    return "**holds**" if ok else "**fails**"


def plot(docs_dir, name, title, ylabel, rows, columns, logscale=False):
    """rows: [(label, [values...])], columns: series names. Writes docs/benchmarks/<name>.svg."""
    out_dir = os.path.join(docs_dir, "benchmarks")
    os.makedirs(out_dir, exist_ok=True)
    dat = os.path.join(out_dir, name + ".dat")
    with open(dat, "w") as f:
        f.write("label " + " ".join(f'"{c}"' for c in columns) + "\n")
        for label, values in rows:
            f.write(f'"{label}" ' + " ".join(str(max(v or 0, 1e-3)) for v in values) + "\n")
    script = f"""
set terminal svg size 720,360 dynamic font 'sans,11'
set output '{os.path.join(out_dir, name + '.svg')}'
set title '{title}'
set ylabel '{ylabel}'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top left
set grid ytics
set yrange [0:*]
{'set logscale y' if logscale else ''}
{'set yrange [*:*]' if logscale else ''}
plot for [i=2:{len(columns) + 1}] '{dat}' using i:xtic(1) title columnheader(i)
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=False, timeout=30)
    os.remove(dat)
    return f"![{title}](benchmarks/{name}.svg)"


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def publish_section(docs_dir, data, targets):
    """The publish scenario: per case and server the median of the rounds; ratios per round
    (herald and Nchan of the same round), reported as median [min-max]."""
    runs = {}
    for run in data["runs"]:
        runs.setdefault(run["case"], {}).setdefault(run["server"], []).append(run)
    out = ["| case | server | rounds | requests/s (median) | notifications/s | p50 ms | p99 ms | errors | server CPU µs/request |",
           "|---|---|---|---|---|---|---|---|---|"]
    med = {}
    for case, servers in runs.items():
        if case.startswith("keepalive"):
            continue
        for server in SERVERS:
            rs = [r["result"] for r in servers.get(server, [])]
            if not rs:
                continue
            per = servers[server][0].get("notifications_per_request", 1)
            m = {k: median([r.get(k) for r in rs]) for k in ("requests_per_s", "latency_p50_ms", "latency_p99_ms", "cpu_us_per_request")}
            m["errors"] = sum(r.get("non_2xx", 0) + r.get("socket_errors", 0) for r in rs)
            med[(case, server)] = m
            out.append(f"| {case} | {server} | {len(rs)} | {fmt(m['requests_per_s'])} | {fmt((m['requests_per_s'] or 0) * per)} | "
                       f"{fmt(m['latency_p50_ms'], 2)} | {fmt(m['latency_p99_ms'], 2)} | {m['errors']} | {fmt(m['cpu_us_per_request'])} |")

    def round_ratios(case, broker, key):
        h = {r["round"]: r["result"].get(key) for r in runs.get(case, {}).get(f"herald-{broker}", [])}
        n = {r["round"]: r["result"].get(key) for r in runs.get(case, {}).get(f"nchan-{broker}", [])}
        return [ratio(h[k], n[k]) for k in sorted(h) if k in n and h[k] and n[k]]

    out += ["", "| ratio herald / Nchan, per round | median | range |", "|---|---|---|"]
    for case in runs:
        for broker in ("memory", "redis"):
            for key, what in (("requests_per_s", "requests/s"), ("latency_p99_ms", "p99")):
                rr = round_ratios(case, broker, key)
                if rr:
                    out.append(f"| {case} {broker} {what} | {median(rr):.2f}× | {min(rr):.2f}–{max(rr):.2f}× |")
    for conns in (32, 256):
        case = f"publish-single-c{conns}"
        rr = round_ratios(case, "memory", "requests_per_s")
        h, n = med.get((case, "herald-memory")), med.get((case, "nchan-memory"))
        if rr and h and n:
            ok = median(rr) >= 1.5 and h["errors"] == 0 and (h["latency_p99_ms"] or 0) <= (n["latency_p99_ms"] or 0)
            targets.append((f"publish single (memory, {conns} conns) ≥ 1.5× Nchan, 0 errors, p99 ≤ Nchan",
                            f"{median(rr):.2f}× [{min(rr):.2f}–{max(rr):.2f}], errors {h['errors']}, p99 "
                            f"{fmt(h['latency_p99_ms'], 2)} vs {fmt(n['latency_p99_ms'], 2)} ms", ok))
        rr = round_ratios(case, "redis", "requests_per_s")
        if rr:
            targets.append((f"publish single (redis, {conns} conns) ≥ 1× Nchan", f"{median(rr):.2f}× [{min(rr):.2f}–{max(rr):.2f}]",
                            median(rr) >= 1))
    for broker, need in (("memory", 600_000), ("redis", 50_000)):
        h = med.get(("publish-batch100", f"herald-{broker}"))
        if h and h["requests_per_s"]:
            v = h["requests_per_s"] * 100
            targets.append((f"publish /batch ({broker}) ≥ {need:,}/s", f"{v:,.0f}/s", v >= need))
    keep = [r["result"] for r in runs.get("keepalive-1000x10ps", {}).get("herald-memory", []) if "error" not in r["result"]]
    if keep:
        out += ["", "| keep-alive pool (herald-memory) | round | idle KiB/conn | publishes ok | errors | publishes/s | /healthz p50 ms | p99 ms | max ms | failures |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        for i, k in enumerate(keep, 1):
            out.append(f"| 1,000 conns × 10/s × {k['seconds']:.0f} s | {i} | {k['idle_kib_per_connection']} | {k['publishes_ok']:,} | "
                       f"{k['publish_errors']} | {fmt(k['publishes_per_s'])} | {k['healthz_p50_ms']} | {k['healthz_p99_ms']} | "
                       f"{k['healthz_max_ms']} | {k['healthz_failures']} |")
        errors = sum(k["publish_errors"] + k["healthz_failures"] for k in keep)
        p99 = median([k["healthz_p99_ms"] for k in keep])
        targets.append(("1,000 keep-alive conns at 10/s for 30 s: 0 errors, /healthz p99 < 50 ms",
                        f"errors {errors}, /healthz p99 {p99} ms (median of {len(keep)})", errors == 0 and p99 is not None and p99 < 50))
        idle = median([k["idle_kib_per_connection"] for k in keep])
        targets.append(("memory per idle api keep-alive connection ≤ 16 KiB", f"{idle:.2f} KiB", idle <= 16))
    rows = [(c, [med.get((c, s), {}).get("requests_per_s") for s in SERVERS]) for c in runs if not c.startswith("keepalive")]
    out += ["", plot(docs_dir, "publish", "publish requests/s (wrk -t1, medians of the rounds)", "requests/s", rows, SERVERS), ""]
    return out


def docs(results_dir, docs_dir):
    out = ["# Benchmarks", "",
           "Herald against Nchan (Debian nginx + libnginx-mod-nchan, 2 workers), each with its memory store and",
           "with Redis, on this 2-core machine, loopback only. Generated by `bench/compare` (`bench/report.py`);",
           "raw results in `bench/results/`. The load generator (`bench/ssebench`, `wrk`) shares the two cores",
           "with the server and other builds were running on the machine: **absolute numbers are noisy; only the",
           "ratios between servers of the same run mean anything**. CPU per delivery (server CPU seconds during",
           "the publish and drain phases / live deliveries) is the figure that carries over to bigger machines.",
           "Every case starts a fresh server with a 20,000-descriptor limit.", ""]
    targets = []
    for scenario in SCENARIOS:
        fname, data = newest(results_dir, scenario)
        if not data:
            continue
        out += [f"## {scenario}", "", f"`{data['command']}` — {data['date']}, herald {data['herald_commit']},",
                f"{data['nginx']}, nchan {data['nchan']} (`bench/results/{fname}`)", ""]
        cases = by_case(data)
        if scenario == "publish":
            out += publish_section(docs_dir, data, targets)
            continue
        out += ["| case | server | connected | lost | dup | deliveries/s | p50 ms | p99 ms | p99.9 ms | RSS KiB/conn | PSS KiB/conn | server CPU µs/delivery | server CPU s (run) | loadgen CPU s |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for case, servers in cases.items():
            for server in SERVERS:
                r = servers.get(server)
                if not r or "error" in r:
                    continue
                lat = r["latency_ms"]
                out.append(f"| {case} | {server} | {r['established']}/{r['connections']} | {r['lost']} | "
                           f"{r['duplicates']} | {fmt(r['deliveries_per_s'], 0)} | {fmt(lat['p50'])} | "
                           f"{fmt(lat['p99'])} | {fmt(lat['p999'])} | {fmt(r['server']['rss_kib_per_connection'], 2)} | "
                           f"{fmt(r['server'].get('pss_kib_per_connection'), 2)} | "
                           f"{fmt(r['server']['cpu_us_per_delivery'], 2)} | {fmt(r['server']['cpu_s_total'], 2)} | "
                           f"{fmt(r['loadgen_cpu_s'], 2)} |")
            if scenario == "reconnect":
                out += ["", "| server | caught up | resume p50 s | p99 s | max s | all within bound |", "|---|---|---|---|---|---|"]
                for server in SERVERS:
                    r = servers.get(server)
                    if r and "error" not in r:
                        rc = r["reconnect"]
                        out.append(f"| {server} | {rc['caught_up']}/{r['established']} | {rc['p50_s']:.2f} | "
                                   f"{rc['p99_s']:.2f} | {rc['max_s']:.2f} | {rc['all_resumed']} |")
        out.append("")
        for broker in ("memory", "redis"):
            for case, servers in cases.items():
                h, n = servers.get(f"herald-{broker}"), servers.get(f"nchan-{broker}")
                if not h or "error" in h:
                    continue
                hl, nl = h["latency_ms"]["p99"], (n or {}).get("latency_ms", {}).get("p99", 0)
                if scenario == "idle" and n:
                    r = ratio(h["server"]["rss_kib_per_connection"], n["server"]["rss_kib_per_connection"])
                    targets.append((f"idle RSS/conn ({broker}) ≤ 0.5× Nchan", f"{r:.2f}×", r <= 0.5))
                elif case.endswith("-5ps") and n:
                    r = ratio(hl, nl)
                    targets.append((f"fanout 10k, 5/s ({broker}): 0 lost, p99 ≤ 0.2× Nchan",
                                    f"lost {h['lost']}, p99 {r:.2f}× ({hl} vs {nl} ms)", h["lost"] == 0 and r <= 0.2))
                elif case.endswith("-20ps") and n:
                    r = ratio(h["deliveries_per_s"], n["deliveries_per_s"])
                    targets.append((f"fanout 10k, 20/s ({broker}): 0 lost, deliveries ≥ 1.5× Nchan, p99 < 1 s",
                                    f"lost {h['lost']}, {r:.2f}×, p99 {hl} ms",
                                    h["lost"] == 0 and r >= 1.5 and hl < 1000))
                elif scenario == "channels" and n:
                    r = ratio(hl, nl)
                    targets.append((f"channels 10k×1, 2000/s ({broker}): p99 ≤ Nchan", f"{r:.2f}× ({hl} vs {nl} ms)", r <= 1))
                elif scenario == "reconnect":
                    rc = h["reconnect"]
                    ok = rc["all_resumed"] and h["lost"] == 0 and h["duplicates"] == 0 and rc["max_s"] <= 10
                    targets.append((f"reconnect storm 10k ({broker}): all resume, 0 lost, ≤ 10 s",
                                    f"{rc['caught_up']}/{h['established']} in {rc['max_s']:.2f} s, lost {h['lost']}", ok))
        if scenario == "idle":
            rows = [(s, [cases["idle-19000"].get(s, {}).get("server", {}).get("rss_kib_per_connection"),
                         cases["idle-19000"].get(s, {}).get("server", {}).get("pss_kib_per_connection")])
                    for s in SERVERS if s in cases.get("idle-19000", {})]
            out += [plot(docs_dir, "idle", "server memory per idle SSE connection (19,000)", "KiB", rows, ["RSS", "PSS"]), ""]
        else:
            rows = [(c, [cases[c].get(s, {}).get("latency_ms", {}).get("p99") for s in SERVERS]) for c in cases]
            out += [plot(docs_dir, scenario, f"{scenario}: p99 latency (log scale)", "ms", rows, SERVERS, True), ""]
            if scenario == "fanout":
                rows = [(c, [cases[c].get(s, {}).get("deliveries_per_s") for s in SERVERS]) for c in cases]
                out += [plot(docs_dir, "fanout-deliveries", "fanout: deliveries/s", "deliveries/s", rows, SERVERS), ""]
    summary = ["## Targets", "", "| target | measured (herald vs Nchan, same run) | |", "|---|---|---|"]
    summary += [f"| {t} | {m} | {verdict(ok)} |" for t, m, ok in targets]
    out[10:10] = summary + [""]
    # Hand-written analysis (why a target holds or fails), kept beside the generator.
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            out += [f.read().rstrip()]
    with open(os.path.join(docs_dir, "benchmarks.md"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "collect":
        collect(*sys.argv[2:6])
    elif sys.argv[1] == "docs":
        docs(sys.argv[2], sys.argv[3])
