import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpRuntime, startHttpRuntime } from '../helpers/http-runtime.js';
import {
  batchCases,
  binaryCases,
  encodingCases,
  type HostileCase,
  structuredCases,
} from './cloudevent-cases.js';
import {
  expectAlive,
  expectRefusal,
  family,
  head,
  type RawAnswer,
  rawRequest,
  runs,
  secretEnv,
} from './hostile.js';

// Issue 6, point 4: malformed and oversized CloudEvents in every mode (binary, structured, batch), and
// badly encoded `ce-` values, sent as raw bytes to the real runtime. Every one must be refused with a 4xx
// whose message starts with the attribute or header at fault — never a 5xx, never a crash, never a stack
// or a secret. Property-based (fast-check: JUSTFN_HOSTILE_RUNS cases per property) and table-driven.

const MAX_BODY = 64 * 1024;
let runtime: HttpRuntime;
beforeAll(async () => {
  runtime = await startHttpRuntime('http/index.cloudEvent', {
    ...secretEnv,
    JUSTFN_MAX_BODY: String(MAX_BODY),
    JUSTFN_CONCURRENCY: '4',
    JUSTFN_QUEUE: '16',
  });
});
afterAll(() => runtime.stop());

async function send(request: Buffer): Promise<RawAnswer> {
  const answer = await rawRequest(runtime.port, request);
  if (typeof answer === 'string') throw new Error(`the connection was ${answer}, not answered`);
  return answer;
}

function property(name: string, cases: fc.Arbitrary<HostileCase>, count: number) {
  const tried = family(name);
  it(`${name}: a 4xx naming the problem, every time`, async () => {
    await fc.assert(
      fc.asyncProperty(cases, async (hostile) => {
        tried.tried();
        const answer = await send(head('POST', '/', hostile.headers, hostile.body));
        expectRefusal(answer, hostile.status, hostile.message);
      }),
      { numRuns: runs(count) },
    );
    await expectAlive(runtime);
  });
}

describe('malformed CloudEvents over the wire', () => {
  property('CloudEvents, binary mode, malformed', binaryCases, 60);
  property('CloudEvents, ce- values badly encoded (percent-encoding, UTF-8)', encodingCases, 60);
  property('CloudEvents, structured mode, malformed', structuredCases, 60);
  property('CloudEvents, batch mode, malformed', batchCases, 30);
});

describe('oversized CloudEvents', () => {
  const tried = family('CloudEvents, oversized');
  const event = { specversion: '1.0', id: 'id-1', source: '/hostile', type: 'big' };
  const binary: [string, string][] = [
    ['ce-specversion', '1.0'],
    ['ce-id', 'id-1'],
    ['ce-source', '/hostile'],
    ['ce-type', 'big'],
    ['content-type', 'application/json'],
  ];
  const json = (size: number) => `"${'x'.repeat(size - 2)}"`;
  const structured = (size: number) => {
    const body = JSON.stringify({ ...event, data: '' });
    return `${body.slice(0, -3)}"${'x'.repeat(size - body.length)}"}`;
  };
  const batch = (size: number) => {
    const body = JSON.stringify([{ ...event, data: '' }]);
    return `${body.slice(0, -4)}"${'x'.repeat(size - body.length)}"}]`;
  };
  const cases: [string, [string, string][], string, number, RegExp | undefined][] = [
    ['binary, a body of exactly JUSTFN_MAX_BODY', binary, json(MAX_BODY), 200, undefined],
    ['binary, one byte over', binary, json(MAX_BODY + 1), 413, /JUSTFN_MAX_BODY/],
    [
      'structured, exactly the limit',
      [['content-type', 'application/cloudevents+json']],
      structured(MAX_BODY),
      200,
      undefined,
    ],
    [
      'structured, one byte over',
      [['content-type', 'application/cloudevents+json']],
      structured(MAX_BODY + 1),
      413,
      /JUSTFN_MAX_BODY/,
    ],
    [
      'batch, exactly the limit',
      [['content-type', 'application/cloudevents-batch+json']],
      batch(MAX_BODY),
      202,
      undefined,
    ],
    [
      'batch, one byte over',
      [['content-type', 'application/cloudevents-batch+json']],
      batch(MAX_BODY + 1),
      413,
      /JUSTFN_MAX_BODY/,
    ],
    [
      'binary, a ce- header of 20 KiB',
      [...binary, ['ce-subject', 's'.repeat(20 * 1024)]],
      '{}',
      431,
      /16384 bytes/,
    ],
    [
      'binary, 180 extension headers',
      [...binary, ...Array.from({ length: 180 }, (_, i): [string, string] => [`ce-x${i}`, 'v'])],
      '{}',
      200,
      undefined,
    ],
    [
      'binary, 300 extension headers',
      [...binary, ...Array.from({ length: 300 }, (_, i): [string, string] => [`ce-x${i}`, 'v'])],
      '{}',
      431,
      /^the request has \d+ headers; at most 200 are allowed$/,
    ],
    [
      // The bound itself: an idle instance has every slot free and the whole queue.
      'batch of exactly JUSTFN_CONCURRENCY + JUSTFN_QUEUE events: taken',
      [['content-type', 'application/cloudevents-batch+json']],
      JSON.stringify(Array.from({ length: 20 }, (_, n) => ({ ...event, id: `fit-${n}` }))),
      202,
      /./,
    ],
    [
      'batch, more events than JUSTFN_CONCURRENCY + JUSTFN_QUEUE could ever take',
      [['content-type', 'application/cloudevents-batch+json']],
      JSON.stringify(Array(21).fill(event)),
      413,
      /^a batch of 21 events/,
    ],
  ];
  it.each(cases)('%s: %#', async (_name, headers, body, status, message) => {
    tried.tried();
    const answer = await send(head('POST', '/', headers, body));
    if (status >= 400) expectRefusal(answer, status, message);
    else expect(answer.status, answer.body).toBe(status);
    await expectAlive(runtime);
  });
});
