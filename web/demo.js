// Herald demo page: subscribe with EventSource, publish with fetch, show both.
// Plain browser JavaScript, no build step. Element ids are used by tests/e2e.
"use strict";

const READY_STATES = ["CONNECTING", "OPEN", "CLOSED"];
const MAX_ROWS = 200;       // the table keeps the newest rows only
const MAX_LOG_LINES = 12;
const RESET_EVENT = "herald.reset";

const $ = (id) => document.getElementById(id);
let config = { streamPort: 8080 };
let source = null;
let opens = 0;
let received = 0;

function log(text, cls) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  if (cls) item.className = cls;
  $("log").prepend(item);
  while ($("log").children.length > MAX_LOG_LINES) $("log").lastChild.remove();
}

function showState() {
  const state = source ? READY_STATES[source.readyState] : "CLOSED";
  $("ready-state").textContent = state;
  $("ready-state").className = state === "OPEN" ? "ok" : state === "CONNECTING" ? "muted" : "bad";
  $("opens").textContent = String(opens);
  $("reconnects").textContent = String(Math.max(0, opens - 1));
  $("received").textContent = String(received);
}

function streamUrl(channel, token) {
  const url = new URL(`${location.protocol}//${location.hostname}:${config.streamPort}/v1/events`);
  url.searchParams.set("channel", channel);
  if (token) url.searchParams.set("token", token);  // EventSource cannot send headers
  return url;
}

// The latency of an event whose data carries the publisher's `sentAt` (ms since the epoch).
function latencyOf(data) {
  try {
    const value = JSON.parse(data);
    if (value && typeof value.sentAt === "number") return `${Math.max(0, Date.now() - value.sentAt)} ms`;
  } catch (_) { /* not JSON: no latency */ }
  return "—";
}

function addRow(event) {
  received += 1;
  const row = document.createElement("tr");
  row.dataset.id = event.lastEventId;
  const cells = [String(received), event.lastEventId || "—", event.type, event.data, latencyOf(event.data),
                 new Date().toLocaleTimeString()];
  cells.forEach((text, i) => {
    const cell = document.createElement("td");
    cell.textContent = text;  // textContent, never innerHTML: data is untrusted
    if (i === 3) cell.className = "data";
    row.appendChild(cell);
  });
  const body = $("events").tBodies[0];
  body.prepend(row);
  while (body.rows.length > MAX_ROWS) body.lastChild.remove();
  $("last-id").textContent = event.lastEventId || $("last-id").textContent;
  showState();
}

function subscribe(event) {
  event.preventDefault();
  unsubscribe();
  const channel = $("sub-channel").value.trim();
  const url = streamUrl(channel, $("sub-token").value.trim());
  $("stream-url").textContent = url.toString().replace(/token=[^&]+/, "token=…");
  opens = 0;
  source = new EventSource(url);
  source.onopen = () => {
    opens += 1;
    // On a reconnect the browser sends Last-Event-ID itself; herald replays what was missed.
    if (opens === 1) log(`open: subscribed to ${channel}`, "ok");
    else log(`reconnected: resumed after id ${$("last-id").textContent}`, "ok");
    showState();
  };
  source.onerror = () => {
    log(source.readyState === EventSource.CLOSED ? "closed by the server (not retrying)" : "connection lost, retrying…", "bad");
    showState();
  };
  const types = new Set($("sub-types").value.split(",").map((t) => t.trim()).filter(Boolean));
  types.add("message");
  for (const type of types) source.addEventListener(type, addRow);
  source.addEventListener(RESET_EVENT, (e) => { log(`${RESET_EVENT}: ${e.data}`, "bad"); addRow(e); });
  source.knownTypes = types;
  showState();
}

function unsubscribe() {
  if (source) {
    source.close();
    log("unsubscribed");
  }
  source = null;
  showState();
}

async function publish(event) {
  event.preventDefault();
  const result = $("publish-result");
  let data;
  try {
    data = JSON.parse($("pub-data").value || "null");
  } catch (e) {
    result.textContent = `data is not JSON: ${e.message}`;
    result.className = "bad";
    return;
  }
  if (data && typeof data === "object" && !Array.isArray(data)) data = { ...data, sentAt: Date.now() };
  const body = { channel: $("pub-channel").value.trim(), data };
  const type = $("pub-event").value.trim();
  if (type) {
    body.event = type;
    // EventSource only dispatches types it listens for: listen for this one from now on.
    if (source && !source.knownTypes.has(type)) { source.knownTypes.add(type); source.addEventListener(type, addRow); }
  }
  const headers = { "Content-Type": "application/json" };
  const key = $("pub-key").value.trim();
  if (key) headers.Authorization = `Bearer ${key}`;
  try {
    const answer = await fetch("/v1/notifications", { method: "POST", headers, body: JSON.stringify(body) });
    const json = await answer.json();
    result.textContent = answer.ok ? `published id ${json.id}` : `${answer.status} ${json.error?.code}: ${json.error?.message}`;
    result.className = answer.ok ? "ok" : "bad";
  } catch (e) {
    result.textContent = `publish failed: ${e.message}`;
    result.className = "bad";
  }
}

function showCurlExample() {
  const body = { channel: $("pub-channel").value.trim(), data: { text: "hi from curl" } };
  const type = $("pub-event").value.trim();
  if (type) body.event = type;
  $("curl-example").textContent =
    `curl -X POST ${location.origin}/v1/notifications -H 'Content-Type: application/json' -d '${JSON.stringify(body)}'`;
}

async function init() {
  try {
    config = await (await fetch("/v1/config")).json();
    $("version").textContent = `herald ${config.version}`;
  } catch (_) { log("could not read /v1/config; assuming stream port 8080", "bad"); }
  $("subscribe-form").addEventListener("submit", subscribe);
  $("unsubscribe").addEventListener("click", unsubscribe);
  $("publish-form").addEventListener("submit", publish);
  $("pub-channel").addEventListener("input", showCurlExample);
  $("pub-event").addEventListener("input", showCurlExample);
  setInterval(showState, 500);  // readyState changes without an event while retrying
  showCurlExample();
  showState();
}

init();
