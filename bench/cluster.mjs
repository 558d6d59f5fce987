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
// the Redis primary's pod), then one row per container of the stack's pods
// and Traefik's: its CPU µs per request and CFS throttling in each measured
// run, and its memory peak. Those come from the pods' cgroups on this host
// (bench/cgroup.mjs: counters read right before and after each run, memory
// sampled every second), exact; where a pod's cgroup is not on this machine
// (a cluster elsewhere) from the metrics API, sampled, as the output says.
// The load generator's CPU is that of the wrk or openloop this process ran
// (its children's CPU in /proc/self/stat).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, httpRequest, requireTools, resolveHost } from '../e2e/stack.mjs';
import {
  TARGETS, byIdTargets, childCpuSeconds, cpuSnapshot, fmt, listRatio, log, openLoopRatio, parseRedisBenchmark, printTable,
  ratioTo, redisBenchmarkArgs, seed, settings, openLoop, openLoopBinary, wrkAsync,
} from './lib.mjs';
import {
  CGROUP_ROOT, cgroupVersion, cpuTotalLine, locatePod, podTable, readCpu, readMemory, runFigures,
} from './cgroup.mjs';

const K8S_VERSION = fs.readFileSync(path.join(ROOT, 'scripts', 'cluster', 'versions.sh'), 'utf8').match(/^K8S_VERSION=(\S+)/m)?.[1];
const CACHE = process.env.SAMPLE_APP_CLUSTER_CACHE ?? path.join(os.homedir(), '.cache', 'sample-app-cluster');
const STATE = process.env.SAMPLE_APP_CLUSTER_STATE ?? '/var/lib/sample-app-cluster';
const HTTP_PORT = Number(process.env.SAMPLE_APP_CLUSTER_HTTP_PORT ?? '18080');
const KUBECTL = path.join(CACHE, 'bin', `kubectl-${K8S_VERSION}`);
const KUBECONFIG = path.join(STATE, 'pki', 'admin.kubeconfig');

const STACK = process.env.BENCH_CLUSTER_STACK || 'dev';
const NS = `sample-app-${STACK}`;
// The host the stack file sets (dev and test deploy as written: sample-app.<stack>.local), sent to 127.0.0.1.
const HOST = process.env.BENCH_CLUSTER_HOST
  || fs.readFileSync(path.join(ROOT, `Pulumi.${STACK}.yaml`), 'utf8').match(/^\s*sample-app:host:\s*(\S+)\s*$/m)?.[1]
  || `sample-app.${STACK}.local`;
const PUBLIC_URL = `http://${HOST}:${HTTP_PORT}`;
resolveHost(HOST, '127.0.0.1'); // httpRequest sends HOST to the loopback port the cluster publishes its gateway on
const LOAD_URL = `http://127.0.0.1:${HTTP_PORT}`; // wrk and openloop, with the name in Host
const HOST_HEADER = [`Host: ${HOST}`];
const WORKLOADS = ['frontend', 'user-api', 'redis'];
const TRAEFIK = { ns: 'traefik', label: 'app.kubernetes.io/name=traefik' };
/** The pods whose CPU a request costs, in the order it passes them, with the name of what runs there. */
const PATH_PODS = [
  { ns: TRAEFIK.ns, selector: TRAEFIK.label, component: 'Traefik' },
  { ns: NS, selector: 'app.kubernetes.io/name=frontend', component: 'nginx' },
  { ns: NS, selector: 'app.kubernetes.io/name=user-api', component: 'API' },
  { ns: NS, selector: 'app.kubernetes.io/name=redis', component: 'Redis' },
];
const GENERATOR = 'load generator';
const GENERATOR_ROW = `host: ${GENERATOR} (wrk, openloop)`;
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

// ------------------------------------------------------------------ pod usage (cgroups of this host)

/**
 * The containers of the path's pods, each with its cgroup dirs on this host
 * (a single-container pod's own when the container's is not found) and its
 * limits; missing: the pods or containers whose cgroup is not here.
 */
function podTargets(version) {
  const targets = [];
  const missing = [];
  for (const { ns, selector, component } of PATH_PODS) {
    for (const p of pods(ns, selector)) {
      // The local cluster's kubelets put their pods below sample-app-cluster/<node> (scripts/cluster/node.sh).
      const found = version && locatePod(version, p.metadata.uid, p.status.qosClass, p.status.containerStatuses, fs.existsSync,
        undefined, [`sample-app-cluster/${p.spec.nodeName}`, '']);
      for (const c of p.spec.containers) {
        const label = `${ns}/${p.metadata.name}/${c.name}`;
        const dirs = found && (found.containers[c.name] || (p.spec.containers.length === 1 ? found.pod : null));
        if (!dirs) missing.push(label);
        else targets.push({ label, component, dirs, cpuLimit: c.resources?.limits?.cpu ?? 'none', memLimit: c.resources?.limits?.memory ?? 'none' });
      }
    }
  }
  return { targets, missing };
}

const readText = (f) => fs.readFileSync(f, 'utf8');

/** readCpu of every target now, by label; a target whose cgroup is gone is left out. */
function cpuNow(version, targets) {
  const out = new Map();
  for (const t of targets) {
    try {
      out.set(t.label, readCpu(version, t.dirs, readText));
    } catch {
      // the pod went away
    }
  }
  return out;
}

/**
 * Runs `run` (resolves when the load generator has exited) between two
 * snapshots of the pods' CPU counters, the machine's and this process'
 * finished children's (the generator); samples every target's memory every
 * second meanwhile. With acct.source 'metrics', samples the metrics API every
 * 5 s instead, and leaves the kubectl it runs for that out of the generator.
 */
async function measured(acct, targets, key, run) {
  const memPeak = new Map();
  const sampleMemory = () => {
    for (const t of targets) {
      try {
        memPeak.set(t.label, Math.max(memPeak.get(t.label) ?? 0, readMemory(acct.version, t.dirs, readText)));
      } catch {
        // the pod went away
      }
    }
  };
  let helpers = 0; // CPU s of the kubectl the metrics sampler ran
  let done = false;
  const sampleMetrics = async () => {
    for (let t = 0; !done && t < settings.duration + 60; t += 5) {
      await new Promise((r) => setTimeout(r, 5000));
      if (done) break;
      const c0 = childCpuSeconds();
      const u = podUsage();
      helpers += childCpuSeconds() - c0;
      if (!u) return;
      for (const [k, v] of u) {
        const p = acct.peaks.get(k) || { memory: 0, cpu: 0, cpuDuring: {} };
        p.memory = Math.max(p.memory, v.memory);
        p.cpuDuring[key] = Math.max(p.cpuDuring[key] || 0, v.cpu);
        acct.peaks.set(k, p);
      }
    }
  };

  const machine0 = cpuSnapshot({}).machine;
  const cpu0 = cpuNow(acct.version, targets);
  const gen0 = childCpuSeconds();
  let timer = null;
  let sampler = null;
  if (acct.source === 'cgroup') {
    sampleMemory();
    timer = setInterval(sampleMemory, 1000);
  }
  let result;
  try {
    const load = run();
    if (acct.source === 'metrics') sampler = sampleMetrics();
    result = await load;
  } finally {
    done = true;
    if (timer) clearInterval(timer);
  }
  const gen1 = childCpuSeconds();
  const cpu1 = cpuNow(acct.version, targets);
  const machine1 = cpuSnapshot({}).machine;
  if (acct.source === 'cgroup') sampleMemory();
  await sampler;
  return { result, cpu0, cpu1, memPeak, generatorS: gen1 - gen0 - helpers, machineS: machine1 - machine0 };
}

/** Files one measured run's figures under acct.rows (by label) and acct.rest (by case). */
function record(acct, targets, key, m, requests) {
  const rowOf = (label, init) => {
    if (!acct.rows.has(label)) acct.rows.set(label, { label, byCase: {}, memPeak: NaN, ...init });
    return acct.rows.get(label);
  };
  let pods = 0;
  for (const t of targets) {
    const row = rowOf(t.label, { component: t.component, cpuLimit: t.cpuLimit, memLimit: t.memLimit });
    const [b, a] = [m.cpu0.get(t.label), m.cpu1.get(t.label)];
    if (b && a) {
      row.byCase[key] = runFigures(b, a, requests);
      pods += row.byCase[key].cpuUsPerReq;
    }
    if (m.memPeak.has(t.label)) row.memPeak = Math.max(Number.isFinite(row.memPeak) ? row.memPeak : 0, m.memPeak.get(t.label));
  }
  const gen = (m.generatorS * 1e6) / requests;
  rowOf(GENERATOR_ROW, { component: GENERATOR, cpuLimit: '-', memLimit: '-' }).byCase[key] = { cpuUsPerReq: gen, throttledShare: NaN };
  acct.rest[key] = acct.source === 'cgroup' ? (m.machineS * 1e6) / requests - pods - gen : NaN;
}

/** How the per-pod figures are taken: from this host's cgroups when every pod's is here, else the metrics API. */
function accounting() {
  const version = cgroupVersion(fs.existsSync);
  const base = { version, rows: new Map(), rest: {}, peaks: new Map() };
  if (!version) return { ...base, source: 'metrics', why: `this host has no cgroup tree this bench reads at ${CGROUP_ROOT}` };
  const { targets, missing } = podTargets(version);
  if (missing.length) {
    return { ...base, source: 'metrics', why: `no cgroup on this host for ${missing.join(', ')} (the cluster runs on another machine?)` };
  }
  if (!targets.length) return { ...base, source: 'metrics', why: 'no pods found on the path' };
  return { ...base, source: 'cgroup' };
}

const CASES = [
  { key: 'byId', name: 'GET /api/users/{id}', short: 'by id', script: 'get-by-id.lua', args: (a) => [a.idsFile] },
  { key: 'list', name: 'GET /api/users?limit=20', short: 'list', script: 'list.lua', args: () => ['20'] },
  { key: 'create', name: 'POST /api/users', short: 'create', script: 'create.lua', args: (a, w) => [`c${w}${Date.now().toString(36)}`] },
];
const OPEN = { key: 'open', name: 'GET /api/users/{id} at 50 % of max, open loop', short: 'open loop' };
const ALL_CASES = [...CASES, OPEN];

/** The containers whose cgroups a run is measured from, found again before each run; none with the metrics API. */
const runTargets = (acct) => (acct.source === 'cgroup' ? podTargets(acct.version).targets : []);

/** One wrk case through the stack: warm-up, then the measured run between snapshots. */
async function measure(acct, c, args) {
  if (settings.warmup > 0) await wrkAsync(LOAD_URL, c.script, c.args(args, 'w'), settings.warmup, HOST_HEADER);
  const targets = runTargets(acct);
  log(`wrk ${c.name} through the cluster (${settings.duration}s) ...`);
  const m = await measured(acct, targets, c.key, () => wrkAsync(LOAD_URL, c.script, c.args(args, ''), settings.duration, HOST_HEADER));
  record(acct, targets, c.key, m, m.result.requests);
  return { ...m.result, name: c.name, via: 'cluster: Traefik → nginx → API' };
}

/** The open-loop case: bench/openloop at `rate`/s, measured as the wrk cases are. */
async function measureOpen(acct, generator, targetsFile, rate) {
  const targets = runTargets(acct);
  log(`openloop GET by id through the cluster at ${fmt(rate)}/s for ${settings.openDuration}s (open loop) ...`);
  const m = await measured(acct, targets, OPEN.key, () => openLoop(generator, targetsFile, rate, settings.openDuration, HOST_HEADER));
  record(acct, targets, OPEN.key, m, m.result.sent);
  return { ...m.result, rps: m.result.achieved, name: OPEN.name, via: 'cluster: Traefik → nginx → API' };
}

function printPodsCgroup(acct) {
  console.log('');
  console.log(`Per pod, from this host's cgroups (cgroup ${acct.version}, ${CGROUP_ROOT}): CPU time and CFS throttling counters read ` +
    'right before and after each measured run (not the warm-up), per request completed; "throttled" is the share of the ' +
    'CFS periods in the run in which the container hit its CPU limit, and the time it waited (- : no CPU limit, no periods); ' +
    'memory peak is the highest working set (usage less inactive file cache, as the kubelet counts it) sampled every second ' +
    'during the runs. The load generator is the wrk or openloop of the case, on the host.');
  console.log('');
  for (const l of podTable([...acct.rows.values()], ALL_CASES)) console.log(l);
  console.log('');
  console.log('Where a request\'s CPU goes on the cluster path (CPU µs per request, summed over the pods of each):');
  console.log('');
  for (const c of ALL_CASES) console.log(cpuTotalLine(c.name, [...acct.rows.values()], c.key, acct.rest[c.key]));
}

function printPodsMetrics(acct, limits) {
  const peaks = acct.peaks;
  console.log('');
  console.log(`Per pod, from the metrics API: ${acct.why}.`);
  if (peaks.size === 0) {
    console.log('Pod memory and CPU under load: the metrics API (/apis/metrics.k8s.io) did not answer; is metrics-server running?');
  } else {
    console.log('Pods under load (metrics API, sampled every 5 s during each measured run; metrics-server averages CPU over its own window,');
    console.log('so CPU is indicative):');
    console.log('');
    console.log(`| pod / container | memory peak (MiB) | memory limit | ${ALL_CASES.map((c) => `CPU (cores) during ${c.short}`).join(' | ')} |`);
    console.log(`|---|---:|---:|${ALL_CASES.map(() => '---:').join('|')}|`);
    for (const [k, p] of [...peaks].sort()) {
      const l = limits.get(k) || {};
      console.log(`| ${k} | ${fmt(p.memory / 1024 ** 2, 1)} | ${l.memory ?? '-'} | ${ALL_CASES.map((c) => fmt(p.cpuDuring[c.key], 2)).join(' | ')} |`);
    }
  }
  console.log('');
  const gen = acct.rows.get(GENERATOR_ROW);
  for (const c of ALL_CASES) console.log(`- ${c.name}: the ${GENERATOR} on this host, ${fmt(gen?.byCase[c.key]?.cpuUsPerReq, 1)} µs of CPU per request`);
}

export async function cluster() {
  try {
    requireTools(['wrk', 'go']);
    await checkUp();
    const generator = openLoopBinary();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sample-app-bench-cluster-'));
    try {
      log(`stack ${STACK} (${NS}) at ${PUBLIC_URL}; seeding ${settings.seed} users through it ...`);
      const ids = await seed(PUBLIC_URL, settings.seed);
      const args = { idsFile: path.join(dir, 'ids.txt') };
      fs.writeFileSync(args.idsFile, `${ids.join('\n')}\n`);

      const acct = accounting();
      log(acct.source === 'cgroup' ? `per-pod figures from this host's cgroups (${acct.version})` : `per-pod figures from the metrics API: ${acct.why}`);
      const closed = {};
      for (const c of CASES) closed[c.key] = await measure(acct, c, args);

      const primary = redisPrimary();
      log(`redis-benchmark -t get in pod ${primary} (the primary) ...`);
      const ceiling = { ...redisCeiling(primary), name: 'redis GET (redis-benchmark in the primary\'s pod)', via: `pod ${primary}` };

      const rate = closed.byId.rps / 2;
      const open = await measureOpen(acct, generator, byIdTargets(path.join(dir, 'targets.txt'), LOAD_URL, ids), rate);

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
        `limits. Open loop: bench/openloop ${settings.openDuration}s at 50 % of the closed-loop rate, latency from the intended send time ` +
        `(targets as for the local run: list ≥ ${TARGETS.listOfById} × by id, p99 ≤ ${TARGETS.openLoopP99Ms} ms).`);
      console.log('');
      printTable(rows, []);
      if (acct.source === 'cgroup') printPodsCgroup(acct);
      else printPodsMetrics(acct, podLimits());
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
