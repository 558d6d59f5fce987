#!/usr/bin/env node
// End-to-end test of the whole app on this machine: redis + the real API +
// nginx (app/web/nginx.conf) on 127.0.0.1, the UI driven in headless Chromium.
//
//   export PATH="$(scripts/ensure-node.sh):$PATH"   # Node >= 22
//   node e2e/run.mjs
//
// Needs redis-server, nginx, go and /usr/bin/chromium (e2e/install-deps.sh
// installs the system ones). With E2E_BASE_URL set (e.g. http://sample-app.dev.localhost:18080,
// a deployed stack behind its ingress), it starts nothing and runs the same checks against that
// URL; that needs only chromium (E2E_CHROMIUM: another Chromium-based browser's path, e.g.
// /usr/bin/google-chrome on a GitHub runner). The last check stops the API: against a URL it runs
// only when E2E_STOP_API holds a shell command that does it (e.g. kubectl scale ... --replicas=0).
// E2E_CONNECT_TO=ADDRESS sends the URL's host to ADDRESS (Chromium's host resolver rules, and the
// checks' own requests), for a stack whose host has no DNS entry (the local cluster's dev at
// http://sample-app.dev.local:18080 on 127.0.0.1), as `curl --resolve` does. Prints one line per check and ends with
// "N passed, M failed"; exits 1 on any failure. Artifacts: artifacts/e2e-ui.png,
// and artifacts/e2e-logs/ (process logs) when something failed.

import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { stamp } from '../app/web/stamp-assets.mjs';
import { CHROMIUM, PUBLIC_DIR, ROOT, httpRequest, interrupted, onSignalCleanup, requireTools, resolveHost, startStack } from './stack.mjs';

const ARTIFACTS = path.join(ROOT, 'artifacts');
const SCREENSHOT = path.join(ARTIFACTS, 'e2e-ui.png');
const LOGS_DIR = path.join(ARTIFACTS, 'e2e-logs');
const UI_TIMEOUT = 10000;

const CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";
const SECURITY_HEADERS = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'x-frame-options': 'DENY',
};
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync',
];

// ------------------------------------------------------------------ tiny check runner

const results = [];
const startedAt = Date.now();

async function check(name, fn) {
  if (interrupted) return;
  const t = Date.now();
  try {
    await fn();
    if (interrupted) return;
    results.push({ name, ok: true });
    console.log(`ok   ${String(results.length).padStart(2)} ${name} (${Date.now() - t} ms)`);
  } catch (err) {
    if (interrupted) return;
    results.push({ name, ok: false, err });
    console.log(`FAIL ${String(results.length).padStart(2)} ${name} (${Date.now() - t} ms)`);
    for (const line of String(err && err.message ? err.message : err).split('\n')) console.log(`       ${line}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function assertEq(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

function assertSecurityHeaders(res, where) {
  const bad = Object.entries(SECURITY_HEADERS)
    .filter(([h, v]) => res.headers[h] !== v)
    .map(([h, v]) => `${h}: expected ${JSON.stringify(v)}, got ${JSON.stringify(res.headers[h])}`);
  assert(bad.length === 0, `${where}: security headers wrong:\n${bad.join('\n')}`);
  assert(!/nginx\/\d/.test(res.headers.server || ''), `${where}: Server header leaks the version: ${res.headers.server}`);
}

const json = (res) => JSON.parse(res.body.toString('utf8'));

// ------------------------------------------------------------------ main

let stack = null;
let browser = null;
let failedHard = false;

async function shutdown() {
  if (browser) {
    const b = browser;
    browser = null;
    // Never let a stuck browser keep the stack alive.
    await Promise.race([b.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
  }
  if (stack) {
    const failed = failedHard || results.some((r) => !r.ok);
    await stack.cleanup(failed ? { keepLogsIn: LOGS_DIR } : {});
    if (failed) console.log(`process logs kept in ${path.relative(ROOT, LOGS_DIR)}/`);
  }
  stack = null;
}
onSignalCleanup(shutdown);

function finish() {
  if (interrupted) {
    console.log('interrupted');
    process.exitCode = 130;
    return;
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`e2e took ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

const REMOTE = process.env.E2E_BASE_URL ? process.env.E2E_BASE_URL.replace(/\/+$/, '') : '';
if (REMOTE && !/^https?:\/\/[^/]+$/.test(REMOTE)) {
  console.error(`E2E_BASE_URL must be a scheme and host[:port] such as http://sample-app.dev.localhost:18080, not ${REMOTE}`);
  process.exit(2);
}
const CONNECT_TO = process.env.E2E_CONNECT_TO ?? '';
if (CONNECT_TO && (!REMOTE || !/^\d{1,3}(\.\d{1,3}){3}$/.test(CONNECT_TO))) {
  console.error(`E2E_CONNECT_TO must be an IPv4 address, and needs E2E_BASE_URL: got ${JSON.stringify(CONNECT_TO)}`);
  process.exit(2);
}
if (CONNECT_TO) {
  const host = new URL(REMOTE).hostname;
  CHROMIUM_ARGS.push(`--host-resolver-rules=MAP ${host} ${CONNECT_TO}`);
  resolveHost(host, CONNECT_TO);
}

try {
  // Preconditions: fail with a clear message, install nothing.
  const tools = REMOTE ? [CHROMIUM] : ['redis-server', 'nginx', 'go', CHROMIUM];
  await check(`required tools present: ${tools.map((t) => path.basename(t)).join(', ')}`, async () => {
    requireTools(tools);
  });
  if (results.some((r) => !r.ok)) throw Object.assign(new Error('missing tools'), { reported: true });
  let chromium;
  await check('playwright-core loads (root devDependency)', async () => {
    try {
      ({ chromium } = await import('playwright-core'));
    } catch (err) {
      throw new Error(`cannot load playwright-core: run npm ci at the repo root (${err.message})`);
    }
  });
  if (!chromium) throw Object.assign(new Error('no playwright-core'), { reported: true });

  fs.rmSync(LOGS_DIR, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });

  if (!REMOTE) {
    await check('stack starts: redis, API (go build), nginx (nginx -t ok) on 127.0.0.1', async () => {
      stack = await startStack({ failureLogsDir: LOGS_DIR, log: (m) => console.log(`     ${m}`) });
    });
    if (!stack) {
      failedHard = true;
      throw Object.assign(new Error('stack did not start'), { reported: true });
    }
  }
  // Against a deployed stack the API is reached through the ingress and nginx, like the UI does.
  const base = REMOTE || stack.nginx.url;
  const apiBase = REMOTE || stack.api.url;

  // ---------------------------------------------------------------- HTTP through nginx

  await check('nginx /healthz answers 200 from nginx itself', async () => {
    const res = await httpRequest(`${base}/healthz`);
    assertEq(res.status, 200, 'status');
    assertEq(res.body.toString().trim(), 'ok', 'body');
    assert(!res.headers['x-upstream'], 'unexpected upstream header');
    assertSecurityHeaders(res, '/healthz');
  });

  await check('nginx /readyz serves the UI\'s index.html from disk, no-cache, with the security headers (readiness; /healthz is liveness)', async () => {
    const res = await httpRequest(`${base}/readyz`);
    assertEq(res.status, 200, 'status');
    assert((res.headers['content-type'] || '').startsWith('text/html'), `content-type ${res.headers['content-type']}`);
    assert(res.body.toString().includes('id="create-form"'), 'body is not the UI');
    assert(/no-cache/.test(res.headers['cache-control'] || ''), `cache-control ${res.headers['cache-control']}`);
    assertSecurityHeaders(res, '/readyz');
  });

  await check('GET / serves index.html, no-cache, with the security headers', async () => {
    const res = await httpRequest(`${base}/`);
    assertEq(res.status, 200, 'status');
    assert((res.headers['content-type'] || '').startsWith('text/html'), `content-type ${res.headers['content-type']}`);
    assert(res.body.toString().includes('id="create-form"'), 'body is not the UI');
    assert(/no-cache/.test(res.headers['cache-control'] || ''), `cache-control ${res.headers['cache-control']}`);
    assertSecurityHeaders(res, '/');
    assert(res.headers['x-request-id'], 'no X-Request-ID');
  });

  await check('unknown asset /nope.js is a real 404 with the security headers', async () => {
    const res = await httpRequest(`${base}/nope.js`);
    assertEq(res.status, 404, 'status');
    assertSecurityHeaders(res, '404 /nope.js');
  });

  await check('SPA fallback: /users/some/deep/link serves index.html', async () => {
    const res = await httpRequest(`${base}/users/some/deep/link`);
    assertEq(res.status, 200, 'status');
    assert(res.body.toString().includes('id="create-form"'), 'body is not the UI');
    assertSecurityHeaders(res, 'SPA fallback');
  });

  await check('gzip on text assets (app.js, styles.css, index.html) and a long cache for assets', async () => {
    for (const p of ['/app.js', '/styles.css', '/index.html']) {
      const res = await httpRequest(`${base}${p}`, { headers: { 'Accept-Encoding': 'gzip' } });
      assertEq(res.status, 200, `${p} status`);
      assertEq(res.headers['content-encoding'], 'gzip', `${p} content-encoding`);
      const plain = zlib.gunzipSync(res.body).toString();
      const onDisk = fs.readFileSync(path.join(PUBLIC_DIR, p.slice(1)), 'utf8');
      assertEq(plain.length, onDisk.length, `${p} gunzipped length`);
      if (p !== '/index.html') {
        assert(/max-age=31536000/.test(res.headers['cache-control'] || ''), `${p} cache-control ${res.headers['cache-control']}`);
      }
    }
  });

  await check('index.html references each asset with ?v=<its content hash> (long cache stays safe)', async () => {
    const { stale, refs } = stamp();
    assert(refs >= 3, `expected >= 3 ?v= asset references in index.html, found ${refs}`);
    assert(stale.length === 0, `asset changed without a new ?v= in index.html (run: node app/web/stamp-assets.mjs):\n` +
      stale.map((s) => `/${s.file}?v=${s.has} should be ?v=${s.want}`).join('\n'));
  });

  await check('/api/users is proxied to the API (JSON list, request id passed through)', async () => {
    const res = await httpRequest(`${base}/api/users?limit=5`, { headers: { Accept: 'application/json', 'X-Request-ID': 'e2e-req-1' } });
    assertEq(res.status, 200, 'status');
    assert((res.headers['content-type'] || '').includes('json'), `content-type ${res.headers['content-type']}`);
    const body = json(res);
    assert(Array.isArray(body.items), 'no items array');
    assertEq(res.headers['x-request-id'], 'e2e-req-1', 'X-Request-ID echoed by nginx');
    assertSecurityHeaders(res, '/api/users');
  });

  await check('API 404 through nginx keeps the JSON error and gets the security headers', async () => {
    const res = await httpRequest(`${base}/api/users/does-not-exist-e2e`, { headers: { Accept: 'application/json' } });
    assertEq(res.status, 404, 'status');
    assert(typeof json(res).error === 'string', 'no error field in the body');
    assertSecurityHeaders(res, 'API 404');
  });

  await check('a body over 1m is refused by nginx with 413 JSON', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(1100 * 1024), email: 'big@example.com' });
    const res = await httpRequest(`${base}/api/users`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(big) },
      body: big,
    }).catch((err) => ({ status: 0, err }));
    // nginx may close the connection after its 413; a reset then is fine too.
    if (res.status === 0) return;
    assertEq(res.status, 413, 'status');
    assert(typeof json(res).error === 'string', 'no JSON error body');
    assertSecurityHeaders(res, '413');
  });

  // ---------------------------------------------------------------- UI in Chromium

  // Signals are handled by onSignalCleanup (browser first, then the stack).
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, colorScheme: 'light', locale: 'en-US', timezoneId: 'UTC' });
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT);
  const pageProblems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageProblems.push(`console error: ${msg.text()} ${msg.location()?.url || ''}`.trim());
  });
  page.on('pageerror', (err) => pageProblems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => pageProblems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
  // Expected HTTP errors (409, 400) show up as console errors in Chromium:
  // only count problems that are not such resource errors.
  const realProblems = () => pageProblems.filter((p) => !/Failed to load resource: the server responded with a status of (400|409|503)/.test(p));

  const run = crypto.randomBytes(3).toString('hex');
  const alice = { name: `Alice ${run}`, email: `alice.${run}@example.com` };
  const renamed = `Alice Renamed ${run}`;
  const create = page.locator('#create-form');
  const rowOf = (name) => page.locator('#users-body tr').filter({ has: page.locator('.cell-name', { hasText: new RegExp(`^${name}$`) }) });

  async function addUser(u) {
    await create.getByLabel('Name').fill(u.name);
    await create.getByLabel('Email').fill(u.email);
    await create.getByRole('button', { name: 'Add user' }).click();
  }

  await check('UI loads under the strict CSP with no console errors', async () => {
    await page.goto(`${base}/`, { waitUntil: 'networkidle' });
    await page.locator('#status').filter({ hasText: /No users|Showing/ }).waitFor();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    assert(realProblems().length === 0, realProblems().join('\n'));
  });

  await check('UI: create a user and see it listed', async () => {
    await addUser(alice);
    await rowOf(alice.name).waitFor();
    const email = await rowOf(alice.name).locator('.cell-email').textContent();
    assertEq(email, alice.email, 'listed email');
    assertEq(await create.getByLabel('Name').inputValue(), '', 'form reset after create');
  });

  await check('UI: an empty name shows the API error next to the name field', async () => {
    await create.getByLabel('Name').fill('');
    await create.getByLabel('Email').fill(`nobody.${run}@example.com`);
    await create.getByRole('button', { name: 'Add user' }).click();
    const err = page.locator('#create-name-error');
    await err.filter({ hasText: /\S/ }).waitFor();
    assertEq(await create.getByLabel('Name').getAttribute('aria-invalid'), 'true', 'name aria-invalid');
    assertEq(await page.locator('#create-email-error').textContent(), '', 'email error stays empty');
    assert(await page.locator('#banner').isHidden(), 'banner must stay hidden for a field error');
  });

  await check('UI: edit the user and see the change', async () => {
    await rowOf(alice.name).getByRole('button', { name: `Edit ${alice.name}` }).click();
    const form = page.getByRole('form', { name: `Edit ${alice.name}` });
    await form.getByLabel('Name').fill(renamed);
    await form.getByRole('button', { name: 'Save' }).click();
    await rowOf(renamed).waitFor();
    assertEq(await rowOf(alice.name).count(), 0, 'old name still listed');
    assertEq(await rowOf(renamed).locator('.cell-email').textContent(), alice.email, 'email unchanged');
  });

  // A few more users, so the list and the screenshot have some content.
  const others = [
    { name: 'Grace Hopper', email: `grace.${run}@example.com` },
    { name: 'Ken Thompson', email: `ken.${run}@example.com` },
    { name: 'Barbara Liskov', email: `barbara.${run}@example.com` },
  ];

  await check('UI: a duplicate email shows the 409 error next to the email field', async () => {
    for (const u of others) {
      await addUser(u);
      await rowOf(u.name).waitFor();
    }
    await addUser({ name: 'Alice Duplicate', email: alice.email });
    const err = page.locator('#create-email-error');
    await err.filter({ hasText: /\S/ }).waitFor();
    assertEq(await create.getByLabel('Email').getAttribute('aria-invalid'), 'true', 'email aria-invalid');
    assertEq(await page.locator('#create-name-error').textContent(), '', 'name error stays empty');
    assert(await page.locator('#banner').isHidden(), 'banner must stay hidden for a field error');
    assertEq(await rowOf('Alice Duplicate').count(), 0, 'duplicate must not be listed');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  await check('UI: delete the user and see it gone', async () => {
    const row = rowOf(renamed);
    await row.getByRole('button', { name: `Delete ${renamed}` }).click();
    await row.getByRole('button', { name: `Confirm delete of ${renamed}` }).click();
    await row.waitFor({ state: 'detached' });
    await page.locator('#status').filter({ hasText: `Deleted ${renamed}.` }).waitFor();
    const res = await httpRequest(`${apiBase}/api/users?limit=100`, { headers: { Accept: 'application/json' } });
    assert(!json(res).items.some((u) => u.email === alice.email), 'still returned by the API');
  });

  await check('UI: paging with the cursor (Next / Previous)', async () => {
    // 12 more users through the API, newest first: page 1 is ten of them, page 2 starts with the
    // other two and goes on with whatever the stack already held (a review environment has data).
    for (let i = 1; i <= 12; i += 1) {
      const body = JSON.stringify({ name: `Paged ${String(i).padStart(2, '0')} ${run}`, email: `paged${i}.${run}@example.com` });
      const res = await httpRequest(`${base}/api/users`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      assertEq(res.status, 201, `seed ${i} status`);
    }
    // How many users there are now, read through the API's own cursor.
    let total = 0;
    for (let cursor = ''; ;) {
      const res = await httpRequest(`${apiBase}/api/users?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: { Accept: 'application/json' } });
      const page = json(res);
      total += page.items.length;
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    await page.getByRole('button', { name: 'Refresh' }).click();
    await rowOf(`Paged 12 ${run}`).waitFor();
    const rows = page.locator('#users-body tr');
    assertEq(await rows.count(), 10, 'rows on page 1');
    assertEq(await rowOf(`Paged 03 ${run}`).count(), 1, 'the tenth newest user on page 1');
    const next = page.getByRole('button', { name: 'Next' });
    const prev = page.getByRole('button', { name: 'Previous' });
    assert(await prev.isDisabled(), 'Previous enabled on page 1');
    await next.click();
    await page.locator('#page-label').filter({ hasText: 'Page 2' }).waitFor();
    await rowOf(`Paged 02 ${run}`).waitFor();
    assertEq(await rowOf(`Paged 01 ${run}`).count(), 1, 'the eleventh and twelfth newest users on page 2');
    assertEq(await rows.count(), Math.min(10, total - 10), `rows on page 2 (${total} users in all)`);
    assertEq(await next.isDisabled(), total <= 20, `Next disabled exactly when page 2 is the last (${total} users)`);
    await prev.click();
    await page.locator('#page-label').filter({ hasText: 'Page 1' }).waitFor();
    await rowOf(`Paged 12 ${run}`).waitFor();
  });

  await check('UI: no CSP violations or script errors during the run', async () => {
    assert(realProblems().length === 0, realProblems().join('\n'));
  });

  const stopApi = process.env.E2E_STOP_API || '';
  if (!REMOTE || stopApi) await check('API down: nginx answers 503 JSON and the UI shows the error banner', async () => {
    if (REMOTE) {
      execFileSync('bash', ['-euo', 'pipefail', '-c', stopApi], { stdio: 'inherit', timeout: 120000 });
    } else {
      await stack.api.proc.stop();
    }
    const res = await httpRequest(`${base}/api/users`, { headers: { Accept: 'application/json' } });
    assertEq(res.status, 503, 'status');
    assert(typeof json(res).error === 'string', 'no JSON error body');
    assertSecurityHeaders(res, '503');
    await page.getByRole('button', { name: 'Refresh' }).click();
    const banner = page.locator('#banner');
    await banner.waitFor({ state: 'visible' });
    const text = await page.locator('#banner-text').textContent();
    assert(/503/.test(text), `banner text: ${text}`);
    const health = await httpRequest(`${base}/healthz`);
    assertEq(health.status, 200, '/healthz still 200 with the API down');
    const ready = await httpRequest(`${base}/readyz`);
    assertEq(ready.status, 200, '/readyz still 200 with the API down: the frontend stays in service and shows the error');
  });
} catch (err) {
  if (interrupted || (err && err.reported)) {
    // the signal handler is cleaning up / the failed check said why
  } else {
    results.push({ name: 'unexpected error', ok: false, err });
    console.log(`FAIL ${String(results.length).padStart(2)} unexpected error: ${err && err.stack ? err.stack : err}`);
  }
} finally {
  const failed = results.some((r) => !r.ok);
  if (failed && stack && !interrupted) console.log(stack.tails());
  await shutdown();
  finish();
}
