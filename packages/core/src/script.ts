import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { clusterizeError, type ErrorCode } from './errors.js';

/**
 * The absolute path of the script the workers run (a relative one is resolved against the
 * current directory), checked before any worker starts: a worker that cannot load its
 * script would only crash, be replaced and crash again. The primary's modules are checked
 * the same way; `source` then names the option in messages (`--primary-module`).
 */
export function checkScript(script: string, source?: string): string {
  return checkFile(script, source, { missing: 'ERR_CLUSTERIZE_SCRIPT_NOT_FOUND', unreadable: 'ERR_CLUSTERIZE_SCRIPT_UNREADABLE' });
}

/** The absolute path of a file of variables for the workers (--env-file), checked as the script is. */
export function checkEnvFile(path: string, source: string): string {
  return checkFile(path, source, { missing: 'ERR_CLUSTERIZE_ENV_FILE_NOT_FOUND', unreadable: 'ERR_CLUSTERIZE_ENV_FILE_UNREADABLE' });
}

function checkFile(file: string, source: string | undefined, codes: { missing: ErrorCode; unreadable: ErrorCode }): string {
  const path = resolve(file);
  const named = source === undefined ? path : `${source} ${path}`;
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw clusterizeError(codes.unreadable, `${named}: a folder on the way denies ${thisUser()} access`);
    throw clusterizeError(codes.missing, `${named} does not exist`);
  }
  if (!stats.isFile()) throw clusterizeError(codes.missing, `${named} is not a file`);
  // access() says yes to root whatever the mode, so a file nobody may read is refused by its mode too.
  const mode = (stats.mode & 0o777).toString(8).padStart(3, '0');
  if ((stats.mode & 0o444) === 0) throw clusterizeError(codes.unreadable, `${named}: mode ${mode} lets nobody read it`);
  if (!isReadable(path)) throw clusterizeError(codes.unreadable, `${named}: mode ${mode} does not let ${thisUser()} read it`);
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
