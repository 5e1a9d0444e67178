import { resolve } from 'node:path';
import type { Target } from '../control/clusters.js';
import { checkControlPath } from '../control/control-options.js';
import { validateName } from '../control/paths.js';
import { clusterizeError, clusterizeTypeError } from '../errors.js';
import { checked, DEFAULT_ADMIN_HOST, MAX_TIMER_MS, MAX_WORKERS, numberIn, parsePort, validateHost, WORKERS_ENV, type AdminOptions } from '../option-checks.js';
import { checkNodeFlagNames, checkNodeFlags, nodeFlagKind } from '../node-flags.js';
import { isWholeNumber } from '../option-row.js';
import { optionRows, type ClusterOptions, type OptionName } from '../option-table.js';

/** Where --help starts each flag's text. */
const HELP_COLUMN = 28;

/** What --help shows of a flag. */
interface Help {
  readonly names: readonly string[];
  readonly value?: string | undefined;
  readonly optional?: true | undefined;
  readonly help: string;
}

function helpLine(flag: Help): string {
  const value = flag.value === undefined ? '' : flag.optional === true ? `[=${flag.value}]` : ` ${flag.value}`;
  const left = `  ${flag.names.join(', ')}${value}`;
  return `${left.padEnd(HELP_COLUMN - 1)} ${flag.help.replaceAll('\n', `\n${' '.repeat(HELP_COLUMN)}`)}\n`;
}

const builtIns: Help[] = [
  { names: ['-h', '--help'], help: 'show this help' },
  { names: ['-v', '--version'], help: 'show the version' },
];

/** The times whose upper bound is not MAX_TIMER_MS, as --help's footnote lists them. */
const otherTimeBounds = optionRows.flatMap(([, row]) => (isWholeNumber(row) && row.unit === 'milliseconds' && row.most !== MAX_TIMER_MS && row.flags
  ? row.flags.map((flag) => `${flag.names.at(-1)}: up to ${row.most}`)
  : []));

/** The commands that reach a running cluster from another shell, over its control socket. */
const commandNames = ['ls', 'status', 'reload', 'scale', 'stop', 'logs'] as const;
export type CommandName = (typeof commandNames)[number];

const commandsHelp: Help[] = [
  { names: ['ls'], value: '[--json]', help: 'the running clusters: name, pid, workers, policy, uptime, reloads' },
  { names: ['status'], value: '[NAME] [--json]', help: "the cluster's workers (with --admin-port PORT [--admin-host HOST]:\nfrom its admin server instead)" },
  { names: ['reload'], value: '[NAME]', help: 'reload the workers one by one; exit 0 once done, or 1 with the cause' },
  { names: ['scale'], value: '[NAME] N', help: 'run N workers; exit 0 once they serve, or 1 with the cause' },
  { names: ['stop'], value: '[NAME]', help: "drain and stop, as SIGTERM does; exit with the primary's status" },
  { names: ['logs'], value: '[NAME]', help: 'follow its output, its workers\' and its own, until Ctrl-C or it stops' },
];

/** `clusterize --help`, from optionTable; README.md shows the same text (a test compares them). */
export const USAGE = `Usage: clusterize [options] <script> [args...]
       clusterize ls|status|reload|scale|stop|logs ...  (to a running cluster: see Commands)

Runs <script> in N worker processes that share its ports.
SIGTERM/SIGINT drain and exit 0, or 3 if the shutdown timeout cut requests (twice: stop
at once); SIGHUP (or --reload-signal) reloads the workers one by one.

Options:
${[...optionRows.flatMap(([, row]) => row.flags ?? []), ...builtIns].map(helpLine).join('')}
Commands, from another shell, to this user's running clusters (over their control sockets):
${commandsHelp.map(helpLine).join('')}NAME can be left out while one cluster runs; --control PATH names its socket instead.

Node.js flags before <script> that clusterize does not have are the workers', as with
--node-option: clusterize --import ./otel.mjs -r dotenv/config --inspect app.js

Times (MS) are whole milliseconds up to ${MAX_TIMER_MS}, the longest delay Node.js timers
accept${otherTimeBounds.length === 0 ? '' : ` (${otherTimeBounds.join(', ')})`}.

Environment:
  ${WORKERS_ENV}=N|auto worker processes when --workers is not given
`;

/** Each spelling of each flag, with the option it sets. */
const flags = new Map(optionRows.flatMap(([option, row]) => (row.flags ?? []).flatMap((flag) => flag.names.map((name) => [name, { option, flag }] as const))));

type CommandLine =
  | { kind: 'run'; options: ClusterOptions }
  /** `clusterize status --admin-port PORT`: the table from an admin server. */
  | { kind: 'status'; port: number; host: string; json: boolean }
  /** A command to a cluster's control socket. */
  | { kind: 'command'; command: CommandName; target: Target; workers?: number; json: boolean }
  | { kind: 'help' }
  | { kind: 'version' };

/**
 * Reads clusterize's arguments. Each flag's value is checked here, so that a message names
 * the flag the user typed; the script is resolved against the current directory.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  if ((commandNames as readonly string[]).includes(argv[0]!)) return parseCommand(argv[0] as CommandName, argv.slice(1));
  const given: Partial<Record<OptionName, unknown>> = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') { i++; break; }
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (arg === '-v' || arg === '--version') return { kind: 'version' };
    if (!arg.startsWith('-') || arg === '-') break;
    const [name, inline] = splitFlag(arg);
    const known = flags.get(name);
    if (known === undefined) {
      // A flag of Node's before the script is the workers' (as with --node-option).
      i = takeNodeFlag(argv, i, given);
      continue;
    }
    const { option, flag } = known;
    if (flag.value === undefined) {
      if (inline !== undefined) throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${name} takes no value`);
      if (given[option] !== undefined && given[option] !== flag.sets) throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${name} contradicts a flag before it`);
      given[option] = flag.sets;
      continue;
    }
    const value = flag.optional ? inline ?? '' : flagValue(argv, inline === undefined ? ++i : undefined, inline, name);
    given[option] = flag.parse(value, name, given[option]);
  }
  const script = argv[i];
  if (script === undefined) throw clusterizeError('ERR_CLUSTERIZE_MISSING_SCRIPT', 'name the server script to run (clusterize [options] <script> [args...])');
  const admin = given.admin === undefined ? undefined : completeAdmin(given.admin as Partial<AdminOptions>);
  // Each value came from its flag's parse(), which checked it; admin is complete. The CLI
  // takes commands unless told not to.
  const options = { ...given, ...(admin && { admin }), control: given.control ?? true } as ClusterOptions;
  const execArgv = [...process.execArgv, ...(options.execArgv ?? [])];
  return { kind: 'run', options: { ...options, script: resolve(script), args: argv.slice(i + 1), execArgv } };
}

/**
 * A flag before the script that clusterize does not have: the workers' when it is Node's
 * (`--import ./otel.mjs`, `--inspect`, `--max-old-space-size=512`), with the argument after
 * it when node wants a value there. Returns where the flag's last argument is.
 */
function takeNodeFlag(argv: readonly string[], at: number, given: Partial<Record<OptionName, unknown>>): number {
  const flag = argv[at]!;
  const kind = nodeFlagKind(flag);
  if (kind === undefined) throw clusterizeTypeError('ERR_CLUSTERIZE_UNKNOWN_OPTION', `'${flag.split('=', 1)[0]}' (neither clusterize nor Node.js has it; see clusterize --help)`);
  if (kind === 'refused') checkNodeFlags([flag], '');
  const value = kind === 'needs a value' ? argv[at + 1] : undefined;
  if (kind === 'needs a value' && value === undefined) throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${flag} needs a value`);
  const taken = value === undefined ? [flag] : [flag, value];
  given.execArgv = [...(given.execArgv as string[] | undefined ?? []), ...checkNodeFlagNames(taken, '')];
  return at + taken.length - 1;
}

/** `--flag=value` as its two parts; anything else as itself. */
function splitFlag(arg: string): [string, string | undefined] {
  const equals = arg.indexOf('=');
  return arg.startsWith('--') && equals !== -1 ? [arg.slice(0, equals), arg.slice(equals + 1)] : [arg, undefined];
}

/** A flag's value: written after '=' (`inline`), or the next argument (at `next`). */
function flagValue(argv: readonly string[], next: number | undefined, inline: string | undefined, name: string): string {
  const value = inline ?? (next === undefined ? undefined : argv[next]);
  if (value === undefined || value === '') throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${name} needs a value`);
  return value;
}

/**
 * `clusterize <command> [NAME] [N] [flags]`: every command takes --control PATH instead of
 * a NAME but ls; ls and status take --json; status takes the admin flags, and then asks an
 * admin server instead of a control socket.
 */
function parseCommand(command: CommandName, argv: readonly string[]): CommandLine {
  const unknown = (what: string) => clusterizeTypeError('ERR_CLUSTERIZE_UNKNOWN_OPTION', `'${what}' for clusterize ${command} (see clusterize --help)`);
  const positional: string[] = [];
  const admin: Partial<AdminOptions> = {};
  let json = false;
  let path: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') { positional.push(...argv.slice(i + 1)); break; }
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (!arg.startsWith('-') || arg === '-') { positional.push(arg); continue; }
    const [name, inline] = splitFlag(arg);
    if (name === '--json' && (command === 'ls' || command === 'status')) {
      if (inline !== undefined) throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${name} takes no value`);
      json = true;
    } else if (name === '--control' && command !== 'ls') {
      path = checkControlPath(flagValue(argv, inline === undefined ? ++i : undefined, inline, name), name);
    } else if (name === '--admin-port' && command === 'status') {
      admin.port = parsePort(flagValue(argv, inline === undefined ? ++i : undefined, inline, name), name);
    } else if (name === '--admin-host' && command === 'status') {
      admin.host = validateHost(flagValue(argv, inline === undefined ? ++i : undefined, inline, name), name);
    } else {
      throw unknown(name);
    }
  }
  if (command === 'status' && Object.keys(admin).length > 0) {
    if (positional.length > 0) throw clusterizeTypeError('ERR_CLUSTERIZE_UNKNOWN_OPTION', `'${positional[0]}' for clusterize status --admin-port (a NAME is for a control socket)`);
    if (path !== undefined) throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', '--control and --admin-port ask two different servers: give one');
    return { kind: 'status', ...completeAdmin(admin), json };
  }
  const wanted = command === 'ls' ? 0 : command === 'scale' ? 2 : 1;
  if (positional.length > wanted) throw unknown(positional[wanted]!);
  let workers: number | undefined;
  if (command === 'scale') {
    const count = positional.pop();
    if (count === undefined) throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', 'clusterize scale needs the number of workers (clusterize scale [NAME] N)');
    workers = checked(numberIn(count), { least: 1, most: MAX_WORKERS }, 'ERR_CLUSTERIZE_INVALID_WORKERS', 'clusterize scale N', `an integer from 1 to ${MAX_WORKERS}`, `'${count}'`);
  }
  const name = positional[0] === undefined ? undefined : validateName(positional[0], 'the cluster name');
  if (name !== undefined && path !== undefined) throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `give the cluster's NAME or --control PATH, not both`);
  return { kind: 'command', command, target: { name, path }, ...(workers !== undefined && { workers }), json };
}

/** --admin-port and --admin-host fill `admin` between them: the port is needed, the host has a default. */
function completeAdmin({ port, host = DEFAULT_ADMIN_HOST }: Partial<AdminOptions>): Required<AdminOptions> {
  if (port === undefined) throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', '--admin-host needs --admin-port (the admin server is off without it)');
  return { port, host };
}
