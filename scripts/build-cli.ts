/**
 * Bundles the pe CLI (src/cli/) into dist/cli/pe.mjs, so a command starts in a fraction of the
 * time compiling the TypeScript on every run takes. bin/pe.js runs the bundle when it is at least
 * as new as every file under src/, and the sources through tsx otherwise.
 *
 *   npm run build:cli
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist/cli/pe.mjs');

// Written beside and renamed over, so a pe started meanwhile never loads half a file.
await esbuild.build({
  entryPoints: [join(root, 'src/cli/main.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The dependencies stay in node_modules; only our own code is bundled.
  packages: 'external',
  outfile: `${out}.tmp`,
  logLevel: 'warning',
});
await rename(`${out}.tmp`, out);
