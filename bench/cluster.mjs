// `npm run bench -- --cluster`: the benchmark of run.mjs against a running
// local cluster (scripts/cluster), through its whole path: Traefik -> nginx
// (frontend) -> API (user-api) -> Redis, all in pods with their real limits.
// It never starts, stops or changes the cluster: with none up, it says so and
// exits 2. It writes only users, through the API, into the stack it measures.
//
// Reached as scripts/cluster/env.ts and test.ts reach it: kubectl
// $HOME/.cache/sample-app-cluster/bin/kubectl-<K8S_VERSION of versions.sh>
// with the admin kubeconfig under /var/lib/sample-app-cluster/pki, and the
// stack at http://sample-app.<stack>.localhost:18080, sent to 127.0.0.1:18080
// with that name in Host. The same SAMPLE_APP_CLUSTER_* variables move them.
//
// Env: BENCH_CLUSTER_STACK (default dev: namespace sample-app-dev), and the
// BENCH_* of run.mjs. Prints one table (ratios to redis-benchmark GET run in
// the Redis primary's pod) and the memory and CPU of each pod under load
// (metrics API).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, httpRequest, requireTools } from '../e2e/stack.mjs';
import {
  TARGETS, byIdTargets, fmt, listRatio, log, openLoop, openLoopRatio, parseRedisBenchmark, printTable, ratioTo,
  redisBenchmarkArgs, seed, settings, vegetaBinary, wrkAsync,
} from './lib.mjs';

const K8S_VERSION = fs.readFileSync(path.join(ROOT, 'scripts', 'cluster', 'versions.sh'), 'utf8').match(/^K8S_VERSION=(\S+)/m)?.[1];
const CACHE = process.env.SAMPLE_APP_CLUSTER_CACHE ?? path.join(os.homedir(), '.cache', 'sample-app-cluster');
const STATE = process.env.SAMPLE_APP_CLUSTER_STATE ?? '/var/lib/sample-app-cluster';
const HTTP_PORT = Number(process.env.SAMPLE_APP_CLUSTER_HTTP_PORT ?? '18080');
const KUBECTL = path.join(CACHE, 'bin', `kubectl-${K8S_VERSION}`);
const KUBECONFIG = path.join(STATE, 'pki', 'admin.kubeconfig');

const STACK = process.env.BENCH_CLUSTER_STACK || 'dev';
const NS = `sample-app-${STACK}`;
const HOST = `sample-app.${STACK}.localhost`;
const PUBLIC_URL = `http://${HOST}:${HTTP_PORT}`; // httpRequest sends *.localhost to 127.0.0.1
const LOAD_URL = `http://127.0.0.1:${HTTP_PORT}`; // wrk and vegeta, with the name in Host
const HOST_HEADER = [`Host: ${HOST}`];
const WORKLOADS = ['frontend', 'user-api', 'redis'];
const TRAEFIK = { ns: 'traefik', label: 'app.kubernetes.io/name=traefik' };
const REDIS_PASSWORD_FILE = '/etc/redis/auth/password'; // components/redisWorkload.ts REDIS_PATHS.auth

/** Thrown when there is no cluster, or no stack, to measure. */
class NotUp extends Error {}

function kubectl(args, { timeout = 30000 } = {}) {
  const res = spawnSync(KUBECTL, ['--kubeconfig', KUBECONFIG, ...args], { encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  return { ok: res.status === 0, stdout: res.stdout || '', stderr: (res.stderr || '') + (res.error ? res.error.message : '') };
}

function kubectlJson(args) {
  const r = kubectl([...args, '-o', 'json']);
  if (!r.ok) throw new Error(`kubectl ${args.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

const HOW_TO_START = 'start it with `npm run cluster -- up` and deploy a stack (`npm run cluster:test` deploys dev and test)';

/** Fails with a clear NotUp unless the cluster, the stack's pods and its URL all answer. */
async function checkUp() {
  if (!K8S_VERSION) throw new Error('scripts/cluster/versions.sh has no K8S_VERSION');
  if (!fs.existsSync(KUBECTL)) throw new NotUp(`no local cluster: kubectl ${KUBECTL} is not there (the cluster was never built here); ${HOW_TO_START}`);
  if (!fs.existsSync(KUBECONFIG)) throw new NotUp(`no local cluster: no admin kubeconfig at ${KUBECONFIG}; ${HOW_TO_START}`);
  const ready = kubectl(['get', '--raw', '/readyz'], { timeout: 5000 });
  if (!ready.ok) throw new NotUp(`no local cluster is up: its API server does not answer /readyz (${ready.stderr.trim().split('\n')[0]}); ${HOW_TO_START}`);
  if (!kubectl(['get', 'namespace', NS]).ok) throw new NotUp(`the cluster is up but has no stack ${STACK} (namespace ${NS}); deploy it, or set BENCH_CLUSTER_STACK`);
  for (const w of WORKLOADS) {
    const ps = pods(NS, `app.kubernetes.io/name=${w}`);
    if (!ps.length || !ps.every(isReady)) throw new NotUp(`stack ${STACK}: the ${w} pods are not all Ready (${ps.length} found); wait for the rollout`);
  }
  let res;
  try {
    res = await httpRequest(`${PUBLIC_URL}/api/users?limit=1`, { timeoutMs: 5000 });
  } catch (err) {
    throw new NotUp(`${PUBLIC_URL} does not answer (${err.message}): is the cluster's ingress on port ${HTTP_PORT}?`);
  }
  if (res.status !== 200) throw new NotUp(`${PUBLIC_URL}/api/users?limit=1 answers HTTP ${res.status}, not 200`);
}

function pods(ns, selector) {
  return kubectlJson(['-n', ns, 'get', 'pods', '-l', selector]).items.filter((p) => !p.metadata.deletionTimestamp);
}

const isReady = (p) => (p.status.conditions || []).some((c) => c.type === 'Ready' && c.status === 'True');

/** Runs a shell command in the redis container of a pod; the password is read there from the Secret's file. */
function redisExec(pod, script, timeout = 60000) {
  const r = kubectl(['-n', NS, 'exec', pod, '-c', 'redis', '--', 'sh', '-c', script], { timeout });
  if (!r.ok) throw new Error(`kubectl exec ${pod}: ${r.stderr}`);
  return r.stdout;
}

/** The Redis pod that is the primary now (ROLE says master). */
function redisPrimary() {
  for (const p of pods(NS, 'app.kubernetes.io/name=redis')) {
    const role = redisExec(p.metadata.name, `REDISCLI_AUTH="$(cat ${REDIS_PASSWORD_FILE})" redis-cli -p 6379 role | head -n 1`, 15000);
    if (role.trim() === 'master') return p.metadata.name;
  }
  throw new Error(`stack ${STACK}: no Redis pod says it is the primary`);
}

/** redis-benchmark -t get in the primary's own pod: the ceiling a read through the stack cannot beat there. */
function redisCeiling(pod) {
  const run = (n) => parseRedisBenchmark(redisExec(pod,
    `redis-benchmark -h 127.0.0.1 -p 6379 -a "$(cat ${REDIS_PASSWORD_FILE})" ${redisBenchmarkArgs(n).join(' ')} 2>/dev/null`,
    (settings.duration * 4 + 60) * 1000));
  const probe = run(20000);
  return run(Math.max(20000, Math.round(probe.rps * settings.duration)));
}

// ------------------------------------------------------------------ pod usage (metrics API)

const BYTES = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 };
const bytesOf = (q) => {
  const m = String(q).match(/^(\d+(?:\.\d+)?)([KMG]i?)?$/);
  return m ? Number(m[1]) * (BYTES[m[2]] || 1) : NaN;
};
const coresOf = (q) => {
  const m = String(q).match(/^(\d+(?:\.\d+)?)(n|u|m)?$/);
  return m ? Number(m[1]) / ({ n: 1e9, u: 1e6, m: 1e3 }[m[2]] || 1) : NaN;
};

/** Memory and CPU of every container of the stack's pods and Traefik's, now; null without a metrics API. */
function podUsage() {
  const out = new Map();
  for (const ns of [NS, TRAEFIK.ns]) {
    const r = kubectl(['get', '--raw', `/apis/metrics.k8s.io/v1beta1/namespaces/${ns}/pods`], { timeout: 10000 });
    if (!r.ok) return null;
    for (const p of JSON.parse(r.stdout).items) {
      for (const c of p.containers) out.set(`${ns}/${p.metadata.name}/${c.name}`, { memory: bytesOf(c.usage.memory), cpu: coresOf(c.usage.cpu) });
    }
  }
  return out;
}

/** Memory limits of the containers podUsage names. */
function podLimits() {
  const out = new Map();
  for (const ns of [NS, TRAEFIK.ns]) {
    for (const p of kubectlJson(['-n', ns, 'get', 'pods']).items) {
      for (const c of p.spec.containers) out.set(`${ns}/${p.metadata.name}/${c.name}`, c.resources?.limits || {});
    }
  }
  return out;
}

/** wrk through the stack while sampling pod usage every 5 s; keeps each container's peak. */
async function measure(c, args, peaks) {
  if (settings.warmup > 0) await wrkAsync(LOAD_URL, c.script, c.args(args, 'w'), settings.warmup, HOST_HEADER);
  log(`wrk ${c.name} through the cluster (${settings.duration}s) ...`);
  const load = wrkAsync(LOAD_URL, c.script, c.args(args, ''), settings.duration, HOST_HEADER);
  let done = false;
  load.finally(() => { done = true; });
  const sampler = (async () => {
    for (let t = 0; !done && t < settings.duration + 30; t += 5) {
      await new Promise((r) => setTimeout(r, 5000));
      if (done) break;
      const u = podUsage();
      if (!u) return;
      for (const [k, v] of u) {
        const p = peaks.get(k) || { memory: 0, cpu: 0, cpuDuring: {} };
        p.memory = Math.max(p.memory, v.memory);
        p.cpuDuring[c.key] = Math.max(p.cpuDuring[c.key] || 0, v.cpu);
        peaks.set(k, p);
      }
    }
  })();
  const r = await load;
  await sampler;
  return { ...r, name: c.name, via: 'cluster: Traefik → nginx → API' };
}

const CASES = [
  { key: 'byId', name: 'GET /api/users/{id}', script: 'get-by-id.lua', args: (a) => [a.idsFile] },
  { key: 'list', name: 'GET /api/users?limit=20', script: 'list.lua', args: () => ['20'] },
  { key: 'create', name: 'POST /api/users', script: 'create.lua', args: (a, w) => [`c${w}${Date.now().toString(36)}`] },
];

function printPods(peaks, limits) {
  console.log('');
  if (peaks.size === 0) {
    console.log('Pod memory and CPU under load: the metrics API (/apis/metrics.k8s.io) did not answer; is metrics-server running?');
    return;
  }
  console.log('Pods under load (metrics API, sampled every 5 s during each wrk run; metrics-server averages CPU over its own window,');
  console.log('so CPU is indicative):');
  console.log('');
  console.log(`| pod / container | memory peak (MiB) | memory limit | ${CASES.map((c) => `CPU (cores) during ${c.name}`).join(' | ')} |`);
  console.log(`|---|---:|---:|${CASES.map(() => '---:').join('|')}|`);
  for (const [k, p] of [...peaks].sort()) {
    const l = limits.get(k) || {};
    console.log(`| ${k} | ${fmt(p.memory / 1024 ** 2, 1)} | ${l.memory ?? '-'} | ${CASES.map((c) => fmt(p.cpuDuring[c.key], 2)).join(' | ')} |`);
  }
}

export async function cluster() {
  try {
    requireTools(['wrk', 'go']);
    await checkUp();
    const vegeta = vegetaBinary();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sample-app-bench-cluster-'));
    try {
      log(`stack ${STACK} (${NS}) at ${PUBLIC_URL}; seeding ${settings.seed} users through it ...`);
      const ids = await seed(PUBLIC_URL, settings.seed);
      const args = { idsFile: path.join(dir, 'ids.txt') };
      fs.writeFileSync(args.idsFile, `${ids.join('\n')}\n`);

      const peaks = new Map();
      const closed = {};
      for (const c of CASES) closed[c.key] = await measure(c, args, peaks);

      const primary = redisPrimary();
      log(`redis-benchmark -t get in pod ${primary} (the primary) ...`);
      const ceiling = { ...redisCeiling(primary), name: 'redis GET (redis-benchmark in the primary\'s pod)', via: `pod ${primary}` };

      const rate = closed.byId.rps / 2;
      log(`vegeta GET by id through the cluster at ${fmt(rate)}/s for ${settings.openDuration}s (open loop) ...`);
      const o = openLoop(vegeta, byIdTargets(path.join(dir, 'targets.txt'), LOAD_URL, ids), rate, settings.openDuration, dir, HOST_HEADER);
      const open = { ...o, rps: o.achieved, name: 'GET /api/users/{id} at 50 % of max, open loop', via: closed.byId.via };

      const rows = [
        { ...closed.byId, ratio: ratioTo(closed.byId, ceiling) },
        { ...closed.list, ratio: listRatio(closed.list, closed.byId, ceiling) },
        { ...closed.create, ratio: ratioTo(closed.create, ceiling) },
        { ...open, ratio: openLoopRatio(open, closed.byId) },
        { ...ceiling, ratio: { text: '1.00 (the ceiling)' } },
      ];
      console.log('');
      console.log(`sample-app benchmark, local cluster, stack ${STACK}: ${os.cpus().length} cores shared by the cluster and the load generator, ` +
        `wrk -t${settings.threads} -c${settings.connections} -d${settings.duration}s (after ${settings.warmup}s warm-up) to ${LOAD_URL} ` +
        `with Host: ${HOST}; the ceiling is redis-benchmark -t get at the same concurrency inside the Redis primary's pod, under that pod's ` +
        `limits. Open loop: vegeta ${settings.openDuration}s at 50 % of the closed-loop rate, latency from the intended send time ` +
        `(targets as for the local run: list ≥ ${TARGETS.listOfById} × by id, p99 ≤ ${TARGETS.openLoopP99Ms} ms).`);
      console.log('');
      printTable(rows, []);
      printPods(peaks, podLimits());
      process.exitCode = [...Object.values(closed), open].some((r) => r.errors > 0) ? 1 : 0;
      if (process.exitCode) console.log('\nsome requests failed (errors column): see above');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } catch (err) {
    if (err instanceof NotUp) {
      console.error(`bench --cluster: ${err.message}`);
      process.exitCode = 2;
      return;
    }
    console.error(`bench --cluster: ${err.message}`);
    process.exitCode = 1;
  }
}
