/**
 * clusterize catches its own unexpected exceptions and logs them so the cluster goes on
 * serving: a test that only looks at behaviour would pass while one is printed. Every
 * process a test starts registers its output here, and test/setup.ts fails the test that
 * was running when one of these lines appeared.
 *
 * Lines in text and in JSON (--log-format json: the same words in "message") match. Only
 * the runtime's own failures do: an app that throws on purpose (a fixture's 'drain'
 * listener, its prom-client collectors) is the app's error, logged as such.
 */
export const INTERNAL_ERROR = new RegExp(`(?:clusterize: |"message":")(?:${[
  /internal error\b/.source,
  /error handling '/.source,
  /worker \(pid \d+\): (?!a 'drain' listener failed|collecting metrics failed).*? failed, the worker goes on:/.source,
].join('|')})`);

interface Watched {
  what: string;
  output: () => string;
  /** Where the lines not yet looked at start. */
  checked: number;
}

const STACK_LINES = 8;
const watched = new Set<Watched>();
let allowed: string | undefined;

/** Registers the output of a process (or a cluster's log) whose internal errors fail the running test. */
export function watchOutput(what: string, output: () => string): void {
  watched.add({ what, output, checked: 0 });
}

/**
 * For a test that provokes an internal error on purpose: its lines are expected, and
 * `reason` says why. Lasts until the end of the current test.
 */
export function allowInternalErrors(reason: string): void {
  if (reason.trim() === '') throw new Error('allowInternalErrors() needs the reason the test provokes an internal error');
  allowed = reason;
}

/**
 * The internal-error lines printed since the last call, each named after its process; the
 * last, unfinished line of an output waits for the next call unless `final`. An allowance
 * ends here.
 */
export function takeInternalErrors(final = false): { lines: string[]; allowed: string | undefined } {
  const lines: string[] = [];
  for (const source of watched) {
    const text = source.output();
    const end = final ? text.length : text.lastIndexOf('\n') + 1;
    const printed = text.slice(source.checked, end).split('\n');
    printed.forEach((line, i) => {
      if (!INTERNAL_ERROR.test(line)) return;
      // The stack printed under it says where.
      const stack = printed.slice(i + 1, i + 1 + STACK_LINES);
      const depth = stack.findIndex((next) => !/^\s+at /.test(next));
      lines.push([`${source.what}: ${line}`, ...stack.slice(0, depth === -1 ? stack.length : depth)].join('\n'));
    });
    source.checked = Math.max(source.checked, end);
  }
  const reason = allowed;
  allowed = undefined;
  return { lines, allowed: reason };
}
