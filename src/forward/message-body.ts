// The message on its way to the upstream: the relay writes chunks in, the upstream client
// reads them out. A Readable the relay pushes into directly, rather than a PassThrough:
// one stream hop less for every chunk of every message.
import { Readable } from 'node:stream';

export class MessageBody extends Readable {
  #ended = false;

  constructor(highWaterMark: number) {
    super({ highWaterMark });
  }

  /** Queues a chunk; false when the reader is behind and the writer should wait for 'drain'. */
  write(chunk: Buffer | string): boolean {
    if (this.#ended || this.destroyed) return false;
    return this.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  }

  /** No more chunks; emits 'finish' once everything was queued. */
  end(chunk?: Buffer | string): this {
    if (this.#ended) return this;
    if (chunk !== undefined) this.write(chunk);
    this.#ended = true;
    this.push(null);
    queueMicrotask(() => this.emit('finish'));
    return this;
  }

  override _read(): void {
    this.emit('drain');
  }
}
