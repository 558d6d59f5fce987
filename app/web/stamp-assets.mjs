#!/usr/bin/env node
// nginx caches the UI's assets for a year, and there is no build step to
// fingerprint file names, so index.html references each asset as
// /<file>?v=<first 10 hex of its sha256>. This script rewrites those ?v=
// values from the files' content; with --check it only reports stale ones
// (exit 1). e2e/run.mjs runs the same check.
//
//   node app/web/stamp-assets.mjs          # fix index.html
//   node app/web/stamp-assets.mjs --check  # verify only
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PUBLIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'public');
const INDEX = path.join(PUBLIC_DIR, 'index.html');
const REF = /(["'])\/([\w.-]+\.(?:css|js|svg|png|ico|webp|woff2?))\?v=([0-9a-f]*)\1/g;

export function assetHash(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(path.join(PUBLIC_DIR, file))).digest('hex').slice(0, 10);
}

/** Returns { html, stale: [{file, has, want}], refs: n } for index.html. */
export function stamp(html = fs.readFileSync(INDEX, 'utf8')) {
  const stale = [];
  let refs = 0;
  const out = html.replace(REF, (m, q, file, has) => {
    refs += 1;
    const want = assetHash(file);
    if (has !== want) stale.push({ file, has, want });
    return `${q}/${file}?v=${want}${q}`;
  });
  return { html: out, stale, refs };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { html, stale, refs } = stamp();
  if (process.argv.includes('--check')) {
    for (const s of stale) console.error(`stale: /${s.file}?v=${s.has} should be ?v=${s.want}`);
    console.log(stale.length ? 'run: node app/web/stamp-assets.mjs' : `${refs} asset references up to date`);
    process.exit(stale.length ? 1 : 0);
  }
  fs.writeFileSync(INDEX, html);
  console.log(stale.length ? `updated: ${stale.map((s) => s.file).join(', ')}` : `${refs} asset references up to date`);
}
