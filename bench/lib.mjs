// What the local benchmark (run.mjs) and the cluster one (cluster.mjs) share:
// closed-loop load (wrk), open-loop load at a fixed rate (vegeta), the
// redis-benchmark reply, seeding, CPU accounting from /proc, and the one
// summary table with the ratios and targets of issue 17.

import { spawn, spawnSync } from 'node:child_process';
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

/** wrk in the background: resolves to what wrk() returns; for sampling while it runs. */
export function wrkAsync(url, script, args, seconds, headers = []) {
  const argv = wrkArgv(url, script, args, seconds, headers);
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const kill = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(kill);
      try {
        resolve(parseWrk(argv, status, signal, out));
      } catch (err) {
        reject(err);
      }
    });
  });
}

// ------------------------------------------------------------------ vegeta (open loop)

export const VEGETA_MODULE = 'github.com/tsenart/vegeta/v12';
export const VEGETA_VERSION = process.env.BENCH_VEGETA_VERSION || 'v12.13.0';

/**
 * The vegeta binary, built once with `go install` into a cache keyed by its
 * version: $HOME/.cache/sample-app-bench/vegeta-<version>/vegeta.
 */
export function vegetaBinary() {
  const dir = path.join(os.homedir(), '.cache', 'sample-app-bench', `vegeta-${VEGETA_VERSION}`);
  const bin = path.join(dir, 'vegeta');
  if (fs.existsSync(bin)) return bin;
  log(`building vegeta ${VEGETA_VERSION} into ${dir} (once) ...`);
  const res = spawnSync('go', ['install', `${VEGETA_MODULE}@${VEGETA_VERSION}`], {
    cwd: os.tmpdir(), // outside any module: `go install pkg@version` builds it on its own
    env: { ...process.env, GOBIN: dir },
    encoding: 'utf8',
    timeout: 15 * 60 * 1000,
  });
  if (res.status !== 0 || !fs.existsSync(bin)) {
    throw new Error(`go install ${VEGETA_MODULE}@${VEGETA_VERSION} failed (exit ${res.status ?? res.signal}):\n${res.stderr}`);
  }
  return bin;
}

/** The q-quantile (0..1) of sorted numbers, nearest rank. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/**
 * Latencies of vegeta results (one JSON object per line, from `vegeta encode
 * -to json`) sent at `rate`/s, corrected for coordinated omission: each is
 * measured from the request's intended send time (first send + seq/rate),
 * not from when it went out, so a stall that delays sends counts in full.
 */
export function openLoopStats(lines, rate, seconds) {
  const results = lines.filter(Boolean).map((l) => JSON.parse(l));
  if (results.length === 0) throw new Error('vegeta made no request');
  // RFC 3339 with nanoseconds, as ns after the first whole second seen (a
  // float of ns since 1970 would lose the last digits).
  let baseMs = null;
  const timeNs = (ts) => {
    const m = ts.match(/^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$/);
    const ms = Date.parse(m[1] + m[3]);
    baseMs ??= ms;
    return (ms - baseMs) * 1e6 + Number((m[2] || '').padEnd(9, '0').slice(0, 9));
  };
  const sent = results.map((r) => timeNs(r.timestamp));
  let t0 = Infinity;
  for (let i = 0; i < results.length; i++) t0 = Math.min(t0, sent[i] - (results[i].seq * 1e9) / rate);
  const lat = [];
  let errors = 0;
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    const intendedNs = t0 + (r.seq * 1e9) / rate;
    lat.push((sent[i] + r.latency - intendedNs) / 1e6);
    if (r.code < 200 || r.code > 299 || r.error) errors += 1;
  }
  lat.sort((a, b) => a - b);
  return {
    rate,
    sent: results.length,
    achieved: results.length / seconds,
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
    p999: quantile(lat, 0.999),
    errors,
  };
}

function vegetaAttackArgv(targetsFile, rate, seconds, out, headers) {
  return [
    'attack', `-targets=${targetsFile}`, `-rate=${Math.round(rate)}/1s`, `-duration=${seconds}s`,
    // -max-body=0: keep no response body in the results, which costs the
    // generator CPU that the servers on the same cores then lack.
    // -max-workers: vegeta adds a worker, and a connection, whenever all are
    // busy; unbounded, an overloaded server gets thousands of connections
    // (past nginx's worker_connections). Bounded, a send may go out late,
    // which openLoopStats counts from the intended time anyway.
    '-workers=32', `-max-workers=${settings.connections * 4}`, '-max-body=0', '-timeout=5s', `-output=${out}`, ...headers.flatMap((h) => ['-header', h]),
  ];
}

/** The stats of a finished attack's results file (openLoopStats); removes the file. */
export function vegetaResults(vegeta, out, rate, seconds) {
  const enc = spawnSync(vegeta, ['encode', '-to', 'json', out], { encoding: 'utf8', maxBuffer: 1 << 30, timeout: 120000 });
  if (enc.status !== 0) throw new Error(`vegeta encode failed:\n${enc.stderr}`);
  fs.rmSync(out, { force: true });
  return openLoopStats(enc.stdout.split('\n'), Math.round(rate), seconds);
}

/**
 * vegeta attack: GET each target line (`GET <url>`, cycled) at a constant
 * `rate`/s for `seconds`, open loop; headers as for wrk. With groups (as for
 * cpuSnapshot), also the CPU per request of the attack alone.
 */
export function openLoop(vegeta, targetsFile, rate, seconds, dir, headers = [], groups = null) {
  const out = path.join(dir, `vegeta-${Date.now().toString(36)}.bin`);
  const before = groups && cpuSnapshot(groups);
  const attack = spawnSync(vegeta, vegetaAttackArgv(targetsFile, rate, seconds, out, headers), { encoding: 'utf8', timeout: (seconds + 60) * 1000 });
  if (attack.status !== 0) throw new Error(`vegeta attack failed (exit ${attack.status ?? attack.signal}):\n${attack.stderr}`);
  const after = groups && cpuSnapshot(groups);
  const stats = vegetaResults(vegeta, out, rate, seconds);
  return groups ? { ...stats, cpu: cpuPerRequest(before, after, stats.sent) } : stats;
}

/**
 * The attack of openLoop in the background, for sampling while it runs:
 * resolves, once vegeta has exited, to its results file for vegetaResults.
 */
export function vegetaAttackAsync(vegeta, targetsFile, rate, seconds, dir, headers = []) {
  const out = path.join(dir, `vegeta-${Date.now().toString(36)}.bin`);
  return new Promise((resolve, reject) => {
    const child = spawn(vegeta, vegetaAttackArgv(targetsFile, rate, seconds, out, headers), { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    const kill = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(kill);
      if (status === 0) resolve(out);
      else reject(new Error(`vegeta attack failed (exit ${status ?? signal}):\n${err}`));
    });
  });
}

/** A vegeta targets file: GET base/api/users/<id> for each id. */
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
 * load generator it spawned (wrkAsync, vegetaAttackAsync) has exited, the
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
