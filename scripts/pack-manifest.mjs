// Packs a package.json without install-time lifecycle scripts, so installing the tarball runs
// nothing and npm 11 has no install script to warn about. The repository keeps `prepare` (a fresh
// clone's `npm install` still builds); only the packed copy loses it.
//
//   node scripts/pack-manifest.mjs strip     (the `prepack` script: build, then strip)
//   node scripts/pack-manifest.mjs restore   (the `postpack` script: put the original back)
//
// npm reads package.json from disk when it writes the tarball, after `prepack`, so the file itself
// is swapped for the length of the pack. Each swap is a rename (atomic: a reader sees the old file
// or the new one, never half of one), and a backup left by a pack that failed half-way is put
// back before anything else. `strip` builds first because, with `prepare` gone from the manifest,
// npm no longer runs it before packing; NOVA_PACK_SKIP_BUILD=1 skips that build (the package test
// packs an already built copy).
import { copyFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const MANIFEST = 'package.json';
const BACKUP = '.package.json.unpacked';
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];

function restore() {
  if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST);
}

function strip() {
  restore();
  if (process.env.NOVA_PACK_SKIP_BUILD !== '1' && existsSync('tsconfig.json')) {
    const npm = process.env.npm_execpath;
    const build = npm
      ? spawnSync(process.execPath, [npm, 'run', 'build'], { stdio: 'inherit' })
      : spawnSync('npm', ['run', 'build'], { stdio: 'inherit', shell: process.platform === 'win32' });
    if (build.status !== 0) process.exit(build.status ?? 1);
  }
  const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
  for (const name of INSTALL_SCRIPTS) delete manifest.scripts?.[name];
  copyFileSync(MANIFEST, BACKUP);
  writeFileSync(`${MANIFEST}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(`${MANIFEST}.tmp`, MANIFEST);
}

const command = process.argv[2];
if (command === 'strip') strip();
else if (command === 'restore') restore();
else {
  console.error('usage: node scripts/pack-manifest.mjs strip|restore');
  process.exit(2);
}
