import { chmodSync, lstatSync, mkdirSync, unlinkSync, type Stats } from 'node:fs';
import { basename, extname, isAbsolute, join } from 'node:path';
import { clusterizeError, clusterizeRangeError, clusterizeTypeError } from '../errors.js';
import { describe } from '../option-checks.js';

/** A cluster's name: what `clusterize ls` shows and the other commands take. */
const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** sun_path holds 108 bytes, its terminating NUL included. */
export const MAX_SOCKET_PATH_BYTES = 107;

const SOCKET_SUFFIX = '.sock';

export function validateName(value: unknown, source: string): string {
  if (typeof value === 'string' && NAME.test(value)) return value;
  const make = typeof value === 'string' ? clusterizeRangeError : clusterizeTypeError;
  throw make('ERR_CLUSTERIZE_INVALID_NAME', `${source} must be 1 to 64 letters, digits, '.', '_' or '-', got ${describe(value)}`);
}

/** The default name: the script's file name without its extension, any other character as '_'. */
export function nameFromScript(script: string): string {
  const name = basename(script, extname(script)).replaceAll(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  return name === '' ? 'cluster' : name;
}

function uid(): number {
  return process.getuid?.() ?? 0;
}

/**
 * The folder of this user's control sockets: `$XDG_RUNTIME_DIR/clusterize` (a folder only
 * the user may enter, emptied at logout), else `/tmp/clusterize-<uid>`.
 */
export function runtimeDir(): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  return xdg !== undefined && isAbsolute(xdg) ? join(xdg, 'clusterize') : `/tmp/clusterize-${uid()}`;
}

export function socketPath(dir: string, name: string): string {
  return join(dir, `${name}${SOCKET_SUFFIX}`);
}

/** The cluster name a socket in the runtime folder stands for, or undefined for any other file. */
export function nameOfSocket(file: string): string | undefined {
  if (!file.endsWith(SOCKET_SUFFIX)) return undefined;
  const name = file.slice(0, -SOCKET_SUFFIX.length);
  return NAME.test(name) ? name : undefined;
}

/**
 * The runtime folder, created (mode 0700) if missing. A folder that is not this user's
 * alone is refused: in /tmp anyone may have created it first, to read what goes through
 * the sockets or to answer in a cluster's place.
 */
export function ensureRuntimeDir(): string {
  const dir = runtimeDir();
  try {
    mkdirSync(dir, { mode: 0o700 });
    // The mode mkdir got went through the umask.
    chmodSync(dir, 0o700);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') throw clusterizeError('ERR_CLUSTERIZE_CONTROL_LISTEN', `cannot create the folder of the control sockets ${dir}: ${code ?? String(error)}`, error);
  }
  checkPrivate(dir, lstatSync(dir), 'folder');
  return dir;
}

/**
 * Refuses (ERR_CLUSTERIZE_CONTROL_UNSAFE) a runtime folder or a control socket that another
 * user owns, or that the group or others may use; root is held to the same rule, though
 * the system would let it through.
 */
export function checkPrivate(path: string, stats: Stats, kind: 'folder' | 'socket'): void {
  const unsafe = (why: string) => clusterizeError('ERR_CLUSTERIZE_CONTROL_UNSAFE', `${path} ${why}`);
  const isKind = kind === 'folder' ? stats.isDirectory() : stats.isSocket();
  if (!isKind) throw unsafe(`is not a ${kind === 'folder' ? 'folder' : 'Unix socket'}`);
  if (stats.uid !== uid()) throw unsafe(`belongs to uid ${stats.uid}, not to this user (uid ${uid()}): clusterize talks only to this user's clusters`);
  const mode = stats.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    const fix = kind === 'folder' ? 0o700 : 0o600;
    throw unsafe(`has mode ${mode.toString(8)}: other users may use it (chmod ${fix.toString(8)} ${path} if it is yours)`);
  }
}

/** A socket path the kernel can bind: ERR_CLUSTERIZE_CONTROL_LISTEN otherwise. */
export function checkSocketPath(path: string): string {
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw clusterizeError('ERR_CLUSTERIZE_CONTROL_LISTEN', `${path} is ${bytes} bytes long; a Unix socket path holds at most ${MAX_SOCKET_PATH_BYTES}`);
  }
  return path;
}

/** Removes the file at `path` if it is still the one whose inode was read. */
export function removeIfSame(path: string, ino: number): void {
  try {
    if (lstatSync(path).ino === ino) unlinkSync(path);
  } catch {
    // Already gone.
  }
}
