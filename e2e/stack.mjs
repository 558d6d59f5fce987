// Starts the whole sample-app stack on this machine, loopback only:
//   redis-server  (temp dir, free port, password, no persistence)
//   the API       (app/api built with `go build`, free port, LISTEN_HOST=127.0.0.1)
//   nginx         (app/web/nginx.conf, free port, proxies /api to the API)
// and stops every process it started, also on failure and on SIGINT/SIGTERM.
// Shared by e2e/run.mjs and bench/run.mjs.
//
// The local nginx uses THE nginx.conf of app/web with these textual changes,
// all done in renderNginxConf() below and nowhere else:
//   1. `__API_UPSTREAM__`        -> `127.0.0.1:<api port>`   (the placeholder, wherever it is)
//   2. `listen 8080;`            -> `listen 127.0.0.1:<free port>;`
//      (local servers bind loopback only, and 8080 may be taken)
//   3. every path under `/tmp/`  -> `<run dir>/tmp/`
//      (the pod's emptyDir; a private dir here so parallel runs never share)
// nginx runs with `-p <run dir>/nginx/ -c <run dir>/nginx/nginx.conf`, so
// `root html;` is <run dir>/nginx/html (a copy of app/web/public) and
// `include mime.types;` is a copy of Debian's /etc/nginx/mime.types.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// E2E_CHROMIUM: another Chromium-based browser, e.g. /usr/bin/google-chrome on a GitHub-hosted runner.
export const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';
export const NGINX_CONF = path.join(ROOT, 'app/web/nginx.conf');
export const PUBLIC_DIR = path.join(ROOT, 'app/web/public');

const INSTALL_HINT = 'install the missing system packages with: sudo bash e2e/install-deps.sh';

// ------------------------------------------------------------------ tools

function onPath(cmd) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

// Debian puts nginx in /usr/sbin, which is not on a normal user's PATH.
const SBIN_FALLBACK = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

/** Absolute path of a command: PATH first, then the sbin dirs; null if absent. */
export function which(cmd) {
  if (cmd.startsWith('/')) return isExecutable(cmd) ? cmd : null;
  return onPath(cmd) || SBIN_FALLBACK.map((d) => path.join(d, cmd)).find(isExecutable) || null;
}

/** Throws one clear error naming every missing tool. `names` are commands or absolute paths. */
export function requireTools(names) {
  const missing = names.filter((n) => !which(n));
  if (missing.length) {
    const err = new Error(`missing required tool(s): ${missing.join(', ')}; ${INSTALL_HINT}` +
      (missing.includes('go') ? ' (and install Go >= 1.26 for the API build)' : ''));
    err.code = 'E_MISSING_TOOLS';
    throw err;
  }
}

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ ports

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function distinctFreePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

// ------------------------------------------------------------------ nginx config

/**
 * Renders app/web/nginx.conf for the local run (see the header of this file).
 * Fails loudly if the source no longer has exactly what is rewritten.
 */
export function renderNginxConf(source, { upstream, port, tmpDir }) {
  if (!source.includes('__API_UPSTREAM__')) {
    throw new Error('nginx.conf must contain __API_UPSTREAM__, where the API goes');
  }
  let out = source.replaceAll('__API_UPSTREAM__', upstream);

  const listenRe = /^(\s*)listen\s+8080\s*;/gm;
  const listens = out.match(listenRe) || [];
  if (listens.length !== 1) {
    throw new Error(`nginx.conf must contain exactly one \`listen 8080;\` line (found ${listens.length})`);
  }
  out = out.replace(listenRe, `$1listen 127.0.0.1:${port};`);

  // Directive arguments that are absolute paths under /tmp/ (pid, *_temp_path).
  out = out.replace(/(\s)\/tmp\//g, `$1${tmpDir}/`);

  const leftover = out.match(/__[A-Z][A-Z0-9_]*__/);
  if (leftover) throw new Error(`nginx.conf has an unknown placeholder ${leftover[0]}`);
  return out;
}

// ------------------------------------------------------------------ processes

const running = new Set(); // every child still alive, for the exit/signal handlers

function killGroup(child, signal) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // its whole process group (nginx workers too)
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

process.on('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

let signalHandlersInstalled = false;
const stopHooks = new Set();
/** Set once SIGINT/SIGTERM/SIGHUP arrived: callers stop reporting results. */
export let interrupted = false;

function installSignalHandlers() {
  if (signalHandlersInstalled) return;
  signalHandlersInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, async () => {
      interrupted = true;
      process.stderr.write(`\n${sig}: stopping the stack...\n`);
      const hard = setTimeout(() => process.exit(1), 15000);
      hard.unref();
      await Promise.allSettled([...stopHooks].map((fn) => fn()));
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/** Registers an async cleanup also run on SIGINT/SIGTERM/SIGHUP. Returns an unregister function. */
export function onSignalCleanup(fn) {
  installSignalHandlers();
  stopHooks.add(fn);
  return () => stopHooks.delete(fn);
}

class Proc {
  constructor(name, cmd, args, { env, cwd, logFile }) {
    this.name = name;
    this.logFile = logFile;
    const fd = fs.openSync(logFile, 'a');
    this.child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', fd, fd],
      detached: true, // own process group: one kill reaches the children too
    });
    fs.closeSync(fd);
    running.add(this.child);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        running.delete(this.child);
        resolve({ code, signal });
      });
      this.child.once('error', (err) => {
        running.delete(this.child);
        fs.appendFileSync(logFile, `\n[stack] spawn ${cmd} failed: ${err.message}\n`);
        resolve({ code: -1, signal: null, error: err });
      });
    });
  }

  get alive() {
    return this.child.exitCode === null && this.child.signalCode === null && running.has(this.child);
  }

  async stop(signal = 'SIGTERM', graceMs = 5000) {
    if (!this.alive) return;
    killGroup(this.child, signal);
    const t = setTimeout(() => killGroup(this.child, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
    // Leftovers in the group (nginx workers): make sure they are gone.
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // none left
    }
  }

  tail(lines = 40) {
    try {
      const text = fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n');
      return text.slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

// ------------------------------------------------------------------ readiness

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(proc, what, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let lastErr = null;
  while (Date.now() < deadline) {
    if (!proc.alive) {
      throw new Error(`${proc.name} exited before ${what}; last log lines:\n${proc.tail()}`);
    }
    try {
      if (await probe()) return;
    } catch (err) {
      lastErr = err;
    }
    await sleep(100);
  }
  throw new Error(`${proc.name}: timed out after ${timeoutMs} ms waiting for ${what}` +
    `${lastErr ? ` (${lastErr.message})` : ''}; last log lines:\n${proc.tail()}`);
}

/** Host names sent to a fixed address (resolveHost), as `curl --resolve` does. */
const RESOLVE = new Map();

/** Requests to `hostname` connect to `address` (an IPv4 address), keeping the name in Host. */
export function resolveHost(hostname, address) {
  RESOLVE.set(hostname.toLowerCase(), address);
}

/**
 * `*.localhost` names are loopback (RFC 6761), as curl and Chromium treat them; the system
 * resolver here does not know them, so connect to 127.0.0.1 and keep the name in Host. Names
 * given to resolveHost go to their address.
 */
function loopbackLookup(hostname, options, callback) {
  const fixed = RESOLVE.get(hostname.toLowerCase()) ?? (/(^|\.)localhost$/i.test(hostname) ? '127.0.0.1' : undefined);
  if (fixed) {
    if (options && options.all) callback(null, [{ address: fixed, family: 4 }]);
    else callback(null, fixed, 4);
    return;
  }
  dns.lookup(hostname, options, callback);
}

/** Minimal HTTP request on loopback without fetch's decompression or pooling. */
export function httpRequest(url, { method = 'GET', headers = {}, body, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false, timeout: timeoutMs, lookup: loopbackLookup }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function httpOk(url) {
  const res = await httpRequest(url, { timeoutMs: 2000 });
  return res.status === 200;
}

/** AUTH + PING over RESP, so no redis-cli is needed. */
function redisPing(port, password) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    sock.setTimeout(2000, () => sock.destroy(new Error('redis ping timeout')));
    sock.on('connect', () => sock.write(`AUTH ${password}\r\nPING\r\n`));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n+PONG\r\n') || buf.includes('-')) {
        sock.end();
        resolve(buf === '+OK\r\n+PONG\r\n');
      }
    });
    sock.on('error', reject);
  });
}

// ------------------------------------------------------------------ build

/** `go build` of app/api into outPath. Returns the build time in ms. */
export function buildApi(outPath) {
  const started = Date.now();
  const res = spawnSync('go', ['build', '-o', outPath, '.'], {
    cwd: path.join(ROOT, 'app/api'),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 8 * 60 * 1000,
  });
  if (res.status !== 0) {
    throw new Error(`go build of app/api failed (exit ${res.status ?? res.signal}):\n${(res.stderr || '') + (res.stdout || '')}`.trimEnd());
  }
  return Date.now() - started;
}

/** `nginx -t` on a rendered config. Returns nginx's output; throws on failure. */
export function nginxTest(prefix, confPath) {
  // stdout/stderr go to a file, not a pipe: Node's pipes are sockets, and
  // nginx cannot open() /dev/stdout (access_log) when it is a socket.
  const outFile = path.join(prefix, 'nginx-t.out');
  const fd = fs.openSync(outFile, 'w');
  let res;
  try {
    res = spawnSync(which('nginx'), ['-t', '-p', `${prefix}/`, '-c', confPath, '-e', 'stderr'], {
      stdio: ['ignore', fd, fd],
      timeout: 30000,
    });
  } finally {
    fs.closeSync(fd);
  }
  const output = fs.readFileSync(outFile, 'utf8').trim();
  fs.rmSync(outFile, { force: true });
  if (res.error) throw new Error(`nginx -t could not run: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`nginx -t failed:\n${output}`);
  return output;
}

// ------------------------------------------------------------------ the stack

/**
 * Starts redis, the API and nginx. Returns handles, URLs and stop().
 * Options:
 *   apiLogLevel  LOG_LEVEL for the API (default "info")
 *   nginxAccessLog  keep nginx's JSON access log (default true; the bench turns it off)
 *   apiEnv       more environment of the API (e.g. the bench's PPROF_ADDR)
 *   failureLogsDir  where the process logs are copied when startup fails
 *   log(msg)     progress output (default: stderr)
 */
export async function startStack({
  apiLogLevel = 'info',
  nginxAccessLog = true,
  apiEnv = {},
  failureLogsDir = path.join(ROOT, 'artifacts', 'stack-logs'),
  log = (m) => process.stderr.write(`${m}\n`),
} = {}) {
  requireTools(['redis-server', 'nginx', 'go']);

  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sample-app-stack-'));
  // nginx workers run as `nobody` when the master is root: they must be able
  // to traverse the run dir and read the UI copy and the temp paths.
  fs.chmodSync(runDir, 0o755);
  const logDir = path.join(runDir, 'logs');
  fs.mkdirSync(logDir);

  const procs = [];
  let stopping = null;
  // Idempotent: every caller (finally, signal handler) waits for the same stop.
  const stop = () => {
    stopping ??= (async () => {
      // Front to back: nginx, then the API (graceful), then redis.
      for (const p of [...procs].reverse()) await p.stop();
      unregister();
    })();
    return stopping;
  };
  const unregister = onSignalCleanup(() => stack.cleanup());

  const stack = {
    runDir,
    logDir,
    procs,
    stop,
    /** Copies the process logs somewhere (e.g. artifacts/) and removes the run dir. */
    async cleanup({ keepLogsIn } = {}) {
      await stop();
      if (!fs.existsSync(runDir)) return;
      if (keepLogsIn) {
        fs.mkdirSync(keepLogsIn, { recursive: true });
        for (const f of fs.readdirSync(logDir)) fs.copyFileSync(path.join(logDir, f), path.join(keepLogsIn, f));
      }
      fs.rmSync(runDir, { recursive: true, force: true });
    },
    tails() {
      return procs.map((p) => `--- ${p.name} (${p.logFile}) ---\n${p.tail()}`).join('\n');
    },
  };

  try {
    const [redisPort, apiPort, nginxPort] = await distinctFreePorts(3);

    // ---- build the API
    const apiBin = path.join(runDir, 'sample-app-api');
    log(`building app/api ...`);
    const buildMs = buildApi(apiBin);
    log(`built app/api in ${buildMs} ms`);

    // ---- redis
    const redisPassword = crypto.randomBytes(18).toString('base64url');
    const redisDir = path.join(runDir, 'redis');
    fs.mkdirSync(redisDir, { mode: 0o700 });
    const redisConf = path.join(redisDir, 'redis.conf');
    fs.writeFileSync(redisConf, [
      `bind 127.0.0.1`,
      `port ${redisPort}`,
      `protected-mode yes`,
      `requirepass ${redisPassword}`,
      `dir ${redisDir}`,
      `save ""`,
      `appendonly no`,
      `daemonize no`,
      `logfile ""`,
      '',
    ].join('\n'), { mode: 0o600 });
    const redis = new Proc('redis', 'redis-server', [redisConf], { cwd: redisDir, logFile: path.join(logDir, 'redis.log') });
    procs.push(redis);
    await waitFor(redis, `PONG on 127.0.0.1:${redisPort}`, () => redisPing(redisPort, redisPassword), 15000);
    log(`redis ready on 127.0.0.1:${redisPort}`);

    // ---- API
    const api = new Proc('api', apiBin, [], {
      cwd: runDir,
      logFile: path.join(logDir, 'api.log'),
      env: {
        PORT: String(apiPort),
        LISTEN_HOST: '127.0.0.1',
        REDIS_ADDR: `127.0.0.1:${redisPort}`,
        REDIS_PASSWORD: redisPassword,
        LOG_LEVEL: apiLogLevel,
        // No drain delay locally: nothing load-balances to it, stop at once.
        SHUTDOWN_DELAY: '0s',
        SHUTDOWN_TIMEOUT: '5s',
        ...apiEnv,
      },
    });
    procs.push(api);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitFor(api, `${apiUrl}/readyz`, () => httpOk(`${apiUrl}/readyz`), 30000);
    log(`api ready on ${apiUrl}`);

    // ---- nginx
    const prefix = path.join(runDir, 'nginx');
    fs.mkdirSync(prefix);
    fs.mkdirSync(path.join(runDir, 'tmp'), { mode: 0o755 });
    fs.cpSync(PUBLIC_DIR, path.join(prefix, 'html'), { recursive: true });
    fs.copyFileSync('/etc/nginx/mime.types', path.join(prefix, 'mime.types'));
    let conf = renderNginxConf(fs.readFileSync(NGINX_CONF, 'utf8'), {
      upstream: `127.0.0.1:${apiPort}`,
      port: nginxPort,
      tmpDir: path.join(runDir, 'tmp'),
    });
    if (!nginxAccessLog) {
      const re = /^(\s*)access_log\s+\/dev\/stdout\s+json(\s+[^;]*)?;/m;
      if (!re.test(conf)) throw new Error('nginx.conf: expected `access_log /dev/stdout json ...;` to turn off');
      conf = conf.replace(re, '$1access_log off;');
    }
    const confPath = path.join(prefix, 'nginx.conf');
    fs.writeFileSync(confPath, conf);
    stack.nginxTestOutput = nginxTest(prefix, confPath);
    const nginx = new Proc('nginx', which('nginx'), ['-p', `${prefix}/`, '-c', confPath, '-e', 'stderr', '-g', 'daemon off;'], {
      cwd: prefix,
      logFile: path.join(logDir, 'nginx.log'),
    });
    procs.push(nginx);
    const nginxUrl = `http://127.0.0.1:${nginxPort}`;
    await waitFor(nginx, `${nginxUrl}/healthz`, () => httpOk(`${nginxUrl}/healthz`), 15000);
    log(`nginx ready on ${nginxUrl}`);

    Object.assign(stack, {
      redis: { proc: redis, port: redisPort, password: redisPassword },
      api: { proc: api, port: apiPort, url: apiUrl, bin: apiBin, buildMs },
      nginx: { proc: nginx, port: nginxPort, url: nginxUrl, prefix, confPath },
    });
    return stack;
  } catch (err) {
    await stack.cleanup({ keepLogsIn: failureLogsDir });
    err.message += `\n(process logs copied to ${path.relative(ROOT, failureLogsDir)}/)`;
    throw err;
  }
}
