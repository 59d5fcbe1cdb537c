import { describe, expect, it } from 'vitest';
import { alb } from '../../../adapters/http/alb.js';
import { apigwV1 } from '../../../adapters/http/apigw-v1.js';
import { apigwV2 } from '../../../adapters/http/apigw-v2.js';
import { JustfnError } from '../../../runtime/errors.js';
import { thrown } from './samples.js';

// Results API Gateway or ALB would answer with 502 "Malformed Lambda proxy response": each must be a
// BAD_HANDLER_RESULT whose message names the field, never a response with bad bytes on the wire.

type Format = 'v2' | 'v1' | 'alb' | 'alb-multi';
const ALL: Format[] = ['v2', 'v1', 'alb', 'alb-multi'];
const toResponse: Record<Format, (result: unknown) => unknown> = {
  v2: (r) => apigwV2.toResponse(r),
  v1: (r) => apigwV1.toResponse(r),
  alb: (r) => alb.toResponse(r),
  'alb-multi': (r) => alb.toResponse(r, { multiValueHeaders: true }),
};
// Where each format reads single-value headers from (ALB with multi-value headers reads none).
const SINGLE: Format[] = ['v2', 'v1', 'alb'];
const MULTI: Format[] = ['v1', 'alb-multi'];

const base = { statusCode: 200, body: 'ok' };
const header = (value: unknown) => ({ ...base, headers: { 'X-A': value } });
const multi = (values: unknown) => ({ ...base, multiValueHeaders: { 'X-A': values } });

const cases: [string, unknown, string, Format[]][] = [
  [
    'statusCode as a string that is not three digits',
    { ...base, statusCode: '200 OK' },
    'statusCode must be an integer from 200 to 599, got "200 OK"',
    ALL,
  ],
  ['statusCode "099"', { ...base, statusCode: '099' }, 'statusCode must be an integer from 200 to 599', ALL],
  ['statusCode 99', { ...base, statusCode: 99 }, 'statusCode must be an integer from 200 to 599', ALL],
  // An interim answer alone would leave the client waiting, or reading the next request's answer as this one's.
  [
    'statusCode 100',
    { ...base, statusCode: 100 },
    'statusCode must be an integer from 200 to 599, got number 100',
    ALL,
  ],
  ['statusCode 199', { ...base, statusCode: 199 }, 'statusCode must be an integer from 200 to 599', ALL],
  ['statusCode 600', { ...base, statusCode: 600 }, 'statusCode', ALL],
  ['statusCode 200.5', { ...base, statusCode: 200.5 }, 'statusCode', ALL],
  ['statusCode NaN', { ...base, statusCode: Number.NaN }, 'statusCode', ALL],
  ['statusCode null', { ...base, statusCode: null }, 'statusCode', ALL],
  ['no statusCode', { body: 'ok' }, 'statusCode', ['v1', 'alb']],
  ['a string result', 'hello', 'the result must be an object', ['v1', 'alb']],
  ['a null result', null, 'the result must be an object', ['v1', 'alb']],
  ['an array result', [base], 'the result must be an object', ['v1', 'alb']],
  ['body as an object', { ...base, body: { a: 1 } }, 'body must be a string, got an object', ALL],
  ['body as a number', { ...base, body: 42 }, 'body must be a string, got number 42', ALL],
  ['body as an array', { ...base, body: ['x'] }, 'body must be a string, got an array', ALL],
  ['headers as an array', { ...base, headers: [] }, 'headers must be an object', SINGLE],
  ['headers as a string', { ...base, headers: 'X-A: 1' }, 'headers must be an object', SINGLE],
  ['a header value object', header({ v: 1 }), 'headers.X-A must be a string', SINGLE],
  ['a header value array', header(['1']), 'headers.X-A must be a string', SINGLE],
  ['a header value with CR LF', header('a\r\nSet-Cookie: evil=1'), 'headers.X-A contains CR, LF', SINGLE],
  ['a header value with LF', header('a\nb'), 'headers.X-A contains CR, LF', SINGLE],
  ['a header value with CR', header('a\rb'), 'headers.X-A contains CR, LF', SINGLE],
  ['a header value with NUL', header('a\u0000b'), 'headers.X-A contains', SINGLE],
  ['a header value beyond Latin-1', header('λ'), 'headers.X-A contains', SINGLE],
  [
    'a header name with a space',
    { ...base, headers: { 'Bad Name': 'x' } },
    'is not a valid header name',
    SINGLE,
  ],
  ['a header name with CR LF', { ...base, headers: { 'X\r\nY': 'x' } }, 'is not a valid header name', SINGLE],
  ['a header name with a colon', { ...base, headers: { 'X:Y': 'x' } }, 'is not a valid header name', SINGLE],
  ['an empty header name', { ...base, headers: { '': 'x' } }, 'is not a valid header name', SINGLE],
  [
    'multiValueHeaders as a string',
    { ...base, multiValueHeaders: 'x' },
    'multiValueHeaders must be an object',
    MULTI,
  ],
  ['a multi-value entry not an array', multi('a'), 'multiValueHeaders.X-A must be an array', MULTI],
  ['a multi-value entry object', multi([{}]), 'multiValueHeaders.X-A must be a string', MULTI],
  ['a multi-value entry with CR LF', multi(['ok', 'a\r\nb']), 'multiValueHeaders.X-A contains CR, LF', MULTI],
  [
    'isBase64Encoded as a string',
    { ...base, isBase64Encoded: 'true' },
    'isBase64Encoded must be a boolean',
    ALL,
  ],
  ['isBase64Encoded as a number', { ...base, isBase64Encoded: 1 }, 'isBase64Encoded must be a boolean', ALL],
  [
    'a base64 body with a bad character',
    { body: 'not base64!', statusCode: 200, isBase64Encoded: true },
    'not valid base64',
    ALL,
  ],
  [
    'a base64 body with a space',
    { body: 'aGVs bG8=', statusCode: 200, isBase64Encoded: true },
    'not valid base64',
    ALL,
  ],
  [
    'a base64 body with a newline',
    { body: 'aGVsbG8=\n', statusCode: 200, isBase64Encoded: true },
    'not valid base64',
    ALL,
  ],
  [
    'a base64 body of one character',
    { body: 'a', statusCode: 200, isBase64Encoded: true },
    'not valid base64',
    ALL,
  ],
  [
    'a base64 body with data after padding',
    { body: 'ab==cd==', statusCode: 200, isBase64Encoded: true },
    'not valid base64',
    ALL,
  ],
  ['cookies as a string', { ...base, cookies: 'a=1' }, 'cookies must be an array of strings', ['v2']],
  ['a cookie that is not a string', { ...base, cookies: ['a=1', 2] }, 'cookies[1] must be a string', ['v2']],
  ['a cookie with CR LF', { ...base, cookies: ['a=1\r\nX-Evil: 1'] }, 'cookies[0] contains CR, LF', ['v2']],
  ['cookies in a 1.0 result', { ...base, cookies: ['a=1'] }, 'unexpected key "cookies"', ['v1']],
  [
    'statusDescription in a 1.0 result',
    { ...base, statusDescription: '200 OK' },
    'unexpected key "statusDescription"',
    ['v1'],
  ],
  [
    'statusDescription not a string',
    { ...base, statusDescription: 200 },
    'statusDescription must be a string',
    ['alb', 'alb-multi'],
  ],
  [
    'statusDescription with CR LF',
    { ...base, statusDescription: '200 OK\r\nX: y' },
    'statusDescription contains CR, LF',
    ['alb', 'alb-multi'],
  ],
];

describe.each(ALL)('%s.toResponse refuses malformed results', (format) => {
  it.each(cases.filter(([, , , formats]) => formats.includes(format)))('%s', (_name, result, message) => {
    const error = thrown(() => toResponse[format](result));
    expect(error).toBeInstanceOf(JustfnError);
    expect(error).toMatchObject({ code: 'BAD_HANDLER_RESULT', name: 'Runtime.MalformedResult', status: 502 });
    expect((error as Error).message).toContain(message);
  });
});

describe('valid edge cases are not refused', () => {
  it.each(ALL)(
    '%s: null/undefined headers, header values, body and isBase64Encoded mean "none"',
    (format) => {
      const result = {
        statusCode: 200,
        headers: { 'X-A': null, 'X-B': undefined },
        body: null,
        isBase64Encoded: null,
      };
      expect(toResponse[format](result)).toMatchObject({ statusCode: 200, body: '' });
    },
  );

  it.each(ALL)("%s: statusCode as three digits in a string, as AWS's own blueprint returns it", (format) => {
    expect(toResponse[format]({ statusCode: '201', body: 'made' })).toMatchObject({ statusCode: 201 });
  });

  it.each(ALL)('%s: unpadded, URL-safe and empty base64 bodies decode', (format) => {
    const decode = (body: string) =>
      (toResponse[format]({ statusCode: 200, body, isBase64Encoded: true }) as { body: Buffer }).body;
    expect(decode('aGVsbG8')).toEqual(Buffer.from('hello'));
    expect(decode('-_8')).toEqual(Buffer.from([0xfb, 0xff]));
    expect(decode('')).toEqual(Buffer.alloc(0));
  });

  it.each(ALL)('%s: a tab and Latin-1 are fine in a header value', (format) => {
    const result = {
      statusCode: 200,
      headers: { 'X-A': 'a\tb é' },
      multiValueHeaders: { 'X-A': ['a\tb é'] },
    };
    expect((toResponse[format](result) as { headers: Record<string, unknown> }).headers['x-a']).toBe(
      'a\tb é',
    );
  });
});
