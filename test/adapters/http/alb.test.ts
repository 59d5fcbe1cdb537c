import { describe, expect, it } from 'vitest';
import { alb } from '../../../adapters/http/alb.js';
import { PLACEHOLDERS } from '../../../adapters/http/request-context.js';
import { makeRequest } from './samples.js';

const eventOf = (parts: Parameters<typeof makeRequest>[0], multiValueHeaders = false) =>
  alb.toEvent(makeRequest(parts), { multiValueHeaders });

const probe = {
  method: 'POST',
  url: '/capture/space%20value?repeat=one&repeat=two&literalPlus=a+b&encodedPlus=a%2Bb&empty=',
  headers: [
    ['Host', 'alb.example.com'],
    ['Content-Type', 'application/json'],
    ['X-Probe', 'first'],
    ['x-probe', 'second'],
    ['Cookie', 'session=abc123; theme=dark'],
  ] as [string, string][],
  body: '{"unicode":"lambda-λ"}',
};

describe('alb.toEvent', () => {
  it('without multi-value headers: lower-case names, last values, query left encoded', () => {
    expect(eventOf(probe)).toEqual({
      requestContext: { elb: { targetGroupArn: PLACEHOLDERS.targetGroupArn } },
      httpMethod: 'POST',
      path: '/capture/space%20value',
      queryStringParameters: { repeat: 'two', literalPlus: 'a+b', encodedPlus: 'a%2Bb', empty: '' },
      headers: {
        host: 'alb.example.com',
        'content-type': 'application/json',
        'x-probe': 'second',
        cookie: 'session=abc123; theme=dark',
      },
      body: '{"unicode":"lambda-λ"}',
      isBase64Encoded: false,
    });
  });

  it('with multi-value headers: every value, in order, and no single-value fields', () => {
    // As the live capture in hotsock/voker `vokerhttp/testdata/alb-request.json` shows.
    const event = eventOf(probe, true);
    expect(event.multiValueQueryStringParameters).toEqual({
      repeat: ['one', 'two'],
      literalPlus: ['a+b'],
      encodedPlus: ['a%2Bb'],
      empty: [''],
    });
    expect(event.multiValueHeaders).toEqual({
      host: ['alb.example.com'],
      'content-type': ['application/json'],
      'x-probe': ['first', 'second'],
      cookie: ['session=abc123; theme=dark'],
    });
    expect(event).not.toHaveProperty('headers');
    expect(event).not.toHaveProperty('queryStringParameters');
  });

  it('sends an empty object without a query, and "" without a body', () => {
    expect(eventOf({})).toMatchObject({ queryStringParameters: {}, body: '', isBase64Encoded: false });
    expect(eventOf({}, true)).toMatchObject({ multiValueQueryStringParameters: {}, body: '' });
  });

  it('base64-encodes binary and content-encoded bodies', () => {
    const png = eventOf({ headers: [['Content-Type', 'image/png']], body: Buffer.from([0x89, 0x50]) });
    expect(png).toMatchObject({ body: 'iVA=', isBase64Encoded: true });
    const gzip = eventOf({
      headers: [
        ['Content-Type', 'text/plain'],
        ['Content-Encoding', 'gzip'],
      ],
      body: 'x',
    });
    expect(gzip).toMatchObject({ body: 'eA==', isBase64Encoded: true });
  });

  it('uses the configured target group', () => {
    const arn = 'arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/users/abc';
    expect(alb.toEvent(makeRequest(), { targetGroupArn: arn }).requestContext.elb.targetGroupArn).toBe(arn);
  });
});

describe('alb.toResponse', () => {
  const result = {
    statusCode: 404,
    statusDescription: '404 Not Found',
    headers: { 'Content-Type': 'text/plain', 'Set-Cookie': 'a=1' },
    multiValueHeaders: { 'Content-Type': ['text/html'], 'Set-Cookie': ['b=2', 'c=3'] },
    body: 'nope',
  };

  it('reads only `headers` without multi-value headers, and the reason phrase from statusDescription', () => {
    expect(alb.toResponse(result)).toEqual({
      statusCode: 404,
      statusMessage: 'Not Found',
      headers: { 'content-type': 'text/plain', 'set-cookie': 'a=1' },
      body: 'nope',
    });
  });

  it('reads only `multiValueHeaders` with them', () => {
    expect(alb.toResponse(result, { multiValueHeaders: true }).headers).toEqual({
      'content-type': 'text/html',
      'set-cookie': ['b=2', 'c=3'],
    });
  });

  it.each([
    ['200 OK', 200, 'OK'],
    ['Teapot', 418, 'Teapot'],
    ['500', 500, '500'],
    ['201 ', 201, undefined],
  ])('statusDescription %j with %d → reason %j', (statusDescription, statusCode, reason) => {
    expect(alb.toResponse({ statusCode, statusDescription }).statusMessage).toBe(reason);
  });

  it('adds no content type and no statusMessage of its own', () => {
    expect(alb.toResponse({ statusCode: 200, body: 'x' })).toEqual({
      statusCode: 200,
      headers: {},
      body: 'x',
    });
  });

  it('decodes a base64 body', () => {
    expect(alb.toResponse({ statusCode: 200, body: '/9j/', isBase64Encoded: true }).body).toEqual(
      Buffer.from([0xff, 0xd8, 0xff]),
    );
  });
});
