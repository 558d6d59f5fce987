#!/usr/bin/env node
// Builds the components package and packs it, as a release would:
//
//   node scripts/pack-package.mjs DIR               # npm run build, npm pack into DIR; prints the tarball's path
//   node scripts/pack-package.mjs --install PROGRAM # the same into a temporary directory, then
//                                                   # `npm install --no-save` of that tarball into PROGRAM
//
// The repository's .npmrc sets ignore-scripts=true, so `npm pack` never runs the prepack script: this
// runs `npm run build` itself, every time, so a tarball never holds a stale dist/. --install leaves
// PROGRAM's package.json and lockfile alone (a lockfile that pinned a tarball's integrity would make
// `npm ci` reuse the cached old tarball after every change) and removes the temporary directory.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

/** Builds dist/ and packs the package into `dir`; returns the tarball's absolute path. */
export function pack(dir) {
  npm(['run', 'build', '--silent'], ROOT);
  const [info] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', path.resolve(dir)], ROOT));
  return path.join(path.resolve(dir), info.filename);
}

function main(argv) {
  if (argv[0] === '--install' && argv.length === 2) {
    const program = path.resolve(argv[1]);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sample-app-pack-'));
    try {
      const tarball = pack(tmp);
      const install = (mode) => npm(['install', '--no-save', mode, '--no-audit', '--no-fund', '--loglevel=error', tarball], program);
      try {
        install('--offline'); // the program's own dependencies are in the npm cache after its npm ci
      } catch {
        console.error('the npm cache lacks something: installing with --prefer-offline');
        install('--prefer-offline');
      }
      console.log(`installed ${path.basename(tarball)} into ${path.relative(process.cwd(), program) || '.'}/node_modules/sample-app`);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  } else if (argv.length === 1 && !argv[0].startsWith('-')) {
    console.log(pack(argv[0]));
  } else {
    console.error('usage: node scripts/pack-package.mjs DIR | --install PROGRAM_DIR');
    process.exit(2);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
