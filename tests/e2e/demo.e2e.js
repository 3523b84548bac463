// Browser test of the demo page: Debian chromium driven by playwright-core.
//
//   node demo.e2e.js <herald binary> <output dir>
//
// Starts herald (Redis broker, so history outlives a node restart) on free
// loopback ports, opens the demo page, subscribes, publishes through the page
// and through the API, then kills and restarts the node while a second node
// publishes, and checks that the page reconnects and resumes with every event
// exactly once. Saves screenshots in <output dir>. Bounded: fails after
// TEST_TIMEOUT_MS whatever happens.
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const SKIPPED = 77;  // ctest's SKIP_RETURN_CODE: the browser or playwright-core is not installed

let chromium;
try {
  ({ chromium } = require("playwright-core"));
} catch (_) {
  console.log("SKIP: playwright-core is not installed (./scripts/test installs it into tests/e2e)");
  process.exit(SKIPPED);
}

const TEST_TIMEOUT_MS = 60_000;
const STEP_TIMEOUT_MS = 15_000;
const CHROMIUM = process.env.HERALD_CHROMIUM || "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const RETRY = "1s";  // the reconnect delay herald tells the page (the `retry:` line)
const CHANNEL = `e2e-${process.pid}`;
const MISSED_WHILE_DOWN = 3;

const [heraldBinary, outDir] = process.argv.slice(2);
if (!fs.existsSync(CHROMIUM)) {
  console.log(`SKIP: no browser at ${CHROMIUM} (./scripts/test installs Debian's chromium)`);
  process.exit(SKIPPED);
}
const children = [];
let browser = null;

function fail(message) {
  console.error(`FAIL: ${message}`);
  cleanup().finally(() => process.exit(1));
}
setTimeout(() => fail(`timed out after ${TEST_TIMEOUT_MS} ms`), TEST_TIMEOUT_MS).unref();

async function cleanup() {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  if (browser) await browser.close().catch(() => {});
}

// A port below Linux's ephemeral range (32768+), where the client sockets of
// tests running in parallel get theirs, so none can take it before herald binds it.
function freePort(attempt = 0) {
  return new Promise((resolve, reject) => {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const server = net.createServer();
    server.once("error", (err) => (attempt < 100 ? freePort(attempt + 1).then(resolve, reject) : reject(err)));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(port)));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, check, timeout = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try { if (await check()) return; } catch (_) { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`waiting for ${what}`);
    await sleep(100);
  }
}

function start(command, args, name) {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  child.log = "";
  child.stdout.on("data", (d) => { child.log += d; });
  child.stderr.on("data", (d) => { child.log += d; });
  child.name = name;
  children.push(child);
  return child;
}

async function startRedis() {
  if (process.env.HERALD_TEST_REDIS_URL) return process.env.HERALD_TEST_REDIS_URL;
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "herald-e2e-redis-"));
  start("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
    "--dir", dir], "redis");
  await waitFor("redis-server", () => new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => { socket.end(); resolve(true); });
    socket.on("error", () => resolve(false));
  }));
  return `redis://127.0.0.1:${port}`;
}

async function startHerald(ports, redisUrl, name) {
  const apiOrigin = `http://127.0.0.1:${ports.api}`;
  const child = start(heraldBinary, ["--stream-listen", `127.0.0.1:${ports.stream}`, "--api-listen",
    `127.0.0.1:${ports.api}`, "--broker", redisUrl, "--redis-prefix", `herald-e2e-${process.pid}:`,
    "--cors-origin", apiOrigin, "--retry", RETRY, "--threads", "1"], name);
  await waitFor(`${name} /readyz`, async () => (await fetch(`${apiOrigin}/readyz`)).ok);
  return child;
}

async function publish(apiPort, text) {
  const answer = await fetch(`http://127.0.0.1:${apiPort}/v1/notifications`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ channel: CHANNEL, event: "demo", data: { text, sentAt: Date.now() } }),
  });
  if (!answer.ok) throw new Error(`publish '${text}': ${answer.status} ${await answer.text()}`);
  return (await answer.json()).id;
}

async function rows(page) {
  return page.$$eval("#events tbody tr", (trs) => trs.map((tr) => ({
    id: tr.dataset.id, type: tr.cells[2].textContent, data: tr.cells[3].textContent })));
}

async function main() {
  if (!heraldBinary || !outDir) throw new Error("usage: node demo.e2e.js <herald binary> <output dir>");
  fs.mkdirSync(outDir, { recursive: true });
  const redisUrl = await startRedis();
  const node = { stream: await freePort(), api: await freePort() };
  const other = { stream: await freePort(), api: await freePort() };
  let herald = await startHerald(node, redisUrl, "herald");

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "herald-e2e-chromium-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
  const page = browser.pages()[0] || await browser.newPage();
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));

  await page.goto(`http://127.0.0.1:${node.api}/`);
  await page.fill("#sub-channel", CHANNEL);
  await page.click("#subscribe");
  await waitFor("readyState OPEN", async () => (await page.textContent("#ready-state")) === "OPEN");

  // 1. Through the page's form.
  await page.fill("#pub-channel", CHANNEL);
  await page.fill("#pub-data", JSON.stringify({ text: "from the page" }));
  await page.click("#publish");
  await waitFor("the page's own event", async () => (await rows(page)).some((r) => r.data.includes("from the page")));
  // 2. Through the API, as a backend would.
  const apiId = await publish(node.api, "from the api");
  await waitFor("the API's event", async () => (await rows(page)).some((r) => r.id === apiId));
  console.log("page and API publishes both arrived");

  // 3. The node dies; another node sharing the broker publishes meanwhile; the node comes back.
  herald.kill("SIGKILL");
  await new Promise((r) => herald.once("exit", r));
  await startHerald(other, redisUrl, "publisher");
  const missed = [];
  for (let i = 0; i < MISSED_WHILE_DOWN; i++) missed.push(await publish(other.api, `missed ${i}`));
  herald = await startHerald(node, redisUrl, "herald (restarted)");
  await waitFor("a reconnect", async () => Number(await page.textContent("#reconnects")) >= 1, 20_000);
  await waitFor("the missed events", async () => {
    const ids = new Set((await rows(page)).map((r) => r.id));
    return missed.every((id) => ids.has(id));
  });
  const afterId = await publish(node.api, "after the restart");
  await waitFor("a live event after the restart", async () => (await rows(page)).some((r) => r.id === afterId));

  const all = await rows(page);
  const ids = all.map((r) => r.id);
  if (new Set(ids).size !== ids.length) throw new Error(`duplicate events: ${ids.join(", ")}`);
  const expected = 2 + MISSED_WHILE_DOWN + 1;
  if (all.length !== expected) throw new Error(`expected ${expected} events, got ${all.length}: ${JSON.stringify(all)}`);
  if (all.some((r) => r.type === "herald.reset")) throw new Error("a herald.reset: the gateway could not prove the resume");
  console.log(`reconnected and resumed: ${all.length} events, none lost or repeated`);

  const shot = path.join(outDir, "herald-demo.png");
  await page.screenshot({ path: shot, fullPage: true });
  await page.goto(`http://127.0.0.1:${node.api}/status`);
  await waitFor("the status page", async () => (await page.textContent("#connections")) !== "—");
  await sleep(1200);  // a second poll, so rates and the chart have two points
  await page.screenshot({ path: path.join(outDir, "herald-status.png"), fullPage: true });
  console.log(`screenshots: ${shot}, ${path.join(outDir, "herald-status.png")}`);
}

main().then(async () => {
  await cleanup();
  console.log("PASS");
  process.exit(0);
}, (e) => {
  for (const child of children) console.error(`--- ${child.name} log ---\n${child.log.slice(-3000)}`);
  fail(e.stack || String(e));
});
