// Where the API's time and allocations go, from its own pprof profiles.
//
// The API serves net/http/pprof on a loopback listener of its own when
// PPROF_ADDR is set (app/api/README.md). captureProfiles() takes a CPU and an
// allocation profile over the same window while load runs; breakdown() reads
// one with `go tool pprof -raw` and files every sample under one category:
// the innermost frame of its stack that belongs to a category decides, so a
// syscall made by go-redis counts as "Redis client", a malloc made by
// encoding/json as "JSON". Stacks with no such frame are the Go runtime's own
// (scheduler, netpoll, GC workers).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { httpRequest } from '../e2e/stack.mjs';

// Checked in this order on each frame, innermost first.
export const CATEGORIES = [
  ['GC', /^runtime\.(gcBgMarkWorker|gcAssistAlloc|gcDrain|bgsweep|bgscavenge|markroot|scanobject|gcStart)/],
  ['logging (slog)', /^log\/slog\.|^log\./],
  ['JSON', /^encoding\/json\./],
  ['metrics (Prometheus)', /^github\.com\/prometheus\//],
  // The Store's batcher (app/api/internal/users/batch.go) is the client's front: its queueing counts here.
  ['Redis client (go-redis, its socket I/O, the batcher)', /^github\.com\/redis\/go-redis\/|\/internal\/users\.\(\*batcher\)\.|\/internal\/redisha\./],
  ['routing and middleware', new RegExp([
    String.raw`^net/http\.\(\*ServeMux\)`, String.raw`^net/http\.\(\*routingNode\)`, String.raw`^net/http\.\(\*pattern\)`,
    String.raw`^net/http\.(cleanPath|stripHostPort|firstSegment)$`,
    String.raw`/httpapi\.New\.(\(\*api\)\.instrument|jsonRouteErrors)`, String.raw`/httpapi\.\(\*(statusRecorder|jsonErrorWriter)\)`,
  ].join('|'))],
  ['handlers and validation', /^github\.com\/sample-app\/|^github\.com\/google\/uuid\./],
  ['HTTP: read and parse requests', /^net\/http\.(\(\*conn\)\.readRequest|readRequest|parseRequestLine|readTransfer|\(\*connReader\)|\(\*body\)|newTextprotoReader)|^net\/textproto\./],
  ['HTTP: write responses', /^net\/http\.(\(\*response\)|\(\*chunkWriter\)|checkConnErrorWriter|Header\.|\(\*conn\)\.finalFlush|newBufioWriterSize)/],
  ['HTTP: connection handling', /^net\/http\./],
];
export const RUNTIME = 'Go runtime (scheduler, netpoll, timers)';

/** The category of a stack of function names, innermost first. */
export function categorize(frames) {
  for (const fn of frames) {
    for (const [name, re] of CATEGORIES) if (re.test(fn)) return name;
  }
  return RUNTIME;
}

/** Parses `go tool pprof -raw` output: sample types, and samples as { values, frames }. */
export function parseRaw(text) {
  const lines = text.split('\n');
  const locations = new Map();
  const samples = [];
  let types = [];
  let section = '';
  let lastLoc = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const header = line.match(/^(Samples|Locations|Mappings):?\s*$/);
    if (header) {
      section = header[1];
      if (section === 'Samples') types = lines[++i].trim().split(/\s+/);
      continue;
    }
    if (section === 'Samples') {
      const m = line.match(/^\s*([\d\s]+):\s*([\d\s]*)$/);
      if (m) samples.push({ values: m[1].trim().split(/\s+/).map(Number), locs: m[2].trim().split(/\s+/).filter(Boolean) });
    } else if (section === 'Locations') {
      const m = line.match(/^\s*(\d+): 0x[0-9a-f]+ M=\d+ (\S+)/);
      if (m) {
        lastLoc = [m[2]];
        locations.set(m[1], lastLoc);
      } else if (lastLoc && /^\s{6,}\S/.test(line)) {
        lastLoc.push(line.trim().split(/\s+/)[0]); // an inlined caller of the frame above
      }
    }
  }
  return {
    types,
    samples: samples.map((s) => ({ values: s.values, frames: s.locs.flatMap((id) => locations.get(id) || []) })),
  };
}

/**
 * Totals of one sample type (e.g. "cpu/nanoseconds", "alloc_objects/count")
 * of a profile file, by category: { total, byCategory: Map(name -> value) }.
 */
export function breakdown(file, sampleType) {
  const res = spawnSync('go', ['tool', 'pprof', '-raw', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 120000 });
  if (res.status !== 0) throw new Error(`go tool pprof -raw ${file} failed:\n${res.stderr}`);
  const { types, samples } = parseRaw(res.stdout);
  const index = types.indexOf(sampleType);
  if (index < 0) throw new Error(`${file} has no ${sampleType} samples (it has ${types.join(', ')})`);
  const byCategory = new Map([...CATEGORIES.map(([n]) => [n, 0]), [RUNTIME, 0]]);
  let total = 0;
  for (const s of samples) {
    const v = s.values[index];
    total += v;
    const c = categorize(s.frames);
    byCategory.set(c, byCategory.get(c) + v);
  }
  return { total, byCategory };
}

async function download(url, file, timeoutMs) {
  const res = await httpRequest(url, { timeoutMs });
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status} ${res.body.toString().slice(0, 200)}`);
  fs.writeFileSync(file, res.body);
  return file;
}

/**
 * Takes a CPU profile and an allocation profile (the allocations made in the
 * window, not since start) of `seconds` from the pprof listener at addr, at
 * the same time, into dir/<name>.cpu.pb and dir/<name>.allocs.pb.
 */
export async function captureProfiles(addr, seconds, dir, name) {
  const timeoutMs = (seconds + 30) * 1000;
  const [cpu, allocs] = await Promise.all([
    download(`http://${addr}/debug/pprof/profile?seconds=${seconds}`, path.join(dir, `${name}.cpu.pb`), timeoutMs),
    download(`http://${addr}/debug/pprof/allocs?seconds=${seconds}`, path.join(dir, `${name}.allocs.pb`), timeoutMs),
  ]);
  return { cpu, allocs };
}
