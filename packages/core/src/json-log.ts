/** How bad what a log line says is. */
export type LogLevel = 'info' | 'warn' | 'error';

/** One of clusterize's log lines as `--log-format json` writes it, one object a line. */
export interface JsonLogLine {
  /** When it was logged, ISO 8601 in UTC. */
  readonly time: string;
  readonly level: LogLevel;
  /** What happened, a short name a log shipper can filter on (LOG_EVENTS); `log` where none fits. */
  readonly event: string;
  /** The process that wrote it: the primary, or a worker for what a worker's runtime says. */
  readonly pid: number;
  /** The worker the line is about, where it names one, and its pid where it names that. */
  readonly worker?: number;
  readonly workerPid?: number;
  /** The error code a line reporting a coded error ends with. */
  readonly code?: string;
  /** The line as text would show it, without `clusterize: `; a report of a worker's last output keeps its lines. */
  readonly message: string;
}

/** What clusterize's own log lines start with, in text. */
export const OWN_LINE_START = 'clusterize: ';

/**
 * Each event by the text of its lines (without `clusterize: `), the first match winning: the
 * names a log shipper filters on. A line matching none is `log`, an error if it says
 * something failed.
 */
const LOG_EVENTS: readonly (readonly [event: string, level: LogLevel, text: RegExp])[] = [
  ['cluster.start', 'info', /^primary \d+ starting /],
  ['cluster.ready', 'info', /^\d+ workers? ready on /],
  ['admin.listen', 'info', /^admin server on /],
  ['reload.start', 'info', /^SIG\w+ received; reloading /],
  ['reload.complete', 'info', /^reload complete/],
  ['reload.failed', 'error', /^Reload failed: /],
  ['start.failed', 'error', /^Start failed: /],
  ['watch.start', 'info', /^watching /],
  ['watch.change', 'info', /^\S.* changed; reloading /],
  ['watch.failed', 'error', /^the change to .* did not start/],
  ['watch.error', 'warn', /^could not watch /],
  ['shutdown.kill', 'warn', /^SIG\w+ received again/],
  ['shutdown.start', 'info', /^SIG\w+ received; /],
  ['shutdown.drain', 'info', /^shutdown delay over/],
  ['shutdown.cut', 'warn', /^the shutdown deadline cut /],
  ['internal.error', 'error', /^internal error|^error handling '/],
  ['worker.error', 'error', /^worker \(pid \d+\): .* failed, the worker goes on/],
  ['worker.output', 'error', /^the last output of worker /],
  ['worker.listen-failed', 'error', /^worker \d+ could not listen on /],
  ['worker.start-failed', 'error', /^could not start worker |^worker \d+ start-up failed/],
  ['worker.cut', 'warn', /^(?:worker \d+ \(pid \d+\) )?cut \d+ open connection|, which were cut$/],
  ['worker.paused', 'warn', /not counted as hung$/],
  ['worker.hung', 'warn', /has not answered a heartbeat/],
  ['worker.kill', 'warn', /; killing it$|did not confirm within|was still busy .* exiting$/],
  ['worker.recycle', 'info', /; replacing it$/],
  ['worker.drain', 'warn', /^worker \d+ \(pid \d+\) is draining on its own/],
  ['worker.drain', 'info', /^worker \d+ \(pid \d+\) is draining/],
  ['worker.exit', 'warn', /^worker \d+ (?:\(pid \d+\) )?(?:exited|was killed|was not ready|could not be started)/],
  ['connections.closed', 'warn', /^closed \d+ connections?: /],
];

const FAILED = /\b(?:failed|threw|error)\b/i;
const WORKER = /\bworker (\d+)\b/;
const WORKER_PID = /\bworker (?:\d+ )?\(pid (\d+)\)/;
const CODE = / \[(ERR_CLUSTERIZE_[A-Z_]+)\]$/;

/** `line`, one of clusterize's log lines in text, as the one line of JSON `--log-format json` writes. */
export function jsonLogLine(line: string, pid = process.pid, time = new Date()): string {
  const message = line.startsWith(OWN_LINE_START) ? line.slice(OWN_LINE_START.length) : line;
  const found = LOG_EVENTS.find(([, , text]) => text.test(message));
  const [event, level] = found ?? ['log', FAILED.test(message) ? 'error' : 'info'];
  const worker = WORKER.exec(message)?.[1];
  const workerPid = WORKER_PID.exec(message)?.[1];
  const code = CODE.exec(message)?.[1];
  const entry: JsonLogLine = {
    time: time.toISOString(), level, event, pid,
    ...(worker !== undefined && { worker: Number(worker) }),
    ...(workerPid !== undefined && { workerPid: Number(workerPid) }),
    ...(code !== undefined && { code }),
    message,
  };
  return JSON.stringify(entry);
}

/** A log function that writes what it is given to `log` as JSON (jsonLogLine). */
export function jsonLog(log: (line: string) => void): (line: string) => void {
  return (line) => log(jsonLogLine(line));
}
