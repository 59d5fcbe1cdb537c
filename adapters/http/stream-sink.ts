import type { ServerResponse } from 'node:http';
import { HTTP_INTEGRATION_CONTENT_TYPE, type StreamHead, type StreamSink } from '../../runtime/streaming.js';
import {
  addCookies,
  addHeaders,
  assertFieldText,
  hasNoContent,
  type ResponseHeaders,
  readStatusCode,
} from './results-shared.js';

/**
 * A streaming handler's response, written to the client as it comes (chunked). The
 * `HttpResponseStream.from` prelude becomes the status, headers and cookies instead of bytes; a failure
 * after the head has gone out can only abort the response, so the client sees a truncated body rather
 * than a complete one.
 */
export function createHttpStreamSink(res: ServerResponse, requestId: string): StreamSink {
  return {
    // The prelude is checked as a returned result is (`results-shared.ts`), all of it before the head is
    // written: what it cannot carry throws `BAD_HANDLER_RESULT`, and nothing has gone out.
    start(head: StreamHead) {
      const prelude = head.prelude;
      const out: ResponseHeaders = {};
      addHeaders(out, prelude?.headers, 'prelude.headers');
      addCookies(out, prelude?.cookies);
      if (head.contentType !== HTTP_INTEGRATION_CONTENT_TYPE) out['content-type'] = head.contentType;
      const status = prelude?.statusCode === undefined ? 200 : readStatusCode(prelude.statusCode);
      if (!hasNoContent(status)) out['content-type'] ??= 'application/octet-stream';
      if (out['content-type'] !== undefined) assertFieldText(String(out['content-type']), 'the content type');
      out['x-request-id'] ??= requestId;
      res.writeHead(status, out);
    },
    write(chunk, callback) {
      if (res.destroyed) return callback(new Error('The client closed the connection'));
      if (res.write(chunk)) return callback();
      // Backpressure: wait for the client, or for its going away.
      const settle = (error?: Error) => {
        res.off('drain', onDrain);
        res.off('close', onClose);
        callback(error);
      };
      const onDrain = () => settle();
      const onClose = () => settle(new Error('The client closed the connection'));
      res.once('drain', onDrain);
      res.once('close', onClose);
    },
    end(callback) {
      res.end(() => callback());
    },
    async fail() {
      res.destroy();
    },
  };
}
