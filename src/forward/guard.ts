// The DATA stream guard. smtp-server lets bare LF, bare CR and NUL through inside DATA;
// an upstream that reads them as line ends can be made to see a second, smuggled
// transaction. Any of them refuses the message. The guard also enforces the size, line
// length (RFC 5321 4.5.3.1.6), header count and hop count limits while the bytes flow, so
// nothing over a limit is completed. It scans with Buffer.indexOf (memchr) rather than byte
// by byte: one call per line for LF (which also gives the line lengths), one per line for
// CR, one per chunk for NUL; a JavaScript loop over the bytes measured twice as slow.
import type { ReasonId } from '../domain/catalog.js';

const CR = 0x0d;
const LF = 0x0a;

export interface GuardLimits {
  readonly maxBytes: number;
  /** octets of a line before its CRLF */
  readonly maxLineLength: number;
  readonly maxHeaderFields: number;
  readonly maxHops: number;
}

export class DataGuard {
  bytes = 0;
  headerFields = 0;
  hops = 0;
  #limits: GuardLimits;
  #pendingCR = false;
  /** octets of the current line seen in earlier chunks */
  #carried = 0;
  #inHeaders = true;
  #lineHead = '';
  #lineClassified = false;

  constructor(limits: GuardLimits) {
    this.#limits = limits;
  }

  /** Checks the next chunk; the reason to refuse the message, or null. */
  check(chunk: Buffer): ReasonId | null {
    const len = chunk.length;
    if (len === 0) return null;
    this.bytes += len;
    if (this.bytes > this.#limits.maxBytes) return 'MESSAGE_TOO_BIG';
    if (chunk.indexOf(0) !== -1) return 'NUL_IN_DATA';

    if (this.#pendingCR && chunk[0] !== LF) return 'BARE_CARRIAGE_RETURN';
    const maxLine = this.#limits.maxLineLength;
    let lineStart = 0;
    let i = chunk.indexOf(LF);
    while (i !== -1) {
      if (i === 0 ? !this.#pendingCR : chunk[i - 1] !== CR) return 'BARE_LINE_FEED';
      // the line's octets before its CR
      if (this.#carried + i - lineStart - 1 > maxLine) return 'LINE_TOO_LONG';
      this.#carried = 0;
      lineStart = i + 1;
      i = chunk.indexOf(LF, i + 1);
    }
    this.#carried += len - lineStart;
    // a CR at the very end may still be the start of the CRLF
    if (this.#carried - (chunk[len - 1] === CR ? 1 : 0) > maxLine) return 'LINE_TOO_LONG';
    i = chunk.indexOf(CR);
    while (i !== -1) {
      if (i + 1 < len && chunk[i + 1] !== LF) return 'BARE_CARRIAGE_RETURN';
      i = chunk.indexOf(CR, i + 1);
    }
    this.#pendingCR = chunk[len - 1] === CR;

    return this.#inHeaders ? this.#scanHeaders(chunk) : null;
  }

  /** Called at the end of DATA; the reason to refuse the message, or null. */
  finish(): ReasonId | null {
    return this.#pendingCR ? 'BARE_CARRIAGE_RETURN' : null;
  }

  #scanHeaders(chunk: Buffer): ReasonId | null {
    let pos = 0;
    const len = chunk.length;
    while (this.#inHeaders && pos < len) {
      const nl = chunk.indexOf(LF, pos);
      const end = nl === -1 ? len : nl;
      if (!this.#lineClassified && this.#lineHead.length < 10) {
        this.#lineHead += chunk.toString('latin1', pos, Math.min(end, pos + 10 - this.#lineHead.length));
      }
      if (!this.#lineClassified && (nl !== -1 || this.#lineHead.length >= 10)) {
        const verdict = this.#classify(nl !== -1);
        if (verdict) return verdict;
      }
      if (nl === -1) break;
      this.#lineHead = '';
      this.#lineClassified = false;
      pos = nl + 1;
    }
    return null;
  }

  #classify(lineEnded: boolean): ReasonId | null {
    this.#lineClassified = true;
    const head = this.#lineHead;
    if (lineEnded && (head === '\r' || head === '')) {
      this.#inHeaders = false;
      return null;
    }
    if (head[0] === ' ' || head[0] === '\t') return null; // folded continuation of the field above
    this.headerFields++;
    if (this.headerFields > this.#limits.maxHeaderFields) return 'TOO_MANY_HEADERS';
    if (/^received[ \t]*:/i.test(head)) {
      this.hops++;
      if (this.hops > this.#limits.maxHops) return 'TOO_MANY_HOPS';
    }
    return null;
  }
}
