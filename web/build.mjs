// Bundles the chat UI into dist/ (index.html, app.js, app.css), which CMake
// embeds into the s1 binary (web/embed.cmake). No CDN: everything is local.
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';

const here = new URL('.', import.meta.url).pathname;
await rm(`${here}dist`, { recursive: true, force: true });
await mkdir(`${here}dist`, { recursive: true });
await build({
  entryPoints: [`${here}src/app.js`],
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  outfile: `${here}dist/app.js`,
  logLevel: 'warning',
});
await build({
  entryPoints: [`${here}src/app.css`],
  bundle: true,
  minify: true,
  outfile: `${here}dist/app.css`,
  logLevel: 'warning',
});
await copyFile(`${here}src/index.html`, `${here}dist/index.html`);
console.log('web: built dist/ (index.html, app.js, app.css)');
