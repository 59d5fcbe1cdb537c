import { describe, expect, it } from 'vitest';
import { isRfc3339 } from '../../../adapters/http/cloudevents-attributes.js';
import { decodeHeaderValue, encodeHeaderValue } from '../../../adapters/http/cloudevents-header-value.js';
import { parseMediaType } from '../../../adapters/http/cloudevents-media-type.js';

describe('ce- header values (HTTP binding §3.1.3.2)', () => {
  it.each([
    ['plain token', 'com.example.someevent', 'com.example.someevent'],
    ["the spec's example", 'Euro%20%E2%82%AC%20%F0%9F%98%80', 'Euro € 😀'],
    ['lower-case hex', 'Euro%20%e2%82%ac', 'Euro €'],
    ['needless escapes', '%41%42%2f%3A', 'AB/:'],
    ['an escaped percent', '100%25', '100%'],
    ['raw inner spaces (older senders)', 'hello world', 'hello world'],
    ['surrounding OWS', ' \thello\t ', 'hello'],
    ['a quoted-string', '"hello world"', 'hello world'],
    ['quoted-pairs', '"a\\"b\\\\c"', 'a"b\\c'],
    ['quoted, then percent-decoded', '"Euro %E2%82%AC"', 'Euro €'],
    ['a quoted escaped percent', '"%25"', '%'],
    ['an empty quoted-string', '""', ''],
    ['a quote further in is literal', '{"othervalue": 5}', '{"othervalue": 5}'],
    ['plus is not a space', 'a+b', 'a+b'],
    ['empty', '', ''],
  ])('%s', (_title, raw, decoded) => {
    expect(decodeHeaderValue('x', raw)).toBe(decoded);
  });

  it.each([
    ['printable ASCII untouched', 'a-b_c.d~e/f:g', 'a-b_c.d~e/f:g'],
    ["the spec's example", 'Euro € 😀', 'Euro%20%E2%82%AC%20%F0%9F%98%80'],
    ['space, quote, percent', ' "%', '%20%22%25'],
    ['control characters and DEL', '\n\t\x7f', '%0A%09%7F'],
    ['C1 controls and latin1', '\u0085é', '%C2%85%C3%A9'],
  ])('encodes %s', (_title, value, encoded) => {
    expect(encodeHeaderValue(value)).toBe(encoded);
    expect(decodeURIComponent(encoded)).toBe(value);
  });
});

describe('parseMediaType', () => {
  it.each([
    ['application/json', 'application/json', undefined],
    ['Application/JSON; Charset=UTF-8', 'application/json', 'utf-8'],
    ['text/plain;charset="us-ascii"', 'text/plain', 'us-ascii'],
    ['text/plain ; format=flowed ; charset=utf-8 ;', 'text/plain', 'utf-8'],
    ['application/cloudevents+json; charset=utf-8', 'application/cloudevents+json', 'utf-8'],
  ])('%s', (value, essence, charset) => {
    expect(parseMediaType(value)).toEqual({ essence, charset });
  });

  it.each([
    'json',
    '/json',
    'application/',
    'application/json; charset',
    'application/json; =x',
    'a/b; c="d',
    'a/b c',
  ])('rejects %s', (value) => {
    expect(parseMediaType(value)).toBeUndefined();
  });
});

describe('isRfc3339', () => {
  it.each([
    '2018-04-05T03:56:24Z',
    '2018-04-05t03:56:24z',
    '2018-04-05T03:56:24.123456789+05:30',
    '2020-02-29T00:00:00Z',
    '2000-02-29T00:00:00-00:00',
    '2016-12-31T23:59:60Z',
  ])('accepts %s', (value) => {
    expect(isRfc3339(value)).toBe(true);
  });

  it.each([
    '2019-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2018-04-31T00:00:00Z',
    '2018-04-05T24:00:00Z',
    '2018-04-05T03:60:00Z',
    '2018-04-05T03:56:61Z',
    '2018-04-05T03:56:24+24:00',
    '2018-04-05T03:56:24.Z',
    '2018-04-05T03:56Z',
    '2018-04-05',
    '18-04-05T03:56:24Z',
  ])('rejects %s', (value) => {
    expect(isRfc3339(value)).toBe(false);
  });
});
