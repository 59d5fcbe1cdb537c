import type { ServerResponse } from 'node:http';
import { HTTP_INTEGRATION_CONTENT_TYPE, type StreamHead, type StreamSink } from '../../runtime/streaming.js';

/**
 * A streaming handler's response, written to the client as it comes (chunked). The
 * `HttpResponseStream.from` prelude becomes the status, headers and cookies instead of bytes; a failure
 * after the head has gone out can only abort the response, so the client sees a truncated body rather
 * than a complete one.
 */
export function createHttpStreamSink(res: ServerResponse, headers: Record<string, string>): StreamSink {
  return {
    start(head: StreamHead) {
      const prelude = head.prelude;
      const out: Record<string, string | string[]> = { ...headers };
      if (head.contentType !== HTTP_INTEGRATION_CONTENT_TYPE) out['content-type'] = head.contentType;
      for (const [name, value] of Object.entries(prelude?.headers ?? {})) {
        if (isSafeHeader(name, value)) out[name.toLowerCase()] = String(value);
      }
      const cookies = (prelude?.cookies ?? []).filter((c) => isSafeHeader('set-cookie', c));
      if (cookies.length > 0) out['set-cookie'] = cookies;
      out['content-type'] ??= 'application/octet-stream';
      const status = Number.isInteger(prelude?.statusCode) ? Number(prelude?.statusCode) : 200;
      res.writeHead(status >= 100 && status <= 599 ? status : 500, out);
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

// A header the handler sets must not be able to split the response.
function isSafeHeader(name: string, value: unknown): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name) && !/[\r\n\0]/.test(String(value));
}
