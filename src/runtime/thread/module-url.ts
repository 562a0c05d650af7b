/**
 * Which file a worker thread loads for a module URL. On Node 20 a worker cannot load TypeScript, so a
 * `.ts` module of this package (as seen when tests import sources) maps to its compiled twin under
 * `dist/`; JavaScript modules load as they are.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { invalidArgument } from '../errors.js';

/** The package root, whether this file runs from `src/` (sources) or `dist/src/` (compiled). */
const here = new URL('.', import.meta.url).href; // .../src/runtime/thread/ or .../dist/src/runtime/thread/
const packageRoot = here.replace(/(?:dist\/)?src\/runtime\/thread\/$/, '');
const compiledRoot = `${packageRoot}dist/`;

export function workerLoadableUrl(api: string, moduleUrl: string): string {
  let url = moduleUrl;
  if (url.startsWith(packageRoot) && !url.startsWith(compiledRoot) && /\.(ts|js)$/.test(url)) {
    url = `${compiledRoot}${url.slice(packageRoot.length).replace(/\.ts$/, '.js')}`;
  } else if (url.endsWith('.ts')) {
    throw invalidArgument(api, `${moduleUrl}: worker threads load JavaScript; compile this module and pass the .js URL`);
  }
  if (url.startsWith('file:') && !existsSync(fileURLToPath(url))) {
    throw invalidArgument(api, `${url} does not exist (for this package's own modules: run npm run build)`);
  }
  return url;
}
