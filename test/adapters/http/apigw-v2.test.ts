import { describe, expect, it } from 'vitest';
import { apigwV2 } from '../../../adapters/http/apigw-v2.js';
import { makeRequest } from './samples.js';

const eventOf = (parts: Parameters<typeof makeRequest>[0], options?: Parameters<typeof apigwV2.toEvent>[1]) =>
  apigwV2.toEvent(makeRequest(parts), options);

describe('apigwV2.toEvent: headers and cookies', () => {
  it('lower-cases names and comma-joins repeated ones, in arrival order', () => {
    const event = eventOf({
      headers: [
        ['Host', 'h'],
        ['X-Probe', 'first'],
        ['x-probe', 'second'],
        ['Accept', '*/*'],
      ],
    });
    expect(event.headers).toEqual({ host: 'h', 'x-probe': 'first,second', accept: '*/*' });
  });

  it('moves every Cookie header into `cookies` and keeps none in `headers`', () => {
    const event = eventOf({
      headers: [
        ['Host', 'h'],
        ['Cookie', 'a=1; b=2'],
        ['cookie', 'c=3'],
      ],
    });
    expect(event.cookies).toEqual(['a=1', 'b=2', 'c=3']);
    expect(event.headers).toEqual({ host: 'h' });
  });

  it('has no `cookies` field without cookies', () => {
    expect(eventOf({})).not.toHaveProperty('cookies');
  });

  it('takes the HTTP/2 :authority as host', () => {
    const event = eventOf({
      httpVersion: '2.0',
      headers: [
        [':authority', 'fn.example.com'],
        [':path', '/'],
      ],
    });
    expect(event.headers).toEqual({ host: 'fn.example.com' });
    expect(event.requestContext.domainName).toBe('fn.example.com');
    expect(event.requestContext.http.protocol).toBe('HTTP/2.0');
  });
});

describe('apigwV2.toEvent: path and query', () => {
  it.each([
    ['/', '/', '', undefined],
    ['/my/path?', '/my/path', '', undefined],
    ['/a?x=1&x=2&y=', '/a', 'x=1&x=2&y=', { x: '1,2', y: '' }],
    ['/a?q=a+b&r=a%2Bb', '/a', 'q=a+b&r=a%2Bb', { q: 'a b', r: 'a+b' }],
    ['/a?%E4%B8%96=%CE%BB&bad=%zz', '/a', '%E4%B8%96=%CE%BB&bad=%zz', { 世: 'λ', bad: '%zz' }],
    ['/a?flag&&', '/a', 'flag&&', { flag: '' }],
    ['/a?&&', '/a', '&&', undefined],
  ])('%s', (url, rawPath, rawQueryString, queryStringParameters) => {
    const event = eventOf({ url });
    expect(event.rawPath).toBe(rawPath);
    expect(event.rawQueryString).toBe(rawQueryString);
    expect(event.queryStringParameters).toEqual(queryStringParameters);
    if (queryStringParameters === undefined) expect(event).not.toHaveProperty('queryStringParameters');
  });

  it('keeps rawPath as sent and decodes http.path once, as Function URLs do', () => {
    const event = eventOf({ url: '/capture/space%20value/%CE%BB?x=1' });
    expect(event.rawPath).toBe('/capture/space%20value/%CE%BB');
    expect(event.requestContext.http.path).toBe('/capture/space value/λ');
  });

  it('keeps an undecodable path as sent', () => {
    expect(eventOf({ url: '/percent%zz' }).requestContext.http.path).toBe('/percent%zz');
  });

  it('accepts an absolute-form target', () => {
    const event = eventOf({ url: 'http://fn.example.com/p?q=1' });
    expect([event.rawPath, event.rawQueryString]).toEqual(['/p', 'q=1']);
  });
});

describe('apigwV2.toEvent: body', () => {
  it.each([
    ['application/json', '{"a":1}', '{"a":1}', false],
    ['text/plain; charset=utf-8', 'héllo', 'héllo', false],
    ['application/x-www-form-urlencoded', 'a=1&b=2', 'a=1&b=2', false],
    ['image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0xff]), 'iVBORwD/', true],
    [
      'application/octet-stream',
      'text but declared binary',
      Buffer.from('text but declared binary').toString('base64'),
      true,
    ],
    [undefined, 'Hello from client!', 'Hello from client!', false],
    [undefined, Buffer.from([0xff, 0xfe, 0x00]), '//4A', true],
  ] as [string | undefined, string | Buffer, string, boolean][])('%s', (type, body, expected, base64) => {
    const headers: [string, string][] = [['Host', 'h']];
    if (type) headers.push(['Content-Type', type]);
    const event = eventOf({ method: 'POST', headers, body });
    expect(event.body).toBe(expected);
    expect(event.isBase64Encoded).toBe(base64);
  });

  it('base64-encodes a content-encoded body', () => {
    const body = Buffer.from('{"compressed":"pretend"}');
    const headers: [string, string][] = [
      ['Content-Type', 'application/json'],
      ['Content-Encoding', 'gzip'],
    ];
    const event = eventOf({ method: 'POST', headers, body });
    expect(event).toMatchObject({ body: body.toString('base64'), isBase64Encoded: true });
  });

  it('has no `body` field for an empty body', () => {
    const event = eventOf({ method: 'POST', headers: [['Content-Type', 'application/json']] });
    expect(event).not.toHaveProperty('body');
    expect(event.isBase64Encoded).toBe(false);
  });
});

describe('apigwV2.toEvent: requestContext', () => {
  it('is built from the connection, the clock and the options', () => {
    const event = eventOf(
      {
        method: 'PATCH',
        url: '/x',
        headers: [
          ['Host', 'api.example.com:8443'],
          ['User-Agent', 'curl/8.7.1'],
        ],
        remoteAddress: '2001:db8::1',
        requestId: 'req-1',
        receivedAt: Date.UTC(2020, 2, 12, 19, 3, 58, 390),
      },
      { stage: 'live', accountId: '111122223333', apiId: 'users' },
    );
    expect(event.requestContext).toEqual({
      accountId: '111122223333',
      apiId: 'users',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: {
        method: 'PATCH',
        path: '/x',
        protocol: 'HTTP/1.1',
        sourceIp: '2001:db8::1',
        userAgent: 'curl/8.7.1',
      },
      requestId: 'req-1',
      routeKey: '$default',
      stage: 'live',
      time: '12/Mar/2020:19:03:58 +0000',
      timeEpoch: 1584039838390,
    });
  });

  it('defaults stage to $default, userAgent to "" and domainName to localhost', () => {
    const context = eventOf({ headers: [] }).requestContext;
    expect(context).toMatchObject({ stage: '$default', domainName: 'localhost', domainPrefix: 'localhost' });
    expect(context.http.userAgent).toBe('');
  });

  it('reads fields in the order AWS writes them', () => {
    const event = eventOf({
      url: '/?a=1',
      headers: [
        ['Host', 'h'],
        ['Cookie', 'c=1'],
      ],
      body: 'x',
    });
    expect(Object.keys(event)).toEqual([
      'version',
      'routeKey',
      'rawPath',
      'rawQueryString',
      'cookies',
      'headers',
      'queryStringParameters',
      'requestContext',
      'body',
      'isBase64Encoded',
    ]);
  });
});
