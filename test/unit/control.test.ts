import { afterEach, describe, expect, it } from 'vitest';
import { nameFromScript, runtimeDir, socketPath } from '../../packages/core/src/control/paths.ts';
import { parseReply, parseRequest } from '../../packages/core/src/control/protocol.ts';

const xdg = process.env.XDG_RUNTIME_DIR;
afterEach(() => {
  process.env.XDG_RUNTIME_DIR = xdg;
});

describe("a cluster's name and socket", () => {
  it("defaults to the script's file name without its extension, other characters as '_'", () => {
    expect(nameFromScript('/srv/app/server.js')).toBe('server');
    expect(nameFromScript('api.v2.mjs')).toBe('api.v2');
    expect(nameFromScript('/srv/my app (prod).ts')).toBe('my_app__prod_');
    expect(nameFromScript(`/srv/${'x'.repeat(80)}.js`)).toBe('x'.repeat(64));
    expect(nameFromScript('/srv/☃.js')).toBe('_');
  });

  it('lives in $XDG_RUNTIME_DIR/clusterize, else in /tmp/clusterize-<uid>', () => {
    process.env.XDG_RUNTIME_DIR = '/run/user/1000';
    expect(socketPath(runtimeDir(), 'web')).toBe('/run/user/1000/clusterize/web.sock');
    delete process.env.XDG_RUNTIME_DIR;
    expect(runtimeDir()).toBe(`/tmp/clusterize-${process.getuid!()}`);
    // A relative XDG_RUNTIME_DIR is invalid by the XDG spec: ignored.
    process.env.XDG_RUNTIME_DIR = 'run';
    expect(runtimeDir()).toBe(`/tmp/clusterize-${process.getuid!()}`);
  });
});

describe('the control protocol', () => {
  it('takes each request it defines, and refuses anything else with the reason', () => {
    expect(parseRequest('{"command":"scale","workers":3}')).toEqual({ ok: true, message: { command: 'scale', workers: 3 } });
    expect(parseRequest('{"command":"logs"}')).toEqual({ ok: true, message: { command: 'logs' } });
    expect(parseRequest('{"command":"scale","workers":0}')).toEqual({ ok: false, reason: "malformed 'scale': workers must be an integer from 1 to 1024, got 0" });
    expect(parseRequest('{"command":"exec"}')).toEqual({ ok: false, reason: 'unknown command "exec"' });
    expect(parseRequest('status')).toEqual({ ok: false, reason: 'not a line of JSON' });
  });

  it('checks replies too: a code it does not know is refused', () => {
    expect(parseReply('{"type":"error","code":"ERR_CLUSTERIZE_NOT_RUNNING","message":"m"}').ok).toBe(true);
    expect(parseReply('{"type":"error","code":"ERR_OTHER","message":"m"}').ok).toBe(false);
    expect(parseReply('{"type":"output","stream":"stdin","text":"x"}')).toMatchObject({ ok: false, reason: expect.stringMatching(/^malformed 'output': stream must be "stdout" or "stderr"/) });
  });
});
