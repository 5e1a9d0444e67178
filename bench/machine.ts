import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  cpus: number;
  cpuModel: string;
  kernel: string;
  node: string;
  autocannon: string;
  /** The commit the bench ran on, and whether packages/ had uncommitted changes. */
  source: string;
}

export function describeMachine(): Machine {
  const autocannon = JSON.parse(readFileSync(new URL('../node_modules/autocannon/package.json', import.meta.url), 'utf8')) as { version: string };
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    autocannon: autocannon.version,
    source: describeSource(),
  };
}

function describeSource(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: new URL('..', import.meta.url), encoding: 'utf8' }).trim();
  try {
    const dirty = git('status', '--porcelain', '--', 'packages') !== '';
    return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty ? ' with uncommitted changes in packages/' : ''}`;
  } catch {
    return 'not a git checkout';
  }
}
