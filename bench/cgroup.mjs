// Per-pod figures of `npm run bench -- --cluster` from the host's cgroups,
// exact where metrics-server only samples: a pod of the local cluster is a
// cgroup of this machine, so its CPU time (ns), its CFS throttling counters
// and its memory can be read before and after a run.
//
//   cgroup v1 (cgroupfs driver): <root>/<controller>/kubepods[/<qos>]/pod<UID>[/<container id>]
//     cpuacct.usage (ns), cpu.stat (nr_periods, nr_throttled, throttled_time ns),
//     memory.usage_in_bytes and memory.stat (total_inactive_file)
//   cgroup v2: <root>/kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<UID, - as _>.slice[/cri-containerd-<id>.scope]
//     cpu.stat (usage_usec, nr_periods, nr_throttled, throttled_usec), memory.current, memory.stat (inactive_file)
// Either driver (cgroupfs or systemd) on either version. <qos> is burstable or
// besteffort; a Guaranteed pod sits right under kubepods.
//
// Everything here is pure but for the `exists` and `read` functions passed in,
// so the tests run on fixture strings; bench/cluster.mjs passes fs.

import { fmt } from './lib.mjs';

export const CGROUP_ROOT = '/sys/fs/cgroup';

/** 'v2' (unified), 'v1' (a cpuacct hierarchy), or null: no cgroup tree this bench can read. */
export function cgroupVersion(exists, root = CGROUP_ROOT) {
  if (exists(`${root}/cgroup.controllers`)) return 'v2';
  if (exists(`${root}/cpuacct`)) return 'v1';
  return null;
}

/** `key value` lines (cpu.stat, memory.stat) as numbers by key. */
export function parseFlatKeyed(text) {
  const out = {};
  for (const line of String(text).split('\n')) {
    const m = line.trim().match(/^(\S+)\s+(-?\d+)$/);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

const QOS_DIR = { Burstable: 'burstable', BestEffort: 'besteffort', Guaranteed: '' };

/** A pod's cgroup, relative to a hierarchy's root, under the cgroupfs and the systemd driver. */
export function podCgroupPaths(uid, qosClass) {
  const qos = QOS_DIR[qosClass];
  if (qos === undefined) throw new Error(`unknown QoS class ${qosClass}`);
  const u = uid.replaceAll('-', '_');
  return qos
    ? [`kubepods/${qos}/pod${uid}`, `kubepods.slice/kubepods-${qos}.slice/kubepods-${qos}-pod${u}.slice`]
    : [`kubepods/pod${uid}`, `kubepods.slice/kubepods-pod${u}.slice`];
}

/** The names a container's cgroup has inside its pod's, from its status' containerID (`containerd://<id>`). */
export function containerCgroupNames(containerID) {
  const id = String(containerID).replace(/^[a-z-]+:\/\//, '');
  return [id, `cri-containerd-${id}.scope`, `crio-${id}.scope`, `docker-${id}.scope`];
}

/** The dirs of one cgroup per controller this bench reads: { cpuacct, cpu, memory }, all one dir on v2. */
const dirsOf = (version, root, rel) => (version === 'v2'
  ? { cpuacct: `${root}/${rel}`, cpu: `${root}/${rel}`, memory: `${root}/${rel}` }
  : { cpuacct: `${root}/cpuacct/${rel}`, cpu: `${root}/cpu/${rel}`, memory: `${root}/memory/${rel}` });

const cpuFile = (version, dirs) => (version === 'v2' ? `${dirs.cpu}/cpu.stat` : `${dirs.cpuacct}/cpuacct.usage`);

/**
 * A pod's cgroup on this host and its containers': { pod, containers: { name: dirs } },
 * a container missing where its cgroup is not found; null when the pod's is
 * not here (a cluster on another machine). statuses: the pod's containerStatuses;
 * parents: the kubelet's cgroupRoot, tried in turn ('' for the hierarchy's root;
 * the local cluster's nodes put their pods below sample-app-cluster/<node>).
 */
export function locatePod(version, uid, qosClass, statuses, exists, root = CGROUP_ROOT, parents = ['']) {
  const rels = parents.flatMap((parent) => podCgroupPaths(uid, qosClass).map((rel) => (parent ? `${parent}/${rel}` : rel)));
  for (const rel of rels) {
    const pod = dirsOf(version, root, rel);
    if (!exists(cpuFile(version, pod))) continue;
    const containers = {};
    for (const s of statuses || []) {
      if (!s.containerID) continue;
      for (const name of containerCgroupNames(s.containerID)) {
        const dirs = dirsOf(version, root, `${rel}/${name}`);
        if (exists(cpuFile(version, dirs))) {
          containers[s.name] = dirs;
          break;
        }
      }
    }
    return { pod, containers };
  }
  return null;
}

/** CPU counters of a cgroup now: { cpuNs, periods, throttled, throttledNs }; read(path) returns the file's text. */
export function readCpu(version, dirs, read) {
  if (version === 'v2') {
    const s = parseFlatKeyed(read(`${dirs.cpu}/cpu.stat`));
    if (!Number.isFinite(s.usage_usec)) throw new Error(`${dirs.cpu}/cpu.stat has no usage_usec`);
    return { cpuNs: s.usage_usec * 1000, periods: s.nr_periods ?? 0, throttled: s.nr_throttled ?? 0, throttledNs: (s.throttled_usec ?? 0) * 1000 };
  }
  const cpuNs = Number(String(read(`${dirs.cpuacct}/cpuacct.usage`)).trim());
  if (!Number.isFinite(cpuNs)) throw new Error(`${dirs.cpuacct}/cpuacct.usage is not a number`);
  const s = parseFlatKeyed(read(`${dirs.cpu}/cpu.stat`));
  return { cpuNs, periods: s.nr_periods ?? 0, throttled: s.nr_throttled ?? 0, throttledNs: s.throttled_time ?? 0 };
}

/**
 * A cgroup's memory now, as the kubelet and metrics-server count it (the
 * working set): usage minus the inactive file cache the kernel can drop
 * (v1 memory.usage_in_bytes − total_inactive_file, v2 memory.current − inactive_file).
 */
export function readMemory(version, dirs, read) {
  const v2 = version === 'v2';
  const usage = Number(String(read(`${dirs.memory}/${v2 ? 'memory.current' : 'memory.usage_in_bytes'}`)).trim());
  if (!Number.isFinite(usage)) throw new Error(`${dirs.memory}: no memory usage`);
  const s = parseFlatKeyed(read(`${dirs.memory}/memory.stat`));
  const inactive = (v2 ? s.inactive_file : s.total_inactive_file ?? s.inactive_file) ?? 0;
  return Math.max(0, usage - inactive);
}

/**
 * What a cgroup spent over one run, from readCpu before and after it:
 * CPU µs per request completed, the share of its CFS periods that were
 * throttled (NaN without any period: no CPU limit, or it never ran), and the
 * time it was throttled (ms).
 */
export function runFigures(before, after, requests) {
  const periods = after.periods - before.periods;
  return {
    cpuUsPerReq: requests > 0 ? (after.cpuNs - before.cpuNs) / 1000 / requests : NaN,
    throttledShare: periods > 0 ? (after.throttled - before.throttled) / periods : NaN,
    throttledMs: (after.throttledNs - before.throttledNs) / 1e6,
    periods,
  };
}

const cell = (x) => ` ${x} |`;
const throttledCell = (f) => (f && Number.isFinite(f.throttledShare)
  ? `${fmt(100 * f.throttledShare, 1)} % (${fmt(f.throttledMs, 0)} ms)` : '-');

/**
 * The pod table, as Markdown lines: one row per container ({ label, cpuLimit,
 * memLimit, memPeak (bytes), byCase: { key: runFigures } }), columns CPU
 * limit, memory peak, memory limit, then per case ({ key, short }) the CPU
 * µs per request and the throttled share (with the throttled ms).
 */
export function podTable(rows, cases) {
  const lines = [
    `| pod / container | CPU limit | memory peak (MiB) | memory limit |${cases.map((c) => cell(`${c.short} CPU µs/req`) + cell(`${c.short} throttled`)).join('')}`,
    `|---|---:|---:|---:|${cases.map(() => '---:|---:|').join('')}`,
  ];
  for (const r of rows) {
    const mem = Number.isFinite(r.memPeak) ? fmt(r.memPeak / 1024 ** 2, 1) : '-';
    lines.push(`| ${r.label} | ${r.cpuLimit ?? '-'} | ${mem} | ${r.memLimit ?? '-'} |` +
      cases.map((c) => cell(fmt(r.byCase[c.key]?.cpuUsPerReq, 1)) + cell(throttledCell(r.byCase[c.key]))).join(''));
  }
  return lines;
}

/**
 * Where one case's CPU per request goes: the rows' µs/req summed by
 * component (in the order they first appear; a row without a figure for the
 * case makes its component, and the total, '-'), as one line.
 * rest: µs/req of the machine outside these rows, or NaN.
 */
export function cpuTotalLine(name, rows, key, rest = NaN) {
  const parts = new Map();
  for (const r of rows) parts.set(r.component, (parts.get(r.component) ?? 0) + (r.byCase[key]?.cpuUsPerReq ?? NaN));
  const total = [...parts.values()].reduce((a, b) => a + b, 0);
  const sum = [...parts].map(([c, v]) => `${c} ${fmt(v, 1)}`).join(' + ');
  // /proc/stat and the cgroups count apart: a rest below zero is that skew, not negative work.
  const tail = !Number.isFinite(rest) ? ''
    : rest < 0 ? `; the rest of the machine (kubelet, containerd, the API server, …) under the skew of /proc/stat against the cgroups (${fmt(rest, 1)})`
      : `; the rest of the machine (kubelet, containerd, the API server, …) another ${fmt(rest, 1)}`;
  return `- ${name}: ${fmt(total, 1)} µs of CPU per request = ${sum}${tail}`;
}
