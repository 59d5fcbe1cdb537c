import { CloudEvent, HTTP } from 'cloudevents';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CloudEventJson,
  isCloudEventRequest,
  parseCloudEvents,
  toCloudEventResponse,
} from '../../../adapters/http/cloudevents.js';
import { JustfnError } from '../../../runtime/errors.js';
import { replyAsRequest, request, toRawHeaders } from './cloudevents-helpers.js';

// CloudEvents 1.0.2 §Type System: what a String may not hold.
const NOT_A_STRING = /[\p{Cc}\p{Cs}\p{Noncharacter_Code_Point}]/u;
const RESERVED = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'datacontenttype',
  'dataschema',
  'subject',
  'time',
  'data',
]);

// Strings that stress the header encoding: spaces, '%', quotes, escapes-lookalikes, non-ASCII, emoji.
const tricky = fc.constantFrom(
  ' ',
  '%',
  '"',
  '\\',
  "'",
  '%25',
  '%zz',
  '%C0%A0',
  '"a"',
  'é',
  '€',
  '😀',
  '\u00a0',
  '\u2028',
);
const oneUnit = (unit: 'grapheme' | 'binary') => fc.string({ unit, minLength: 1, maxLength: 1 });
const attributeString = fc
  .string({
    unit: fc.oneof(tricky, fc.constant('a'), oneUnit('grapheme'), oneUnit('binary')),
    minLength: 1,
    maxLength: 24,
  })
  .filter((s) => !NOT_A_STRING.test(s));
const name = fc.stringMatching(/^[a-z0-9]{1,20}$/).filter((n) => !RESERVED.has(n));
const time = fc
  .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const payload = fc.oneof(
  fc.record({}),
  fc.record({ datacontenttype: fc.constant('application/json'), data: fc.jsonValue() }),
  fc.record({
    datacontenttype: fc.constant('text/plain; charset=utf-8'),
    data: fc.string({ unit: 'binary', minLength: 1 }),
  }),
  fc.record({
    datacontenttype: fc.constantFrom('application/octet-stream', 'image/png'),
    data_base64: fc.uint8Array({ minLength: 1 }).map((b) => Buffer.from(b).toString('base64')),
  }),
);

const validEvent = fc
  .record(
    {
      id: attributeString,
      source: attributeString,
      type: attributeString,
      subject: attributeString,
      dataschema: attributeString,
      time,
      extensions: fc.dictionary(name, fc.oneof(attributeString, fc.constant('')), { maxKeys: 5 }),
      payload,
    },
    { requiredKeys: ['id', 'source', 'type', 'extensions', 'payload'] },
  )
  .map(({ extensions, payload: p, ...attributes }) => {
    const event = { specversion: '1.0', ...extensions, ...attributes, ...p } as CloudEventJson;
    // JSON has no -0 and no undefined members: compare with what JSON can carry.
    if (Object.hasOwn(event, 'data') && event.datacontenttype === 'application/json') {
      event.data = JSON.parse(JSON.stringify(event.data));
    }
    return event;
  });

const incoming: CloudEventJson = { specversion: '1.0', id: 'in', source: '/in', type: 'in.type' };
const options = { requestId: 'req-1', replySource: '/fn' };

describe('properties', () => {
  it('any valid event survives our binary encoder and the parser unchanged', () => {
    fc.assert(
      fc.property(validEvent, (event) => {
        const response = toCloudEventResponse(event, incoming, options);
        expect(response.statusCode).toBe(200);
        const parsed = parseCloudEvents(replyAsRequest(response));
        expect(parsed).toEqual({ mode: 'binary', event });
      }),
      { numRuns: 500 },
    );
  });

  it('any valid event survives structured mode unchanged', () => {
    fc.assert(
      fc.property(validEvent, (event) => {
        const req = request(['content-type', 'application/cloudevents+json'], JSON.stringify(event));
        expect(parseCloudEvents(req)).toEqual({ mode: 'structured', event });
      }),
      { numRuns: 300 },
    );
  });

  // The SDK does not percent-encode, so only what needs no encoding can travel through it.
  const headerSafe = fc.string({
    unit: fc.constantFrom(..."abcXYZ019-_.:/~!#$&'()*+,;=?@[]^`{|}".split('')),
    minLength: 1,
    maxLength: 20,
  });

  // Objects and arrays only: the SDK sends string data unquoted under a JSON content type.
  const sdkData = fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.array(fc.jsonValue()));

  it('events the SDK sends in binary mode arrive unchanged', () => {
    fc.assert(
      fc.property(headerSafe, headerSafe, headerSafe, headerSafe, sdkData, (id, source, type, ext, data) => {
        const event = new CloudEvent(
          { id, source, type, subject: ext, myext: ext, datacontenttype: 'application/json', data },
          false,
        );
        const message = HTTP.binary(event);
        const body = message.body === undefined ? '' : String(message.body);
        const parsed = parseCloudEvents(
          request(toRawHeaders(message.headers as Record<string, unknown>), body),
        );
        expect(parsed).toEqual({ mode: 'binary', event: JSON.parse(event.toString()) });
      }),
      { numRuns: 200 },
    );
  });

  const headerName = fc.oneof(
    fc.constantFrom(
      'ce-specversion',
      'ce-id',
      'ce-source',
      'ce-type',
      'ce-time',
      'Ce-Subject',
      'ce-data',
      'ce-datacontenttype',
    ),
    fc.constantFrom('content-type', 'Content-Type', 'CE-', 'host'),
    fc.string().map((s) => `ce-${s}`),
    fc.string(),
  );
  const headerValue = fc.oneof(
    fc.constantFrom('1.0', '0.3', '', '"', '%', '%C0%A0', '"a\\"b"', '2018-04-05T03:56:24Z'),
    fc.constantFrom(
      'application/json',
      'application/cloudevents+json',
      'application/cloudevents-batch+json',
      'application/cloudevents+avro',
      'text/plain; charset=shift_jis',
      'text/plain; charset=nope',
      'application/json; charset=utf-16',
    ),
    fc.string({ unit: 'binary-ascii' }),
    fc.string({ unit: 'binary' }),
  );
  const body = fc.oneof(
    fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.array(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 })).map((v) => JSON.stringify(v)),
    fc
      .dictionary(
        fc.constantFrom('specversion', 'id', 'source', 'type', 'time', 'data', 'data_base64', 'x'),
        fc.jsonValue(),
      )
      .map((v) => JSON.stringify({ specversion: '1.0', ...v })),
  );

  it('garbage never throws anything but INVALID_CLOUDEVENT or UNSUPPORTED_MEDIA_TYPE', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(headerName, headerValue), { maxLength: 8 }), body, (pairs, bytes) => {
        const req = request(pairs.flat(), bytes);
        isCloudEventRequest(req);
        try {
          parseCloudEvents(req);
        } catch (error) {
          expect(error).toBeInstanceOf(JustfnError);
          expect(['INVALID_CLOUDEVENT', 'UNSUPPORTED_MEDIA_TYPE']).toContain((error as JustfnError).code);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a valid event with one header or the body mangled is accepted or refused, never crashes', () => {
    const mangle = fc.record({
      at: fc.nat(),
      value: headerValue,
      bytes: body,
      target: fc.constantFrom('header', 'body'),
    });
    fc.assert(
      fc.property(validEvent, mangle, (event, { at, value, bytes, target }) => {
        const req = replyAsRequest(toCloudEventResponse(event, incoming, options));
        const raw = [...req.rawHeaders];
        if (target === 'header') raw[(at % (raw.length / 2)) * 2 + 1] = value;
        try {
          parseCloudEvents({
            ...req,
            rawHeaders: raw,
            body: target === 'body' ? Buffer.from(bytes) : req.body,
          });
        } catch (error) {
          expect(error).toBeInstanceOf(JustfnError);
          expect(['INVALID_CLOUDEVENT', 'UNSUPPORTED_MEDIA_TYPE']).toContain((error as JustfnError).code);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a reply is 202 with no body, or 200 with a CloudEvent, or a result error: never a bare 2xx body', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withTypedArray: true, withDate: true }), (result) => {
        let response: ReturnType<typeof toCloudEventResponse>;
        try {
          response = toCloudEventResponse(result, incoming, options);
        } catch (error) {
          expect(['BAD_HANDLER_RESULT', 'STRINGIFY_RESULT']).toContain((error as JustfnError).code);
          return;
        }
        if (response.statusCode === 202) expect(response.body).toBe('');
        else expect(parseCloudEvents(replyAsRequest(response)).mode).toBe('binary');
      }),
      { numRuns: 1000 },
    );
  });
});
