import { closeSync, readSync } from 'node:fs';

const TOKEN_FD_ENV = 'CLUSTERIZE_TOKEN_FD';

/** Far more than the primary's 16 hex digits: a longer write is not a token. */
const MAX_TOKEN_LENGTH = 256;

/**
 * Takes the token the primary wrote into the pipe named by CLUSTERIZE_TOKEN_FD: reads it to
 * its end (the primary closes its side once written, so this does not block for long) and
 * closes the fd, so that neither the app nor a process it spawns can read it again.
 * Undefined when this process was not given one (a plain process, or a child the app forked).
 */
export function takeToken(): string | undefined {
  const fd = Number(process.env[TOKEN_FD_ENV]);
  // A process the app forks inherits our environment: it must not take some other fd 4 for ours.
  delete process.env[TOKEN_FD_ENV];
  if (!Number.isInteger(fd) || fd < 3) return undefined;
  const buffer = Buffer.alloc(MAX_TOKEN_LENGTH + 1);
  let length = 0;
  try {
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
  } finally {
    closeSync(fd);
  }
  const token = buffer.toString('utf8', 0, length);
  return token !== '' && length <= MAX_TOKEN_LENGTH ? token : undefined;
}
