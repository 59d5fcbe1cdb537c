import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { HttpRequest } from '../../../adapters/http/request.js';
import { testdata } from '../../helpers/process.js';

// Third-party samples (aws/aws-lambda-go events/testdata), replayed as they are.
const samples = path.join(testdata, 'aws-lambda-events');

/** A parsed sample: untyped JSON, read field by field in the tests. */
// biome-ignore lint/suspicious/noExplicitAny: see above.
export type Sample = any;

/** A sample event, parsed. */
export const loadSample = (file: string): Sample =>
  JSON.parse(readFileSync(path.join(samples, file), 'utf8'));

/** The parts of a plain HTTP request, as a client would send them. */
export interface RequestParts {
  method?: string;
  url?: string;
  headers?: [string, string][];
  body?: Buffer | string;
  remoteAddress?: string;
  httpVersion?: string;
  receivedAt?: number;
  requestId?: string;
}

/** An HttpRequest with sensible defaults: GET / from 198.51.100.7 over HTTP/1.1. */
export function makeRequest(parts: RequestParts = {}): HttpRequest {
  return {
    method: parts.method ?? 'GET',
    url: parts.url ?? '/',
    rawHeaders: (parts.headers ?? [['Host', 'fn.example.com']]).flat(),
    body: typeof parts.body === 'string' ? Buffer.from(parts.body) : (parts.body ?? Buffer.alloc(0)),
    remoteAddress: parts.remoteAddress ?? '198.51.100.7',
    httpVersion: parts.httpVersion ?? '1.1',
    requestId: parts.requestId ?? '8f2b5a0e-6f0e-4b7a-9d3c-2a1f6e9c0b11',
    receivedAt: parts.receivedAt ?? Date.UTC(2020, 2, 12, 19, 3, 58, 390),
  };
}

/**
 * Headers no request can carry to forge an identity: ALB's OIDC claims, a bearer token, API Gateway's
 * own context names, and whole requestContext objects as JSON.
 */
export const forgedHeaders: [string, string][] = [
  ['x-amzn-oidc-data', 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.sig'],
  ['x-amzn-oidc-identity', 'admin'],
  ['Authorization', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiIsInNjb3BlIjoiYWRtaW4ifQ.'],
  ['requestContext', '{"authorizer":{"jwt":{"claims":{"sub":"admin"}}},"identity":{"sourceIp":"10.0.0.1"}}'],
  ['x-amzn-request-context', '{"authorizer":{"lambda":{"role":"admin"}},"accountId":"999999999999"}'],
  ['x-apigateway-event', '{"requestContext":{"authorizer":{"principalId":"admin"}}}'],
  ['X-Forwarded-For', '10.0.0.1'],
  ['x-amzn-apigateway-api-id', 'forged'],
];

/** What `fn` threw (failing the test when it did not throw). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** The same object with lower-case keys (API Gateway 2.0 and ALB lower-case header names). */
export const lowerKeys = (headers: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));

/** AWS's request time: `12/Mar/2020:19:03:58 +0000`. */
export const REQUEST_TIME =
  /^\d{2}\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/;
