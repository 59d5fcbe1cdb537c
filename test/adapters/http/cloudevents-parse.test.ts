import { describe, expect, it } from 'vitest';
import { isCloudEventRequest, parseCloudEvents } from '../../../adapters/http/cloudevents.js';
import { BINARY_MINIMUM, expectCloudEventError, request } from './cloudevents-helpers.js';

const MINIMUM = { specversion: '1.0', id: 'id-1', source: '/source', type: 'com.example.type' };

function binaryEvent(extra: string[], body: string | Buffer = '') {
  const parsed = parseCloudEvents(request([...BINARY_MINIMUM, ...extra], body));
  if (parsed.mode !== 'binary') throw new Error(`expected binary, got ${parsed.mode}`);
  return parsed.event;
}

describe('isCloudEventRequest', () => {
  it.each([
    ['binary: ce-specversion', 'POST', ['ce-specversion', '1.0'], true],
    ['binary, any header case', 'POST', ['CE-SpecVersion', '1.0'], true],
    ['structured', 'POST', ['Content-Type', 'application/cloudevents+json'], true],
    ['structured, upper case', 'POST', ['content-type', 'APPLICATION/CloudEvents+JSON; charset=utf-8'], true],
    ['batch', 'POST', ['content-type', 'application/cloudevents-batch+json'], true],
    ['unknown format (answered 415)', 'POST', ['content-type', 'application/cloudevents+avro'], true],
    [
      'all other required ce- headers (answered 400)',
      'POST',
      ['ce-id', '1', 'ce-source', '/s', 'ce-type', 't'],
      true,
    ],
    ['PUT (binding §1.2: any method with a body)', 'PUT', ['ce-specversion', '1.0'], true],
    ['only ce-id', 'POST', ['ce-id', '1'], false],
    ['ce-id and ce-type', 'POST', ['ce-id', '1', 'ce-type', 't'], false],
    ['a plain JSON POST', 'POST', ['content-type', 'application/json', 'host', 'x'], false],
    ['no headers', 'POST', [], false],
    ['GET with ce-specversion', 'GET', ['ce-specversion', '1.0'], false],
    ['HEAD', 'HEAD', ['ce-specversion', '1.0'], false],
    ['OPTIONS (Eventing probe)', 'OPTIONS', ['ce-specversion', '1.0'], false],
    ['DELETE', 'DELETE', ['content-type', 'application/cloudevents+json'], false],
    ['a header merely containing ce-', 'POST', ['x-ce-specversion', '1.0', 'face-id', '1'], false],
  ])('%s', (_title, method, rawHeaders, expected) => {
    expect(isCloudEventRequest(request(rawHeaders, '', method))).toBe(expected);
  });

  it('answers a headers-only-but-specversion event with a 400 naming it', () => {
    const req = request(['ce-id', '1', 'ce-source', '/s', 'ce-type', 't']);
    expectCloudEventError(
      () => parseCloudEvents(req),
      'INVALID_CLOUDEVENT',
      'ce-specversion: required header is missing',
    );
  });
});

describe('binary mode', () => {
  it('reads attributes and extensions from ce- headers, lower-casing names, keeping strings', () => {
    const event = binaryEvent([
      'Ce-Subject',
      'a%20b',
      'ce-time',
      '2018-04-05T03:56:24Z',
      'ce-dataschema',
      'https://example.com/schema',
      'CE-MyCount',
      '5',
      'ce-flag',
      'true',
      'user-agent',
      'x',
    ]);
    expect(event).toEqual({
      ...MINIMUM,
      subject: 'a b',
      time: '2018-04-05T03:56:24Z',
      dataschema: 'https://example.com/schema',
      mycount: '5',
      flag: 'true',
    });
  });

  it('has no data for an empty body, but keeps the content type', () => {
    expect(binaryEvent(['content-type', 'application/json'])).toEqual({
      ...MINIMUM,
      datacontenttype: 'application/json',
    });
    expect(binaryEvent([])).toEqual(MINIMUM);
  });

  it.each([
    ['application/json', '{"a":[1,2]}', { data: { a: [1, 2] } }],
    ['application/json', 'null', { data: null }],
    ['application/json', '"just a string"', { data: 'just a string' }],
    ['application/vnd.api+json', '{"a":1}', { data: { a: 1 } }],
    ['text/json; charset=utf-8', '[1]', { data: [1] }],
    ['text/csv', 'a,b', { data: 'a,b' }],
    ['text/plain', 'héllo 🌎', { data: 'héllo 🌎' }],
    ['application/xml', '<a>é</a>', { data: '<a>é</a>' }],
    ['application/atom+xml', '<feed/>', { data: '<feed/>' }],
    ['application/x-www-form-urlencoded', 'a=1&b=2', { data: 'a=1&b=2' }],
    ['application/octet-stream', Buffer.from([0, 255, 1]), { data_base64: 'AP8B' }],
    ['image/png', Buffer.from([137, 80, 78, 71]), { data_base64: 'iVBORw==' }],
    // What `file --mime` says of bytes that are not text.
    ['application/octet-stream; charset=binary', Buffer.from([0, 255, 1]), { data_base64: 'AP8B' }],
    // RFC 8259 §8.1: a byte order mark may be ignored.
    ['application/json', '\ufeff{"a":1}', { data: { a: 1 } }],
  ])('%s data', (contentType, body, expected) => {
    expect(binaryEvent(['content-type', contentType], body)).toEqual({
      ...MINIMUM,
      datacontenttype: contentType,
      ...expected,
    });
  });

  it('decodes a declared non-UTF-8 charset', () => {
    const event = binaryEvent(['content-type', 'text/plain; charset=shift_jis'], Buffer.from([0x82, 0xa0]));
    expect(event.data).toBe('あ');
    const latin1 = binaryEvent(['content-type', 'text/plain; charset=ISO-8859-1'], Buffer.from([0x63, 0xe9]));
    expect(latin1.data).toBe('cé');
  });

  it.each([['gzip'], ['br'], ['deflate, gzip']])(
    'refuses a body with content-encoding %s with a 415 naming it, in any mode',
    (coding) => {
      const message = `content-encoding: "${coding}" is not supported for CloudEvents, send the body without a content coding`;
      const binary = request(
        [...BINARY_MINIMUM, 'content-type', 'text/plain', 'Content-Encoding', coding],
        'x',
      );
      expectCloudEventError(() => parseCloudEvents(binary), 'UNSUPPORTED_MEDIA_TYPE', message);
      const structured = request(
        ['content-encoding', coding, 'content-type', 'application/cloudevents+json'],
        JSON.stringify(MINIMUM),
      );
      expectCloudEventError(() => parseCloudEvents(structured), 'UNSUPPORTED_MEDIA_TYPE', message);
    },
  );

  it('takes content-encoding identity as no coding', () => {
    expect(binaryEvent(['content-encoding', 'Identity', 'content-type', 'text/plain'], 'x').data).toBe('x');
  });

  it('gives data_base64 when there is no Content-Type (RFC 9110 §8.3: octet-stream)', () => {
    expect(binaryEvent([], '{"a":1}')).toEqual({
      ...MINIMUM,
      data_base64: Buffer.from('{"a":1}').toString('base64'),
    });
  });
});

describe('structured mode', () => {
  const structured = (body: unknown, headers: string[] = []) => {
    const parsed = parseCloudEvents(
      request(
        ['content-type', 'application/cloudevents+json; charset=UTF-8', ...headers],
        JSON.stringify(body),
      ),
    );
    if (parsed.mode !== 'structured') throw new Error(`expected structured, got ${parsed.mode}`);
    return parsed.event;
  };

  it('keeps typed extensions and every member', () => {
    const body = { ...MINIMUM, subject: 's', n: 5, neg: -2147483648, ok: false, s: '', data: { x: 1 } };
    expect(structured(body)).toEqual(body);
  });

  it('drops null attributes as unset but keeps data: null (json-format.md §2.2, §3.1.1)', () => {
    expect(structured({ ...MINIMUM, subject: null, myext: null, data: null })).toEqual({
      ...MINIMUM,
      data: null,
    });
  });

  it('keeps data_base64 and string data for non-JSON types', () => {
    expect(structured({ ...MINIMUM, data_base64: 'AP8B' })).toEqual({ ...MINIMUM, data_base64: 'AP8B' });
    const xml = { ...MINIMUM, datacontenttype: 'application/xml', data: '<a/>' };
    expect(structured(xml)).toEqual(xml);
  });

  it('ignores ce- headers: the body is authoritative (HTTP binding §3.2.3)', () => {
    expect(structured(MINIMUM, ['ce-id', 'other', 'ce-bad_name', '%zz'])).toEqual(MINIMUM);
  });
});

describe('batch mode', () => {
  const batch = (body: string) => {
    const parsed = parseCloudEvents(request(['content-type', 'application/cloudevents-batch+json'], body));
    if (parsed.mode !== 'batch') throw new Error(`expected batch, got ${parsed.mode}`);
    return parsed.events;
  };

  it('accepts an empty batch (HTTP binding §3.3.2)', () => {
    expect(batch('[]')).toEqual([]);
  });

  it('returns every event, validated', () => {
    const events = [MINIMUM, { ...MINIMUM, id: 'id-2', data_base64: 'AA==' }];
    expect(batch(JSON.stringify(events))).toEqual(events);
  });
});
