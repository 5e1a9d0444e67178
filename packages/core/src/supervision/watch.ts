import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cluster } from '../primary/cluster.js';
import { FileWatcher } from './file-watcher.js';

/**
 * How long the files must stay unchanged before the reload starts: an editor's save (often
 * a write and a rename, or several writes), a `git checkout` or a build writing many files
 * is one change, one reload.
 */
export const WATCH_DEBOUNCE_MS = 200;

/** Files a line names before it says how many more there were. */
const NAMED_FILES = 3;

/** The first line of an error as Node.js prints it (`SyntaxError: ...`), in a reload failure's report of the worker's output. */
const ERROR_LINE = /^\s*((?:[A-Z][A-Za-z]*)?(?:Error|Exception)(?: \[[A-Z0-9_]+\])?: .*)$/m;
/** A place in a file, as a stack frame or Node's header above a syntax error names it. */
const PLACE = /(?:file:\/\/)?(\/[^\s:()'"]+):(\d+)/g;

/**
 * Reloads `cluster` (rolling, zero-downtime) WATCH_DEBOUNCE_MS after files under `paths`
 * stop changing: for development. A reload whose new workers do not start (a syntax error)
 * fails as a bad release does: the old workers keep serving, and one line says which file
 * and line the error is at, until the next change. Returns what stops the watching.
 */
export function reloadOnChange(cluster: Cluster, paths: readonly string[]): () => void {
  const { log } = cluster.options;
  let changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    timer = undefined;
    if (!cluster.running) return;
    const files = [...changed].map(shown);
    changed = new Set();
    const named = files.length <= NAMED_FILES ? files.join(', ') : `${files.slice(0, NAMED_FILES).join(', ')} and ${files.length - NAMED_FILES} more`;
    const { maxSurge } = cluster.options;
    log(`clusterize: ${named} changed; reloading workers ${maxSurge === 1 ? 'one by one' : `${maxSurge} at a time`}`);
    cluster.reload().then(() => log('clusterize: reload complete'), (error: unknown) => {
      // A shutdown cancelled it; the cluster has logged any other failure, with the worker's output.
      if (cluster.running) log(`clusterize: the change to ${named} did not start: ${cause(error as Error, paths)}; the old workers keep serving`);
    });
  };
  const watcher = new FileWatcher((path) => {
    changed.add(path);
    clearTimeout(timer);
    timer = setTimeout(reload, WATCH_DEBOUNCE_MS);
  }, (folder, error) => log(`clusterize: could not watch ${shown(folder)} for changes: ${error.message}`));
  for (const path of paths) watcher.add(path);
  log(`clusterize: watching ${paths.map(shown).join(', ')} for changes (node_modules and .git left out); a change reloads the workers`);
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}

/** A path as a line shows it: relative to the current folder when it is below it. */
function shown(path: string): string {
  const below = relative(process.cwd(), path);
  return below === '' ? '.' : below.startsWith('..') ? path : below;
}

/**
 * Why a reload failed, from its error: the first error the new worker printed and where
 * (`SyntaxError: Unexpected identifier 'x' (src/app.mjs:3)`), the place preferably in a
 * watched file; else the error's own first line.
 */
function cause(error: Error, paths: readonly string[]): string {
  const text = error.message;
  const printed = ERROR_LINE.exec(text)?.[1];
  const places = [...text.matchAll(PLACE)].map(([, path, line]) => ({ path: path!, line: line! }));
  const place = places.find(({ path }) => paths.some((watched) => !relative(watched, path).startsWith('..'))) ?? places[0];
  const where = place === undefined ? '' : ` (${shown(fileURLToPath(`file://${place.path}`))}:${place.line})`;
  return printed === undefined ? text.split('\n', 1)[0]!.replace(/^Reload failed: /, '') : `${printed}${where}`;
}
