#!/usr/bin/env node
// Browser test of the notification link (SPEC §6): a hook whose receiver fails is deactivated,
// its notification's activate_url is opened in Debian's Chromium, the button "Reactivate and
// deliver N buffered events" is clicked, and the confirmation page, the hook's state and the
// receiver's deliveries are checked.
//
// Usage: node reactivate.mjs [path/to/hookwerk]   (or HOOKWERK_BINARY=…)
// Exits 0 on success, 1 with a message on stderr otherwise. Everything it starts (server,
// receiver, browser) is stopped and its temporary directory removed on every path.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const GLOBAL_TIMEOUT_MS = 90_000;
const WAIT_MS = 30_000;
const CHROMIUM = process.env.HOOKWERK_CHROMIUM || '/usr/bin/chromium';
const ADMIN_TOKEN = 'browser-admin-5e2c71';
const INGEST_TOKEN = 'browser-ingest-8a4d19';
const EVENT = 'optin_finalized';
const KEY = 'subscriber-1';
const BUFFERED = 3; // the event that failed, plus two posted while the hook is inactive

class TestFailure extends Error {}
const fail = (message) => {
  throw new TestFailure(message);
};
const log = (message) => process.stderr.write(`[reactivate] ${message}\n`);

// ---- everything that must be undone ------------------------------------------------------

const state = { server: null, serverStderr: '', receiver: null, browser: null, tempRoot: null, cleaned: false };

async function cleanup() {
  if (state.cleaned) return;
  state.cleaned = true;
  if (state.browser) {
    const browser = state.browser;
    state.browser = null;
    await Promise.race([browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 5_000))]);
  }
  if (state.server && state.server.exitCode === null && state.server.signalCode === null) {
    const server = state.server;
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    clearTimeout(timer);
  }
  if (state.receiver) {
    state.receiver.closeAllConnections?.();
    await new Promise((r) => state.receiver.close(() => r()));
    state.receiver = null;
  }
  if (state.tempRoot) {
    rmSync(state.tempRoot, { recursive: true, force: true });
    state.tempRoot = null;
  }
}

// A last resort if the process is ended from outside: no async work is possible any more.
process.on('exit', () => {
  if (state.server && state.server.exitCode === null && state.server.signalCode === null) {
    try {
      state.server.kill('SIGKILL');
    } catch {}
  }
  if (state.tempRoot) rmSync(state.tempRoot, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    log(`interrupted by ${signal}`);
    cleanup().finally(() => process.exit(1));
  });
}

// ---- helpers -----------------------------------------------------------------------------

async function eventually(what, predicate, timeoutMs = WAIT_MS, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await predicate();
    if (last) return last;
    if (Date.now() >= deadline) fail(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function startServer(binary, dataDir) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    for (const name of Object.keys(env)) if (name.startsWith('HOOKWERK_')) delete env[name];
    const child = spawn(
      binary,
      [
        'serve',
        '--listen', '127.0.0.1:0',
        '--data-dir', dataDir,
        '--admin-token', ADMIN_TOKEN,
        '--ingest-token', INGEST_TOKEN,
        '--allow-private-targets',
        '--failure-threshold', '2',
        '--failure-window', '0s',
        '--retry-schedule', '100ms',
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    state.server = child;
    let stdout = '';
    const timer = setTimeout(
      () => reject(new TestFailure(`the server printed no "listening on" line within 30 s; stderr:\n${state.serverStderr}`)),
      30_000,
    );
    child.stderr.on('data', (chunk) => {
      state.serverStderr += chunk.toString();
    });
    child.stdout.on('data', (chunk) => {
      stdout += chunk.toString();
      const match = stdout.match(/^listening on http:\/\/127\.0\.0\.1:(\d+)\n/);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new TestFailure(`cannot start ${binary}: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new TestFailure(`the server exited (code ${code}, signal ${signal}) before listening; stderr:\n${state.serverStderr}`));
    });
  });
}

// A webhook receiver: answers `status` (503 until told otherwise) and records every request.
function startReceiver() {
  const rx = { status: 503, requests: [] };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const status = rx.status;
      rx.requests.push({ webhookId: req.headers['webhook-id'], body: Buffer.concat(chunks).toString(), status });
      res.writeHead(status, { 'Content-Type': 'text/plain' });
      res.end(status === 200 ? 'ok' : 'unavailable');
    });
  });
  state.receiver = server;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      rx.port = server.address().port;
      resolve(rx);
    });
  });
}

function api(base) {
  return {
    async admin(pathname, body) {
      const res = await fetch(base + pathname, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.text() };
    },
    async call(fn, params) {
      const res = await fetch(`${base}/webservice/webservice/json/${fn}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(params).toString(),
      });
      const text = await res.text();
      let envelope;
      try {
        envelope = JSON.parse(text);
      } catch {
        fail(`${fn}: HTTP ${res.status}, not JSON: ${text}`);
      }
      if (res.status !== 200 || envelope.error !== 0) fail(`${fn}: HTTP ${res.status}, envelope ${text}`);
      return envelope.result;
    },
    async ingest(event) {
      const res = await fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${INGEST_TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(event),
      });
      const text = await res.text();
      if (res.status !== 202) fail(`POST /v1/events: HTTP ${res.status} ${text}`);
      return JSON.parse(text);
    },
  };
}

async function loadPlaywright() {
  try {
    return await import('playwright-core');
  } catch (err) {
    if (err?.code === 'ERR_MODULE_NOT_FOUND')
      fail(`playwright-core is not installed in ${here}/node_modules: run \`npm ci\` there (scripts/install-test-deps.sh does)`);
    throw err;
  }
}

// ---- the test ----------------------------------------------------------------------------

async function main() {
  const binary = process.argv[2] || process.env.HOOKWERK_BINARY;
  if (!binary) fail('usage: node reactivate.mjs <path to hookwerk> (or set HOOKWERK_BINARY)');
  if (!existsSync(binary)) fail(`no hookwerk binary at ${binary}`);
  if (!existsSync(CHROMIUM)) fail(`Chromium is missing at ${CHROMIUM}: install Debian's chromium (scripts/install-test-deps.sh)`);
  const { chromium } = await loadPlaywright();

  state.tempRoot = mkdtempSync(path.join(tmpdir(), 'hookwerk-browser-'));
  const dataDir = path.join(state.tempRoot, 'data');
  const profileDir = path.join(state.tempRoot, 'profile');

  const port = await startServer(binary, dataDir);
  const base = `http://127.0.0.1:${port}`;
  const rx = await startReceiver();
  const hw = api(base);
  log(`server on ${base}, receiver on 127.0.0.1:${rx.port}`);

  // Account and hook.
  const who = { username: 'browser-user', password: 'browser-pass' };
  const created = await hw.admin('/admin/accounts', who);
  if (created.status !== 201) fail(`creating the account: HTTP ${created.status} ${created.body}`);
  const hook = await hw.call('CreateWebHook', {
    ...who,
    app: 'browser-test',
    event: EVENT,
    url: `http://127.0.0.1:${rx.port}/hook`,
  });
  if (!Number.isInteger(hook.id) || hook.active !== true) fail(`CreateWebHook result: ${JSON.stringify(hook)}`);
  const getHook = async () => {
    const hooks = await hw.call('GetWebHooks', who);
    const found = hooks.find((h) => h.id === hook.id);
    if (!found) fail(`GetWebHooks does not list hook ${hook.id}: ${JSON.stringify(hooks)}`);
    return found;
  };

  // The receiver answers 503: the first event fails twice and the hook is deactivated.
  const eventIds = [];
  const post = async (seq) => {
    const accepted = await hw.ingest({ account: who.username, event: EVENT, key: KEY, payload: { seq } });
    if (accepted.webhooks !== 1) fail(`event ${seq} was queued for ${accepted.webhooks} webhooks, expected 1`);
    eventIds.push(accepted.id);
  };
  await post(0);
  await eventually('the hook to become inactive', async () => !(await getHook()).active);
  await post(1);
  await post(2);
  const inactive = await eventually(`${BUFFERED} buffered events`, async () => {
    const h = await getHook();
    return h.buffered_events === BUFFERED ? h : null;
  });
  if (inactive.active !== false || inactive.pending_events !== 0)
    fail(`inactive hook state: ${JSON.stringify(inactive)}`);
  const attemptsWhileFailing = rx.requests.length;
  if (attemptsWhileFailing !== 2) fail(`expected 2 attempts before the deactivation, got ${attemptsWhileFailing}`);

  const notes = await hw.call('GetNotifications', { ...who, unreadOnly: '1' });
  const note = notes.find((n) => n.webhook_id === hook.id);
  if (!note || typeof note.activate_url !== 'string') fail(`no notification with an activate_url: ${JSON.stringify(notes)}`);
  if (!note.activate_url.startsWith(`${base}/notifications/${note.id}/activate?token=`))
    fail(`activate_url ${note.activate_url} does not point at ${base}/notifications/${note.id}/activate`);
  log(`activate_url ${note.activate_url}`);

  // The endpoint is back.
  rx.status = 200;

  // The browser.
  state.browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: WAIT_MS,
  });
  const page = state.browser.pages()[0] ?? (await state.browser.newPage());
  page.setDefaultTimeout(WAIT_MS);

  const shown = await page.goto(note.activate_url);
  if (!shown || shown.status() !== 200) fail(`GET activate_url: HTTP ${shown?.status()}`);
  const pageText = await page.locator('body').innerText();
  for (const expected of [String(hook.id), hook.url, 'HTTP 503'])
    if (!pageText.includes(expected)) fail(`the page does not show "${expected}":\n${pageText}`);

  const label = `Reactivate and deliver ${BUFFERED} buffered events`;
  const button = page.getByRole('button', { name: label, exact: true });
  if ((await button.count()) !== 1) fail(`no single button "${label}" on the page:\n${pageText}`);
  if ((await page.getByRole('button', { name: 'Reactivate', exact: true }).count()) !== 1)
    fail(`no button "Reactivate" on the page:\n${pageText}`);

  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/notifications/${note.id}/activate`),
    button.click(),
  ]);
  if (answer.status() !== 200) fail(`the form POST answered HTTP ${answer.status()}`);
  const sent = new URLSearchParams(answer.request().postData() ?? '');
  if (sent.get('replay') !== '1' || !sent.get('token')) fail(`the form sent ${answer.request().postData()}`);
  await page.waitForLoadState('load');
  const confirmation = await page.locator('body').innerText();
  if (!confirmation.includes('is active again')) fail(`the confirmation page does not say "is active again":\n${confirmation}`);
  if (!confirmation.includes(String(BUFFERED))) fail(`the confirmation page does not name ${BUFFERED} events:\n${confirmation}`);
  log(`confirmation: ${confirmation.replace(/\s+/g, ' ').trim()}`);

  // The hook is active, and the buffered events arrived, oldest first.
  const active = await eventually('the hook to be active with nothing pending', async () => {
    const h = await getHook();
    return h.active && h.pending_events === 0 ? h : null;
  });
  if (active.buffered_events !== 0 || active.deactivated_at !== null || active.consecutive_failures !== 0)
    fail(`reactivated hook state: ${JSON.stringify(active)}`);
  const delivered = () => rx.requests.slice(attemptsWhileFailing).filter((r) => r.status === 200);
  await eventually(`the ${BUFFERED} buffered events at the receiver`, () => delivered().length >= BUFFERED);
  const seqs = delivered().map((r) => JSON.parse(r.body).seq);
  if (JSON.stringify(seqs) !== JSON.stringify([0, 1, 2])) fail(`delivered in this order: ${JSON.stringify(seqs)}, expected [0,1,2]`);
  const ids = delivered().map((r) => r.webhookId);
  if (JSON.stringify(ids) !== JSON.stringify(eventIds)) fail(`delivered webhook-ids ${JSON.stringify(ids)}, expected ${JSON.stringify(eventIds)}`);

  const after = await hw.call('GetNotifications', who);
  const used = after.find((n) => n.id === note.id);
  if (!used || used.read !== true || used.activate_url !== null)
    fail(`the notification after using its link: ${JSON.stringify(used)}`);
}

const globalTimer = setTimeout(() => {
  log(`FAILED: the test did not finish within ${GLOBAL_TIMEOUT_MS / 1000} s`);
  cleanup().finally(() => process.exit(1));
}, GLOBAL_TIMEOUT_MS);

let exitCode = 0;
try {
  await main();
  log('PASSED');
} catch (err) {
  exitCode = 1;
  log(`FAILED: ${err instanceof TestFailure ? err.message : err?.stack ?? err}`);
  if (state.serverStderr && !(err instanceof TestFailure && err.message.includes('stderr:')))
    log(`server stderr (last 2000 characters):\n${state.serverStderr.slice(-2000)}`);
} finally {
  await cleanup();
  clearTimeout(globalTimer);
}
process.exit(exitCode);
