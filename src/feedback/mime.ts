// The MIME walk for report parts: every node of the tree with its content type, its raw
// header block and its decoded body (base64 and quoted-printable undone). mailsplit descends
// into message/rfc822 parts, so the headers of a reported message are a node of their own
// even when a provider marks the part inline (mailparser renders such a part into the text).
import type { MimeNode, SplitterChunk } from '@zone-eu/mailsplit';
import type { Transform } from 'node:stream';

export interface MimePart {
  /** lower-cased, e.g. message/feedback-report; text/plain when the part names none */
  readonly contentType: string;
  /** the content type of the enclosing part, '' at the root */
  readonly parentType: string;
  /** the part's own header block, as sent */
  readonly headers: string;
  readonly body: Buffer;
}

interface Collecting {
  readonly node: MimeNode;
  readonly chunks: Buffer[];
}

/** how deep enclosed messages are followed: a digest of reports about messages is three deep */
const MAX_DEPTH = 4;

// loaded with the first report, not with the relay
let mailsplitModule: Promise<typeof import('@zone-eu/mailsplit')> | undefined;

export async function walkMime(raw: Buffer, depth = 0): Promise<MimePart[]> {
  const { Splitter } = await (mailsplitModule ??= import('@zone-eu/mailsplit'));
  const parts = await split(raw, Splitter);
  if (depth >= MAX_DEPTH) return parts;
  // an enclosed message mailsplit left whole (an attachment, or one it would not enter): walk it too
  const out: MimePart[] = [];
  for (const part of parts) {
    out.push(part);
    if ((part.contentType === 'message/rfc822' || part.contentType === 'message/global') && part.body.length > 0) {
      const inner = await walkMime(part.body, depth + 1);
      if (inner[0]) inner[0] = { ...inner[0], parentType: part.contentType };
      out.push(...inner);
    }
  }
  return out;
}

function split(raw: Buffer, Splitter: typeof import('@zone-eu/mailsplit').Splitter): Promise<MimePart[]> {
  return new Promise((resolve, reject) => {
    // enclosed messages are entered unless they are attachments; those are walked separately
    const splitter = new Splitter({ maxHeadSize: 1024 * 1024, defaultInlineEmbedded: true, maxChildNodes: 2000 });
    const parts: Collecting[] = [];
    splitter.on('data', (chunk: SplitterChunk) => {
      if (chunk.type === 'node') parts.push({ node: chunk, chunks: [] });
      else if (chunk.type === 'body' && Buffer.isBuffer(chunk.value) && parts.length > 0) parts[parts.length - 1]!.chunks.push(chunk.value);
    });
    // the declarations know only the 'data' event
    const events = splitter as unknown as NodeJS.EventEmitter;
    events.once('error', reject);
    events.once('end', () => {
      Promise.all(parts.map(decodePart)).then(resolve, reject);
    });
    splitter.end(raw);
  });
}

async function decodePart({ node, chunks }: Collecting): Promise<MimePart> {
  const parent = node.parentNode;
  return {
    contentType: typeof node.contentType === 'string' ? node.contentType : 'text/plain',
    parentType: parent && typeof parent.contentType === 'string' ? parent.contentType : '',
    headers: node.getHeaders().toString('utf8'),
    body: await decodeBody(node.getDecoder() as Transform, Buffer.concat(chunks)),
  };
}

function decodeBody(decoder: Transform, encoded: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    decoder.on('data', (d: Buffer) => out.push(d));
    decoder.once('error', reject);
    decoder.once('end', () => resolve(Buffer.concat(out)));
    decoder.end(encoded);
  });
}
