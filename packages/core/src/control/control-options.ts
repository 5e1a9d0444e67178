import { resolve } from 'node:path';
import { clusterizeTypeError } from '../errors.js';
import { describe } from '../option-checks.js';
import { MAX_SOCKET_PATH_BYTES, validateName } from './paths.js';

export interface ControlOptions {
  /** 1 to 64 letters, digits, '.', '_' or '-': what `clusterize ls` shows and the other commands take. Default: the script's file name without its extension. */
  name?: string;
  /** The control socket's path. Default: `<name>.sock` in `$XDG_RUNTIME_DIR/clusterize`, else in `/tmp/clusterize-<uid>`. */
  path?: string;
}

/** The control socket asked for; a name left out is the script's, filled in by the cluster. */
export interface ResolvedControl {
  readonly name: string | undefined;
  readonly path: string | undefined;
}

/** `control`: true, false, or `{ name, path }`; off when not given. */
export function resolveControl(value: unknown, source: string): ResolvedControl | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { name: undefined, path: undefined };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${source} must be true, false or an object ({ name, path }), got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (key !== 'name' && key !== 'path') throw clusterizeTypeError('ERR_CLUSTERIZE_UNKNOWN_OPTION', `'${source}.${key}' (known: name, path)`);
  }
  const { name, path } = value as ControlOptions;
  return {
    name: name === undefined ? undefined : validateName(name, `${source}.name`),
    path: path === undefined ? undefined : checkControlPath(path, `${source}.path`),
  };
}

/** A socket path, resolved against the current directory, that the kernel can bind. */
export function checkControlPath(value: unknown, source: string): string {
  if (typeof value !== 'string' || value === '') throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${source} must be the path of a Unix socket, got ${describe(value)}`);
  const path = resolve(value);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${source} must be at most ${MAX_SOCKET_PATH_BYTES} bytes long (a Unix socket path), got ${path} (${Buffer.byteLength(path)} bytes)`);
  }
  return path;
}

/** What --name and --control have filled of `control` so far: --no-control before them contradicts them. */
export function controlSoFar(given: boolean | Partial<ControlOptions> | undefined, source: string): Partial<ControlOptions> {
  if (given === false) throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${source} contradicts --no-control`);
  return typeof given === 'object' ? given : {};
}
