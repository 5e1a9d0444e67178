/**
 * The topics an app publishes and the requests its workers make, declared once for the
 * whole app, worker and primary code alike, by declaration merging:
 *
 *     declare module '@clusterize/core' {
 *       interface ClusterizeTopics { 'cache:invalidate': { key: string } }
 *       interface ClusterizeRequests { 'counter:add': (by: number) => number }
 *     }
 *
 * From then on publish(), subscribe(), request() and handle() accept those names only, each
 * with its own data, payload and reply. Until an app declares any, every name is accepted
 * with `unknown` data.
 */
/** Each topic with the type of its data: empty until the app merges its own into it. */
export interface ClusterizeTopics {}
/** Each request name as a function type, `(payload: P) => Reply`: empty until the app merges its own into it. */
export interface ClusterizeRequests {}

type Declared<Declarations, Otherwise> = [keyof Declarations] extends [never] ? Otherwise : Declarations;

type Topics = Declared<ClusterizeTopics, Record<string, unknown>>;
type Requests = Declared<ClusterizeRequests, Record<string, (payload?: unknown) => unknown>>;

/** A topic the app declared (any string until it declares one). */
export type Topic = keyof Topics & string;
export type TopicData<T extends Topic> = Topics[T];
/** Who published: a worker's id, or the primary. */
export type Publisher = number | 'primary';
export type Subscriber<T extends Topic> = (data: TopicData<T>, from: Publisher) => void;

/** A request name the app declared (any string until it declares one). */
export type RequestName = keyof Requests & string;
type Signature<N extends RequestName> = Requests[N] extends (...args: infer A) => infer R ? { args: A; reply: Awaited<R> } : never;
/** The payload argument of request `N`: none for a request declared without one. */
export type RequestArgs<N extends RequestName> = Signature<N>['args'];
export type RequestPayload<N extends RequestName> = RequestArgs<N> extends [] ? undefined : RequestArgs<N>[0];
export type RequestReply<N extends RequestName> = Signature<N>['reply'];
/** request()'s arguments after the name: the payload (optional where it may be undefined), then the options. */
export type RequestCall<N extends RequestName> = undefined extends RequestPayload<N>
  ? [payload?: RequestPayload<N>, options?: RequestOptions]
  : [payload: RequestPayload<N>, options?: RequestOptions];

export interface RequestOptions {
  /** Milliseconds to wait for the reply (default 10000), 1 to MAX_TIMER_MS. */
  timeout?: number;
}

export interface LeadOptions {
  /** Which job: workers that lead with another name are elected apart (default 'default'). */
  name?: string;
}

/** A job only one worker of the cluster runs at a time: `signal` aborts when this worker stops leading. */
export type LeadJob = (signal: AbortSignal, term: number) => unknown;
