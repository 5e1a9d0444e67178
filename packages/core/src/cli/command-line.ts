import { resolve } from 'node:path';
import { clusterizeError, clusterizeTypeError } from '../errors.js';
import { DEFAULT_ADMIN_HOST, MAX_TIMER_MS, WORKERS_ENV, type AdminOptions } from '../option-checks.js';
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

/** `clusterize --help`, from optionTable; README.md shows the same text (a test compares them). */
export const USAGE = `Usage: clusterize [options] <script> [args...]
       clusterize status --admin-port PORT [--admin-host HOST]

Runs <script> in N worker processes that share its ports.
SIGTERM/SIGINT drain and exit 0, or 3 if the shutdown timeout cut requests (twice: stop
at once); SIGHUP (or --reload-signal) reloads the workers one by one.

Options:
${[...optionRows.flatMap(([, row]) => row.flags ?? []), ...builtIns].map(helpLine).join('')}
Node.js flags before <script> that clusterize does not have are the workers', as with
--node-option: clusterize --import ./otel.mjs -r dotenv/config --inspect app.js

\`clusterize status\` prints the workers of the cluster whose admin server is on PORT.

Times (MS) are whole milliseconds up to ${MAX_TIMER_MS}, the longest delay Node.js timers
accept${otherTimeBounds.length === 0 ? '' : ` (${otherTimeBounds.join(', ')})`}.

Environment:
  ${WORKERS_ENV}=N|auto worker processes when --workers is not given
`;

/** Each spelling of each flag, with the option it sets. */
const flags = new Map(optionRows.flatMap(([option, row]) => (row.flags ?? []).flatMap((flag) => flag.names.map((name) => [name, { option, flag }] as const))));

/** The options `clusterize status` takes flags for. */
const statusOptions = new Set<OptionName>(['admin']);

type CommandLine =
  | { kind: 'run'; options: ClusterOptions }
  | { kind: 'status'; port: number; host: string }
  | { kind: 'help' }
  | { kind: 'version' };

/**
 * Reads clusterize's arguments. Each flag's value is checked here, so that a message names
 * the flag the user typed; the script is resolved against the current directory.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const status = argv[0] === 'status';
  const given: Partial<Record<OptionName, unknown>> = {};
  let i = status ? 1 : 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') { i++; break; }
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (arg === '-v' || arg === '--version') return { kind: 'version' };
    if (!arg.startsWith('-') || arg === '-') break;
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const known = flags.get(name);
    if (known === undefined && !status) {
      i = takeNodeFlag(argv, i, given);
      continue;
    }
    if (known === undefined || (status && !statusOptions.has(known.option))) {
      throw clusterizeTypeError('ERR_CLUSTERIZE_UNKNOWN_OPTION', `'${name}' for clusterize status (see clusterize --help)`);
    }
    const { option, flag } = known;
    if (flag.value === undefined) {
      if (inline !== undefined) throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${name} takes no value`);
      given[option] = flag.sets;
      continue;
    }
    const value = inline ?? (flag.optional ? '' : argv[++i]);
    if (value === undefined || (value === '' && !flag.optional)) throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `${name} needs a value`);
    given[option] = flag.parse(value, name, given[option]);
  }
  const admin = given.admin === undefined ? undefined : completeAdmin(given.admin as Partial<AdminOptions>);
  if (status) {
    if (admin === undefined) throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', `clusterize status needs --admin-port PORT, the port of the cluster's admin server (and --admin-host HOST where it is not on ${DEFAULT_ADMIN_HOST})`);
    if (i < argv.length) throw clusterizeTypeError('ERR_CLUSTERIZE_UNKNOWN_OPTION', `'${argv[i]}' for clusterize status (see clusterize --help)`);
    return { kind: 'status', ...admin };
  }
  const script = argv[i];
  if (script === undefined) throw clusterizeError('ERR_CLUSTERIZE_MISSING_SCRIPT', 'name the server script to run (clusterize [options] <script> [args...])');
  // Each value came from its flag's parse(), which checked it; admin is complete.
  const options = { ...given, ...(admin && { admin }) } as ClusterOptions;
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

/** --admin-port and --admin-host fill `admin` between them: the port is needed, the host has a default. */
function completeAdmin({ port, host = DEFAULT_ADMIN_HOST }: Partial<AdminOptions>): Required<AdminOptions> {
  if (port === undefined) throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_OPTION', '--admin-host needs --admin-port (the admin server is off without it)');
  return { port, host };
}
