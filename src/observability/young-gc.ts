// A port that reads an oversized message on and drops it, to answer 552, turns every socket
// read into garbage at line rate, and so does relaying: a chunk written upstream is let go.
// V8 frees such buffers (memory outside its heap) only once some 64 MB of them have piled
// up, so a peer's 300 MB message would hold that much until a collection came by. Asking for
// a young-generation collection every few MB let go frees them as they go: measured, the
// relay grows by some 15 MB instead of 35-50 MB on a dropped 300 MB message, and peaks at
// 120-125 MB instead of 150-190 MB relaying 20 concurrent 5 MB messages.
// gc() is reached the way Jest's leak detector reaches it: the flag set for one new context.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** bytes dropped between two collections */
const EVERY_BYTES = 4 * 1024 * 1024;

export interface DroppedBytes {
  /** `bytes` were read and let go */
  dropped(bytes: number): void;
}

export function collectAsDropped(): DroppedBytes {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;
  setFlagsFromString('--no-expose-gc');
  let since = 0;
  return {
    dropped(bytes) {
      since += bytes;
      if (since < EVERY_BYTES) return;
      since = 0;
      gc({ type: 'minor' });
    },
  };
}
