import { spawnSync } from 'node:child_process';
import { clusterizeError } from './errors.js';
import { checkEnvFile } from './script.js';

/**
 * Node.js flags that make node do something other than run the script it is given (print,
 * check, test, watch and restart it): a worker run with one would not be a worker.
 */
const NOT_FOR_WORKERS: ReadonlyMap<string, string> = new Map([
  ...['-e', '--eval', '-p', '--print', '-c', '--check', '-i', '--interactive', '--test', '--run', '-v', '--version', '-h', '--help', '--v8-options', '--prof-process', '--completion-bash']
    .map((name) => [name, 'it makes node do something other than run the script'] as const),
  ...['--watch', '--watch-path'].map((name) => [name, "node would restart the script itself; clusterize's own --watch reloads the workers without downtime"] as const),
]);

/** How long a probe of node's flags may take: node only parses them, in a few tens of ms. */
const PROBE_TIMEOUT_MS = 10_000;

/** What `node <flags> --version` said of `flags`, by their list: the CLI and resolveOptions ask about the same ones. */
const probed = new Map<string, string | undefined>();

/**
 * Node's complaint about `flags`, or undefined when it takes them: `node <flags> --version`
 * parses them as a worker's node would (V8's flags, --env-file's file, a value's range)
 * and then only prints its version, running no preload. A probe that cannot run at all
 * (out of processes) is no complaint: the workers will say.
 */
export function nodeRejects(flags: readonly string[]): string | undefined {
  const key = JSON.stringify(flags);
  if (!probed.has(key)) {
    const probe = spawnSync(process.execPath, [...flags, '--version'], { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS, stdio: ['ignore', 'ignore', 'pipe'] });
    const said = probe.error !== undefined || probe.status === 0 ? undefined : firstLine(probe.stderr);
    probed.set(key, said);
  }
  return probed.get(key);
}

/** node's first line of complaint, without the path of node that starts it (`/usr/bin/node: bad option: --x`). */
function firstLine(stderr: string): string {
  const line = stderr.split('\n').find((text) => text.trim() !== '') ?? 'node exited with an error';
  const self = `${process.execPath}: `;
  return line.startsWith(self) ? line.slice(self.length) : line.replace(/^node: /, '');
}

/**
 * What `arg`, a flag clusterize does not have, is to node: a flag of its own ('whole', its
 * value inline if it has one), the first of two (`--import ./otel.mjs`, `-r dotenv/config`:
 * 'needs a value'), one of its own with a value it refuses ('refused': V8's flags take
 * theirs after '=' only), or none of its flags (undefined).
 */
export function nodeFlagKind(arg: string): 'whole' | 'needs a value' | 'refused' | undefined {
  const said = nodeRejects([arg]);
  if (said === undefined) return 'whole';
  if (said.includes(`${arg} requires an argument`)) return 'needs a value';
  return said.startsWith('bad option: ') ? undefined : 'refused';
}

/** `flags`, unless one of them is NOT_FOR_WORKERS; `source` names where they came from ('' for a flag of node's own before the script). */
export function checkNodeFlagNames(flags: readonly string[], source: string): readonly string[] {
  for (const flag of flags) {
    const why = NOT_FOR_WORKERS.get(flag.split('=', 1)[0]!);
    if (why !== undefined) throw clusterizeError('ERR_CLUSTERIZE_INVALID_NODE_OPTION', `${flag}${source === '' ? '' : ` (${source})`}: ${why}`);
  }
  return flags;
}

/**
 * `flags`, Node.js flags for the workers, checked before any worker is forked: a flag node
 * rejects would make every worker exit at start.
 */
export function checkNodeFlags(flags: readonly string[], source: string): readonly string[] {
  checkNodeFlagNames(flags, source);
  // node would only say "not found"; this names the flag and why (missing, a folder, unreadable).
  flags.forEach((flag, i) => {
    const file = flag === '--env-file' ? flags[i + 1] : flag.startsWith('--env-file=') ? flag.slice('--env-file='.length) : undefined;
    if (file !== undefined) checkEnvFile(file, `${source} --env-file`);
  });
  const said = flags.length === 0 ? undefined : nodeRejects(flags);
  if (said === undefined) return flags;
  // `--import requires an argument`, V8's `illegal value for flag --max-old-space-size of type size_t`: a value in the next argument.
  const valueApart = /(-{1,2}[a-z][\w-]*)(?: requires an argument| of type )/.exec(said)?.[1];
  const hint = valueApart === undefined ? '' : ` (a flag and its value go in one argument: ${valueApart}=VALUE)`;
  throw clusterizeError('ERR_CLUSTERIZE_INVALID_NODE_OPTION', `node rejects ${flags.join(' ')}: ${said}${hint}`);
}

/**
 * Flags as one string, the way NODE_OPTIONS and PM2's --node-args take them: separated by
 * spaces; a double-quoted part keeps its spaces (`--title="my app"`).
 */
export function splitNodeArgs(text: string): string[] {
  return [...text.matchAll(/(?:[^\s"]+|"[^"]*")+/g)].map(([word]) => word.replaceAll('"', ''));
}
