// Named imports: esbuild then reads them off node:http when used, so Lambda mode loads node:http only
// for a streaming handler.
import { Agent, type ClientRequest, request as httpRequest } from 'node:http';
import type { ErrorPayload } from '../../runtime/errors.js';
import { encodePrelude, type StreamHead, type StreamSink } from '../../runtime/streaming.js';
import { type ApiAnswer, errorTypeHeader } from './runtime-api-client.js';

export interface StreamTarget {
  origin: string;
  path: string;
  headers: Record<string, string>;
}

// undici cannot send request trailers, which carry a mid-stream error: streamed responses use node:http,
// on keep-alive sockets of their own, as AWS's runtime does: one per stream in flight, so that on Managed
// Instances one invocation's stream does not wait for another's to end.
let agent: Agent | undefined;
const sharedAgent = () => {
  agent ??= new Agent({ keepAlive: true });
  return agent;
};

/**
 * A streamed `/response`: one chunked POST, the HttpResponseStream prelude and its 8 NULs first, and an
 * error after the first byte reported in the `Lambda-Runtime-Function-Error-Type` / `-Body` trailers.
 */
export function createLambdaStreamSink(
  target: StreamTarget,
  onAnswer: (answer: ApiAnswer) => void,
): StreamSink {
  let request: ClientRequest | undefined;
  let answer: Promise<ApiAnswer> = Promise.reject(new Error('The stream was never started'));
  answer.catch(() => {});

  const ended = (callback: (error?: Error | null) => void) =>
    answer.then(
      (reply) => {
        try {
          onAnswer(reply);
        } catch (error) {
          // The Runtime API refused the response (a 500 is fatal): the invocation's outcome says so.
          return callback(error as Error);
        }
        callback();
      },
      (error: Error) => callback(error),
    );

  return {
    start(head: StreamHead) {
      request = httpRequest(`${target.origin}${target.path}`, {
        method: 'POST',
        agent: sharedAgent(),
        headers: {
          ...target.headers,
          'content-type': head.contentType,
          'lambda-runtime-function-response-mode': 'streaming',
          'transfer-encoding': 'chunked',
          trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
        },
      });
      answer = readAnswer(request);
      // A connection lost mid-stream also fails the stream's writes, which is how the invocation learns
      // of it; the answer's own rejection is read at the end.
      answer.catch(() => {});
      if (head.prelude) request.write(encodePrelude(head.prelude));
    },
    write(chunk, callback) {
      request!.write(chunk, callback);
    },
    end(callback) {
      request!.end();
      ended(callback);
    },
    fail(error: ErrorPayload) {
      // Ended already (the failure is the Runtime API's answer to it): nothing is left to report in-band.
      if (request!.writableEnded) return Promise.resolve();
      request!.addTrailers({
        'Lambda-Runtime-Function-Error-Type': errorTypeHeader(error.errorType),
        'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(error)).toString('base64'),
      });
      request!.end();
      return new Promise((resolve) => ended(() => resolve()));
    },
  };
}

function readAnswer(request: ClientRequest): Promise<ApiAnswer> {
  return new Promise((resolve, reject) => {
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers as Record<string, string>,
          body: Buffer.concat(chunks),
        }),
      );
    });
  });
}
