import './node-version-gate.js';
export { createCluster, startCluster } from './start.js';
export { Cluster, type ClusterEvents, type ClusterWorker, type ListenError, type RequestHandler, type ShutdownReport } from './primary/cluster.js';
export type {
  ClusterizeRequests, ClusterizeTopics, LeadJob, LeadOptions, Publisher, RequestCall, RequestName, RequestOptions, RequestPayload, RequestReply, Subscriber, Topic, TopicData,
} from './message-types.js';
export { EXIT_CUT_AT_DEADLINE } from './supervision/signals.js';
export type { WorkerState } from './supervision/worker-process.js';
export { resolveOptions, WORKERS_ENV, type AdminOptions, type ClusterOptions, type ResolvedOptions } from './options.js';
export type { ControlOptions } from './control/control-options.js';
export type { WorkerReport } from './admin/admin-server.js';
export { DEFAULT_POLICY, policyNames, type PolicyName } from './listeners/policies/index.js';
export { drainOnSignals, type InProcessDrain, type InProcessSettings } from './in-process.js';
export { trackConnections } from './drain/connections.js';
export { drainServer } from './drain/drain-server.js';
export { clusterizeApp, clusterizeServer, roleFor, type AppFactory, type AppKind, type ClusterizedServer, type Listen, type ListenArgs, type ListenCallback, type Role } from './app.js';
export { currentWorker, startWorker } from './worker/start.js';
export type { WorkerRuntime, WorkerEvents } from './worker/runtime.js';
export { errorCodes, isClusterizeError, clusterizeTypeError, type ClusterizeError, type ErrorCode } from './errors.js';
export { clusterMetrics, METRICS_CONTENT_TYPE } from './admin/cluster-metrics.js';
export { availableCpus, cpuQuota } from './cpus.js';
// The limits and exit statuses README.md and docs/errors.md name (test/unit/constants.test.ts).
export { MAX_MESSAGE_SIZE_MB, MAX_SHUTDOWN_TIMEOUT_MS, MAX_TIMER_MS, MIN_HEARTBEAT_TIMEOUT_MS, MIN_READY_TIMEOUT_MS } from './option-checks.js';
export { MAX_QUEUED } from './listeners/forwarding-listener.js';
export { PROXY_HEADER_TIMEOUT_MS } from './proxy-protocol/proxy-header-reader.js';
export { MIN_NODE_VERSION } from './node-version.js';
export { EXIT_NODE_INTERNALS } from './node-internals-check.js';
