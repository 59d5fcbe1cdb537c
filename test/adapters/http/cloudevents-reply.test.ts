import { describe, expect, it } from 'vitest';
import {
  type CloudEventJson,
  DEFAULT_REPLY_SOURCE,
  parseCloudEvents,
  toBatchResponse,
  toCloudEventResponse,
} from '../../../adapters/http/cloudevents.js';
import type { HttpResponse } from '../../../adapters/http/request.js';
import { expectCloudEventError, replyAsRequest } from './cloudevents-helpers.js';

const incoming: CloudEventJson = {
  specversion: '1.0',
  id: 'in-1',
  source: '/orders',
  type: 'com.example.order',
};
const options = { replySource: '/fn/users' };

function reparse(response: HttpResponse): CloudEventJson {
  const parsed = parseCloudEvents(replyAsRequest(response));
  if (parsed.mode !== 'binary') throw new Error(`expected binary, got ${parsed.mode}`);
  return parsed.event;
}

const replyAttributes = {
  'ce-specversion': '1.0',
  // UUID v5 of `/orders` + `in-1` in justfn's namespace (checked against the uuid package's v5).
  'ce-id': '942b0dcd-6962-563c-bf37-be410f6346af',
  'ce-source': '/fn/users',
  'ce-type': 'com.example.order.response',
};

describe('toCloudEventResponse', () => {
  it.each([null, undefined])('answers %s with 202 and an empty body', (result) => {
    expect(toCloudEventResponse(result, incoming, options)).toEqual({
      statusCode: 202,
      headers: {},
      body: '',
    });
  });

  it('wraps an object into a JSON reply event', () => {
    const response = toCloudEventResponse({ ok: true }, incoming, options);
    expect(response).toEqual({
      statusCode: 200,
      headers: { ...replyAttributes, 'content-type': 'application/json' },
      body: '{"ok":true}',
    });
  });

  it.each([
    [0, '0'],
    [false, 'false'],
    [[1, 'a'], '[1,"a"]'],
  ])('wraps %j as JSON data, never a 202', (result, body) => {
    const response = toCloudEventResponse(result, incoming, options);
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe(body);
  });

  it('wraps a string as text/plain', () => {
    const response = toCloudEventResponse('héllo', incoming, options);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(response.body).toBe('héllo');
    expect(reparse(response).data).toBe('héllo');
  });

  it('wraps bytes as application/octet-stream', () => {
    const response = toCloudEventResponse(new Uint8Array([0, 1, 255]), incoming, options);
    expect(response.headers['content-type']).toBe('application/octet-stream');
    expect(Buffer.from(response.body as Buffer)).toEqual(Buffer.from([0, 1, 255]));
    expect(reparse(response).data_base64).toBe('AAH/');
  });

  it('sends string data under charset=binary as under no charset, as input reads it', () => {
    const datacontenttype = 'application/octet-stream; charset=binary';
    const response = toCloudEventResponse({ ...incoming, datacontenttype, data: 'raw' }, incoming, options);
    expect([response.statusCode, response.headers['content-type'], response.body]).toEqual([
      200,
      datacontenttype,
      'raw',
    ]);
  });

  it("wraps an ArrayBuffer (what fetch gives) as bytes, alone or as a reply event's data", () => {
    const buffer = new Uint8Array([0, 1, 255]).buffer;
    const wrapped = toCloudEventResponse(buffer, incoming, options);
    expect(wrapped.headers['content-type']).toBe('application/octet-stream');
    expect(reparse(wrapped).data_base64).toBe('AAH/');
    const event = toCloudEventResponse({ ...incoming, data: buffer }, incoming, options);
    expect(reparse(event).data_base64).toBe('AAH/');
  });

  it("names the reply after the incoming event: a redelivery's reply has the same id, another event's not", () => {
    const id = (event: CloudEventJson) => toCloudEventResponse(1, event, options).headers['ce-id'];
    expect(id(incoming)).toBe(replyAttributes['ce-id']);
    expect(id({ ...incoming, type: 'another.type', subject: 'x' })).toBe(replyAttributes['ce-id']);
    expect(id({ ...incoming, id: 'in-2' })).toBe('20ea8935-6229-5744-b198-1923d43b9f0d');
    expect(id({ ...incoming, source: '/other' })).not.toBe(replyAttributes['ce-id']);
  });

  it('uses replyType and the default source', () => {
    const response = toCloudEventResponse(1, incoming, { replyType: 'com.example.done' });
    expect(response.headers['ce-type']).toBe('com.example.done');
    expect(response.headers['ce-source']).toBe(DEFAULT_REPLY_SOURCE);
  });

  it.each([
    [{ replyType: '' }, 'reply CloudEvent: type: must not be empty'],
    [{ replySource: 'a\nb' }, 'reply CloudEvent: source: character U+000A is not allowed'],
  ])('refuses reply options %j that make an invalid event', (opts, message) => {
    expectCloudEventError(() => toCloudEventResponse(1, incoming, opts), 'BAD_HANDLER_RESULT', message);
  });

  it('sends a CloudEvent result as it is, in binary mode, percent-encoded', () => {
    const event = {
      specversion: '1.0',
      id: 'out-1',
      source: '/x y',
      type: 'com.example.out',
      subject: 'Euro € 😀 "100%"',
      time: new Date('2018-04-05T03:56:24Z'),
      count: 5,
      flag: true,
      datacontenttype: 'application/xml',
      data: '<a/>',
    };
    const response = toCloudEventResponse(event, incoming, options);
    expect(response).toEqual({
      statusCode: 200,
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'out-1',
        'ce-source': '/x%20y',
        'ce-type': 'com.example.out',
        'ce-subject': 'Euro%20%E2%82%AC%20%F0%9F%98%80%20%22100%25%22',
        'ce-time': '2018-04-05T03:56:24.000Z',
        'ce-count': '5',
        'ce-flag': 'true',
        'content-type': 'application/xml',
      },
      body: '<a/>',
    });
    expect(reparse(response)).toEqual({
      ...event,
      time: '2018-04-05T03:56:24.000Z',
      count: '5',
      flag: 'true',
    });
  });

  it('makes an implied application/json explicit (json-format.md §3.1.2)', () => {
    const response = toCloudEventResponse({ ...incoming, id: 'x', data: 'a string' }, incoming, options);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.body).toBe('"a string"');
  });

  it('sends data_base64 as raw bytes', () => {
    const response = toCloudEventResponse(
      { ...incoming, datacontenttype: 'image/png', data_base64: 'iVBORw==' },
      incoming,
      options,
    );
    expect(response.body).toEqual(Buffer.from([137, 80, 78, 71]));
    expect(response.headers['content-type']).toBe('image/png');
  });

  it('sends an event without data with an empty body', () => {
    const response = toCloudEventResponse({ ...incoming, subject: null }, incoming, options);
    expect(response).toEqual({
      statusCode: 200,
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'in-1',
        'ce-source': '/orders',
        'ce-type': 'com.example.order',
      },
      body: '',
    });
  });

  it.each([
    ['an empty id', { id: '' }, 'reply CloudEvent: id: must not be empty'],
    ['a bad extension name', { 'my-ext': 1 }, 'reply CloudEvent: my-ext: invalid attribute name'],
    ['a bad time', { time: 'now' }, 'reply CloudEvent: time: not an RFC 3339 timestamp'],
    ['specversion 0.3', { specversion: '0.3' }, 'reply CloudEvent: specversion: must be "1.0"'],
    [
      'object data for text/plain',
      { datacontenttype: 'text/plain', data: {} },
      'reply CloudEvent: data: must be a string',
    ],
    ['a lone surrogate', { subject: '\ud800' }, 'reply CloudEvent: subject: character U+D800'],
    [
      'data and data_base64',
      { data: 1, data_base64: 'AA==' },
      'reply CloudEvent: data_base64: must not be present together with data',
    ],
    [
      'text it cannot encode',
      { datacontenttype: 'text/plain; charset=us-ascii', data: 'é' },
      'charset "us-ascii"',
    ],
    ['text Latin-1 cannot hold', { datacontenttype: 'text/plain; charset=iso-8859-1', data: '€' }, 'charset'],
    ['UTF-16 text', { datacontenttype: 'text/plain; charset=utf-16le', data: 'abc' }, 'charset "utf-16le"'],
    ['an unknown charset', { datacontenttype: 'text/plain; charset=bogus', data: 'abc' }, 'charset "bogus"'],
    [
      'a structured-mode content type, which would make the receiver read its data as the event',
      { datacontenttype: 'application/cloudevents+json', data: { ...incoming, id: 'inner' } },
      'datacontenttype: "application/cloudevents+json" cannot go in binary mode',
    ],
  ])('refuses a reply event with %s', (_title, patch, message) => {
    expectCloudEventError(
      () => toCloudEventResponse({ ...incoming, ...patch }, incoming, options),
      'BAD_HANDLER_RESULT',
      message,
    );
  });

  it.each([
    ['utf8', 'naïve ☃'],
    ['UTF8', 'naïve ☃'],
    ['unicode-1-1-utf-8', 'naïve ☃'],
    ['iso-8859-1', 'café, 100 ¥'],
    ['latin1', 'café'],
    ['iso-8859-2', 'plain ASCII'],
    ['us-ascii', 'plain ASCII'],
  ])('sends text data in charset %s, as a receiver decoding that charset reads it', (charset, data) => {
    // The same event back, as a handler that forwards what it received returns it.
    const datacontenttype = `text/plain; charset=${charset}`;
    const response = toCloudEventResponse({ ...incoming, datacontenttype, data }, incoming, options);
    expect(response.headers['content-type']).toBe(datacontenttype);
    expect(reparse(response).data).toBe(data);
  });

  it.each([
    ['a BigInt', { n: 1n }],
    [
      'a cycle',
      (() => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      })(),
    ],
    ['a function', () => 1],
  ])('reports %s that JSON cannot hold as STRINGIFY_RESULT', (_title, result) => {
    expectCloudEventError(
      () => toCloudEventResponse(result, incoming, options),
      'STRINGIFY_RESULT',
      'reply data:',
    );
  });
});

describe('toBatchResponse', () => {
  const ok = (status: number): HttpResponse => ({ statusCode: status, headers: {}, body: '' });

  it('is 202 with an empty body when every event succeeded, replies dropped', () => {
    expect(toBatchResponse([ok(200), ok(202)])).toEqual({ statusCode: 202, headers: {}, body: '' });
    expect(toBatchResponse([])).toEqual({ statusCode: 202, headers: {}, body: '' });
  });

  it('returns the first failure the sender retries, else the first failure', () => {
    const failed = { statusCode: 500, headers: {}, body: '{"message":"Internal Server Error"}' };
    expect(toBatchResponse([ok(202), ok(400), failed, ok(504)])).toBe(failed);
    expect(toBatchResponse([ok(400), ok(429)]).statusCode).toBe(429);
    expect(toBatchResponse([ok(202), ok(400), ok(403)]).statusCode).toBe(400);
  });
});
