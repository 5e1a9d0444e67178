import http from 'node:http';
import type { AddressInfo, ListenOptions } from 'node:net';
import { cliErrorLine, clusterizeTypeError, isClusterizeError } from './errors.js';
import { resolveOptions, resolveWorkerCount, type ClusterOptions } from './options.js';
import type { Cluster, ListenError } from './primary/cluster.js';
import { flushOutput } from './supervision/output-relay.js';
import { drainOnSignals } from './in-process.js';
import { createCluster } from './start.js';
import { trackConnections } from './drain/connections.js';
import { currentWorker } from './worker/start.js';

export type Role = 'primary' | 'worker' | 'in-process';
export type ListenCallback = (error?: Error) => void;
export type ListenArgs = [port?: number | string | object, host?: string | ListenCallback, ...rest: unknown[]];

/**
 * `listen` takes what Express 5's `app.listen` (and `server.listen`) takes: a port (or a
 * Unix socket path), a host, a backlog, an options object; the callback gets the listen
 * error, if any.
 */
export interface Listen {
  (callback?: ListenCallback): ClusterizedServer;
  (port: number | string, callback?: ListenCallback): ClusterizedServer;
  (port: number | string, host: string, callback?: ListenCallback): ClusterizedServer;
  (port: number | string, host: string, backlog: number, callback?: ListenCallback): ClusterizedServer;
  (options: ListenOptions, callback?: ListenCallback): ClusterizedServer;
}

/** What `listen()` returns in every role, so the same script runs as primary and worker. */
export interface ClusterizedServer {
  readonly role: Role;
  /** The HTTP server serving the app: in a worker or in-process, once created. */
  readonly server: http.Server | undefined;
  /** The cluster, in the primary. */
  readonly cluster: Cluster | undefined;
  /** Resolves with the address once serving (in the primary: every worker ready). */
  readonly ready: Promise<AddressInfo | string>;
  address(): AddressInfo | string | null;
  /** Stops serving: drains the cluster in the primary, closes the server elsewhere. */
  close(): Promise<void>;
}

/** The role of this process: a clusterize worker, in-process (workers: 0), or the primary. */
export function roleFor(options: ClusterOptions): Role {
  if (currentWorker() !== undefined) return 'worker';
  return resolveWorkerCount(options.workers, { allowZero: true }) === 0 ? 'in-process' : 'primary';
}

/**
 * The shared body of the framework adapters: in a worker (or in-process) `listen` serves
 * the server `create` builds; in the primary it starts the cluster and never builds it,
 * so no route, middleware or hook of the app runs there. Listen errors reach the callback,
 * as in Express 5.
 */
export function clusterizeServer(create: () => http.Server | Promise<http.Server>, options: ClusterOptions = {}) {
  const resolved = resolveOptions(options, { allowZeroWorkers: true });
  const listen = (...args: ListenArgs): ClusterizedServer => {
    const callback = typeof args.at(-1) === 'function' ? args.pop() as ListenCallback : undefined;
    const role = roleFor(options);
    if (role === 'primary') return servePrimary(options, callback);
    return serveHere(role, create, args, callback, (server) => {
      // In-process: no primary drains this server on SIGTERM, so it drains itself.
      if (role !== 'in-process') return;
      trackConnections(server);
      drainOnSignals(resolved, { server });
    });
  };
  return { listen: listen as Listen };
}

function serveHere(role: Role, create: () => http.Server | Promise<http.Server>, args: unknown[], callback: ListenCallback | undefined, created: (server: http.Server) => void): ClusterizedServer {
  let server: http.Server | undefined;
  const ready = (async () => {
    server = await create();
    created(server);
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(...(args as []), () => {
        server!.off('error', reject);
        resolve();
      });
    });
    return server.address()!;
  })();
  if (callback !== undefined) ready.then(() => callback(), (error: Error) => callback(error));
  return {
    role,
    get server() { return server; },
    cluster: undefined,
    ready,
    address: () => server?.address() ?? null,
    close: async () => {
      if (server?.listening) await new Promise<void>((resolve) => server!.close(() => resolve()));
    },
  };
}

function servePrimary(options: ClusterOptions, callback?: ListenCallback): ClusterizedServer {
  const cluster = createCluster(options);
  const ready = new Promise<AddressInfo | string>((resolve, reject) => {
    cluster.once('listenError', (_worker, error) => reject(listenError(error)));
    cluster.start().then(() => resolve(cluster.address() as AddressInfo | string), reject);
  });
  if (callback !== undefined) ready.then(() => callback(), (error: Error) => callback(error));
  else {
    ready.catch((error: Error) => {
      // As a lone `server.listen()` would crash on an unhandled 'error': say why, last, once
      // the workers are gone, and exit 1.
      void cluster.shutdown().then(() => flushOutput()).then(async () => {
        cluster.options.log(isClusterizeError(error) ? cliErrorLine(error) : `clusterize: ${error.message}`);
        await flushOutput();
        process.exit(1);
      });
    });
  }
  return {
    role: 'primary',
    server: undefined,
    cluster,
    ready,
    address: () => cluster.address() as AddressInfo | string | null,
    close: async () => {
      await cluster.shutdown();
    },
  };
}

function listenError({ code, address, port }: ListenError): Error {
  const where = port === -1 ? String(address) : `${address ?? '*'}:${port}`;
  return Object.assign(new Error(`listen ${code}: ${where}`), { code, syscall: 'listen', address, port });
}


/** What an adapter tells core about its framework's apps. */
export interface AppKind<App> {
  /** What the adapter accepts, for error messages: "an Express app (express()) or a function that returns one". */
  readonly expected: string;
  isApp(value: unknown): value is App;
  /** The request listener that serves the app. */
  handler(app: App): http.RequestListener;
}

/** Builds the app in each worker, so what it opens (database pools, timers) is never opened in the primary. */
export type AppFactory<App> = () => App | Promise<App>;

/**
 * The body of the Express and Koa adapters: takes an app or a factory (checked, with a
 * coded error that says what was expected) and serves it with clusterizeServer.
 */
export function clusterizeApp<App>(kind: AppKind<App>, appOrFactory: App | AppFactory<App>, options?: ClusterOptions) {
  const invalid = (value: unknown, source: string) => clusterizeTypeError('ERR_CLUSTERIZE_INVALID_APP',
    `expected ${kind.expected}, ${source} ${value === null ? 'null' : typeof value}`);
  if (!kind.isApp(appOrFactory) && typeof appOrFactory !== 'function') throw invalid(appOrFactory, 'got');
  const build = async (): Promise<App> => {
    if (kind.isApp(appOrFactory)) return appOrFactory;
    const app = await (appOrFactory as AppFactory<App>)();
    if (!kind.isApp(app)) throw invalid(app, 'the factory returned');
    return app;
  };
  return clusterizeServer(async () => http.createServer(kind.handler(await build())), options);
}
