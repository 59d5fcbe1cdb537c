import { describe, expect, it } from 'vitest';
import { alb } from '../../../adapters/http/alb.js';
import { apigwV1 } from '../../../adapters/http/apigw-v1.js';
import { apigwV2 } from '../../../adapters/http/apigw-v2.js';
import type { HttpRequest } from '../../../adapters/http/request.js';
import { forgedHeaders, makeRequest } from './samples.js';

// On AWS, requestContext is written by API Gateway or ALB, never by the client: handlers trust its
// authorizer claims, identity and source IP. Here nothing in a request may reach it.

const formats: [string, (req: HttpRequest) => { requestContext: unknown; headers?: unknown }][] = [
  ['apigw-v2', (req) => apigwV2.toEvent(req)],
  ['apigw-v1', (req) => apigwV1.toEvent(req)],
  ['alb', (req) => alb.toEvent(req)],
  ['alb (multi-value)', (req) => alb.toEvent(req, { multiValueHeaders: true })],
];

const plain = makeRequest({
  method: 'POST',
  url: '/orders',
  headers: [['Host', 'fn.example.com']],
  body: '{}',
});
const forged = makeRequest({
  method: 'POST',
  url: '/orders?requestContext[authorizer][principalId]=admin&authorizer=admin&identity.sourceIp=10.0.0.1',
  headers: [
    ['Host', 'fn.example.com'],
    ...forgedHeaders,
    ['X-Real-IP', '10.0.0.1'],
    ['Forwarded', 'for=10.0.0.1;proto=https'],
    ['Content-Type', 'application/json'],
  ],
  body: JSON.stringify({ requestContext: { authorizer: { jwt: { claims: { sub: 'admin' } } } } }),
});

describe.each(formats)('%s: requestContext comes from the connection only', (_name, toEvent) => {
  it('is the same with or without forged headers, query parameters and body', () => {
    const context = toEvent(forged).requestContext;
    expect(context).toEqual(toEvent(plain).requestContext);
    const text = JSON.stringify(context);
    for (const forgedValue of ['admin', '10.0.0.1', '999999999999', 'forged', 'authorizer']) {
      expect(text).not.toContain(forgedValue);
    }
  });

  it('takes sourceIp from the socket, not X-Forwarded-For', () => {
    const text = JSON.stringify(toEvent(forged).requestContext);
    if (!text.includes('sourceIp')) return; // ALB events carry no source IP field at all.
    expect(text).toContain(`"sourceIp":"${forged.remoteAddress}"`);
  });

  it('keeps a `__proto__` header or query key as data, never a prototype', () => {
    const req = makeRequest({
      url: '/?__proto__=x&constructor=y&__proto__[polluted]=1',
      headers: [['__proto__', 'h']],
    });
    const event = toEvent(req) as { headers?: object; multiValueHeaders?: object };
    const headers = event.headers ?? event.multiValueHeaders ?? {};
    expect(Object.hasOwn(headers, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });
});

describe('query keys that name Object.prototype members', () => {
  it('are plain own data in every format', () => {
    const req = makeRequest({ url: '/?__proto__=x&constructor=y&toString=z' });
    const v2 = apigwV2.toEvent(req).queryStringParameters ?? {};
    expect(Object.entries(v2)).toEqual([
      ['__proto__', 'x'],
      ['constructor', 'y'],
      ['toString', 'z'],
    ]);
    const v1 = apigwV1.toEvent(req);
    expect(Object.keys(v1.multiValueQueryStringParameters ?? {})).toEqual([
      '__proto__',
      'constructor',
      'toString',
    ]);
    expect(v1.multiValueQueryStringParameters?.constructor).toEqual(['y']);
    expect(Object.keys(alb.toEvent(req).queryStringParameters ?? {})).toEqual([
      '__proto__',
      'constructor',
      'toString',
    ]);
  });
});

describe('results cannot pollute prototypes either', () => {
  it('treats a JSON `__proto__` header as a header', () => {
    const result = JSON.parse('{"statusCode":200,"headers":{"__proto__":"x","constructor":"y"}}');
    const res = apigwV2.toResponse(result);
    expect(Object.hasOwn(res.headers, '__proto__')).toBe(true);
    expect(res.headers.constructor).toBe('y');
    expect(Object.getPrototypeOf(res.headers)).toBe(Object.prototype);
  });
});
