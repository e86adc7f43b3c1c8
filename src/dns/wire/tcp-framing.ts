/**
 * DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766 §8): each message is preceded by its length as 2 octets, big
 * endian. A TCP read may hold part of a prefix, part of a message, or several messages; the reader reassembles them.
 *
 * Messages that arrive whole inside one chunk are returned as views into that chunk (no copy): node:net hands each
 * 'data' event a fresh Buffer, so the views stay valid. A message split across chunks is assembled in a buffer of
 * exactly its size, so an idle connection holds at most one octet of state.
 * A zero-length frame is delivered as an empty Buffer; parseQuery calls it `short` and the server stays silent.
 */
import { ErrorCodes, KubeNetsimError } from '../../errors.js';

/** Largest payload a 2-octet length can announce. */
export const MAX_TCP_MESSAGE = 65535;

export class TcpFrameReader {
  /** First octet of a length prefix that arrived alone, or -1. */
  private prefixHigh = -1;
  /** The message being assembled across chunks, and how much of it has arrived. */
  private frame: Buffer | null = null;
  private filled = 0;

  /** Octets received towards a message that is not complete yet. */
  get pending(): number {
    if (this.frame !== null) return 2 + this.filled;
    return this.prefixHigh >= 0 ? 1 : 0;
  }

  /** Feed one chunk from the socket; returns the messages it completes, in order. */
  push(chunk: Uint8Array): Buffer[] {
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: Buffer[] = [];
    let pos = 0;
    if (this.frame !== null) {
      const take = Math.min(this.frame.length - this.filled, data.length);
      data.copy(this.frame, this.filled, 0, take);
      this.filled += take;
      pos = take;
      if (this.filled < this.frame.length) return out;
      out.push(this.frame);
      this.frame = null;
    } else if (this.prefixHigh >= 0 && data.length > 0) {
      pos = this.startFrame(data, 1, (this.prefixHigh << 8) | data[0]!, out);
      this.prefixHigh = -1;
    }
    while (pos < data.length) {
      if (data.length - pos === 1) {
        this.prefixHigh = data[pos]!;
        return out;
      }
      pos = this.startFrame(data, pos + 2, (data[pos]! << 8) | data[pos + 1]!, out);
    }
    return out;
  }

  /** A message of `size` octets starts at `at`: emit it as a view, or begin assembling it. Returns the new offset. */
  private startFrame(data: Buffer, at: number, size: number, out: Buffer[]): number {
    if (data.length - at >= size) {
      out.push(data.subarray(at, at + size));
      return at + size;
    }
    this.frame = Buffer.allocUnsafe(size);
    this.filled = data.copy(this.frame, 0, at);
    return data.length;
  }
}

/** One buffer holding the 2-octet length and the message, so a single write sends the whole frame. */
export function frameMessage(message: Uint8Array): Buffer {
  if (message.length > MAX_TCP_MESSAGE) {
    throw new KubeNetsimError(ErrorCodes.DNS_MALFORMED, `DNS message of ${message.length} octets cannot be framed`);
  }
  const out = Buffer.allocUnsafe(message.length + 2);
  out[0] = message.length >>> 8;
  out[1] = message.length & 0xff;
  out.set(message, 2);
  return out;
}
