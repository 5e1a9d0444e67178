import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommandLine, USAGE } from '../../packages/core/src/cli/command-line.ts';
import { MAX_SHUTDOWN_TIMEOUT_MS, MAX_TIMER_MS, MIN_HEARTBEAT_TIMEOUT_MS, MIN_READY_TIMEOUT_MS } from '../../packages/core/src/options.ts';

const run = (argv: string[]) => {
  const parsed = parseCommandLine(argv);
  if (parsed.kind !== 'run') throw new Error(`expected a run, got ${parsed.kind}`);
  return parsed.options;
};
const fails = (argv: string[], code: string, message: RegExp) =>
  expect(() => parseCommandLine(argv)).toThrow(expect.objectContaining({ code: `ERR_CLUSTERIZE_${code}`, message: expect.stringMatching(message) }));

describe('parseCommandLine', () => {
  it('reads each flag, in both spellings, into its option', () => {
    expect(run(['-w', '2', '-p', 'round-robin', '--shutdown-timeout', '500', '--shutdown-delay=1500', '--ready-timeout=900', '--heartbeat-timeout', '0',
      '--max-memory', '256', '--max-age=60000', '--max-surge', '2', '--max-message-size=4', '--queue-timeout', '300', 'server.js'])).toMatchObject({
      workers: 2, policy: 'round-robin', shutdownTimeout: 500, shutdownDelay: 1500, readyTimeout: 900, heartbeatTimeout: 0, maxMemory: 256, maxAge: 60_000, maxSurge: 2,
      maxMessageSize: 4, queueTimeout: 300,
    });
    expect(run(['--workers=auto', 'server.js']).workers).toBe('auto');
  });

  it('resolves the script against the current directory and passes what follows it to the script', () => {
    expect(run(['server.js', '--port', '3000', '-w', '9'])).toMatchObject({ script: resolve('server.js'), args: ['--port', '3000', '-w', '9'] });
    expect(run(['--', '-odd-name.js', 'a'])).toMatchObject({ script: resolve('-odd-name.js'), args: ['a'] });
  });

  it('leaves workers unset without --workers (CLUSTERIZE_WORKERS or auto decide later)', () => {
    expect(run(['server.js']).workers).toBeUndefined();
  });

  it('--help and --version win wherever they stand before the script', () => {
    expect(parseCommandLine(['-w', '2', '--help'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['-h'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['-v'])).toEqual({ kind: 'version' });
    expect(run(['server.js', '--help']).args).toEqual(['--help']);
  });

  it('--workers 0, -1 and abc say the same thing, naming the flag and quoting the value', () => {
    for (const value of ['0', '-1', 'abc', '1025', '2.5']) {
      fails(['--workers', value, 'server.js'], 'INVALID_WORKERS', new RegExp(`^Invalid worker count: --workers must be an integer from 1 to 1024 or 'auto', got '${value.replace('.', '\\.')}'$`));
    }
  });

  it('a time above what Node timers accept names the flag and the maximum', () => {
    fails(['--ready-timeout', String(MAX_TIMER_MS + 1), 'server.js'], 'INVALID_OPTION', new RegExp(`^Invalid option: --ready-timeout must be .* to ${MAX_TIMER_MS}, got '${MAX_TIMER_MS + 1}'$`));
    fails(['--max-age', '3000000000', 'server.js'], 'INVALID_OPTION', new RegExp(`--max-age .* to ${MAX_TIMER_MS}, got '3000000000'`));
    fails(['--shutdown-timeout', '3000000000', 'server.js'], 'INVALID_OPTION', new RegExp(`--shutdown-timeout .* to ${MAX_SHUTDOWN_TIMEOUT_MS}, got '3000000000'`));
    expect(run(['--ready-timeout', String(MAX_TIMER_MS), 'server.js']).readyTimeout).toBe(MAX_TIMER_MS);
  });

  it('a heartbeat or ready timeout below its minimum names the flag and the minimum', () => {
    fails(['--heartbeat-timeout', '1', 'server.js'], 'INVALID_OPTION', new RegExp(`--heartbeat-timeout must be 0 \\(off\\) or .* from ${MIN_HEARTBEAT_TIMEOUT_MS} `));
    fails(['--ready-timeout', '99', 'server.js'], 'INVALID_OPTION', new RegExp(`--ready-timeout .* from ${MIN_READY_TIMEOUT_MS} `));
  });

  it('a value that is not a whole number is quoted', () => {
    fails(['--shutdown-timeout', 'soon', 'server.js'], 'INVALID_OPTION', /--shutdown-timeout .*, got 'soon'$/);
    fails(['--max-surge', '1e3', 'server.js'], 'INVALID_OPTION', /--max-surge .*, got '1e3'$/);
    fails(['--shutdown-delay', '-5', 'server.js'], 'INVALID_OPTION', /--shutdown-delay .* from 0 to \d+, got '-5'$/);
  });

  it('an unknown policy names the flag and lists the policies', () => {
    fails(['--policy', 'fastest', 'server.js'], 'UNKNOWN_POLICY', /^Unknown dispatch policy: --policy must be one of 'shared', .*, got 'fastest'$/);
  });

  it('a flag without its value, an unknown flag, no script', () => {
    fails(['--workers'], 'INVALID_OPTION', /--workers needs a value/);
    fails(['--workers=', 'server.js'], 'INVALID_OPTION', /--workers needs a value/);
    fails(['--wrokers', '2', 'server.js'], 'UNKNOWN_OPTION', /'--wrokers'/);
    fails(['-w', '2'], 'MISSING_SCRIPT', /script/);
  });
});

describe('--primary-module', () => {
  const primary = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;

  it('is repeatable: each file, resolved against the current directory, in the order given', () => {
    expect(run(['server.js']).primaryModules).toBeUndefined();
    const relative = primary('listen.mjs').replace(`${process.cwd()}/`, '');
    expect(run(['--primary-module', primary('hello.mjs'), `--primary-module=${relative}`, 'server.js']).primaryModules)
      .toEqual([primary('hello.mjs'), primary('listen.mjs')]);
  });

  it('a file that does not exist, or a folder, names the flag and the path', () => {
    fails(['--primary-module', '/no/such/primary.mjs', 'server.js'], 'SCRIPT_NOT_FOUND', /^Script not found: --primary-module \/no\/such\/primary\.mjs does not exist$/);
    fails(['--primary-module', primary(''), 'server.js'], 'SCRIPT_NOT_FOUND', /--primary-module .*fixtures\/? is not a file$/);
  });
});

describe('admin flags and clusterize status', () => {
  it('--admin-port turns the admin server on, on 127.0.0.1 unless --admin-host says otherwise', () => {
    expect(run(['server.js']).admin).toBeUndefined();
    expect(run(['--admin-port', '9100', 'server.js']).admin).toEqual({ port: 9100, host: '127.0.0.1' });
    expect(run(['--admin-port=0', '--admin-host', '0.0.0.0', '--metrics-timeout', '500', 'server.js'])).toMatchObject({
      admin: { port: 0, host: '0.0.0.0' }, metricsTimeout: 500,
    });
  });

  it('a bad port or host names the flag; --admin-host alone is refused', () => {
    fails(['--admin-port', '65536', 'server.js'], 'INVALID_OPTION', /^Invalid option: --admin-port must be an integer from 0 to 65535, got '65536'$/);
    fails(['--admin-port', '9100', '--admin-host', 'a b', 'server.js'], 'INVALID_OPTION', /--admin-host must be an IP address or a host name, got 'a b'$/);
    fails(['--admin-host', '127.0.0.1', 'server.js'], 'INVALID_OPTION', /--admin-host needs --admin-port/);
  });

  it('status with --admin-port takes the admin port and host, and --json, nothing else', () => {
    expect(parseCommandLine(['status', '--admin-port', '9100'])).toEqual({ kind: 'status', port: 9100, host: '127.0.0.1', json: false });
    expect(parseCommandLine(['status', '--admin-port', '9100', '--admin-host', '::1', '--json'])).toEqual({ kind: 'status', port: 9100, host: '::1', json: true });
    fails(['status', '--admin-host', '::1'], 'INVALID_OPTION', /--admin-host needs --admin-port/);
    fails(['status', '--admin-port', '9100', '--control', '/tmp/x.sock'], 'INVALID_OPTION', /--control and --admin-port ask two different servers/);
    fails(['status', '--admin-port', '9100', '-w', '2'], 'UNKNOWN_OPTION', /'-w' for clusterize status/);
    fails(['status', '--admin-port', '9100', '--proxy-protocol'], 'UNKNOWN_OPTION', /'--proxy-protocol' for clusterize status/);
    fails(['status', '--admin-port', '9100', 'extra'], 'UNKNOWN_OPTION', /'extra' for clusterize status/);
    expect(run(['--', 'status']).script).toBe(resolve('status'));
  });
});

describe('--help', () => {
  it("is the README's CLI block, word for word", async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /### The CLI\n\n```\n([\s\S]*?)```\n/.exec(readme)?.[1];
    expect(block, 'README.md shows an old --help: npm run readme').toBe(USAGE);
  });

  it("lists the policies in the README's order, shared marked as the default", async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Choosing a policy'));
    const table = [...section.slice(0, section.indexOf('\n\n', section.indexOf('| policy |'))).matchAll(/^\| `([a-z-]+)`(?: \(default\))? \| /gm)].map((match) => match[1]);
    expect(table).toEqual(['shared', 'round-robin', 'least-connections', 'sticky', 'reuseport']);
    expect(USAGE).toContain(`how connections reach workers: shared (default), ${table.slice(1).join(', ')}\n`);
  });

  it('names CLUSTERIZE_WORKERS and the bounds of the times', () => {
    expect(USAGE).toMatch(/^ {2}CLUSTERIZE_WORKERS=N\|auto +worker processes when --workers is not given$/m);
    expect(USAGE).toContain(String(MAX_TIMER_MS));
    expect(USAGE).toContain(`at least ${MIN_HEARTBEAT_TIMEOUT_MS}`);
    expect(USAGE).toContain(`at least ${MIN_READY_TIMEOUT_MS}`);
  });
});

describe('the control socket', () => {
  it('the CLI takes commands by default, under --name, on --control PATH, or not at all with --no-control', () => {
    expect(run(['server.js']).control).toBe(true);
    expect(run(['--name', 'web.v2_x-1', 'server.js']).control).toEqual({ name: 'web.v2_x-1' });
    expect(run(['--control', 'ctl.sock', '--name=web', 'server.js']).control).toEqual({ path: resolve('ctl.sock'), name: 'web' });
    expect(run(['--no-control', 'server.js']).control).toBe(false);
  });

  it('a bad --name or --control, or one beside --no-control, names the flag', () => {
    for (const name of ['a b', '', 'x'.repeat(65), 'é', 'a/b']) {
      fails(['--name', name, 'server.js'], name === '' ? 'INVALID_OPTION' : 'INVALID_NAME', name === '' ? /--name needs a value/ : /^Invalid cluster name: --name must be 1 to 64 letters, digits, '\.', '_' or '-', got /);
    }
    fails(['--control', `/tmp/${'x'.repeat(120)}.sock`, 'server.js'], 'INVALID_OPTION', /--control must be at most 107 bytes long/);
    fails(['--no-control', '--name', 'web', 'server.js'], 'INVALID_OPTION', /--name contradicts --no-control/);
    fails(['--name', 'web', '--no-control', 'server.js'], 'INVALID_OPTION', /--no-control contradicts a flag before it/);
  });

  it('reads each command with its NAME, N and flags', () => {
    const command = (argv: string[]) => parseCommandLine(argv);
    expect(command(['ls'])).toEqual({ kind: 'command', command: 'ls', target: { name: undefined, path: undefined }, json: false });
    expect(command(['ls', '--json'])).toMatchObject({ command: 'ls', json: true });
    expect(command(['status'])).toMatchObject({ command: 'status', target: { name: undefined }, json: false });
    expect(command(['status', 'web', '--json'])).toMatchObject({ command: 'status', target: { name: 'web' }, json: true });
    expect(command(['reload', '--control', 'ctl.sock'])).toMatchObject({ command: 'reload', target: { path: resolve('ctl.sock') } });
    expect(command(['scale', '3'])).toMatchObject({ command: 'scale', target: { name: undefined }, workers: 3 });
    expect(command(['scale', 'web', '3'])).toMatchObject({ command: 'scale', target: { name: 'web' }, workers: 3 });
    expect(command(['stop', '--', '-web'])).toMatchObject({ command: 'stop', target: { name: '-web' } });
    expect(command(['logs', 'web'])).toMatchObject({ command: 'logs', target: { name: 'web' } });
    expect(command(['logs', '--help'])).toEqual({ kind: 'help' });
    expect(run(['./ls']).script).toBe(resolve('ls'));
  });

  it('refuses what a command does not take: exit status 2 material', () => {
    fails(['scale'], 'INVALID_OPTION', /clusterize scale needs the number of workers/);
    fails(['scale', 'web', '0'], 'INVALID_WORKERS', /^Invalid worker count: clusterize scale N must be an integer from 1 to 1024, got '0'$/);
    fails(['scale', 'auto'], 'INVALID_WORKERS', /got 'auto'/);
    fails(['scale', 'a', 'b', '2'], 'UNKNOWN_OPTION', /'2' for clusterize scale/);
    fails(['status', 'a', 'b'], 'UNKNOWN_OPTION', /'b' for clusterize status/);
    fails(['ls', 'web'], 'UNKNOWN_OPTION', /'web' for clusterize ls/);
    fails(['ls', '--control', 'x.sock'], 'UNKNOWN_OPTION', /'--control' for clusterize ls/);
    fails(['reload', '--json'], 'UNKNOWN_OPTION', /'--json' for clusterize reload/);
    fails(['stop', 'bad name'], 'INVALID_NAME', /the cluster name must be 1 to 64 letters/);
    fails(['stop', 'web', '--control', 'x.sock'], 'INVALID_OPTION', /give the cluster's NAME or --control PATH, not both/);
    fails(['logs', '--control'], 'INVALID_OPTION', /--control needs a value/);
  });
});

describe("Node.js flags for the workers", () => {
  const own = process.execArgv;

  it('--node-option (repeatable) and --node-args (one argument, as NODE_OPTIONS) add to the primary\'s own flags, in order', () => {
    expect(run(['--node-option', '--max-old-space-size=100', '--node-args', '--import ./otel.mjs --title="my app"', '--node-option=--inspect', 'server.js']).execArgv)
      .toEqual([...own, '--max-old-space-size=100', '--import', './otel.mjs', '--title=my app', '--inspect']);
    expect(run(['server.js']).execArgv).toEqual(own);
  });

  it("Node's own flags before the script are the workers', with the next argument where node wants a value", () => {
    expect(run(['--import', './otel.mjs', '-r', 'dotenv/config', '--inspect', '-w', '2', '--max-old-space-size=512', 'server.js', '--import', 'x'])).toMatchObject({
      workers: 2, execArgv: [...own, '--import', './otel.mjs', '-r', 'dotenv/config', '--inspect', '--max-old-space-size=512'], args: ['--import', 'x'],
    });
    fails(['--import'], 'INVALID_OPTION', /^Invalid option: --import needs a value$/);
    fails(['--no-such-flag', 'server.js'], 'UNKNOWN_OPTION', /'--no-such-flag' \(neither clusterize nor Node\.js has it/);
    fails(['--max-old-space-size', '100', 'server.js'], 'INVALID_NODE_OPTION', /node rejects --max-old-space-size: Error: illegal value for flag --max-old-space-size of type size_t \(a flag and its value go in one argument: --max-old-space-size=VALUE\)$/);
  });

  it('flags that make node do something else than run the script are refused, naming where they came from', () => {
    fails(['--node-option', '--watch', 'server.js'], 'INVALID_NODE_OPTION', /--watch \(--node-option\): node would restart the script itself; clusterize's own --watch/);
    fails(['-e', 'console.log(1)', 'server.js'], 'INVALID_NODE_OPTION', /^Invalid Node\.js flag for the workers: -e: it makes node do something other than run the script$/);
  });

  it('--env-file takes a readable file, resolved against the current directory', () => {
    const file = new URL('../fixtures/hello.mjs', import.meta.url).pathname;
    const relative = file.replace(`${process.cwd()}/`, '');
    expect(run(['--env-file', relative, 'server.js']).execArgv).toEqual([...own, `--env-file=${file}`]);
    fails(['--env-file', '/no/such/.env', 'server.js'], 'ENV_FILE_NOT_FOUND', /^Env file not found: --env-file \/no\/such\/\.env does not exist$/);
    fails(['--env-file', new URL('../fixtures/', import.meta.url).pathname, 'server.js'], 'ENV_FILE_NOT_FOUND', /is not a file$/);
  });
});

describe('--watch', () => {
  const here = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;

  it('alone, the script\'s folder; with =PATH (repeatable), those paths, made absolute; the argument after it stays the script', () => {
    expect(run(['server.js']).watch).toBeUndefined();
    expect(run(['--watch', 'server.js'])).toMatchObject({ watch: true, script: resolve('server.js') });
    const relative = here('hello.mjs').replace(`${process.cwd()}/`, '');
    expect(run([`--watch=${here('')}`, `--watch=${relative}`, '--watch', 'server.js']).watch).toEqual([here('').replace(/\/$/, ''), here('hello.mjs')]);
  });

  it('a path that does not exist is refused, naming it', () => {
    fails(['--watch=/no/such/src', 'server.js'], 'WATCH_PATH_NOT_FOUND', /^Watch path not found: --watch \/no\/such\/src does not exist$/);
  });

  it('shows its value as optional in --help', () => {
    expect(USAGE).toMatch(/^ {2}--watch\[=PATH\] +reload the workers when a file under PATH changes/m);
  });
});
