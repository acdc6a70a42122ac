import { describe, expect, it } from 'vitest';
import { DataGuard } from '../../src/forward/guard.js';

const limits = { maxBytes: 10_000, maxLineLength: 20, maxHeaderFields: 5, maxHops: 2 };

/** Feeds the input split at every possible point, so chunk boundaries cannot hide anything. */
function verdicts(input: string): Set<string | null> {
  const buf = Buffer.from(input, 'latin1');
  const seen = new Set<string | null>();
  for (let cut = 0; cut <= buf.length; cut++) {
    const g = new DataGuard(limits);
    const r = g.check(buf.subarray(0, cut)) ?? g.check(buf.subarray(cut)) ?? g.finish();
    seen.add(r);
  }
  return seen;
}

describe('DataGuard', () => {
  it.each([
    ['clean CRLF text', 'Subject: x\r\n\r\nbody\r\nmore\r\n', null],
    ['bare LF', 'Subject: x\r\n\r\nbody\nmore\r\n', 'BARE_LINE_FEED'],
    ['bare CR', 'Subject: x\r\n\r\nbody\rmore\r\n', 'BARE_CARRIAGE_RETURN'],
    ['bare CR at the very end', 'Subject: x\r\n\r\nbody\r', 'BARE_CARRIAGE_RETURN'],
    ['LF first', '\nSubject: x\r\n', 'BARE_LINE_FEED'],
    ['CR CR LF', 'Subject: x\r\r\n', 'BARE_CARRIAGE_RETURN'],
    ['NUL', 'Subject: x\r\n\r\nbo\x00dy\r\n', 'NUL_IN_DATA'],
    ['too many header fields', 'A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\n\r\nbody\r\n', 'TOO_MANY_HEADERS'],
    ['folded lines are not fields', 'A: 1\r\n 2\r\n 3\r\n 4\r\n 5\r\n 6\r\nB: 2\r\n\r\nbody\r\n', null],
    ['too many hops', 'Received: a\r\nreceived : b\r\nRECEIVED: c\r\n\r\nbody\r\n', 'TOO_MANY_HOPS'],
    ['Received in the body is not a hop', 'Received: a\r\n\r\nReceived: b\r\nReceived: c\r\n', null],
    ['body lines are not header fields', 'A: 1\r\n\r\n' + 'line\r\n'.repeat(50), null],
    ['a line of exactly the limit', `A: 1\r\n\r\n${'x'.repeat(20)}\r\n`, null],
    ['a body line one octet over the limit', `A: 1\r\n\r\n${'x'.repeat(21)}\r\n`, 'LINE_TOO_LONG'],
    ['a header line over the limit', `Subject: ${'x'.repeat(20)}\r\n\r\nbody\r\n`, 'LINE_TOO_LONG'],
    ['a last line over the limit without its CRLF', `A: 1\r\n\r\n${'x'.repeat(21)}`, 'LINE_TOO_LONG'],
  ])('%s', (_name, input, expected) => {
    expect(verdicts(input)).toEqual(new Set([expected]));
  });

  it('refuses an over-long line before it ends, whatever the chunks', () => {
    const g = new DataGuard(limits);
    expect(g.check(Buffer.from('A: 1\r\n\r\n'))).toBeNull();
    for (let i = 0; i < 2; i++) expect(g.check(Buffer.alloc(10, 'x'))).toBeNull();
    expect(g.check(Buffer.alloc(1, 'x'))).toBe('LINE_TOO_LONG');
  });

  it('refuses a message over the size limit as the bytes flow', () => {
    const g = new DataGuard({ ...limits, maxBytes: 100, maxLineLength: 1000 });
    expect(g.check(Buffer.alloc(60, 'a'))).toBeNull();
    expect(g.check(Buffer.alloc(60, 'a'))).toBe('MESSAGE_TOO_BIG');
  });
});
