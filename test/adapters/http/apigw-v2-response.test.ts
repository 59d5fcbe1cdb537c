import { describe, expect, it } from 'vitest';
import { apigwV2 } from '../../../adapters/http/apigw-v2.js';
import { thrown } from './samples.js';

describe('apigwV2.toResponse: the 2.0 shorthand (no statusCode)', () => {
  it.each([
    ['an object', { message: 'hi' }, '{"message":"hi"}'],
    ['an object with statusCode undefined (gone after JSON)', { statusCode: undefined, a: 1 }, '{"a":1}'],
    ['a string, as is', 'Hello from Lambda!', 'Hello from Lambda!'],
    ['a number', 42, '42'],
    ['true', true, 'true'],
    ['an array', [1, { statusCode: 500 }], '[1,{"statusCode":500}]'],
    ['null', null, 'null'],
    ['undefined', undefined, 'null'],
  ])('%s → 200 application/json', (_name, result, body) => {
    expect(apigwV2.toResponse(result)).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body,
    });
  });

  it('reports a result JSON cannot carry as Lambda would', () => {
    expect(thrown(() => apigwV2.toResponse({ big: 1n }))).toMatchObject({ code: 'STRINGIFY_RESULT' });
  });
});

describe('apigwV2.toResponse: structured results', () => {
  it('sends each cookie as its own Set-Cookie, after any Set-Cookie header', () => {
    const res = apigwV2.toResponse({
      statusCode: 302,
      headers: { Location: '/next', 'Set-Cookie': 'h=0' },
      cookies: ['a=1; Path=/; HttpOnly', 'b=2; Max-Age=60'],
    });
    expect(res).toEqual({
      statusCode: 302,
      headers: {
        location: '/next',
        'set-cookie': ['h=0', 'a=1; Path=/; HttpOnly', 'b=2; Max-Age=60'],
        'content-type': 'application/json',
      },
      body: '',
    });
  });

  it('decodes a base64 body to bytes', () => {
    const res = apigwV2.toResponse({
      statusCode: 200,
      headers: { 'content-type': 'image/png' },
      body: 'iVBORw0KGgo=',
      isBase64Encoded: true,
    });
    expect(res.body).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(res.headers).toEqual({ 'content-type': 'image/png' });
  });

  it('keeps the handler content type whatever its case, and writes numbers and booleans as text', () => {
    const res = apigwV2.toResponse({
      statusCode: 200,
      headers: { 'Content-Type': 'text/html', 'X-Count': 3, 'X-On': true },
      body: '<p>',
    });
    expect(res.headers).toEqual({ 'content-type': 'text/html', 'x-count': '3', 'x-on': 'true' });
  });

  it('ignores keys it does not know, multiValueHeaders included (2.0 has none)', () => {
    const res = apigwV2.toResponse({
      statusCode: 204,
      multiValueHeaders: { 'X-A': ['1'] },
      statusDescription: 'x',
    });
    expect(res).toEqual({ statusCode: 204, headers: { 'content-type': 'application/json' }, body: '' });
  });

  it('drops hop-by-hop headers and Content-Length: the server frames the body', () => {
    const headers = {
      Connection: 'close',
      'Transfer-Encoding': 'chunked',
      'Content-Length': '999',
      'Keep-Alive': 'x',
      Upgrade: 'h2c',
      'X-Kept': '1',
    };
    expect(apigwV2.toResponse({ statusCode: 200, headers, body: 'ok' }).headers).toEqual({
      'x-kept': '1',
      'content-type': 'application/json',
    });
  });
});
