// What the local benchmark (run.mjs) and the cluster one (cluster.mjs) share:
// closed-loop load (wrk), open-loop load at a fixed rate (bench/openloop), the
// redis-benchmark reply, seeding, CPU accounting from /proc, and the one
// summary table with the ratios and targets of issue 17.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, httpRequest } from '../e2e/stack.mjs';

export const LUA = path.join(ROOT, 'bench', 'lua');
export const log = (m) => process.stderr.write(`${m}\n`);
export const fmt = (n, d = 0) => (Number.isFinite(n)
  ? n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '-');

export const settings = {
  duration: Number(process.env.BENCH_DURATION || 10),
  connections: Number(process.env.BENCH_CONNECTIONS || 32),
  threads: Number(process.env.BENCH_THREADS || 2),
  warmup: Number(process.env.BENCH_WARMUP || 2),
  seed: Number(process.env.BENCH_SEED || 1000),
  openDuration: Number(process.env.BENCH_OPEN_DURATION || 10),
  profileDuration: Number(process.env.BENCH_PROFILE_DURATION || 5),
};

// ------------------------------------------------------------------ wrk (closed loop)

function wrkArgv(url, script, args, seconds, headers) {
  return [
    '-t', String(settings.threads), '-c', String(settings.connections), '-d', `${seconds}s`, '--timeout', '5s',
    ...headers.flatMap((h) => ['-H', h]), '-s', path.join(LUA, script), url, '--', ...args,
  ];
}

function parseWrk(argv, status, signal, out) {
  if (status !== 0) throw new Error(`wrk ${argv.join(' ')} failed (exit ${status ?? signal}):\n${out}`);
  const line = out.split('\n').find((l) => l.startsWith('BENCH '));
  if (!line) throw new Error(`wrk printed no BENCH line:\n${out}`);
  const r = JSON.parse(line.slice(6));
  return {
    rps: r.requests / (r.duration_us / 1e6),
    p50: r.p50_us / 1000,
    p99: r.p99_us / 1000,
    p999: r.p999_us / 1000,
    errors: r.status_errors + r.socket_errors,
    requests: r.requests,
  };
}

/** wrk for `seconds` (synchronous). headers: extra `Name: value` lines (the cluster's Host). */
export function wrk(url, script, args, seconds, headers = []) {
  const argv = wrkArgv(url, script, args, seconds, headers);
  const res = spawnSync('wrk', argv, { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  return parseWrk(argv, res.status, res.signal, `${res.stdout || ''}${res.stderr || ''}`);
}

/**
 * Runs cmd in the background, killed after timeoutMs: resolves to its exit
 * status, signal, stdout and stderr once it has exited (a spawn error rejects).
 */
function spawnAsync(cmd, argv, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const res = { stdout: '', stderr: '' };
    child.stdout.on('data', (d) => { res.stdout += d; });
    child.stderr.on('data', (d) => { res.stderr += d; });
    const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => { clearTimeout(kill); reject(err); });
    child.on('close', (status, signal) => { clearTimeout(kill); resolve({ ...res, status, signal }); });
  });
}

/** wrk in the background: resolves to what wrk() returns; for sampling while it runs. */
export async function wrkAsync(url, script, args, seconds, headers = []) {
  const argv = wrkArgv(url, script, args, seconds, headers);
  const res = await spawnAsync('wrk', argv, (seconds + 30) * 1000);
  return parseWrk(argv, res.status, res.signal, `${res.stdout}${res.stderr}`);
}

// ------------------------------------------------------------------ open loop (bench/openloop)

// bench/openloop is a wrk2-style generator: constant rate, keep-alive
// connections, latency from each request's due time. Not vegeta: vegeta's
// net/http client spent ~100 µs of CPU per request, twice the API, on the
// two cores it shares with the servers, so at 50 % of the API's maximum the
// machine was saturated and the latency measured was the generator's own.
const OPENLOOP_SRC = path.join(ROOT, 'bench', 'openloop');

/**
 * The openloop binary, built with `go build` into a cache keyed by a hash of
 * its source: $HOME/.cache/sample-app-bench/openloop-<hash>/openloop.
 */
export function openLoopBinary() {
  const hash = crypto.createHash('sha256');
  for (const f of ['go.mod', 'main.go']) hash.update(fs.readFileSync(path.join(OPENLOOP_SRC, f)));
  const dir = path.join(os.homedir(), '.cache', 'sample-app-bench', `openloop-${hash.digest('hex').slice(0, 12)}`);
  const bin = path.join(dir, 'openloop');
  if (fs.existsSync(bin)) return bin;
  log(`building bench/openloop into ${dir} ...`);
  const res = spawnSync('go', ['build', '-trimpath', '-o', bin, '.'], { cwd: OPENLOOP_SRC, encoding: 'utf8', timeout: 10 * 60 * 1000 });
  if (res.status !== 0 || !fs.existsSync(bin)) throw new Error(`go build of bench/openloop failed (exit ${res.status ?? res.signal}):\n${res.stderr}`);
  return bin;
}

function openLoopArgv(targetsFile, rate, seconds, headers) {
  return [`-targets=${targetsFile}`, `-rate=${Math.round(rate)}`, `-duration=${seconds}s`,
    `-connections=${settings.connections}`, '-timeout=5s', ...headers.map((h) => `-header=${h}`)];
}

/** The summary openloop prints, as the table's row fields (latencies in ms). */
export function parseOpenLoop(stdout, rate) {
  let s;
  try {
    s = JSON.parse(stdout);
  } catch {
    throw new Error(`openloop printed no summary:\n${stdout}`);
  }
  if (!Number.isInteger(s.due) || s.due <= 0) throw new Error(`openloop made no request:\n${stdout}`);
  return {
    rate: Math.round(rate), sent: s.ok + s.errors, achieved: s.achieved,
    p50: s.p50, p99: s.p99, p999: s.p999, errors: s.errors, firstError: s.firstError,
  };
}

/**
 * GET each target line (`GET <url>`, cycled) at a constant `rate`/s for
 * `seconds`, open loop, on settings.connections connections; headers as for
 * wrk. Resolves to its stats once openloop has exited, so callers can sample
 * while it runs; with groups (as for cpuSnapshot), also the CPU per request
 * of the run.
 */
export async function openLoop(bin, targetsFile, rate, seconds, headers = [], groups = null) {
  const before = groups && cpuSnapshot(groups);
  const res = await spawnAsync(bin, openLoopArgv(targetsFile, rate, seconds, headers), (seconds + 60) * 1000);
  if (res.status !== 0) throw new Error(`openloop failed (exit ${res.status ?? res.signal}):\n${res.stderr}`);
  const after = groups && cpuSnapshot(groups);
  const stats = parseOpenLoop(res.stdout, rate);
  return groups ? { ...stats, cpu: cpuPerRequest(before, after, stats.sent) } : stats;
}

/** A targets file (vegeta's format, which openloop reads): GET base/api/users/<id> for each id. */
export function byIdTargets(file, base, ids) {
  fs.writeFileSync(file, ids.map((id) => `GET ${base}/api/users/${id}\n`).join(''));
  return file;
}

// ------------------------------------------------------------------ redis-benchmark

/** The GET row of `redis-benchmark --csv`. */
export function parseRedisBenchmark(stdout) {
  const row = stdout.trim().split('\n').find((l) => l.startsWith('"GET"'));
  if (!row) throw new Error(`redis-benchmark printed no GET row:\n${stdout}`);
  const cols = row.split(',').map((c) => Number(c.replaceAll('"', '')));
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  return { rps: cols[1], p50: cols[4], p99: cols[6], p999: NaN, errors: 0 };
}

/** redis-benchmark -t get arguments at the bench's concurrency, without host or password. */
export function redisBenchmarkArgs(n) {
  return ['-t', 'get', '-c', String(settings.connections), '--threads', String(settings.threads), '-n', String(n), '--csv'];
}

// ------------------------------------------------------------------ seeding

/** Creates `count` users through base, 16 at a time; returns their ids. */
export async function seed(base, count, headers = {}) {
  const ids = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const body = JSON.stringify({ name: `Seed User ${i}`, email: `seed-${i}-${process.pid}@bench.example.com` });
      const res = await httpRequest(`${base}/api/users`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
      if (res.status !== 201) throw new Error(`seed POST ${i}: HTTP ${res.status} ${res.body}`);
      ids.push(JSON.parse(res.body.toString()).id);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return ids;
}

// ------------------------------------------------------------------ CPU from /proc

const HZ = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds used so far by each named process group ({ name: pgid }) and by the whole machine. */
export function cpuSnapshot(groups) {
  const byGroup = Object.fromEntries(Object.keys(groups).map((k) => [k, 0]));
  const names = new Map(Object.entries(groups).map(([k, pgid]) => [pgid, k]));
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue; // gone
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const name = names.get(Number(f[2])); // pgrp
    if (name) byGroup[name] += (Number(f[11]) + Number(f[12])) / HZ; // utime + stime
  }
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7]; // user nice system irq softirq steal
  return { byGroup, machine: busy / HZ };
}

/**
 * CPU ticks (cutime + cstime) of the children a process has waited for, from
 * its /proc/<pid>/stat: a child's whole CPU time, threads included, counts
 * there once it has exited and been reaped.
 */
export function childTicks(stat) {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[13]) + Number(f[14]);
}

/**
 * CPU seconds of this process' finished children so far: before and after a
 * load generator it spawned (wrkAsync, openLoop) has exited, the
 * difference is the generator's CPU, if no other child ended in between.
 */
export function childCpuSeconds() {
  return childTicks(fs.readFileSync('/proc/self/stat', 'utf8')) / HZ;
}

/** CPU µs per request of each group between two snapshots, and of everything else ("other"). */
export function cpuPerRequest(before, after, requests) {
  const out = {};
  let named = 0;
  for (const k of Object.keys(before.byGroup)) {
    const d = after.byGroup[k] - before.byGroup[k];
    named += d;
    out[k] = (d * 1e6) / requests;
  }
  out.other = ((after.machine - before.machine - named) * 1e6) / requests;
  return out;
}

// ------------------------------------------------------------------ the summary table

export const TARGETS = {
  byIdDirect: 0.45,
  byIdNginx: 0.33,
  listOfById: 0.6,
  create: 0.25,
  openLoopP99Ms: 5,
};

const mark = (ok) => (ok === undefined ? '' : ok ? 'met' : 'NOT met');

/**
 * Rows of the one table: closed-loop rows { name, via, rps, p50, p99, p999,
 * errors, cpu, ratio: { text, target, ok } }, open-loop rows alike, and the
 * ceiling row. cpuCols are [key of row.cpu, label] of the CPU columns (µs of
 * CPU per request).
 */
export function printTable(rows, cpuCols) {
  const cells = (xs) => xs.map((x) => ` ${x} |`).join('');
  console.log(`| case | via | requests/s | p50 (ms) | p99 (ms) | p99.9 (ms) | errors | ratio | target | |${cells(cpuCols.map(([, l]) => `${l} CPU µs/req`))}`);
  console.log(`|---|---|---:|---:|---:|---:|---:|---|---|---|${cpuCols.map(() => '---:|').join('')}`);
  for (const r of rows) {
    const cpu = cpuCols.map(([c]) => (r.cpu && Number.isFinite(r.cpu[c]) ? fmt(r.cpu[c], 1) : ''));
    console.log(`| ${r.name} | ${r.via} | ${fmt(r.rps)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.p999, 2)} | ${r.errors} | ` +
      `${r.ratio?.text ?? ''} | ${r.ratio?.target ?? ''} | ${mark(r.ratio?.ok)} |${cells(cpu)}`);
  }
}

/** The ratio of a closed-loop row to the ceiling, with its target (>= min) if it has one. */
export function ratioTo(row, ceiling, min) {
  const x = row.rps / ceiling.rps;
  return { value: x, text: `${x.toFixed(2)} × redis GET`, target: min ? `≥ ${min} ×` : '', ok: min ? x >= min : undefined };
}

/** A list row's ratio to a read by id on the same path (target 0.6), and to the ceiling. */
export function listRatio(list, byId, ceiling) {
  const x = list.rps / byId.rps;
  return {
    value: x,
    text: `${x.toFixed(2)} × by id (${(list.rps / ceiling.rps).toFixed(2)} × GET)`,
    target: `≥ ${TARGETS.listOfById} × by id`,
    ok: x >= TARGETS.listOfById,
  };
}

/** An open-loop row: p99 against the 5 ms target. */
export function openLoopRatio(open, max) {
  return {
    text: `${(open.rate / max.rps).toFixed(2)} of max, p99 ${fmt(open.p99, 2)} ms`,
    target: `p99 ≤ ${TARGETS.openLoopP99Ms} ms`,
    ok: open.p99 <= TARGETS.openLoopP99Ms && open.errors === 0,
  };
}
