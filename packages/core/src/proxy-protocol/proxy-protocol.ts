import net from 'node:net';
import type { Peer } from '../protocol.js';

/**
 * The PROXY protocol (HAProxy's spec, versions 1 and 2): the header a proxy writes before
 * the client's bytes, naming the client's address. Parsing works on what has been read so
 * far and says how many more bytes the header needs at least, so a reader that never asks
 * for more never takes a byte of the client's own data: that stays in the socket for the
 * worker, and Node's HTTP parser reads it there as from any other connection.
 */

/** "PROXY TCP4 <src> <dst> <sport> <dport>\r\n": at most 107 bytes with its CRLF (the spec's bound). */
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V1_MAX = 107;
/** The shortest v1 header of each protocol: "PROXY UNKNOWN\r\n", "PROXY TCP6 :: :: 1 1\r\n", "PROXY TCP4 1.1.1.1 1.1.1.1 1 1\r\n". */
const V1_SHORTEST = { UNKNOWN: 15, TCP6: 22, TCP4: 32 };
const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const V2_FIXED = 16;
/** v2 address block by family (the high nibble of byte 13): unspecified, IPv4, IPv6, Unix. */
const V2_ADDRESS_BYTES = [0, 12, 36, 216] as const;
const CR = 0x0d;
const LF = 0x0a;

/** The first read: no header is shorter ("PROXY UNKNOWN\r\n"), so it takes nothing that follows. */
const FIRST_READ = V1_SHORTEST.UNKNOWN;
/**
 * The header's bytes a parser looks at: v2's fixed part and its largest address block (v1
 * is shorter). v2's TLVs after the addresses, up to 64 KB, are read and dropped.
 */
export const HEADER_HEAD_BYTES = V2_FIXED + V2_ADDRESS_BYTES[3];
/** What missingBytes() says of bytes that cannot begin a PROXY header. */
export const INVALID = -1;

/**
 * How many more bytes the header needs at least: 0 when the `have` bytes read are exactly
 * one whole header, INVALID when they cannot be the start of one. `head` holds the first
 * min(have, head.length) of them.
 */
export function missingBytes(head: Uint8Array, have: number): number {
  if (have === 0) return FIRST_READ;
  return head[0] === V2_SIGNATURE[0] ? missingV2(head, have) : missingV1(head, have);
}

/**
 * The client the header names; undefined where it names none (v1 UNKNOWN, v2 LOCAL such as
 * a proxy's health check, or a Unix socket): the connection's own address stands. Null
 * when the header is malformed. Call once missingBytes() is 0.
 */
export function parseHeader(head: Uint8Array, have: number): Peer | undefined | null {
  return head[0] === V2_SIGNATURE[0] ? parseV2(head) : parseV1(Buffer.from(head.buffer, head.byteOffset, have - 2).toString('latin1'));
}

function startsLike(head: Uint8Array, have: number, prefix: Uint8Array): boolean {
  for (let i = 0; i < Math.min(have, prefix.length); i++) if (head[i] !== prefix[i]) return false;
  return true;
}

function missingV1(head: Uint8Array, have: number): number {
  if (!startsLike(head, have, V1_PREFIX)) return INVALID;
  for (let i = 0; i < have; i++) {
    if (head[i] === LF) return i === have - 1 && head[i - 1] === CR ? 0 : INVALID;
  }
  if (have >= V1_MAX) return INVALID;
  const protocol = have >= 10 ? Buffer.from(head.buffer, head.byteOffset + 6, 4).toString('latin1') : '';
  const shortest = protocol === 'TCP4' ? V1_SHORTEST.TCP4 : protocol === 'TCP6' ? V1_SHORTEST.TCP6 : V1_SHORTEST.UNKNOWN;
  // Whatever the header still holds ends with CRLF: two bytes, or one after a CR.
  const end = head[have - 1] === CR ? 1 : 2;
  return Math.min(Math.max(shortest - have, end), V1_MAX - have);
}

function missingV2(head: Uint8Array, have: number): number {
  if (!startsLike(head, have, V2_SIGNATURE)) return INVALID;
  if (have < V2_FIXED) return V2_FIXED - have;
  const version = head[12]! >> 4;
  const command = head[12]! & 0x0f;
  const family = head[13]! >> 4;
  const length = (head[14]! << 8) | head[15]!;
  if (version !== 2 || command > 1 || family >= V2_ADDRESS_BYTES.length) return INVALID;
  // PROXY must carry its family's addresses; LOCAL's block, if any, is ignored.
  if (command === 1 && length < V2_ADDRESS_BYTES[family as 0 | 1 | 2 | 3]) return INVALID;
  return V2_FIXED + length - have;
}

const PORT = /^(?:0|[1-9]\d{0,4})$/;

function parseV1(line: string): Peer | undefined | null {
  const fields = line.split(' ');
  if (fields[1] === 'UNKNOWN') return undefined;
  if (fields.length !== 6) return null;
  const [, protocol, source, destination, sourcePort, destinationPort] = fields as [string, string, string, string, string, string];
  const isIP = protocol === 'TCP4' ? net.isIPv4 : protocol === 'TCP6' ? net.isIPv6 : undefined;
  if (isIP === undefined || !isIP(source) || !isIP(destination)) return null;
  if (!PORT.test(sourcePort) || !PORT.test(destinationPort) || Number(sourcePort) > 65_535 || Number(destinationPort) > 65_535) return null;
  return { address: source, port: Number(sourcePort), family: protocol === 'TCP4' ? 'IPv4' : 'IPv6' };
}

function parseV2(head: Uint8Array): Peer | undefined {
  if ((head[12]! & 0x0f) === 0) return undefined;
  const at = V2_FIXED;
  switch (head[13]! >> 4) {
    case 1:
      return { address: `${head[at]}.${head[at + 1]}.${head[at + 2]}.${head[at + 3]}`, port: (head[at + 8]! << 8) | head[at + 9]!, family: 'IPv4' };
    case 2:
      return { address: formatIPv6(head.subarray(at, at + 16)), port: (head[at + 32]! << 8) | head[at + 33]!, family: 'IPv6' };
    default:
      return undefined;
  }
}

/** As Node reports a peer: RFC 5952 (the longest run of zero groups as '::'), IPv4-mapped as ::ffff:a.b.c.d. */
export function formatIPv6(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  let start = -1;
  let length = 1;
  for (let i = 0; i < 8;) {
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > length) [start, length] = [i, end - i];
    i = Math.max(end, i + 1);
  }
  const hex = groups.map((group) => group.toString(16));
  if (start === -1) return hex.join(':');
  return `${hex.slice(0, start).join(':')}::${hex.slice(start + length).join(':')}`;
}
