import { expect } from 'vitest';
import type { HttpRequest, HttpResponse } from '../../../adapters/http/request.js';
import { JustfnError } from '../../../runtime/errors.js';

/** An HttpRequest as the fastify source would build it. */
export function request(
  rawHeaders: readonly string[],
  body: string | Buffer = '',
  method = 'POST',
): HttpRequest {
  return {
    method,
    url: '/',
    rawHeaders,
    body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
    remoteAddress: '127.0.0.1',
    httpVersion: '1.1',
    requestId: 'req-1',
    receivedAt: 0,
  };
}

/** Node-style rawHeaders from a headers object (the SDK's `Message.headers`, a reply's headers). */
export function toRawHeaders(headers: Record<string, unknown>): string[] {
  const raw: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) raw.push(name, String(v));
  }
  return raw;
}

/** A reply seen by the next hop: its headers and body as a request. */
export function replyAsRequest(response: HttpResponse): HttpRequest {
  return request(toRawHeaders(response.headers), response.body);
}

/** Runs `fn`, expecting a JustfnError with `code` whose message contains `message`. */
export function expectCloudEventError(fn: () => unknown, code: string, message: string): JustfnError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(JustfnError);
  const error = thrown as JustfnError;
  expect(error.code).toBe(code);
  expect(error.message).toContain(message);
  return error;
}

export const BINARY_MINIMUM = [
  'ce-specversion',
  '1.0',
  'ce-id',
  'id-1',
  'ce-source',
  '/source',
  'ce-type',
  'com.example.type',
] as const;
