// smtp-server's DATA parser and nodemailer's dot-stuffing are patched to scan with
// Buffer#indexOf. Random messages, cut into random chunks, must come out of both exactly as
// a byte-by-byte reference says: stuffing then unstuffing gives back the original.
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import DataStream from 'nodemailer/lib/smtp-connection/data-stream.js';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';

function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

/** A CRLF message whose lines often start with dots. */
function randomMessage(r: () => number): Buffer {
  const pieces = ['.', '..', 'a', 'text', '\r\n', '.\r\n', 'x.y', ' '];
  let s = '';
  const n = Math.floor(r() * 200);
  for (let i = 0; i < n; i++) s += pieces[Math.floor(r() * pieces.length)];
  // only CRLF line ends: the guard refuses anything else before either stream sees it
  s = s.replace(/\r\n/g, '\n').replace(/\r/g, '').replace(/\n/g, '\r\n');
  return Buffer.from(s.endsWith('\r\n') || s === '' ? s : `${s}\r\n`);
}

function chunks(buf: Buffer, r: () => number): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const n = 1 + Math.floor(r() * (r() < 0.5 ? 7 : 40));
    out.push(buf.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

function referenceStuff(msg: Buffer): Buffer {
  const s = msg.toString('latin1').replace(/(^|\n)\./g, '$1..');
  return Buffer.from(`${s}${s.endsWith('\r\n') || s === '' ? '' : '\r\n'}.\r\n`.replace(/^\.\r\n$/, '\r\n.\r\n'), 'latin1');
}

async function stuff(parts: Buffer[]): Promise<Buffer> {
  const ds = new DataStream();
  const out: Buffer[] = [];
  ds.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((res) => ds.on('end', () => res()));
  for (const p of parts) ds.write(p);
  ds.end();
  await done;
  return Buffer.concat(out);
}

async function unstuff(parts: Buffer[]): Promise<Buffer> {
  const parser = new SMTPStream();
  const out: Buffer[] = [];
  const stream = parser.startDataMode();
  stream.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise<void>((res) => stream.on('end', () => res()));
  const sink = parser as unknown as Writable;
  for (const p of parts) sink.write(p);
  await ended;
  parser.continue();
  return Buffer.concat(out);
}

describe('patched dot-stuffing and DATA parsing', () => {
  it('stuffing matches a byte-by-byte reference, and unstuffing gives back the original, at any chunking', async () => {
    const r = rng(42);
    for (let round = 0; round < 1500; round++) {
      const msg = randomMessage(r);
      if (msg.length === 0) continue;
      const stuffed = await stuff(chunks(msg, r));
      expect(stuffed.toString('latin1')).toBe(referenceStuff(msg).toString('latin1'));
      const back = await unstuff(chunks(stuffed, r));
      expect(back.toString('latin1')).toBe(msg.toString('latin1'));
    }
  });
});
