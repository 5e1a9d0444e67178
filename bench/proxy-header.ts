// PROXY protocol v2 headers for the load generator, as HAProxy's `send-proxy-v2` writes them.
import type autocannon from 'autocannon';

const SIGNATURE = Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1');
const PROXY_COMMAND = 0x21;
const TCP_OVER_IPV4 = 0x11;
const IPV4_ADDRESSES = 12;

/** The header of connection `n`: a made-up client in 10.0.0.0/8 (address and port vary per connection) to 127.0.0.1:`port`. */
export function proxyV2Header(n: number, port: number): Buffer {
  const header = Buffer.alloc(SIGNATURE.length + 4 + IPV4_ADDRESSES);
  SIGNATURE.copy(header);
  let at = SIGNATURE.length;
  at = header.writeUInt8(PROXY_COMMAND, at);
  at = header.writeUInt8(TCP_OVER_IPV4, at);
  at = header.writeUInt16BE(IPV4_ADDRESSES, at);
  at = header.writeUInt32BE((10 << 24 | n % 0x1000000) >>> 0, at);
  at = header.writeUInt32BE(0x7f000001, at);
  at = header.writeUInt16BE(1024 + n % 64_000, at);
  header.writeUInt16BE(port, at);
  return header;
}

/**
 * Starts every connection of an autocannon client with a header of its own. autocannon has
 * no hook for bytes ahead of a request, so the client's getRequestBuffer (which it calls for
 * each request it writes, right after opening a connection for the first) is wrapped: the
 * header goes before the first request on each new `conn`, which it replaces on every reconnect.
 */
export function sendProxyHeaders(client: autocannon.Client, next: () => Buffer): void {
  const inner = client as unknown as { conn: unknown; getRequestBuffer(): Buffer };
  const request = inner.getRequestBuffer.bind(inner);
  let headed: unknown;
  inner.getRequestBuffer = () => {
    if (inner.conn === headed) return request();
    headed = inner.conn;
    return Buffer.concat([next(), request()]);
  };
}
