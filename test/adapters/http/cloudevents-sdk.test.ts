import { CloudEvent, HTTP, type Message } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import {
  type CloudEventJson,
  parseCloudEvents,
  replyId,
  toCloudEventResponse,
} from '../../../adapters/http/cloudevents.js';
import type { HttpResponse } from '../../../adapters/http/request.js';
import { expectCloudEventError, request, toRawHeaders } from './cloudevents-helpers.js';

// The real SDK as the sender: its Message becomes the request the HTTP source would build.
function receive(message: Message) {
  const body = message.body;
  const bytes =
    body === undefined || body === null
      ? Buffer.alloc(0)
      : typeof body === 'string'
        ? Buffer.from(body, 'utf8')
        : Buffer.from(body as Uint8Array);
  return parseCloudEvents(request(toRawHeaders(message.headers as Record<string, unknown>), bytes));
}

function single(message: Message): CloudEventJson {
  const parsed = receive(message);
  if (parsed.mode === 'batch') throw new Error('unexpected batch');
  return parsed.event;
}

const CORE = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'datacontenttype',
  'dataschema',
  'subject',
  'time',
]);

// The event in the JSON format as the SDK itself renders it; binary mode carries no types, so
// extension values arrive as their canonical strings.
function expected(event: CloudEvent<unknown>, mode: 'binary' | 'structured'): Record<string, unknown> {
  const json = JSON.parse(event.toString()) as Record<string, unknown>;
  if (mode === 'structured') return json;
  for (const key of Object.keys(json)) {
    if (!CORE.has(key) && key !== 'data' && key !== 'data_base64') json[key] = String(json[key]);
  }
  return json;
}

const events: [string, CloudEvent<unknown>][] = [
  [
    'JSON data, every attribute, typed extensions',
    new CloudEvent({
      id: 'sdk-1',
      source: 'https://example.com/orders',
      type: 'com.example.order.created',
      subject: 'orders/42',
      dataschema: 'https://example.com/schema/order.json',
      datacontenttype: 'application/json',
      data: { order: 42, items: ['a', 'b'], nested: { ok: true, n: null } },
      comexampleextension1: 'value',
      count: 5,
      negative: -7,
      flag: true,
    }),
  ],
  [
    'a JSON array with a +json type',
    new CloudEvent({
      source: '/s',
      type: 't',
      datacontenttype: 'application/vnd.example+json',
      data: [1, 'two', { three: 3 }],
    }),
  ],
  [
    'text data, non-ASCII',
    new CloudEvent({
      source: '/s',
      type: 't',
      datacontenttype: 'text/plain; charset=utf-8',
      data: 'Hello, 🌎! é',
    }),
  ],
  [
    'XML data',
    new CloudEvent({ source: '/s', type: 't', datacontenttype: 'application/xml', data: '<msg>Hello</msg>' }),
  ],
  [
    'binary data',
    new CloudEvent({
      source: '/s',
      type: 't',
      datacontenttype: 'application/octet-stream',
      data: Buffer.from([0, 1, 2, 253, 254, 255]),
    }),
  ],
  ['no data', new CloudEvent({ source: '/s', type: 't', datacontenttype: 'application/json' })],
];

describe('the cloudevents SDK as the sender', () => {
  it.each(events)('binary mode: %s', (_title, event) => {
    const parsed = receive(HTTP.binary(event));
    expect(parsed.mode).toBe('binary');
    expect(single(HTTP.binary(event))).toEqual(expected(event, 'binary'));
  });

  it.each(events)('structured mode: %s', (_title, event) => {
    const parsed = receive(HTTP.structured(event));
    expect(parsed.mode).toBe('structured');
    expect(single(HTTP.structured(event))).toEqual(expected(event, 'structured'));
  });

  it('binary data arrives as the same bytes', () => {
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
    const event = new CloudEvent({ source: '/s', type: 't', datacontenttype: 'image/png', data: bytes });
    for (const message of [HTTP.binary(event), HTTP.structured(event)]) {
      expect(Buffer.from(single(message).data_base64 ?? '', 'base64')).toEqual(bytes);
    }
  });

  it('keeps the content type the SDK adds to an event without one', () => {
    const event = new CloudEvent({ source: '/s', type: 't' });
    expect(single(HTTP.binary(event)).datacontenttype).toBe('application/json; charset=utf-8');
  });

  it('accepts the raw spaces the SDK leaves unencoded', () => {
    const event = new CloudEvent({ source: '/s', type: 't', subject: 'a b c' });
    expect(single(HTTP.binary(event)).subject).toBe('a b c');
  });

  // SDK gaps, answered with a 400 because the message is not a valid CloudEvent on the wire.
  it('rejects what the SDK sends without percent-encoding (HTTP binding §3.1.3.2)', () => {
    const accented = HTTP.binary(new CloudEvent({ source: '/s', type: 't', subject: 'café' }));
    expectCloudEventError(
      () => receive(accented),
      'INVALID_CLOUDEVENT',
      'ce-subject: raw character U+00E9 must be percent-encoded',
    );
    const percent = HTTP.binary(new CloudEvent({ source: '/s', type: 't', subject: '100%' }));
    expectCloudEventError(
      () => receive(percent),
      'INVALID_CLOUDEVENT',
      'ce-subject: invalid percent-encoding',
    );
  });

  it('rejects the unquoted string body the SDK sends for string data as JSON (json-format.md §3.2)', () => {
    const message = HTTP.binary(new CloudEvent({ source: '/s', type: 't', data: 'hello' }));
    expect(message.body).toBe('hello');
    expectCloudEventError(() => receive(message), 'INVALID_CLOUDEVENT', 'body: invalid JSON');
  });
});

// The reply as the next hop's SDK decodes it; `validate()` is the SDK's strict schema check.
function sdkDecode(response: HttpResponse): CloudEvent<unknown> {
  const event = HTTP.toEvent({ headers: response.headers, body: response.body }) as CloudEvent<unknown>;
  expect(event.validate()).toBe(true);
  return event;
}

describe('replies decoded by the SDK', () => {
  const incoming: CloudEventJson = {
    specversion: '1.0',
    id: 'in-1',
    source: '/orders',
    type: 'com.example.order',
  };
  const options = { replySource: 'https://example.com/fn' };

  it('a wrapped JSON result', () => {
    const event = sdkDecode(toCloudEventResponse({ total: 3, items: [1, 2] }, incoming, options));
    // Named after the incoming event (replyId): the same for a redelivery.
    expect(event.id).toBe(replyId(incoming));
    expect(event.source).toBe('https://example.com/fn');
    expect(event.type).toBe('com.example.order.response');
    expect(event.datacontenttype).toBe('application/json');
    expect(event.data).toEqual({ total: 3, items: [1, 2] });
  });

  it('a wrapped string result', () => {
    const event = sdkDecode(toCloudEventResponse('done', incoming, options));
    expect(event.datacontenttype).toBe('text/plain; charset=utf-8');
    expect(event.data).toBe('done');
  });

  it('a wrapped byte result', () => {
    const event = sdkDecode(toCloudEventResponse(Buffer.from([1, 2, 3]), incoming, options));
    expect(event.data_base64).toBe('AQID');
  });

  it('an SDK CloudEvent returned by the handler', () => {
    const result = new CloudEvent({
      source: '/fn',
      type: 'com.example.reply',
      subject: 'orders/42',
      datacontenttype: 'application/json',
      data: { ok: true },
      myext: 'value',
      count: 3,
    });
    const response = toCloudEventResponse(result, incoming, options);
    expect(response.statusCode).toBe(200);
    const event = sdkDecode(response);
    for (const key of ['id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'myext'] as const) {
      expect(event[key], key).toEqual(result[key]);
    }
    expect(event.count).toBe('3');
    expect(event.data).toEqual({ ok: true });
  });

  it('an SDK CloudEvent with binary data', () => {
    const result = new CloudEvent({
      source: '/fn',
      type: 't',
      datacontenttype: 'image/png',
      data: Buffer.from([137, 80]),
    });
    const response = toCloudEventResponse(result, incoming, options);
    expect(response.body).toEqual(Buffer.from([137, 80]));
    expect(sdkDecode(response).data_base64).toBe('iVA=');
  });
});
