import { describe, expect, it } from 'vitest';
import {
  decodePath,
  forEachQueryPair,
  isTextBody,
  splitCookies,
  splitUrl,
  walkHeaders,
} from '../../../adapters/http/formats-shared.js';

describe('splitUrl', () => {
  it.each([
    ['/', '/', ''],
    ['/a%20b?x=1&x=2', '/a%20b', 'x=1&x=2'],
    ['/p?', '/p', ''],
    ['/p?a=1?b=2', '/p', 'a=1?b=2'],
    ['/?x', '/', 'x'],
    ['//double//slash', '//double//slash', ''],
    ['http://fn.example.com/p?q=1', '/p', 'q=1'],
    ['https://fn.example.com:8443?q=1', '/', 'q=1'],
    ['http://fn.example.com', '/', ''],
    ['*', '/', ''],
    ['', '/', ''],
  ])('%j → path %j, query %j', (url, path, query) => {
    expect(splitUrl(url)).toEqual({ path, query });
  });
});

const pairs = (query: string, decode: boolean) => {
  const out: [string, string][] = [];
  forEachQueryPair(query, decode, (k, v) => out.push([k, v]));
  return out;
};

describe('forEachQueryPair', () => {
  it.each([
    ['', []],
    [
      'a=1&a=2',
      [
        ['a', '1'],
        ['a', '2'],
      ],
    ],
    ['flag', [['flag', '']]],
    ['empty=', [['empty', '']]],
    ['&&a=1&', [['a', '1']]],
    ['=v', [['', 'v']]],
    ['a=b=c', [['a', 'b=c']]],
    [
      'literalPlus=a+b&encodedPlus=a%2Bb',
      [
        ['literalPlus', 'a b'],
        ['encodedPlus', 'a+b'],
      ],
    ],
    ['redirect=https%3A%2F%2Fexample.com%2Fa%2Fb', [['redirect', 'https://example.com/a/b']]],
    ['%E4%B8%96=%CE%BB', [['世', 'λ']]],
    ['k%5Ba%5D=v%5B', [['k[a]', 'v[']]],
    // Not valid percent-encoding: kept as sent rather than dropped or mangled.
    [
      'bad=%zz&half=%E4%B8&ok=%20',
      [
        ['bad', '%zz'],
        ['half', '%E4%B8'],
        ['ok', ' '],
      ],
    ],
  ] as [string, [string, string][]][])('decoded %j', (query, expected) => {
    expect(pairs(query, true)).toEqual(expected);
  });

  it('leaves keys and values exactly as sent without decode (ALB)', () => {
    expect(pairs('k%5Ba%5D=foo%5B&p=a+b&e=%2B', false)).toEqual([
      ['k%5Ba%5D', 'foo%5B'],
      ['p', 'a+b'],
      ['e', '%2B'],
    ]);
  });
});

describe('decodePath', () => {
  it.each([
    ['/plain', '/plain'],
    ['/space%20value', '/space value'],
    ['/a+b', '/a+b'],
    ['/slash%2Fvalue', '/slash/value'],
    ['/unicode-%CE%BB', '/unicode-λ'],
    ['/once%2520', '/once%20'],
    ['/bad%zz', '/bad%zz'],
  ])('%j → %j', (path, expected) => expect(decodePath(path)).toBe(expected));
});

describe('walkHeaders', () => {
  it('visits every header in order with its lower-case name and returns the first of each fact', () => {
    const seen: string[][] = [];
    const facts = walkHeaders(
      [
        'Host',
        'a.example',
        'User-Agent',
        'ua/1',
        'Content-Type',
        'text/plain',
        'content-type',
        'x/y',
        'Content-Encoding',
        'gzip',
      ],
      (name, lower, value) => seen.push([name, lower, value]),
    );
    expect(seen.map(([name]) => name)).toEqual([
      'Host',
      'User-Agent',
      'Content-Type',
      'content-type',
      'Content-Encoding',
    ]);
    expect(seen[0]).toEqual(['Host', 'host', 'a.example']);
    expect(facts).toEqual({
      host: 'a.example',
      userAgent: 'ua/1',
      contentType: 'text/plain',
      contentEncoding: 'gzip',
    });
  });

  it('skips HTTP/2 pseudo-headers and turns :authority into host when Host is absent', () => {
    const seen: string[] = [];
    const raw = [
      ':method',
      'GET',
      ':path',
      '/',
      ':authority',
      'h2.example:8443',
      ':scheme',
      'https',
      'accept',
      '*/*',
    ];
    const facts = walkHeaders(raw, (_n, lower, value) => seen.push(`${lower}=${value}`));
    expect(seen).toEqual(['accept=*/*', 'host=h2.example:8443']);
    expect(facts.host).toBe('h2.example:8443');
  });

  it('lower-cases any number of distinct names (the name cache is bounded, not the answer)', () => {
    const raw = Array.from({ length: 3000 }, (_, i) => [`X-Name-${i}`, `${i}`]).flat();
    let count = 0;
    walkHeaders(raw, (name, lower, value) => {
      expect([name, lower]).toEqual([`X-Name-${value}`, `x-name-${value}`]);
      count++;
    });
    expect(count).toBe(3000);
  });

  it('keeps a real Host over :authority', () => {
    const seen: string[] = [];
    const facts = walkHeaders([':authority', 'a', 'host', 'b'], (_n, lower) => seen.push(lower));
    expect(seen).toEqual(['host']);
    expect(facts.host).toBe('b');
  });
});

describe('splitCookies', () => {
  it.each([
    ['a=1; b=2', ['a=1', 'b=2']],
    ['a=1;b=2;', ['a=1', 'b=2']],
    [' a=1 ;  ; b=x=y ', ['a=1', 'b=x=y']],
    ['', []],
    ['cookie1', ['cookie1']],
  ])('%j → %j', (header, expected) => {
    const into: string[] = [];
    splitCookies(header, into);
    expect(into).toEqual(expected);
  });
});

describe('isTextBody', () => {
  const utf8 = Buffer.from('{"unicode":"lambda-λ"}');
  const binary = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00]);
  it.each([
    ['application/json', undefined, utf8, true],
    ['application/json; charset=utf-8', undefined, utf8, true],
    ['Application/JSON', undefined, utf8, true],
    ['application/vnd.api+json', undefined, utf8, true],
    ['application/problem+json', undefined, utf8, true],
    ['text/plain', undefined, utf8, true],
    ['text/html; charset=utf-8', undefined, utf8, true],
    ['text/csv', undefined, utf8, true],
    ['application/xml', undefined, utf8, true],
    ['application/atom+xml', undefined, utf8, true],
    ['application/javascript', undefined, utf8, true],
    ['application/x-www-form-urlencoded', undefined, Buffer.from('a=1&b=%20'), true],
    ['image/png', undefined, binary, false],
    ['image/svg', undefined, utf8, false],
    ['application/octet-stream', undefined, utf8, false],
    ['multipart/form-data; boundary=x', undefined, utf8, false],
    ['application/pdf', undefined, utf8, false],
    // No content type: text when the bytes are UTF-8, else base64, so nothing is ever lost.
    [undefined, undefined, utf8, true],
    [undefined, undefined, binary, false],
    // Text types whose bytes are not UTF-8 (Latin-1 here) go base64 rather than be mangled.
    ['text/plain; charset=iso-8859-1', undefined, Buffer.from([0x63, 0x61, 0x66, 0xe9]), false],
    // A compressed body is binary whatever its type (ALB docs).
    ['application/json', 'gzip', utf8, false],
    ['application/json', 'identity', utf8, true],
  ] as [string | undefined, string | undefined, Buffer, boolean][])(
    '%s, content-encoding %s',
    (type, encoding, body, text) => {
      expect(isTextBody(body, type, encoding)).toBe(text);
    },
  );
});
