export { createCluster, startCluster } from './start.js';
export { Cluster, type ClusterEvents, type ClusterWorker, type ListenError, type RequestHandler, type ShutdownReport } from './primary/cluster.js';
export type {
  ClusterizeRequests, ClusterizeTopics, LeadJob, LeadOptions, Publisher, RequestCall, RequestName, RequestOptions, RequestPayload, RequestReply, Subscriber, Topic, TopicData,
} from './message-types.js';
export { EXIT_CUT_AT_DEADLINE } from './supervision/signals.js';
export type { WorkerState } from './supervision/worker-process.js';
export { resolveOptions, WORKERS_ENV, type AdminOptions, type ClusterOptions, type ResolvedOptions } from './options.js';
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
