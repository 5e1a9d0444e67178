import { afterEach, describe, expect, it } from 'vitest';
import {
  MAX_MESSAGE_SIZE_MB, MAX_SHUTDOWN_TIMEOUT_MS, MAX_TIMER_MS, MIN_HEARTBEAT_TIMEOUT_MS, MIN_READY_TIMEOUT_MS, WORKERS_ENV,
  resolveOptions, resolveWorkerCount, validateWorkerCount, type ClusterOptions,
} from '../../packages/core/src/options.ts';

const script = '/srv/server.js';
const resolve = (options: Record<string, unknown>) => resolveOptions({ script, ...options } as ClusterOptions);
const coded = (name: 'Error' | 'TypeError' | 'RangeError', code: string, message: RegExp) =>
  expect.objectContaining({ name, code: `ERR_CLUSTERIZE_${code}`, message: expect.stringMatching(message) });

afterEach(() => {
  delete process.env[WORKERS_ENV];
});

describe('time options stay within what Node timers accept', () => {
  const timers = ['readyTimeout', 'shutdownDelay', 'heartbeatTimeout', 'maxAge', 'restartDelay', 'maxRestartDelay', 'queueTimeout'] as const;
  for (const name of timers) {
    it(`${name}: ${MAX_TIMER_MS} is accepted, one more is a RangeError naming the option and the maximum`, () => {
      expect(resolve({ [name]: MAX_TIMER_MS })[name]).toBe(MAX_TIMER_MS);
      expect(() => resolve({ [name]: MAX_TIMER_MS + 1 })).toThrow(coded('RangeError', 'INVALID_OPTION', new RegExp(`^Invalid option: ${name} must be .* to ${MAX_TIMER_MS}, got ${MAX_TIMER_MS + 1}$`)));
    });
  }

  it('queueTimeout: 5000 by default; 0 closes at once; a negative or fractional one is a coded error naming it', () => {
    expect(resolve({}).queueTimeout).toBe(5_000);
    expect(resolve({ queueTimeout: 0 }).queueTimeout).toBe(0);
    expect(() => resolve({ queueTimeout: -1 })).toThrow(coded('RangeError', 'INVALID_OPTION', /^Invalid option: queueTimeout must be a whole number of milliseconds from 0 to \d+, got -1$/));
    expect(() => resolve({ queueTimeout: 1.5 })).toThrow(coded('RangeError', 'INVALID_OPTION', /queueTimeout .*, got 1\.5$/));
    expect(() => resolve({ queueTimeout: '300' })).toThrow(coded('TypeError', 'INVALID_OPTION', /queueTimeout .*, got '300'$/));
  });

  it('shutdownTimeout leaves room for the grace the primary adds before it kills a worker', () => {
    expect(MAX_SHUTDOWN_TIMEOUT_MS).toBeLessThan(MAX_TIMER_MS - 1_000);
    expect(resolve({ shutdownTimeout: MAX_SHUTDOWN_TIMEOUT_MS }).shutdownTimeout).toBe(MAX_SHUTDOWN_TIMEOUT_MS);
    expect(() => resolve({ shutdownTimeout: 3_000_000_000 })).toThrow(coded('RangeError', 'INVALID_OPTION', new RegExp(`shutdownTimeout .* to ${MAX_SHUTDOWN_TIMEOUT_MS}, got 3000000000`)));
  });

  it(`heartbeatTimeout is 0 (off) or at least ${MIN_HEARTBEAT_TIMEOUT_MS} ms`, () => {
    expect(resolve({ heartbeatTimeout: 0 }).heartbeatTimeout).toBe(0);
    expect(resolve({ heartbeatTimeout: MIN_HEARTBEAT_TIMEOUT_MS }).heartbeatTimeout).toBe(MIN_HEARTBEAT_TIMEOUT_MS);
    for (const tooShort of [1, MIN_HEARTBEAT_TIMEOUT_MS - 1]) {
      expect(() => resolve({ heartbeatTimeout: tooShort })).toThrow(coded('RangeError', 'INVALID_OPTION', new RegExp(`heartbeatTimeout must be 0 \\(off\\) or .* from ${MIN_HEARTBEAT_TIMEOUT_MS} to ${MAX_TIMER_MS}, got ${tooShort}$`)));
    }
  });

  it(`readyTimeout is at least ${MIN_READY_TIMEOUT_MS} ms`, () => {
    expect(resolve({ readyTimeout: MIN_READY_TIMEOUT_MS }).readyTimeout).toBe(MIN_READY_TIMEOUT_MS);
    expect(() => resolve({ readyTimeout: MIN_READY_TIMEOUT_MS - 1 })).toThrow(coded('RangeError', 'INVALID_OPTION', /readyTimeout .* from 100 /));
  });

  it('a wrong type is a TypeError that quotes a string and shows a number bare', () => {
    expect(() => resolve({ maxAge: '5s' })).toThrow(coded('TypeError', 'INVALID_OPTION', /maxAge .*, got '5s'$/));
    expect(() => resolve({ maxAge: Number.NaN })).toThrow(coded('RangeError', 'INVALID_OPTION', /maxAge .*, got NaN$/));
    expect(() => resolve({ maxAge: 1.5 })).toThrow(coded('RangeError', 'INVALID_OPTION', /maxAge .*, got 1\.5$/));
  });

  it('fills in the documented defaults', () => {
    expect(resolve({ workers: 2 })).toMatchObject({
      workers: 2, policy: 'shared', shutdownTimeout: 10_000, shutdownDelay: 0, readyTimeout: 30_000, restartDelay: 100, maxRestartDelay: 30_000,
      heartbeatTimeout: 30_000, maxMemory: 0, maxAge: 0, maxSurge: 1, maxMessageSize: 16, signals: true, reloadSignal: 'SIGHUP', script,
    });
  });
});

describe('primaryModules', () => {
  it('is a list of readable files, as absolute paths; none by default', () => {
    const file = new URL('../fixtures/hello.mjs', import.meta.url).pathname;
    expect(resolve({ workers: 2 }).primaryModules).toEqual([]);
    expect(resolve({ workers: 2, primaryModules: [file] }).primaryModules).toEqual([file]);
    expect(() => resolve({ workers: 2, primaryModules: file })).toThrow(coded('TypeError', 'INVALID_OPTION', /primaryModules must be an array of strings$/));
    expect(() => resolve({ workers: 2, primaryModules: ['/no/such.mjs'] })).toThrow(coded('Error', 'SCRIPT_NOT_FOUND', /primaryModules \/no\/such\.mjs does not exist$/));
  });
});

describe('reloadSignal', () => {
  it("is 'SIGHUP', 'SIGUSR2' or 'SIGUSR1'; a signal that stops the cluster, or no string, is a coded error", () => {
    expect(resolve({ workers: 2, reloadSignal: 'SIGUSR2' }).reloadSignal).toBe('SIGUSR2');
    expect(() => resolve({ workers: 2, reloadSignal: 'SIGTERM' })).toThrow(coded('RangeError', 'INVALID_OPTION', /reloadSignal must be one of 'SIGHUP', 'SIGUSR2', 'SIGUSR1', got 'SIGTERM'$/));
    expect(() => resolve({ workers: 2, reloadSignal: 1 })).toThrow(coded('TypeError', 'INVALID_OPTION', /got 1$/));
  });
});

describe('maxMessageSize', () => {
  it(`is whole megabytes from 1 to ${MAX_MESSAGE_SIZE_MB}, what one V8 string can hold`, () => {
    expect(resolve({ maxMessageSize: 1 }).maxMessageSize).toBe(1);
    expect(resolve({ maxMessageSize: MAX_MESSAGE_SIZE_MB }).maxMessageSize).toBe(MAX_MESSAGE_SIZE_MB);
    for (const bad of [0, MAX_MESSAGE_SIZE_MB + 1, 0.5]) {
      expect(() => resolve({ maxMessageSize: bad })).toThrow(coded('RangeError', 'INVALID_OPTION', new RegExp(`^Invalid option: maxMessageSize must be a whole number of megabytes from 1 to ${MAX_MESSAGE_SIZE_MB}, got ${bad}$`)));
    }
  });
});

describe('worker counts', () => {
  it('validateWorkerCount names its source and quotes a string (scale(\'3\'))', () => {
    expect(validateWorkerCount(3, 'scale() count')).toBe(3);
    expect(() => validateWorkerCount('3', 'scale() count')).toThrow(coded('TypeError', 'INVALID_WORKERS', /^Invalid worker count: scale\(\) count must be an integer from 1 to 1024, got '3'$/));
    expect(() => validateWorkerCount(0, 'scale() count')).toThrow(coded('RangeError', 'INVALID_WORKERS', /got 0$/));
    expect(() => validateWorkerCount(1025, 'scale() count')).toThrow(coded('RangeError', 'INVALID_WORKERS', /got 1025$/));
    expect(() => validateWorkerCount('auto', 'scale() count')).toThrow(coded('TypeError', 'INVALID_WORKERS', /got 'auto'$/));
  });

  it("'auto' and 0 only where allowed", () => {
    expect(validateWorkerCount('auto', 'workers', { allowAuto: true })).toBeGreaterThanOrEqual(1);
    expect(validateWorkerCount(0, 'workers', { allowZero: true })).toBe(0);
    expect(() => resolve({ workers: 0 })).toThrow(coded('RangeError', 'INVALID_WORKERS', /^Invalid worker count: workers must be an integer from 1 to 1024 or 'auto', got 0$/));
  });

  it(`${WORKERS_ENV} overrides the workers option (the operator's setting over the app's default)`, () => {
    process.env[WORKERS_ENV] = '3';
    expect(resolve({ workers: 2 }).workers).toBe(3);
    expect(resolveWorkerCount(2)).toBe(3);
  });

  it(`with workersFromEnv: false (the CLI's explicit --workers), ${WORKERS_ENV} is ignored`, () => {
    process.env[WORKERS_ENV] = '3';
    expect(resolveOptions({ script, workers: 2 }, { workersFromEnv: false }).workers).toBe(2);
  });

  it(`an empty ${WORKERS_ENV} counts as unset`, () => {
    process.env[WORKERS_ENV] = '';
    expect(resolve({ workers: 2 }).workers).toBe(2);
  });

  it(`a bad ${WORKERS_ENV} is an error that names the variable`, () => {
    for (const value of ['abc', '0', '-1', '2.5']) {
      process.env[WORKERS_ENV] = value;
      expect(() => resolve({ workers: 2 })).toThrow(coded(/^\d|-/.test(value) && value !== '2.5' ? 'RangeError' : 'TypeError', 'INVALID_WORKERS',
        new RegExp(`^Invalid worker count: ${WORKERS_ENV} must be an integer from 1 to 1024 or 'auto', got '${value.replace('.', '\\.')}'$`)));
    }
  });

  it(`${WORKERS_ENV}=0 is in-process where 0 is allowed (the framework plugins)`, () => {
    process.env[WORKERS_ENV] = '0';
    expect(resolveOptions({ script, workers: 2 }, { allowZeroWorkers: true }).workers).toBe(0);
  });
});

describe('policy', () => {
  it('a name that is no policy is a RangeError that lists the policies, the default first', () => {
    expect(() => resolve({ policy: 'fastest' })).toThrow(coded('RangeError', 'UNKNOWN_POLICY',
      /^Unknown dispatch policy: policy must be one of 'shared', 'round-robin', 'least-connections', 'sticky', 'reuseport', got 'fastest'$/));
  });

  it('a value that is not a string is a TypeError', () => {
    expect(() => resolve({ policy: 5 })).toThrow(coded('TypeError', 'UNKNOWN_POLICY', /got 5$/));
    expect(() => resolve({ policy: { name: 'shared' } })).toThrow(coded('TypeError', 'UNKNOWN_POLICY', /got an object$/));
  });
});

describe('admin', () => {
  it('is off by default; host defaults to 127.0.0.1', () => {
    expect(resolve({}).admin).toBeUndefined();
    expect(resolve({ admin: { port: 9100 } }).admin).toEqual({ port: 9100, host: '127.0.0.1' });
    expect(resolve({ admin: { port: 0, host: '::1' } }).admin).toEqual({ port: 0, host: '::1' });
    expect(resolve({ admin: { port: 9100, host: 'metrics.internal' } }).admin?.host).toBe('metrics.internal');
  });

  it('a bad port or host, or an unknown key, is a coded error naming it', () => {
    expect(() => resolve({ admin: { port: 70000 } })).toThrow(coded('RangeError', 'INVALID_OPTION', /^Invalid option: admin\.port must be an integer from 0 to 65535, got 70000$/));
    expect(() => resolve({ admin: { port: '9100' } })).toThrow(coded('TypeError', 'INVALID_OPTION', /admin\.port .*, got '9100'$/));
    expect(() => resolve({ admin: {} })).toThrow(coded('TypeError', 'INVALID_OPTION', /admin\.port .*, got undefined$/));
    expect(() => resolve({ admin: { port: 1, host: 'not a host' } })).toThrow(coded('RangeError', 'INVALID_OPTION', /^Invalid option: admin\.host must be an IP address or a host name, got 'not a host'$/));
    expect(() => resolve({ admin: { port: 1, host: 5 } })).toThrow(coded('TypeError', 'INVALID_OPTION', /admin\.host/));
    expect(() => resolve({ admin: { port: 1, path: '/m' } })).toThrow(coded('TypeError', 'UNKNOWN_OPTION', /'admin\.path'/));
    expect(() => resolve({ admin: 9100 })).toThrow(coded('TypeError', 'INVALID_OPTION', /^Invalid option: admin must be an object/));
  });

  it('metricsTimeout: 2000 by default, at least 1', () => {
    expect(resolve({}).metricsTimeout).toBe(2_000);
    expect(() => resolve({ metricsTimeout: 0 })).toThrow(coded('RangeError', 'INVALID_OPTION', /metricsTimeout/));
  });
});

describe('control', () => {
  it('is off by default; true, or { name, path } with either left out', () => {
    expect(resolve({}).control).toBeUndefined();
    expect(resolve({ control: false }).control).toBeUndefined();
    expect(resolve({ control: true }).control).toEqual({ name: undefined, path: undefined });
    expect(resolve({ control: { name: 'api' } }).control).toEqual({ name: 'api', path: undefined });
    expect(resolve({ control: { path: 'ctl.sock' } }).control).toEqual({ name: undefined, path: `${process.cwd()}/ctl.sock` });
  });

  it('a bad name or path, or an unknown key, is a coded error naming it', () => {
    expect(() => resolve({ control: { name: 'my app' } })).toThrow(coded('RangeError', 'INVALID_NAME', /^Invalid cluster name: control\.name must be 1 to 64 letters, digits, '\.', '_' or '-', got 'my app'$/));
    expect(() => resolve({ control: { name: 5 } })).toThrow(coded('TypeError', 'INVALID_NAME', /control\.name .*, got 5$/));
    expect(() => resolve({ control: { path: '' } })).toThrow(coded('TypeError', 'INVALID_OPTION', /control\.path must be the path of a Unix socket/));
    expect(() => resolve({ control: { port: 1 } })).toThrow(coded('TypeError', 'UNKNOWN_OPTION', /'control\.port' \(known: name, path\)/));
    expect(() => resolve({ control: 'yes' })).toThrow(coded('TypeError', 'INVALID_OPTION', /^Invalid option: control must be true, false or an object/));
  });
});

describe('logPrefix and logFormat', () => {
  it("logPrefix is true, false or 'auto' (the default); logFormat 'text' (the default) or 'json'", () => {
    expect(resolveOptions({})).toMatchObject({ logPrefix: 'auto', logFormat: 'text' });
    expect(resolveOptions({ logPrefix: false, logFormat: 'json' })).toMatchObject({ logPrefix: false, logFormat: 'json' });
    expect(() => resolveOptions({ logPrefix: 'yes' as never })).toThrow(expect.objectContaining({ code: 'ERR_CLUSTERIZE_INVALID_OPTION', message: "Invalid option: logPrefix must be true, false or 'auto', got 'yes'" }));
    expect(() => resolveOptions({ logFormat: 'xml' as never })).toThrow(expect.objectContaining({ code: 'ERR_CLUSTERIZE_INVALID_OPTION', name: 'RangeError', message: "Invalid option: logFormat must be 'text' or 'json', got 'xml'" }));
  });

  it("with logFormat 'json', the log option gets each line as one JSON object", () => {
    const lines: string[] = [];
    resolveOptions({ logFormat: 'json', log: (line) => lines.push(line) }).log('clusterize: reload complete');
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'info', event: 'reload.complete', pid: process.pid, message: 'reload complete' });
  });
});

describe('watch', () => {
  it('is off by default; true (the script\'s folder) or a list of paths that exist, made absolute', () => {
    expect(resolveOptions({}).watch).toEqual([]);
    expect(resolveOptions({ watch: false }).watch).toEqual([]);
    expect(resolveOptions({ watch: true }).watch).toBe(true);
    expect(resolveOptions({ watch: ['packages'] }).watch).toEqual([`${process.cwd()}/packages`]);
    expect(() => resolveOptions({ watch: ['/no/such/src'] })).toThrow(expect.objectContaining({ code: 'ERR_CLUSTERIZE_WATCH_PATH_NOT_FOUND', message: 'Watch path not found: watch /no/such/src does not exist' }));
    expect(() => resolveOptions({ watch: 'src' as never })).toThrow(expect.objectContaining({ code: 'ERR_CLUSTERIZE_INVALID_OPTION', name: 'TypeError' }));
  });
});
