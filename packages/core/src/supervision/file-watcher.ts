import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Folders never watched: dependencies and git's own files. */
const IGNORED_FOLDERS = new Set(['node_modules', '.git']);

/**
 * The files under a watched folder whose change counts: code and configuration (`.env`
 * files too: each worker reads an --env-file as it starts). Not logs, databases, uploads, or
 * what editors write beside a file while it is edited (vim's swap files and its `4913`
 * probe, emacs' `.#` locks, `~` backups): an app that writes its log into its own folder
 * must not reload itself forever. A file named on its own is watched whatever its name.
 */
const WATCHED_FILES = /^(?!\.#).*\.(?:[cm]?js|jsx|[cm]?ts|tsx|json)$|^\.env(?:\..+)?$|\.env$/;

/** Whether a change to `path`, under a watched folder, counts. */
export function isWatched(path: string): boolean {
  const parts = path.split(/[\\/]/);
  return !parts.some((part) => IGNORED_FOLDERS.has(part)) && WATCHED_FILES.test(parts.at(-1)!);
}

/**
 * Watches files and folder trees with one fs.watch per folder, not Node's `recursive`
 * option, which on Linux walks and watches every folder below, node_modules included.
 * An editor that saves by writing a new file and renaming it over the old one replaces
 * the file's inode, which a watch on the file itself would lose: every watch is on a
 * folder, so a file is watched through its folder, by name. A folder created under a
 * watched one is watched from then on.
 */
export class FileWatcher {
  /** Each folder watched, and which of its entries count (all, for a tree). */
  private readonly folders = new Map<string, { watcher: FSWatcher; names: Set<string> | 'all' }>();

  /** `changed` gets the path of each change; `failed` each folder that could not be watched, once. */
  constructor(private readonly changed: (path: string) => void, private readonly failed: (folder: string, error: Error) => void) {}

  /** Watches `path`: a folder with everything below it, or one file. */
  add(path: string): void {
    if (isFolder(path)) this.addTree(path);
    else this.addFolder(dirname(path), basename(path));
  }

  close(): void {
    for (const { watcher } of this.folders.values()) watcher.close();
    this.folders.clear();
  }

  private addTree(folder: string): void {
    if (IGNORED_FOLDERS.has(basename(folder))) return;
    this.addFolder(folder, 'all');
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return; // gone again, or not ours to read
    }
    for (const entry of entries) if (entry.isDirectory()) this.addTree(join(folder, entry.name));
  }

  private addFolder(folder: string, name: string | 'all'): void {
    const known = this.folders.get(folder);
    if (known !== undefined) {
      if (known.names !== 'all') known.names = name === 'all' ? 'all' : known.names.add(name);
      return;
    }
    let watcher: FSWatcher;
    try {
      watcher = watch(folder, (_event, file) => this.onEvent(folder, file));
    } catch (error) {
      return this.failed(folder, error as Error);
    }
    // The folder was removed, or inotify failed: nothing more comes from it. Only the second is news.
    watcher.on('error', (error) => {
      this.forget(folder);
      if (isFolder(folder)) this.failed(folder, error);
    });
    this.folders.set(folder, { watcher, names: name === 'all' ? 'all' : new Set([name]) });
  }

  private onEvent(folder: string, file: string | null): void {
    const names = this.folders.get(folder)?.names;
    if (names === undefined) return;
    if (file === null) {
      if (names === 'all') this.changed(folder);
      return;
    }
    const path = join(folder, file);
    if (names !== 'all') {
      if (names.has(file)) this.changed(path);
      return;
    }
    // A folder created or moved in: watched from now on, and what it brings is a change.
    if (isFolder(path)) {
      if (!IGNORED_FOLDERS.has(file)) this.addTree(path);
      if (!this.folders.has(path)) return;
    } else if (!isWatched(path)) {
      return;
    }
    this.changed(path);
  }

  private forget(folder: string): void {
    this.folders.get(folder)?.watcher.close();
    this.folders.delete(folder);
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
