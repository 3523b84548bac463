// Herald status page: polls GET /v1/stats, derives rates and recent latency
// percentiles from the difference of two polls, and draws an inline SVG chart.
"use strict";

const POLL_MS = 1000;
const HISTORY_POINTS = 120;  // two minutes at one poll per second
const CHART_WIDTH = 600;
const CHART_HEIGHT = 160;
const COLORS = { published: "#2f6fed", delivered: "#16794c", connections: "#b54708" };

const $ = (id) => document.getElementById(id);
let previous = null;
const history = [];

function ms(seconds) {
  return seconds < 1 ? `${(seconds * 1000).toFixed(seconds < 0.01 ? 2 : 1)} ms` : `${seconds.toFixed(2)} s`;
}

function bytes(n) {
  return n > 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`;
}

// The q-quantile of a histogram given as bucket bounds and per-bucket counts.
function quantile(bounds, counts, q) {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] > 0 && seen + counts[i] >= rank) {
      if (i >= bounds.length) return bounds[bounds.length - 1];
      const lower = i === 0 ? 0 : bounds[i - 1];
      return lower + (bounds[i] - lower) * ((rank - seen) / counts[i]);
    }
    seen += counts[i];
  }
  return bounds[bounds.length - 1];
}

// Percentiles of the last interval when it saw events, else since start.
function recent(now, before, key) {
  const h = now[key];
  const counts = before ? h.counts.map((c, i) => c - before[key].counts[i]) : h.counts;
  const windowed = counts.some((c) => c > 0);
  const use = windowed ? counts : h.counts;
  return { windowed, p50: quantile(h.bounds, use, 0.5), p90: quantile(h.bounds, use, 0.9), p99: quantile(h.bounds, use, 0.99) };
}

function fill(id, pairs) {
  const list = $(id);
  list.replaceChildren();
  for (const [name, value] of pairs) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }
}

function polyline(values, max, color) {
  const step = CHART_WIDTH / (HISTORY_POINTS - 1);
  const offset = HISTORY_POINTS - values.length;
  const points = values.map((v, i) => `${((offset + i) * step).toFixed(1)},${(CHART_HEIGHT - 4 - (v / max) * (CHART_HEIGHT - 8)).toFixed(1)}`);
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", points.join(" "));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", color);
  line.setAttribute("stroke-width", "2");
  line.setAttribute("vector-effect", "non-scaling-stroke");
  return line;
}

function drawChart() {
  const chart = $("chart");
  chart.replaceChildren();
  const max = Math.max(1, ...history.flatMap((p) => [p.published, p.delivered, p.connections]));
  for (const key of ["published", "delivered", "connections"]) {
    chart.appendChild(polyline(history.map((p) => p[key]), max, COLORS[key]));
  }
  $("chart-scale").textContent = `top of chart = ${max.toFixed(max < 10 ? 1 : 0)}`;
}

function render(stats) {
  const seconds = previous ? Math.max(0.001, stats.uptimeSeconds - previous.uptimeSeconds) : 1;
  const rate = (key) => (previous ? (stats.totals[key] - previous.totals[key]) / seconds : 0);
  const published = rate("published");
  const delivered = rate("delivered");
  $("connections").textContent = String(stats.connections);
  $("publish-rate").textContent = published.toFixed(1);
  $("deliver-rate").textContent = delivered.toFixed(1);
  const lag = recent(stats, previous, "deliveryLagSeconds");
  const pub = recent(stats, previous, "publishDurationSeconds");
  $("lag-p50").textContent = lag.p50 === null ? "—" : ms(lag.p50);
  $("lag-p99").textContent = lag.p99 === null ? "—" : ms(lag.p99);
  $("broker").textContent = stats.broker.up ? "up" : "DOWN";
  $("broker").className = `value ${stats.broker.up ? "ok" : "bad"}`;
  $("broker-name").textContent = `broker ${stats.broker.name}, ${stats.broker.reconnects} reconnects`;

  const body = $("threads").tBodies[0];
  body.replaceChildren();
  stats.connectionsByThread.forEach((n, i) => {
    const row = body.insertRow();
    row.insertCell().textContent = String(i);
    row.insertCell().textContent = String(n);
  });
  const fmt = (v) => (v === null ? "—" : ms(v));
  fill("latency", [
    ["delivery p50 / p90 / p99", `${fmt(lag.p50)} / ${fmt(lag.p90)} / ${fmt(lag.p99)}${lag.windowed ? "" : " (since start)"}`],
    ["publish p50 / p90 / p99", `${fmt(pub.p50)} / ${fmt(pub.p90)} / ${fmt(pub.p99)}${pub.windowed ? "" : " (since start)"}`],
  ]);
  const t = stats.totals;
  fill("totals", [
    ["streams opened", t.connections], ["published", t.published], ["delivered", t.delivered],
    ["replayed", t.replayed], ["slow clients dropped", t.slowClientsDropped], ["drained / shed", `${t.drained} / ${t.shed}`],
    ["history reads", t.historyReads],
    ["rejected", Object.entries(t.rejected).map(([k, v]) => `${k} ${v}`).join(", ") || "0"],
  ]);
  fill("process", [
    ["version", stats.version], ["uptime", `${stats.uptimeSeconds.toFixed(0)} s`],
    ["resident memory", bytes(stats.process.residentBytes)], ["open fds", stats.process.openFds],
    ["cpu", `${stats.process.cpuSeconds.toFixed(1)} s`],
  ]);

  history.push({ published, delivered, connections: stats.connections });
  if (history.length > HISTORY_POINTS) history.shift();
  drawChart();
  previous = stats;
  $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

async function poll() {
  const headers = {};
  const key = $("api-key").value.trim();
  if (key) headers.Authorization = `Bearer ${key}`;
  try {
    const answer = await fetch("/v1/stats", { headers, cache: "no-store" });
    const json = await answer.json();
    if (!answer.ok) throw new Error(`${answer.status} ${json.error?.code}: ${json.error?.message}`);
    $("error").textContent = "";
    render(json);
  } catch (e) {
    $("error").textContent = `cannot read /v1/stats: ${e.message}`;
  }
}

poll();
setInterval(poll, POLL_MS);
