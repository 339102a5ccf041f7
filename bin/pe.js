#!/usr/bin/env node
// The pe command. Runs the bundle `npm run build:cli` writes when it is up to date with
// src/ (the CLI and the few core modules it bundles), and the TypeScript sources through
// tsx's loader otherwise (while editing them).
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/cli/pe.mjs', import.meta.url));
const sources = fileURLToPath(new URL('../src/', import.meta.url));

function newestSource() {
  let newest = 0;
  for (const entry of readdirSync(sources, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs);
  }
  return newest;
}

function bundleIsCurrent() {
  try {
    return statSync(bundle).mtimeMs >= newestSource();
  } catch {
    return false;
  }
}

if (bundleIsCurrent()) {
  await import('../dist/cli/pe.mjs');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
