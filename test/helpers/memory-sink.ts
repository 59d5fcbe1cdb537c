import type { ErrorPayload } from '../../runtime/errors.js';
import type { StreamHead, StreamSink } from '../../runtime/streaming.js';

/** A stream sink that keeps everything it is given, for in-process tests of streaming handlers. */
export function memorySink() {
  const seen = {
    head: undefined as StreamHead | undefined,
    chunks: [] as Buffer[],
    ended: false,
    failure: undefined as ErrorPayload | undefined,
    body: () => Buffer.concat(seen.chunks).toString('utf8'),
  };
  const sink: StreamSink = {
    start(head) {
      if (seen.head) throw new Error('started twice');
      seen.head = head;
    },
    write(chunk, callback) {
      seen.chunks.push(Buffer.from(chunk));
      callback();
    },
    end(callback) {
      seen.ended = true;
      callback();
    },
    async fail(error) {
      seen.failure = error;
    },
  };
  return { sink, seen };
}
