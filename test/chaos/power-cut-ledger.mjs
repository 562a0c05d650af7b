/**
 * A preload for the chaos test's node processes (`node --import <this file> chorus.js node ...`): it
 * writes down, as the process runs, how much of each file it writes is durable, so that the test can
 * cut the power after a SIGKILL: truncate every file to what an fsync had made durable (power-cut.ts).
 *
 * Environment: POWER_CUT_LEDGER (the ledger file, appended) and POWER_CUT_ROOT (only
 * files under it are followed: the node's dataDir). Without both, the preload does nothing.
 *
 * Ledger lines (JSON, one per line, keyed by inode: a rename over a file carries its inode along):
 *   { "ino": n, "synced": bytes, "path": p }   an fsync/fdatasync of the file returned; `synced` is the
 *                                              file's size when it was CALLED (a write racing the fsync
 *                                              may not be covered by it)
 *   { "ino": n, "cut": bytes, "path": p }      the file was truncated to `bytes`, or created (0: then
 *                                              with "createdIn": its directory)
 *   { "dirSynced": d }                         an fsync of directory d returned: the names of the files
 *                                              created in it before are durable
 *
 * Invariant: the line for an fsync is written (synchronously, writeSync to the ledger) after the fsync
 * returned and BEFORE its caller learns that it returned: the caller cannot acknowledge anything whose
 * durability the ledger does not hold yet. A SIGKILL cannot lose a written ledger line (the page cache
 * keeps it; only the files under the root lose their power).
 *
 * It patches the node:fs CommonJS object and then syncBuiltinESMExports(), so that named ESM imports
 * (`import { fsync } from 'node:fs'`) see the patched functions. Worker threads inherit execArgv: the
 * preload runs in each of them too, and they append to the same ledger (O_APPEND, one write per line).
 *
 * Not modelled: a rename lost because its directory was not fsynced (a rename counts as durable once it
 * returned; file-journal.ts fsyncs the directory right after its rename), nor the root's own name.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { dirname, resolve, sep } from 'node:path';

const ledgerPath = process.env['POWER_CUT_LEDGER'];
const rootEnv = process.env['POWER_CUT_ROOT'];

if (ledgerPath !== undefined && rootEnv !== undefined) install(ledgerPath, resolve(rootEnv));

function install(ledgerFile, root) {
  const slowMs = Number(process.env['POWER_CUT_FSYNC_DELAY_MS'] ?? 0);
  const original = {
    openSync: fs.openSync, closeSync: fs.closeSync, fsync: fs.fsync, fsyncSync: fs.fsyncSync,
    fdatasync: fs.fdatasync, fdatasyncSync: fs.fdatasyncSync, truncateSync: fs.truncateSync, ftruncateSync: fs.ftruncateSync,
  };
  const ledgerFd = original.openSync(ledgerFile, 'a');
  /** Descriptors open for writing on a followed file: their path. */
  const followed = new Map();
  /** Descriptors open on the root or a directory under it (for an fsync of the directory): their path. */
  const dirs = new Map();

  const under = (path) => typeof path === 'string' && resolve(path).startsWith(root + sep);
  const within = (path) => typeof path === 'string' && (resolve(path) === root || under(path));
  const writes = (flags) => typeof flags === 'string' ? /[wa+]/.test(flags) : typeof flags === 'number' && (flags & (fs.constants.O_WRONLY | fs.constants.O_RDWR)) !== 0;
  const record = (line) => fs.writeSync(ledgerFd, `${JSON.stringify(line)}\n`);

  fs.openSync = function openSync(path, flags, mode) {
    const followable = under(path) && writes(flags ?? 'r');
    const created = followable && !fs.existsSync(path);
    const fd = original.openSync.apply(fs, arguments);
    if (followable) {
      followed.set(fd, resolve(path));
      const stat = fs.fstatSync(fd);
      // Created (or empty): an inode used before may come back. A new file's name is durable once its directory is fsynced.
      if (stat.size === 0) record({ ino: stat.ino, cut: 0, path: resolve(path), ...(created ? { createdIn: dirname(resolve(path)) } : {}) });
    } else if (within(path) && fs.fstatSync(fd).isDirectory()) {
      dirs.set(fd, resolve(path));
    }
    return fd;
  };
  fs.closeSync = function closeSync(fd) {
    followed.delete(fd);
    dirs.delete(fd);
    return original.closeSync.apply(fs, arguments);
  };

  /** What an fsync of `fd` called now will make durable (undefined: not a followed file or directory). */
  const before = (fd) => {
    if (dirs.has(fd)) return { dirSynced: dirs.get(fd) };
    const path = followed.get(fd);
    if (path === undefined) return undefined;
    const stat = fs.fstatSync(fd);
    return { ino: stat.ino, synced: stat.size, path };
  };
  for (const name of ['fsyncSync', 'fdatasyncSync']) {
    fs[name] = function (fd) {
      const line = before(fd);
      const result = original[name].apply(fs, arguments);
      if (line !== undefined) record(line);
      return result;
    };
  }
  for (const name of ['fsync', 'fdatasync']) {
    fs[name] = function (fd, callback) {
      const line = before(fd);
      const run = () => original[name].call(fs, fd, (error) => {
        if (error === null && line !== undefined) record(line);
        callback(error);
      });
      if (line !== undefined && slowMs > 0) setTimeout(run, slowMs); // a slow disk: the fd stays open until the callback
      else run();
    };
  }
  fs.truncateSync = function truncateSync(path, len) {
    const result = original.truncateSync.apply(fs, arguments);
    if (under(path)) record({ ino: fs.statSync(path).ino, cut: len ?? 0, path: resolve(path) });
    return result;
  };
  fs.ftruncateSync = function ftruncateSync(fd, len) {
    const result = original.ftruncateSync.apply(fs, arguments);
    const path = followed.get(fd);
    if (path !== undefined) record({ ino: fs.fstatSync(fd).ino, cut: len ?? 0, path });
    return result;
  };
  // Ways to write a file that the ledger does not follow: a use under the root is written down, and
  // the test fails on it (power-cut.ts) instead of cutting a file whose synced length it cannot know.
  const unfollowed = (target, name, pathAt) => {
    const fn = target[name];
    target[name] = function () {
      const path = arguments[pathAt];
      if (under(path)) record({ unfollowed: name, path: resolve(path) });
      return fn.apply(target, arguments);
    };
  };
  for (const name of ['writeFileSync', 'appendFileSync', 'writeFile', 'appendFile', 'createWriteStream', 'truncate', 'open', 'cpSync', 'copyFileSync']) unfollowed(fs, name, name === 'cpSync' || name === 'copyFileSync' ? 1 : 0);
  for (const name of ['open', 'writeFile', 'appendFile', 'truncate']) unfollowed(fs.promises, name, 0);
  syncBuiltinESMExports();
}
