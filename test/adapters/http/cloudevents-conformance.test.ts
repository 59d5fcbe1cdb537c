import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { isCloudEventRequest, parseCloudEvents } from '../../../adapters/http/cloudevents.js';
import { testdata } from '../../helpers/process.js';
import { request } from './cloudevents-helpers.js';

// The cloudevents/conformance suite, replayed as it is (test/fixtures/testdata is never edited).
const DIR = path.join(testdata, 'cloudevents-conformance');

interface YamlEvent {
  Mode?: string;
  ContextAttributes: Record<string, string> & { Extensions?: Record<string, string> };
  TransportExtensions?: Record<string, string>;
  Data?: string;
}

function loadYaml(file: string): YamlEvent[] {
  // The failsafe schema keeps every scalar a string, as the Go tool reads them (`specversion: 1.0`).
  return parseAllDocuments(readFileSync(path.join(DIR, file), 'utf8'), { schema: 'failsafe' }).map(
    (doc) => doc.toJS() as YamlEvent,
  );
}

// The reference sender (pkg/http/http.go `addHeader`) trims every header value and skips empty ones;
// v1.yaml's `comexampleextension2: |` value ends in a newline, which no header can carry anyway.
function wire(value: string): string {
  return value.trim();
}

function attributesOf(c: YamlEvent): Record<string, string> {
  const { Extensions, ...attributes } = c.ContextAttributes;
  const all: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...attributes, ...Extensions })) if (wire(v) !== '') all[k] = wire(v);
  return all;
}

// Binary mode exactly as `cloudevents invoke` sends it: ce-<name> headers, Content-Type, transport
// headers, the data as the body.
function binaryRequest(c: YamlEvent) {
  const raw: string[] = [];
  for (const [name, value] of Object.entries(attributesOf(c))) {
    raw.push(name === 'datacontenttype' ? 'Content-Type' : `ce-${name}`, value);
  }
  for (const [name, value] of Object.entries(c.TransportExtensions ?? {})) raw.push(name, wire(value));
  return request(raw, c.Data ?? '');
}

const isJson = (type: string | undefined) => type === undefined || /^[^;]*[/+]json\s*(;|$)/.test(type);

// Structured mode per json-format.md §3: attributes as members, data as a JSON value or a string.
function structuredRequest(c: YamlEvent) {
  const attributes = attributesOf(c);
  const body: Record<string, unknown> = { ...attributes };
  if (c.Data !== undefined) body.data = isJson(attributes.datacontenttype) ? JSON.parse(c.Data) : c.Data;
  const raw = ['Content-Type', 'application/cloudevents+json; charset=utf-8'];
  for (const [name, value] of Object.entries(c.TransportExtensions ?? {})) raw.push(name, wire(value));
  return request(raw, JSON.stringify(body));
}

const cases = [
  ...loadYaml('v1.yaml').map((c, i) => [`v1.yaml #${i + 1} (${c.Mode})`, c] as const),
  ...loadYaml('v1_minimum.yaml').map((c) => [`v1_minimum.yaml ${c.ContextAttributes.id}`, c] as const),
];

describe('conformance YAML cases', () => {
  it('loads every case', () => {
    expect(cases).toHaveLength(8);
  });

  describe.each(cases)('%s', (_name, c) => {
    const attributes = attributesOf(c);

    it('arrives intact in binary mode', () => {
      const req = binaryRequest(c);
      expect(isCloudEventRequest(req)).toBe(true);
      const parsed = parseCloudEvents(req);
      expect(parsed.mode).toBe('binary');
      if (parsed.mode === 'batch') return;
      const { data, data_base64, ...rest } = parsed.event;
      expect(rest).toEqual(attributes);
      const type = attributes.datacontenttype;
      if (type === undefined) expect(Buffer.from(data_base64 ?? '', 'base64').toString('utf8')).toBe(c.Data);
      else if (isJson(type)) expect(data).toEqual(JSON.parse(c.Data ?? ''));
      else expect(data).toBe(c.Data);
    });

    it('arrives intact in structured mode', () => {
      const req = structuredRequest(c);
      expect(isCloudEventRequest(req)).toBe(true);
      const parsed = parseCloudEvents(req);
      expect(parsed.mode).toBe('structured');
      if (parsed.mode === 'batch') return;
      const { data, ...rest } = parsed.event;
      expect(rest).toEqual(attributes);
      expect(data).toEqual(isJson(attributes.datacontenttype) ? JSON.parse(c.Data ?? '') : c.Data);
    });
  });

  it('keeps the trailing newline the reference sender trims as an invalid String, not silently', () => {
    const c = loadYaml('v1.yaml')[1]!;
    const value = c.ContextAttributes.Extensions?.comexampleextension2;
    expect(value).toBe('{"othervalue": 5}\n');
    const body = { ...attributesOf(c), comexampleextension2: value };
    const req = request(['content-type', 'application/cloudevents+json'], JSON.stringify(body));
    expect(() => parseCloudEvents(req)).toThrow('comexampleextension2: character U+000A is not allowed');
  });
});

interface Scenario {
  title: string;
  http: string;
  attributes: [string, string][];
  data: unknown;
  examples: string[];
}

// Gherkin, the little the file uses: scenario outlines, doc strings (dedented by the indentation of
// their opening quotes), tables, one-column Examples.
function loadFeature(file: string): Scenario[] {
  const lines = readFileSync(path.join(DIR, file), 'utf8').split('\n');
  const scenarios: Scenario[] = [];
  let current: Scenario | undefined;
  const docStrings: string[] = [];
  let table: string[][] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const text = line.trim();
    if (text.startsWith('Scenario Outline:')) {
      current = { title: text.slice(17).trim(), http: '', attributes: [], data: undefined, examples: [] };
      scenarios.push(current);
      docStrings.length = 0;
    } else if (text === '"""') {
      const indent = line.indexOf('"""');
      const body: string[] = [];
      for (i++; lines[i]!.trim() !== '"""'; i++) body.push(lines[i]!.slice(indent));
      docStrings.push(body.join('\n'));
    } else if (text.startsWith('|') && current) {
      table.push(
        text
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim()),
      );
      if (!lines[i + 1]?.trim().startsWith('|')) {
        if (table[0]?.[0] === 'key') current.attributes = table.slice(1) as [string, string][];
        else current.examples = table.slice(1).map((row) => row[0]!);
        table = [];
      }
    }
    if (current && docStrings.length === 2 && current.http === '') {
      current.http = docStrings[0]!;
      current.data = JSON.parse(docStrings[1]!);
    }
  }
  return scenarios;
}

// A raw HTTP/1.1 request, byte for byte: request line, header lines, a blank line, the body.
function parseRawRequest(raw: string) {
  const split = raw.indexOf('\n\n');
  const [requestLine, ...headerLines] = raw.slice(0, split).split('\n');
  const [method] = requestLine!.split(' ');
  const rawHeaders = headerLines.flatMap((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon), line.slice(colon + 1).trim()];
  });
  return { method: method!, rawHeaders, body: Buffer.from(raw.slice(split + 2), 'utf8') };
}

describe('http-protocol-binding.feature', () => {
  const scenarios = loadFeature('http-protocol-binding.feature');

  it('has the two scenario outlines, two examples each', () => {
    expect(scenarios.map((s) => s.examples.length)).toEqual([2, 2]);
  });

  const rows = scenarios.flatMap((s) => s.examples.map((contentType) => [s.title, contentType, s] as const));

  it.each(rows)('%s with %s', (_title, contentType, scenario) => {
    const raw = parseRawRequest(scenario.http.replaceAll('<contentType>', contentType));
    const contentLength = raw.rawHeaders[raw.rawHeaders.indexOf('Content-Length') + 1];
    expect(raw.body.length).toBe(Number(contentLength));
    const req = request(raw.rawHeaders, raw.body, raw.method);
    expect(isCloudEventRequest(req)).toBe(true);
    const parsed = parseCloudEvents(req);
    expect(parsed.mode).toBe(scenario.title.startsWith('Binary') ? 'binary' : 'structured');
    if (parsed.mode === 'batch') return;
    for (const [key, value] of scenario.attributes) {
      expect(parsed.event[key], key).toBe(value.replaceAll('<contentType>', contentType));
    }
    expect(parsed.event.data).toEqual(scenario.data);
  });
});
