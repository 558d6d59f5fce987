#!/usr/bin/env node
// Benchmark (not a test): the whole stack on this machine, loopback only.
// Starts redis + the API + nginx with e2e/stack.mjs, seeds users, then runs
// wrk against GET by id, list and create, both direct to the API and through
// nginx, and redis-benchmark GET (the ceiling) at the same concurrency.
// Prints a markdown table. Every run is bounded in time.
//
//   export PATH="$(scripts/ensure-node.sh):$PATH"
//   node bench/run.mjs
//
// Env: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (32), BENCH_THREADS (2),
//      BENCH_WARMUP (s, default 2), BENCH_SEED (users, default 1000).
// Needs wrk and redis-benchmark besides the e2e tools (e2e/install-deps.sh).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, httpRequest, onSignalCleanup, requireTools, startStack } from '../e2e/stack.mjs';

const DURATION = Number(process.env.BENCH_DURATION || 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 32);
const THREADS = Number(process.env.BENCH_THREADS || 2);
const WARMUP = Number(process.env.BENCH_WARMUP || 2);
const SEED = Number(process.env.BENCH_SEED || 1000);
const LUA = path.join(ROOT, 'bench', 'lua');

const log = (m) => process.stderr.write(`${m}\n`);

function wrk(url, script, args, seconds) {
  const argv = [
    '-t', String(THREADS), '-c', String(CONNECTIONS), '-d', `${seconds}s`, '--timeout', '5s',
    '-s', path.join(LUA, script), url, '--', ...args,
  ];
  const res = spawnSync('wrk', argv, { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const out = `${res.stdout || ''}${res.stderr || ''}`;
  if (res.status !== 0) throw new Error(`wrk ${argv.join(' ')} failed (exit ${res.status ?? res.signal}):\n${out}`);
  const line = out.split('\n').find((l) => l.startsWith('BENCH '));
  if (!line) throw new Error(`wrk printed no BENCH line:\n${out}`);
  const r = JSON.parse(line.slice(6));
  return {
    rps: r.requests / (r.duration_us / 1e6),
    p50: r.p50_us / 1000,
    p99: r.p99_us / 1000,
    errors: r.status_errors + r.socket_errors,
    requests: r.requests,
  };
}

function redisBenchmark(port, password, n) {
  // -a: a throwaway per-run password of a loopback-only redis.
  const argv = ['-h', '127.0.0.1', '-p', String(port), '-a', password, '-t', 'get', '-c', String(CONNECTIONS),
    '--threads', String(THREADS), '-n', String(n), '--csv'];
  const res = spawnSync('redis-benchmark', argv, {
    encoding: 'utf8',
    timeout: (DURATION * 4 + 30) * 1000,
  });
  if (res.status !== 0) throw new Error(`redis-benchmark failed (exit ${res.status ?? res.signal}):\n${res.stdout}${res.stderr}`);
  const row = res.stdout.trim().split('\n').find((l) => l.startsWith('"GET"'));
  if (!row) throw new Error(`redis-benchmark printed no GET row:\n${res.stdout}${res.stderr}`);
  const cols = row.split(',').map((c) => Number(c.replaceAll('"', '')));
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  return { rps: cols[1], p50: cols[4], p99: cols[6], errors: 0, requests: n };
}

async function seed(base, count) {
  const ids = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const body = JSON.stringify({ name: `Seed User ${i}`, email: `seed-${i}@bench.example.com` });
      const res = await httpRequest(`${base}/api/users`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      if (res.status !== 201) throw new Error(`seed POST ${i}: HTTP ${res.status} ${res.body}`);
      ids.push(JSON.parse(res.body.toString()).id);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return ids;
}

const fmt = (n, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

let stack = null;
onSignalCleanup(async () => stack && stack.cleanup());

try {
  requireTools(['redis-server', 'redis-benchmark', 'nginx', 'go', 'wrk']);
  stack = await startStack({
    apiLogLevel: 'warn',
    nginxAccessLog: false,
    failureLogsDir: path.join(ROOT, 'artifacts', 'bench-logs'),
    log,
  });
  const direct = stack.api.url;
  const viaNginx = stack.nginx.url;

  log(`seeding ${SEED} users ...`);
  const ids = await seed(direct, SEED);
  const idsFile = path.join(stack.runDir, 'ids.txt');
  fs.writeFileSync(idsFile, `${ids.join('\n')}\n`);

  const cases = [
    { name: 'GET /api/users/{id}', script: 'get-by-id.lua', args: () => [idsFile] },
    { name: 'GET /api/users?limit=20', script: 'list.lua', args: () => ['20'] },
    { name: 'POST /api/users', script: 'create.lua', args: (tag) => [tag] },
  ];
  const rows = [];
  let run = 0;
  for (const c of cases) {
    for (const [via, url] of [['API direct', direct], ['through nginx', viaNginx]]) {
      run += 1;
      const tag = `r${run}-${Date.now().toString(36)}`;
      if (WARMUP > 0) wrk(url, c.script, c.args(`${tag}w`), WARMUP);
      log(`wrk ${c.name} ${via} (${DURATION}s) ...`);
      rows.push({ name: c.name, via, ...wrk(url, c.script, c.args(tag), DURATION) });
    }
  }

  log(`redis-benchmark -t get (${DURATION}s) ...`);
  const probe = redisBenchmark(stack.redis.port, stack.redis.password, 20000);
  const n = Math.max(20000, Math.round(probe.rps * DURATION));
  rows.push({ name: 'redis GET (redis-benchmark)', via: 'redis direct', ...redisBenchmark(stack.redis.port, stack.redis.password, n) });

  console.log('');
  console.log(`sample-app benchmark: ${os.cpus().length} cores, wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}s ` +
    `(after ${WARMUP}s warm-up), ${SEED} seeded users, loopback; client and servers share the machine.`);
  console.log('');
  console.log('| endpoint | via | requests/s | p50 (ms) | p99 (ms) | errors |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.via} | ${fmt(r.rps)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${r.errors} |`);
  }
  process.exitCode = rows.some((r) => r.errors > 0) ? 1 : 0;
  if (process.exitCode) console.log('\nsome requests failed (errors column): see above');
} catch (err) {
  console.error(`bench: ${err.message}`);
  if (stack) console.error(stack.tails());
  process.exitCode = 1;
} finally {
  if (stack) await stack.cleanup();
}
