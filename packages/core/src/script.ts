import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { clusterizeError } from './errors.js';

/**
 * The absolute path of the script the workers run (a relative one is resolved against the
 * current directory), checked before any worker starts: a worker that cannot load its
 * script would only crash, be replaced and crash again. The primary's modules are checked
 * the same way; `source` then names the option in messages (`--primary-module`).
 */
export function checkScript(script: string, source?: string): string {
  const path = resolve(script);
  const named = source === undefined ? path : `${source} ${path}`;
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw clusterizeError('ERR_CLUSTERIZE_SCRIPT_UNREADABLE', `${named}: a folder on the way denies ${thisUser()} access`);
    throw clusterizeError('ERR_CLUSTERIZE_SCRIPT_NOT_FOUND', `${named} does not exist`);
  }
  if (!stats.isFile()) throw clusterizeError('ERR_CLUSTERIZE_SCRIPT_NOT_FOUND', `${named} is not a file`);
  // access() says yes to root whatever the mode, so a file nobody may read is refused by its mode too.
  const mode = (stats.mode & 0o777).toString(8).padStart(3, '0');
  if ((stats.mode & 0o444) === 0) throw clusterizeError('ERR_CLUSTERIZE_SCRIPT_UNREADABLE', `${named}: mode ${mode} lets nobody read it`);
  if (!isReadable(path)) throw clusterizeError('ERR_CLUSTERIZE_SCRIPT_UNREADABLE', `${named}: mode ${mode} does not let ${thisUser()} read it`);
  return path;
}

function isReadable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** `this user (uid 1000)`; without uids (Windows), `this user`. */
function thisUser(): string {
  const uid = process.getuid?.();
  return uid === undefined ? 'this user' : `this user (uid ${uid})`;
}
