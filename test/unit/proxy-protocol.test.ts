import { describe, expect, it } from 'vitest';
import { HEADER_HEAD_BYTES, INVALID, formatIPv6, missingBytes, parseHeader } from '../../packages/core/src/proxy-protocol/proxy-protocol.ts';

/** Reads `bytes` as the primary does, asking each time only for what missingBytes() says: returns how much was taken and the outcome. */
function readAsPrimary(bytes: Buffer) {
  const head = Buffer.alloc(HEADER_HEAD_BYTES);
  let have = 0;
  for (;;) {
    const missing = missingBytes(head, have);
    if (missing === 0) return { taken: have, peer: parseHeader(head, have) };
    if (missing === INVALID || have >= bytes.length) return { taken: have, peer: missing === INVALID ? null : 'incomplete' };
    const chunk = bytes.subarray(have, have + missing);
    chunk.copy(head, have, 0, Math.max(0, Math.min(chunk.length, head.length - have)));
    have += chunk.length;
  }
}

const request = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';

describe('PROXY header reading never takes a byte past the header', () => {
  const v1 = [
    ['PROXY TCP4 192.168.100.200 10.0.0.1 65535 443\r\n', { address: '192.168.100.200', port: 65535, family: 'IPv4' }],
    ['PROXY TCP4 1.1.1.1 1.1.1.1 1 1\r\n', { address: '1.1.1.1', port: 1, family: 'IPv4' }],
    ['PROXY TCP6 :: :: 0 0\r\n', { address: '::', port: 0, family: 'IPv6' }],
    ['PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n', { address: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 65535, family: 'IPv6' }],
    ['PROXY UNKNOWN\r\n', undefined],
    ['PROXY UNKNOWN ffff:: 1:: 1 2\r\n', undefined],
  ] as const;
  for (const [header, peer] of v1) {
    it(`v1 ${JSON.stringify(header)}`, () => {
      expect(readAsPrimary(Buffer.from(header + request, 'latin1'))).toEqual({ taken: header.length, peer });
    });
  }

  it('v2 with TLVs longer than the part the parser keeps', () => {
    const body = Buffer.concat([Buffer.from([127, 0, 0, 9, 10, 0, 0, 1, 0x1f, 0x90, 0, 80]), Buffer.from([4, 0x03, 0xe5]), Buffer.alloc(997)]);
    const header = Buffer.concat([Buffer.from('0d0a0d0a000d0a515549540a2111', 'hex'), Buffer.from([body.length >> 8, body.length & 0xff]), body]);
    expect(readAsPrimary(Buffer.concat([header, Buffer.from(request)]))).toEqual({ taken: header.length, peer: { address: '127.0.0.9', port: 8080, family: 'IPv4' } });
  });

  for (const bad of ['GET / HTTP/1.1\r\n', 'PROXY TCP4 1.1.1.1 1.1.1.1 1 1\n', 'PROXY TCP4 1.1.1.1 1.1.1.1 01 1\r\n', 'PROXY TCP5 1.1.1.1 1.1.1.1 1 1\r\n', 'PROXY TCP6 1.1.1.1 1.1.1.1 1 1\r\n']) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      expect(readAsPrimary(Buffer.from(bad + request, 'latin1')).peer).toBeNull();
    });
  }

  it('formats IPv6 as Node reports a peer', () => {
    expect(formatIPv6(Buffer.from('20010db8000000000001000000000001', 'hex'))).toBe('2001:db8::1:0:0:1');
    expect(formatIPv6(Buffer.from('00000000000000000000ffff7f000001', 'hex'))).toBe('::ffff:127.0.0.1');
    expect(formatIPv6(Buffer.alloc(16))).toBe('::');
    expect(formatIPv6(Buffer.from('20010db8000100010001000100010001', 'hex'))).toBe('2001:db8:1:1:1:1:1:1');
  });
});
