import fc from 'fast-check';

// Malformed CloudEvents, each certainly malformed, with the status and the start of the message the
// sender must get back (docs/cloudevents.md, "Validation"): the arbitraries of hostile-cloudevents.test.ts.

export interface HostileCase {
  mode: 'binary' | 'structured' | 'batch';
  headers: [string, string][];
  body: string | Buffer;
  status: number;
  /** The message starts with this: the attribute or header at fault. */
  message: RegExp;
}

const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const BASE: [string, string][] = [
  ['ce-specversion', '1.0'],
  ['ce-id', 'id-1'],
  ['ce-source', '/hostile'],
  ['ce-type', 'hostile.test'],
  ['content-type', 'application/json'],
];
const binary = (
  change: (headers: [string, string][]) => [string, string][],
  message: string | RegExp,
  body = '{"a":1}',
): HostileCase => ({
  mode: 'binary',
  headers: change(BASE.map(([n, v]) => [n, v])),
  body,
  status: 400,
  message: typeof message === 'string' ? new RegExp(`^${literal(message)}`) : message,
});
const setHeader = (name: string, value: string) => (headers: [string, string][]) => [
  ...headers.filter(([n]) => n !== name),
  [name, value] as [string, string],
];
const attribute = fc.constantFrom('ce-id', 'ce-source', 'ce-type', 'ce-subject', 'ce-myext');
const plain = fc.stringMatching(/^[A-Za-z0-9._~/-]{0,12}$/);
const isUtf8 = (bytes: Uint8Array) => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
};
const percent = (bytes: Uint8Array) =>
  [...bytes].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

/** Binary mode: headers and body broken one way at a time (badly encoded values: `encodingCases`). */
export const binaryCases: fc.Arbitrary<HostileCase> = fc.oneof(
  fc
    .constantFrom('ce-specversion', 'ce-id', 'ce-source', 'ce-type')
    .map((name) => binary((h) => h.filter(([n]) => n !== name), `${name}: required header is missing`)),
  fc
    .constantFrom('0.3', '1', '2.0', '1.0.2', 'v1.0', '1.00', '1.0-rc1')
    .map((version) => binary(setHeader('ce-specversion', version), 'ce-specversion: ')),
  fc
    .tuple(
      fc.stringMatching(/^[a-z0-9]{1,8}$/),
      fc.constantFrom('_', '.', '!', '#', '$', '&', "'", '*', '+', '^', '|', '~', '-'),
    )
    .map(([name, odd]) => {
      const header = `ce-${name}${odd}x`;
      return binary((h) => [...h, [header, 'v']], `${header}: invalid attribute name`);
    }),
  fc
    .constantFrom('ce-id', 'ce-source', 'ce-type', 'ce-specversion', 'content-type')
    .map((name) =>
      binary((h) => [...h, [name, h.find(([n]) => n === name)![1]]], `${name}: header repeated`),
    ),
  fc.constant(
    binary(
      (h) => [...h, ['ce-datacontenttype', 'application/json']],
      'ce-datacontenttype: must not be present',
    ),
  ),
  fc.constant(binary((h) => [...h, ['ce-data', 'x']], 'ce-data: "data" is reserved')),
  fc
    .stringMatching(/^[ -~]{1,24}$/)
    .filter((t) => !/[%"]/.test(t) && t.trim() !== '' && !/^\d{4}-\d\d-\d\dT/.test(t))
    .map((time) => binary(setHeader('ce-time', time), 'ce-time: ')),
  fc
    .string({ minLength: 1, maxLength: 40 })
    .filter((text) => {
      try {
        JSON.parse(text);
        return false;
      } catch {
        return true;
      }
    })
    .map((text) => binary((h) => h, 'body: invalid JSON', text)),
);

const EVENT = { specversion: '1.0', id: 'id-1', source: '/hostile', type: 'hostile.test', data: { a: 1 } };
const structured = (
  event: unknown,
  message: string,
  status = 400,
  type = 'application/cloudevents+json',
) => ({
  mode: 'structured' as const,
  headers: [['content-type', type]] as [string, string][],
  body: typeof event === 'string' ? event : JSON.stringify(event),
  status,
  message: new RegExp(`^${literal(message)}`),
});
const without = (key: string) => Object.fromEntries(Object.entries(EVENT).filter(([k]) => k !== key));
const notAString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null).map(() => ({})),
  fc.array(fc.nat(), { maxLength: 2 }),
);

/** `ce-` values badly encoded (binding §3.1.3.2): percent escapes, UTF-8, raw bytes, control characters. */
export const encodingCases: fc.Arbitrary<HostileCase> = fc.oneof(
  fc
    .tuple(attribute, plain, fc.constantFrom('', 'g', 'gg', 'G1', 'z9', '%', ' x', '-1', '1'), plain)
    .filter(([, , bad, tail]) => bad !== '1' || !/^[0-9A-Fa-f]/.test(tail))
    .map(([name, before, bad, after]) =>
      binary(
        setHeader(name, `${before}%${bad}${bad === '' || bad === '1' ? '' : after}`),
        `${name}: invalid percent-encoding`,
      ),
    ),
  fc
    .tuple(
      attribute,
      fc.uint8Array({ min: 0x80, max: 0xff, minLength: 1, maxLength: 8 }).filter((b) => !isUtf8(b)),
    )
    .map(([name, bytes]) =>
      binary(setHeader(name, `x${percent(bytes)}`), `${name}: percent-encoded bytes are not valid UTF-8`),
    ),
  fc
    .tuple(attribute, fc.integer({ min: 0x80, max: 0xff }))
    .map(([name, code]) =>
      binary(
        setHeader(name, `caf${String.fromCharCode(code)}`),
        `${name}: raw character U+${code.toString(16).toUpperCase().padStart(4, '0')} must be percent-encoded`,
      ),
    ),
  fc
    .tuple(attribute, fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.constant(0x7f)))
    .map(([name, code]) =>
      binary(
        setHeader(name, `a${percent(Uint8Array.of(code))}b`),
        `${name}: character U+${code.toString(16).toUpperCase().padStart(4, '0')} is not allowed in a CloudEvents String`,
      ),
    ),
);

/** Structured mode: the JSON event broken one way at a time, or not JSON, or not an object. */
export const structuredCases: fc.Arbitrary<HostileCase> = fc.oneof(
  fc
    .constantFrom('specversion', 'id', 'source', 'type')
    .map((key) => structured(without(key), `${key}: required`)),
  fc
    .tuple(fc.constantFrom('id', 'source', 'type'), notAString)
    .map(([key, value]) => structured({ ...EVENT, [key]: value }, `${key}: must be a string`)),
  fc
    .oneof(
      fc.string({ maxLength: 6 }).filter((v) => v !== '1.0'),
      fc.double(),
      fc.constant(1),
    )
    .map((version) => structured({ ...EVENT, specversion: version }, 'specversion: ')),
  fc
    .tuple(
      fc
        .stringMatching(/^[a-z0-9]{1,8}$/)
        .filter((n) => !(n in EVENT) && !['dataschema', 'subject', 'time', 'datacontenttype'].includes(n)),
      fc.oneof(
        fc.double({ noInteger: true, noDefaultInfinity: true, noNaN: true }),
        fc.integer({ min: 2 ** 31, max: 2 ** 40 }),
        fc.constant({ nested: true }),
        fc.constant([1]),
      ),
    )
    .map(([key, value]) =>
      structured({ ...EVENT, [key]: value }, `${key}: must be a string, boolean or 32-bit integer`),
    ),
  fc
    .tuple(fc.stringMatching(/^[a-z0-9]{0,6}$/), fc.constantFrom('_', '-', '.', 'A', ' ', 'é'))
    .map(([name, odd]) =>
      structured({ ...EVENT, [`${name}${odd}x`]: 'v' }, `${name}${odd}x: invalid attribute name`),
    ),
  fc.constant(
    structured({ ...EVENT, data_base64: 'AAAA' }, 'data_base64: must not be present together with data'),
  ),
  fc
    .constantFrom('not base64!', 'AAA', 'AA=A', 'A A=', '====', 'AAAA=')
    .map((b64) => structured({ ...without('data'), data_base64: b64 }, 'data_base64: invalid base64')),
  fc
    .tuple(fc.constantFrom('subject', 'id', 'source', 'type'), fc.integer({ min: 0, max: 0x1f }))
    .map(([key, code]) =>
      structured(
        { ...EVENT, [key]: `a${String.fromCharCode(code)}b` },
        `${key}: character U+${code.toString(16).toUpperCase().padStart(4, '0')} is not allowed`,
      ),
    ),
  fc
    .oneof(fc.array(fc.nat(), { maxLength: 3 }), fc.integer(), fc.string(), fc.constant(null))
    .map((value) => structured(value, 'body: ')),
  fc
    .constantFrom('{', '{"id":', '[', 'nul', '{"a":1}}')
    .map((text) => structured(text, 'body: invalid JSON')),
  fc.constant(structured('', 'body: empty')),
  fc
    .constantFrom('avro', 'protobuf', 'xml', 'yaml', 'cbor')
    .map((format) =>
      structured(
        EVENT,
        'content-type: unsupported CloudEvents format',
        415,
        `application/cloudevents+${format}`,
      ),
    ),
);

/** Batch mode: not an array, not JSON, or one bad event among good ones. */
export const batchCases: fc.Arbitrary<HostileCase> = fc.oneof(
  fc.oneof(fc.constant(EVENT), fc.integer(), fc.string(), fc.constant(null)).map((value) => ({
    ...structured(value, 'body: ', 400, 'application/cloudevents-batch+json'),
    mode: 'batch' as const,
  })),
  fc
    .tuple(fc.nat({ max: 4 }), fc.nat({ max: 4 }), fc.constantFrom('id', 'source', 'type', 'specversion'))
    .map(([before, after, key]) => ({
      ...structured(
        [...Array(before).fill(EVENT), without(key), ...Array(after).fill(EVENT)],
        `events[${before}].${key}: required`,
        400,
        'application/cloudevents-batch+json',
      ),
      mode: 'batch' as const,
    })),
);
