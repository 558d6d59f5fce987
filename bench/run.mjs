#!/usr/bin/env node
// Benchmark (not a test): the whole stack on this machine, loopback only.
// Starts redis + the API + nginx with e2e/stack.mjs, configured as shipped
// (the API logs at info, nginx keeps its access log), seeds users, then:
//   - closed loop (wrk): GET by id, list of 20 and create, direct to the API
//     and through nginx, and redis-benchmark GET, the ceiling, at the same
//     concurrency; with the CPU each process spent per request (/proc);
//   - open loop (bench/openloop): GET by id at a constant 50 % of the rate wrk
//     reached on that path, latencies from the intended send time;
//   - the API's own CPU and allocation profiles (PPROF_ADDR, a loopback
//     listener) under wrk load, filed by category (bench/profile.mjs).
// Prints one markdown table with the ratios to the ceiling and the targets,
// then the profile breakdown. Every run is bounded in time.
//
//   export PATH="$(scripts/ensure-node.sh):$PATH"
//   npm run bench                  # this machine
//   npm run bench -- --cluster     # the running local cluster (bench/cluster.mjs)
//
// Env: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (32), BENCH_THREADS (2),
//      BENCH_WARMUP (s, default 2), BENCH_SEED (users, default 1000),
//      BENCH_OPEN_DURATION (s, default 10), BENCH_PROFILE_DURATION (s, default 5),
// Needs wrk, redis-benchmark and redis-cli besides the e2e tools
// (e2e/install-deps.sh); bench/openloop is built with `go build` on first use.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, onSignalCleanup, requireTools, startStack } from '../e2e/stack.mjs';
import {
  TARGETS, byIdTargets, cpuPerRequest, cpuSnapshot, fmt, listRatio, log, openLoop, openLoopRatio,
  parseRedisBenchmark, printTable, ratioTo, redisBenchmarkArgs, seed, settings, openLoopBinary, wrk, wrkAsync,
} from './lib.mjs';
import { CATEGORIES, RUNTIME, breakdown, captureProfiles } from './profile.mjs';

const CASES = [
  { key: 'byId', name: 'GET /api/users/{id}', script: 'get-by-id.lua', args: (ctx) => [ctx.idsFile] },
  { key: 'list', name: 'GET /api/users?limit=20', script: 'list.lua', args: () => ['20'] },
  { key: 'create', name: 'POST /api/users', script: 'create.lua', args: (ctx, tag) => [tag] },
];

/** redis-cli against the stack's redis; the password goes in REDISCLI_AUTH, not argv. */
function redisCli(redis, ...args) {
  const res = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(redis.port), ...args], {
    encoding: 'utf8', env: { ...process.env, REDISCLI_AUTH: redis.password }, timeout: 10000,
  });
  if (res.status !== 0) throw new Error(`redis-cli ${args.join(' ')} failed:\n${res.stderr}`);
  return res.stdout;
}

/** µs Redis spent running scripts (EVAL/EVALSHA) and other commands, since the last CONFIG RESETSTAT. */
function redisCommandTime(redis) {
  const t = { lua: 0, commands: 0 };
  for (const m of redisCli(redis, 'INFO', 'commandstats').matchAll(/^cmdstat_([^:]+):calls=\d+,usec=(\d+)/gm)) {
    if (/^eval/.test(m[1])) t.lua += Number(m[2]);
    else t.commands += Number(m[2]);
  }
  return t;
}

/** Reads the address of the API's pprof listener from its log. */
async function pprofAddr(stack) {
  for (let i = 0; i < 50; i++) {
    const m = fs.readFileSync(stack.api.proc.logFile, 'utf8').match(/"msg":"pprof listening[^\n]*?"addr":"([^"]+)"/);
    if (m) return m[1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the API logged no "pprof listening" line (PPROF_ADDR)');
}

/** One measured closed-loop case, with CPU per request of each process and Redis' command time. */
function measure(ctx, c, via, url, run) {
  const tag = `r${run}-${Date.now().toString(36)}`;
  if (settings.warmup > 0) wrk(url, c.script, c.args(ctx, `${tag}w`), settings.warmup);
  log(`wrk ${c.name} ${via} (${settings.duration}s) ...`);
  redisCli(ctx.redis, 'CONFIG', 'RESETSTAT');
  const before = cpuSnapshot(ctx.groups);
  const r = wrk(url, c.script, c.args(ctx, tag), settings.duration);
  const cpu = cpuPerRequest(before, cpuSnapshot(ctx.groups), r.requests);
  cpu.lua = redisCommandTime(ctx.redis).lua / r.requests;
  return { ...r, name: c.name, via, cpu };
}

/** The profile of the API under wrk load on one case: CPU and allocations by category, per request. */
async function profileCase(ctx, c) {
  const seconds = settings.profileDuration;
  log(`profiling the API under ${c.name} (${seconds}s) ...`);
  const load = wrkAsync(ctx.direct, c.script, c.args(ctx, `p-${c.key}-${Date.now().toString(36)}`), seconds + 2);
  await new Promise((r) => setTimeout(r, 1000));
  const files = await captureProfiles(ctx.pprof, seconds, ctx.runDir, c.key);
  const r = await load;
  const requests = r.rps * seconds;
  return {
    cpu: breakdown(files.cpu, 'cpu/nanoseconds'),
    allocs: breakdown(files.allocs, 'alloc_objects/count'),
    bytes: breakdown(files.allocs, 'alloc_space/bytes'),
    requests,
  };
}

/** Prints a caption and the head of a table with one column per profiled case. */
function profileTableHead(caption, head) {
  console.log('');
  console.log(caption);
  console.log('');
  console.log(`| category | ${head.join(' | ')} |`);
  console.log(`|---|${head.map(() => '---:').join('|')}|`);
}

function printProfiles(profiles) {
  const keys = Object.keys(profiles);
  const head = keys.map((k) => CASES.find((c) => c.key === k).name);
  const categories = [...CATEGORIES.map(([n]) => n), RUNTIME];
  profileTableHead('Where the API\'s CPU goes, from its pprof CPU profile under wrk load (share of the process\'s CPU; each\n' +
    'sample filed under the innermost frame that belongs to a category, so syscalls count for whoever made them):', head);
  for (const cat of categories) {
    console.log(`| ${cat} | ${keys.map((k) => {
      const p = profiles[k].cpu;
      return `${fmt((100 * p.byCategory.get(cat)) / p.total, 1)} %`;
    }).join(' | ')} |`);
  }
  console.log(`| **API CPU per request (µs)** | ${keys.map((k) => fmt(profiles[k].cpu.total / 1000 / profiles[k].requests, 1)).join(' | ')} |`);
  console.log(`| **allocations per request** | ${keys.map((k) => fmt(profiles[k].allocs.total / profiles[k].requests, 0)).join(' | ')} |`);
  console.log(`| **bytes allocated per request** | ${keys.map((k) => fmt(profiles[k].bytes.total / profiles[k].requests, 0)).join(' | ')} |`);
  profileTableHead('Allocations per request by category (the same profiles):', head);
  for (const cat of categories) {
    const cells = keys.map((k) => profiles[k].allocs.byCategory.get(cat) / profiles[k].requests);
    if (cells.some((v) => v >= 0.5)) console.log(`| ${cat} | ${cells.map((v) => fmt(v, 1)).join(' | ')} |`);
  }
}

async function local() {
  requireTools(['redis-server', 'redis-benchmark', 'redis-cli', 'nginx', 'go', 'wrk']);
  const generator = openLoopBinary();
  let stack = null;
  onSignalCleanup(async () => stack && stack.cleanup());
  try {
    stack = await startStack({
      apiEnv: { PPROF_ADDR: '127.0.0.1:0' },
      failureLogsDir: path.join(ROOT, 'artifacts', 'bench-logs'),
      log,
    });
    const ctx = {
      direct: stack.api.url,
      viaNginx: stack.nginx.url,
      redis: stack.redis,
      runDir: stack.runDir,
      pprof: await pprofAddr(stack),
      // Each process runs in a process group of its own (nginx with its workers).
      groups: { api: stack.api.proc.child.pid, nginx: stack.nginx.proc.child.pid, redis: stack.redis.proc.child.pid },
    };
    log(`seeding ${settings.seed} users ...`);
    const ids = await seed(ctx.direct, settings.seed);
    ctx.idsFile = path.join(stack.runDir, 'ids.txt');
    fs.writeFileSync(ctx.idsFile, `${ids.join('\n')}\n`);

    const paths = [['API direct', ctx.direct], ['through nginx', ctx.viaNginx]];
    const closed = {};
    let run = 0;
    for (const c of CASES) {
      for (const [via, url] of paths) closed[`${c.key} ${via}`] = measure(ctx, c, via, url, ++run);
    }

    log(`redis-benchmark -t get (${settings.duration}s) ...`);
    const rb = (n) => {
      // -a: the throwaway per-run password of a loopback-only redis.
      const res = spawnSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(ctx.redis.port), '-a', ctx.redis.password, ...redisBenchmarkArgs(n)], {
        encoding: 'utf8', timeout: (settings.duration * 4 + 30) * 1000,
      });
      if (res.status !== 0) throw new Error(`redis-benchmark failed (exit ${res.status ?? res.signal}):\n${res.stdout}${res.stderr}`);
      return parseRedisBenchmark(res.stdout);
    };
    const probe = rb(20000);
    const n = Math.max(20000, Math.round(probe.rps * settings.duration));
    const before = cpuSnapshot(ctx.groups);
    const ceiling = { ...rb(n), name: 'redis GET (redis-benchmark)', via: 'redis direct' };
    ceiling.cpu = cpuPerRequest(before, cpuSnapshot(ctx.groups), n);

    const open = {};
    for (const [via, url] of paths) {
      const max = closed[`byId ${via}`];
      const rate = max.rps / 2;
      log(`openloop GET by id ${via} at ${fmt(rate)}/s for ${settings.openDuration}s (open loop) ...`);
      const targets = byIdTargets(path.join(stack.runDir, `targets-${via.replace(/\W/g, '')}.txt`), url, ids);
      const o = await openLoop(generator, targets, rate, settings.openDuration, [], ctx.groups);
      open[via] = { ...o, rps: o.achieved, name: 'GET /api/users/{id} at 50 % of max, open loop', via };
    }

    const profiles = {};
    for (const c of CASES) profiles[c.key] = await profileCase(ctx, c);

    const rows = [];
    const byIdD = closed['byId API direct'];
    const byIdN = closed['byId through nginx'];
    rows.push({ ...byIdD, ratio: ratioTo(byIdD, ceiling, TARGETS.byIdDirect) });
    rows.push({ ...byIdN, ratio: ratioTo(byIdN, ceiling, TARGETS.byIdNginx) });
    rows.push({ ...closed['list API direct'], ratio: listRatio(closed['list API direct'], byIdD, ceiling) });
    rows.push({ ...closed['list through nginx'], ratio: listRatio(closed['list through nginx'], byIdN, ceiling) });
    rows.push({ ...closed['create API direct'], ratio: ratioTo(closed['create API direct'], ceiling, TARGETS.create) });
    rows.push({ ...closed['create through nginx'], ratio: ratioTo(closed['create through nginx'], ceiling) });
    rows.push({ ...open['API direct'], ratio: openLoopRatio(open['API direct'], byIdD) });
    rows.push({ ...open['through nginx'], ratio: openLoopRatio(open['through nginx'], byIdN) });
    rows.push({ ...ceiling, ratio: { text: '1.00 (the ceiling)' } });

    console.log('');
    console.log(`sample-app benchmark: ${os.cpus().length} cores, wrk -t${settings.threads} -c${settings.connections} -d${settings.duration}s ` +
      `(after ${settings.warmup}s warm-up), ${settings.seed} seeded users, loopback; load generators and servers share the machine; ` +
      `the API at LOG_LEVEL=info and nginx with its access log, as shipped. Open loop: bench/openloop ${settings.openDuration}s at a constant rate on ${settings.connections} connections, ` +
      'latency from each request\'s intended send time (corrected for coordinated omission). CPU µs/req: CPU time of each process ' +
      'per request (/proc); "other" is the rest of the machine (the load generator, and anything else running); "redis Lua" is the ' +
      'part of Redis\' command time spent in scripts (INFO commandstats).');
    console.log('');
    printTable(rows, [['api', 'API'], ['nginx', 'nginx'], ['redis', 'redis'], ['lua', 'redis Lua'], ['other', 'other']]);
    printProfiles(profiles);

    const failed = [...Object.values(closed), ...Object.values(open)].some((r) => r.errors > 0);
    process.exitCode = failed ? 1 : 0;
    if (failed) console.log('\nsome requests failed (errors column): see above');
  } catch (err) {
    console.error(`bench: ${err.message}`);
    if (stack) console.error(stack.tails());
    process.exitCode = 1;
  } finally {
    if (stack) await stack.cleanup();
  }
}

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--cluster');
if (unknown.length) {
  console.error(`bench: unknown argument(s) ${unknown.join(' ')}; usage: npm run bench [-- --cluster]`);
  process.exitCode = 2;
} else if (args.includes('--cluster')) {
  const { cluster } = await import('./cluster.mjs');
  await cluster();
} else {
  await local();
}
