/**
 * Builds the operators' dashboard into dist/ui/: the Preact app bundled by esbuild (app.js,
 * app.css), Pico CSS and index.html. The API serves that directory at /ui/. Nothing is loaded
 * from elsewhere at run time.
 *
 *   npm run build:ui            build once
 *   npm run build:ui -- --watch rebuild on every change
 */
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src/ui');
const out = join(root, 'dist/ui');
const require = createRequire(import.meta.url);
const pico = join(dirname(require.resolve('@picocss/pico/package.json')), 'css/pico.min.css');
const watch = process.argv.includes('--watch');

const options: esbuild.BuildOptions = {
  entryPoints: { app: join(src, 'main.tsx') },
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: out,
  minify: !watch,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
};

/** The static files and the stylesheet, into `dir`. */
async function buildInto(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await copyFile(join(src, 'index.html'), join(dir, 'index.html'));
  await copyFile(pico, join(dir, 'pico.min.css'));
  await esbuild.build({ entryPoints: { app: join(src, 'style.css') }, bundle: true, outdir: dir, minify: !watch, logLevel: 'warning' });
}

if (watch) {
  await buildInto(out);
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log(`build-ui: watching ${src}, writing ${out}`);
} else {
  // Built beside and swapped in, so a running API never serves half a build.
  const next = `${out}.next-${process.pid}`;
  await rm(next, { recursive: true, force: true });
  await buildInto(next);
  await esbuild.build({ ...options, outdir: next });
  await rm(out, { recursive: true, force: true });
  await rename(next, out);
  console.log(`build-ui: dashboard built in ${out}`);
}
