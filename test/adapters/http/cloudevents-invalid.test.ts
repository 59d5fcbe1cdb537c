import { describe, expect, it } from 'vitest';
import { parseCloudEvents, toCloudEventErrorResponse } from '../../../adapters/http/cloudevents.js';
import { JustfnError } from '../../../runtime/errors.js';
import { BINARY_MINIMUM, expectCloudEventError, request } from './cloudevents-helpers.js';

const BAD = 'INVALID_CLOUDEVENT';
const UNSUPPORTED = 'UNSUPPORTED_MEDIA_TYPE';

function without(name: string): string[] {
  const raw: string[] = [...BINARY_MINIMUM];
  const at = raw.indexOf(name);
  raw.splice(at, 2);
  return raw;
}

function withHeader(name: string, value: string): string[] {
  return [...BINARY_MINIMUM, name, value];
}

function replaced(name: string, value: string): string[] {
  const raw = without(name);
  return [...raw, name, value];
}

const JSON_TYPE = ['content-type', 'application/json'];
const TEXT_TYPE = ['content-type', 'text/plain'];

type Row = [title: string, rawHeaders: string[], body: string | Buffer, code: string, message: string];

const binary: Row[] = [
  [
    'ce-specversion missing',
    without('ce-specversion'),
    '',
    BAD,
    'ce-specversion: required header is missing',
  ],
  ['ce-id missing', without('ce-id'), '', BAD, 'ce-id: required header is missing'],
  ['ce-source missing', without('ce-source'), '', BAD, 'ce-source: required header is missing'],
  ['ce-type missing', without('ce-type'), '', BAD, 'ce-type: required header is missing'],
  ['ce-id empty', replaced('ce-id', ''), '', BAD, 'ce-id: must not be empty'],
  [
    'ce-specversion 0.3',
    replaced('ce-specversion', '0.3'),
    '',
    BAD,
    'ce-specversion: must be "1.0", got "0.3"',
  ],
  ['bad JSON', [...BINARY_MINIMUM, ...JSON_TYPE], '{"a":}', BAD, 'body: invalid JSON ('],
  ['truncated JSON body', [...BINARY_MINIMUM, ...JSON_TYPE], '{"message": "Hel', BAD, 'body: invalid JSON ('],
  [
    'invalid UTF-8 in JSON',
    [...BINARY_MINIMUM, ...JSON_TYPE],
    Buffer.from([0x22, 0xc3, 0x28, 0x22]),
    BAD,
    'body: invalid UTF-8',
  ],
  [
    'invalid UTF-8 in text',
    [...BINARY_MINIMUM, ...TEXT_TYPE],
    Buffer.from([0x61, 0xc3, 0x28]),
    BAD,
    'body: invalid UTF-8 for content-type "text/plain"',
  ],
  [
    'non-ASCII in us-ascii text',
    [...BINARY_MINIMUM, 'content-type', 'text/plain; charset=us-ascii'],
    'é',
    BAD,
    'body: invalid US-ASCII',
  ],
  [
    'invalid shift_jis text',
    [...BINARY_MINIMUM, 'content-type', 'text/plain; charset=shift_jis'],
    Buffer.from([0x81]),
    BAD,
    'body: invalid shift_jis',
  ],
  ['truncated escape', withHeader('ce-subject', 'abc%2'), '', BAD, 'ce-subject: invalid percent-encoding'],
  ['non-hex escape', withHeader('ce-subject', '%zz'), '', BAD, 'ce-subject: invalid percent-encoding'],
  ['lone %', withHeader('ce-subject', '100%'), '', BAD, 'ce-subject: invalid percent-encoding'],
  [
    'overlong UTF-8 %C0%A0',
    withHeader('ce-subject', 'a%C0%A0b'),
    '',
    BAD,
    'ce-subject: percent-encoded bytes are not valid UTF-8',
  ],
  [
    'encoded surrogate',
    withHeader('ce-subject', '%ED%A0%80'),
    '',
    BAD,
    'ce-subject: percent-encoded bytes are not valid UTF-8',
  ],
  [
    'cut UTF-8 sequence',
    withHeader('ce-myext', '%E2%82'),
    '',
    BAD,
    'ce-myext: percent-encoded bytes are not valid UTF-8',
  ],
  [
    'lone continuation byte',
    withHeader('ce-subject', '%80'),
    '',
    BAD,
    'ce-subject: percent-encoded bytes are not valid UTF-8',
  ],
  [
    'raw non-ASCII (latin1 from Node)',
    withHeader('ce-subject', 'caf\u00c3\u00a9'),
    '',
    BAD,
    'ce-subject: raw character U+00C3 must be percent-encoded',
  ],
  [
    'raw tab inside',
    withHeader('ce-subject', 'a\tb'),
    '',
    BAD,
    'ce-subject: raw character U+0009 must be percent-encoded',
  ],
  [
    'encoded newline',
    withHeader('ce-subject', 'a%0Ab'),
    '',
    BAD,
    'ce-subject: character U+000A is not allowed in a CloudEvents String',
  ],
  [
    'encoded noncharacter',
    withHeader('ce-subject', '%EF%BF%BE'),
    '',
    BAD,
    'ce-subject: character U+FFFE is not allowed',
  ],
  [
    'unterminated quoted-string',
    withHeader('ce-subject', '"abc'),
    '',
    BAD,
    'ce-subject: malformed quoted-string',
  ],
  [
    'text after quoted-string',
    withHeader('ce-subject', '"a" b'),
    '',
    BAD,
    'ce-subject: malformed quoted-string',
  ],
  ['bad attribute name', withHeader('ce-foo_bar', 'x'), '', BAD, 'ce-foo_bar: invalid attribute name'],
  ['empty attribute name', withHeader('ce-', 'x'), '', BAD, 'ce-: invalid attribute name'],
  ['non-ASCII attribute name', withHeader('ce-caf\u00e9', 'x'), '', BAD, 'invalid attribute name'],
  [
    'ce-datacontenttype present',
    withHeader('ce-datacontenttype', 'text/plain'),
    '',
    BAD,
    'ce-datacontenttype: must not be present in binary mode',
  ],
  ['ce-data', withHeader('ce-data', 'x'), '', BAD, 'ce-data: "data" is reserved'],
  ['repeated ce-id', withHeader('Ce-Id', 'other'), '', BAD, 'ce-id: header repeated'],
  [
    'bad time',
    withHeader('ce-time', 'yesterday'),
    '',
    BAD,
    'ce-time: not an RFC 3339 timestamp: "yesterday"',
  ],
  [
    'time month 13',
    withHeader('ce-time', '2018-13-05T03:56:24Z'),
    '',
    BAD,
    'ce-time: not an RFC 3339 timestamp',
  ],
  [
    'time 30 February',
    withHeader('ce-time', '2018-02-30T03:56:24Z'),
    '',
    BAD,
    'ce-time: not an RFC 3339 timestamp',
  ],
  [
    'time without zone',
    withHeader('ce-time', '2018-04-05T03:56:24'),
    '',
    BAD,
    'ce-time: not an RFC 3339 timestamp',
  ],
  [
    'time with a space',
    withHeader('ce-time', '2018-04-05 03:56:24Z'),
    '',
    BAD,
    'ce-time: not an RFC 3339 timestamp',
  ],
  ['empty subject', withHeader('ce-subject', ''), '', BAD, 'ce-subject: must not be empty'],
  ['empty dataschema', withHeader('ce-dataschema', ''), '', BAD, 'ce-dataschema: must not be empty'],
  [
    'content-type repeated',
    [...BINARY_MINIMUM, ...JSON_TYPE, ...TEXT_TYPE],
    '{}',
    BAD,
    'content-type: header repeated',
  ],
  [
    'content-type not a media type',
    [...BINARY_MINIMUM, 'content-type', 'json'],
    '{}',
    BAD,
    'content-type: not a media type: "json"',
  ],
  [
    'JSON in UTF-16',
    [...BINARY_MINIMUM, 'content-type', 'application/json; charset=utf-16'],
    '{}',
    UNSUPPORTED,
    'content-type: charset "utf-16" is not supported for JSON',
  ],
  [
    'unknown charset',
    [...BINARY_MINIMUM, 'content-type', 'text/plain; charset=klingon'],
    'x',
    UNSUPPORTED,
    'content-type: unsupported charset "klingon"',
  ],
  [
    'no ce- headers at all',
    ['content-type', 'application/json'],
    '{}',
    BAD,
    'ce-specversion: required header is missing',
  ],
];

const CE_JSON = ['Content-Type', 'application/cloudevents+json'];
const MINIMUM = { specversion: '1.0', id: 'id-1', source: '/source', type: 'com.example.type' };
const structuredBody = (patch: Record<string, unknown>, omit?: string) => {
  const event: Record<string, unknown> = { ...MINIMUM, ...patch };
  if (omit !== undefined) delete event[omit];
  return JSON.stringify(event);
};

const structured: Row[] = [
  ['specversion missing', CE_JSON, structuredBody({}, 'specversion'), BAD, 'specversion: required'],
  ['id missing', CE_JSON, structuredBody({}, 'id'), BAD, 'id: required'],
  ['source missing', CE_JSON, structuredBody({}, 'source'), BAD, 'source: required'],
  ['type missing', CE_JSON, structuredBody({}, 'type'), BAD, 'type: required'],
  ['id null (null is unset)', CE_JSON, structuredBody({ id: null }), BAD, 'id: required'],
  ['source empty', CE_JSON, structuredBody({ source: '' }), BAD, 'source: must not be empty'],
  ['id a number', CE_JSON, structuredBody({ id: 5 }), BAD, 'id: must be a string, got 5'],
  [
    'specversion 0.3',
    CE_JSON,
    structuredBody({ specversion: '0.3' }),
    BAD,
    'specversion: must be "1.0", got "0.3"',
  ],
  [
    'specversion a number',
    CE_JSON,
    '{"specversion":1.0,"id":"1","source":"/s","type":"t"}',
    BAD,
    'specversion: must be "1.0", got 1',
  ],
  ['empty body', CE_JSON, '', BAD, 'body: empty'],
  ['bad JSON', CE_JSON, '{"specversion": "1.0",}', BAD, 'body: invalid JSON ('],
  ['truncated body', CE_JSON, structuredBody({}).slice(0, 30), BAD, 'body: invalid JSON ('],
  [
    'invalid UTF-8 body',
    CE_JSON,
    Buffer.concat([
      Buffer.from(structuredBody({ subject: 'x' }).slice(0, -3)),
      Buffer.from([0xff, 0x22, 0x7d]),
    ]),
    BAD,
    'body: invalid UTF-8',
  ],
  ['body an array', CE_JSON, `[${structuredBody({})}]`, BAD, 'body: a JSON array is a batch'],
  ['body a string', CE_JSON, '"hello"', BAD, 'body: must be a JSON object, got "hello"'],
  ['upper-case name', CE_JSON, structuredBody({ Foo: 'x' }), BAD, 'Foo: invalid attribute name'],
  ['name with a dash', CE_JSON, structuredBody({ 'foo-bar': 'x' }), BAD, 'foo-bar: invalid attribute name'],
  [
    '__proto__ member',
    CE_JSON,
    '{"specversion":"1.0","id":"1","source":"/s","type":"t","__proto__":"x"}',
    BAD,
    '__proto__: invalid attribute name',
  ],
  [
    'bad time',
    CE_JSON,
    structuredBody({ time: '2018-04-05T25:00:00Z' }),
    BAD,
    'time: not an RFC 3339 timestamp',
  ],
  [
    'time a number',
    CE_JSON,
    structuredBody({ time: 1522900584 }),
    BAD,
    'time: must be a string, got 1522900584',
  ],
  [
    'data and data_base64',
    CE_JSON,
    structuredBody({ data: 1, data_base64: 'AA==' }),
    BAD,
    'data_base64: must not be present together with data',
  ],
  [
    'data null and data_base64',
    CE_JSON,
    structuredBody({ data: null, data_base64: 'AA==' }),
    BAD,
    'data_base64: must not be present together with data',
  ],
  [
    'data_base64 not base64',
    CE_JSON,
    structuredBody({ data_base64: 'abc' }),
    BAD,
    'data_base64: invalid base64',
  ],
  [
    'data_base64 with whitespace',
    CE_JSON,
    structuredBody({ data_base64: 'aGVs bG8=' }),
    BAD,
    'data_base64: invalid base64',
  ],
  [
    'object data for text/plain',
    CE_JSON,
    structuredBody({ datacontenttype: 'text/plain', data: { a: 1 } }),
    BAD,
    'data: must be a string for datacontenttype "text/plain"',
  ],
  [
    'datacontenttype not a media type',
    CE_JSON,
    structuredBody({ datacontenttype: 'json' }),
    BAD,
    'datacontenttype: not a media type: "json"',
  ],
  [
    'extension an object',
    CE_JSON,
    structuredBody({ myext: { a: 1 } }),
    BAD,
    'myext: must be a string, boolean or 32-bit integer, got an object',
  ],
  [
    'extension a fraction',
    CE_JSON,
    structuredBody({ myext: 1.5 }),
    BAD,
    'myext: must be a string, boolean or 32-bit integer, got 1.5',
  ],
  [
    'extension past int32',
    CE_JSON,
    structuredBody({ myext: 2 ** 31 }),
    BAD,
    'myext: must be a string, boolean or 32-bit integer',
  ],
  [
    'lone surrogate in subject',
    CE_JSON,
    structuredBody({ subject: 'a\ud800b' }),
    BAD,
    'subject: character U+D800 is not allowed',
  ],
  [
    'control character in type',
    CE_JSON,
    structuredBody({ type: 'a\u0007' }),
    BAD,
    'type: character U+0007 is not allowed',
  ],
  [
    'JSON in latin1',
    ['content-type', 'application/cloudevents+json; charset=iso-8859-1'],
    structuredBody({}),
    UNSUPPORTED,
    'content-type: charset "iso-8859-1" is not supported for JSON',
  ],
  [
    '+avro format',
    ['content-type', 'application/cloudevents+avro'],
    'x',
    UNSUPPORTED,
    'content-type: unsupported CloudEvents format "application/cloudevents+avro"',
  ],
  [
    '+protobuf format',
    ['content-type', 'application/cloudevents+protobuf'],
    'x',
    UNSUPPORTED,
    'unsupported CloudEvents format "application/cloudevents+protobuf"',
  ],
  [
    'no format suffix',
    ['content-type', 'application/cloudevents'],
    'x',
    UNSUPPORTED,
    'unsupported CloudEvents format "application/cloudevents"',
  ],
  [
    'CE media type, broken syntax',
    ['content-type', 'application/cloudevents+json; charset'],
    'x',
    BAD,
    'content-type: not a media type',
  ],
];

const BATCH = ['content-type', 'application/cloudevents-batch+json'];
const batch: Row[] = [
  ['batch not an array', BATCH, structuredBody({}), BAD, 'body: a batch must be a JSON array, got an object'],
  ['batch empty body', BATCH, '', BAD, 'body: empty'],
  ['batch bad JSON', BATCH, '[{"id":', BAD, 'body: invalid JSON'],
  ['batch element not an object', BATCH, '[5]', BAD, 'events[0]: must be a JSON object, got 5'],
  [
    'batch element missing source',
    BATCH,
    `[${structuredBody({})},${structuredBody({}, 'source')}]`,
    BAD,
    'events[1].source: required',
  ],
  [
    'batch element 3 bad time',
    BATCH,
    `[${[0, 1, 2].map(() => structuredBody({})).join(',')},${structuredBody({ time: 'now' })}]`,
    BAD,
    'events[3].time: not an RFC 3339 timestamp: "now"',
  ],
  [
    'batch element bad specversion',
    BATCH,
    `[${structuredBody({ specversion: '0.3' })}]`,
    BAD,
    'events[0].specversion: must be "1.0", got "0.3"',
  ],
  [
    'batch +avro',
    ['content-type', 'application/cloudevents-batch+avro'],
    '[]',
    UNSUPPORTED,
    'unsupported CloudEvents format "application/cloudevents-batch+avro"',
  ],
];

describe.each([
  ['binary mode', binary],
  ['structured mode', structured],
  ['batch mode', batch],
])('%s: malformed events', (_mode, rows) => {
  it.each(rows)('%s', (_title, rawHeaders, body, code, message) => {
    const error = expectCloudEventError(() => parseCloudEvents(request(rawHeaders, body)), code, message);
    const response = toCloudEventErrorResponse(error);
    expect(response.statusCode).toBe(code === BAD ? 400 : 415);
    expect(JSON.parse(String(response.body))).toEqual({ errorType: error.name, errorMessage: error.message });
  });
});

describe('error response', () => {
  it('is JSON {errorType, errorMessage} with the status of the code', () => {
    const response = toCloudEventErrorResponse(
      new JustfnError('INVALID_CLOUDEVENT', 'ce-source: required header is missing'),
    );
    expect(response).toEqual({
      statusCode: 400,
      headers: { 'content-type': 'application/json' },
      body: '{"errorType":"CloudEvents.Invalid","errorMessage":"ce-source: required header is missing"}',
    });
  });

  it('uses 415 for an unsupported format', () => {
    const response = toCloudEventErrorResponse(new JustfnError('UNSUPPORTED_MEDIA_TYPE', 'x'));
    expect(response.statusCode).toBe(415);
    expect(JSON.parse(String(response.body)).errorType).toBe('Request.UnsupportedMediaType');
  });

  it('never echoes a huge value in full', () => {
    const error = expectCloudEventError(
      () => parseCloudEvents(request(replaced('ce-specversion', 'x'.repeat(10_000)))),
      BAD,
      'ce-specversion: must be "1.0", got "xxx',
    );
    expect(error.message.length).toBeLessThan(200);
  });
});
