import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestEmulator } from '../helpers/emulator.js';
import { startHttpRuntime } from '../helpers/http-runtime.js';
import { expectRefusal, family, head, type RawAnswer, rawRequest, runs, secretEnv } from './hostile.js';

// Issue 6, point 4, for the Lambda invoke endpoints: `justfn emulate`'s (Lambda's Invoke API rules) and
// HTTP mode's raw endpoint (JUSTFN_INVOKE_API=1). Payloads that are not JSON, too big, nested past what
// JSON.stringify can walk, client contexts that are not base64 or not JSON: a 4xx, or Lambda's 200 with
// X-Amz-Function-Error for what the function refused — never a 5xx, and the same runtime answers on.

const notJson = fc.string({ minLength: 1, maxLength: 30 }).filter((text) => {
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
});
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('justfn emulate: hostile invoke payloads', async () => {
  const tried = family('Lambda invoke payloads (justfn emulate)');
  const lambda = await startTestEmulator('kinds/index.echo', { env: secretEnv });
  afterAll(() => lambda.close());
  await lambda.emulator.ready();
  const pid = lambda.emulator.runtimePid();

  it('payloads that are not JSON: 400 InvalidRequestContentException', async () => {
    await fc.assert(
      fc.asyncProperty(notJson, async (text) => {
        tried.tried();
        const reply = await lambda.invoke(text);
        expectRefusal(
          { status: reply.status, headers: {}, body: reply.text },
          400,
          /^Could not parse request body into json/,
        );
      }),
      { numRuns: runs(40) },
    );
  });

  it.each([
    [
      'a payload over 6 MiB',
      `"${'x'.repeat(6 * 1024 * 1024 + 100)}"`,
      {},
      413,
      /^Request must be smaller than 6291556 bytes/,
    ],
    ['a client context that is not base64', '{}', { 'x-amz-client-context': 'not base64!!' }, 400, /base64/],
  ] as const)('%s: a 4xx naming it', async (_name, body, headers, status, message) => {
    tried.tried();
    const reply = await lambda.invoke(body, headers);
    expectRefusal({ status: reply.status, headers: {}, body: reply.text }, status, message);
  });

  it.each([
    [
      'a client context that is base64 of no JSON',
      '{}',
      { 'x-amz-client-context': Buffer.from('{nope').toString('base64') },
      /^Cannot parse ClientContext as json/,
    ],
    [
      'an event nested 100,000 deep (echoed, it cannot be stringified)',
      nested(100_000),
      {},
      /^Unable to stringify response body$/,
    ],
  ] as const)('%s: the function refuses it, Lambda-style', async (_name, body, headers, message) => {
    tried.tried();
    const reply = await lambda.invoke(body, headers);
    expect([reply.status, reply.headers['x-amz-function-error']]).toEqual([200, 'Unhandled']);
    expect(JSON.parse(reply.text).errorMessage).toMatch(message);
    expect(reply.text).not.toContain(secretEnv.AWS_SECRET_ACCESS_KEY);
  });

  it('bytes that are not UTF-8 inside a JSON string arrive replaced, and the runtime is the same', async () => {
    tried.tried();
    const reply = await lambda.invoke(
      Buffer.concat([Buffer.from('"a'), Buffer.from([0xff, 0xfe]), Buffer.from('b"')]),
    );
    expect([reply.status, JSON.parse(reply.text)]).toEqual([200, 'a\uFFFD\uFFFDb']);
    expect(lambda.emulator.runtimePid()).toBe(pid);
  });
});

describe('HTTP mode, JUSTFN_INVOKE_API=1: hostile raw events', async () => {
  const tried = family('Lambda invoke payloads (JUSTFN_INVOKE_API raw endpoint)');
  const runtime = await startHttpRuntime('kinds/index.echo', {
    ...secretEnv,
    JUSTFN_INVOKE_API: '1',
    JUSTFN_MAX_BODY: '65536',
  });
  afterAll(() => runtime.stop());
  const invoke = async (body: string) =>
    (await rawRequest(
      runtime.port,
      head('POST', '/2015-03-31/functions/function/invocations', [], body),
    )) as RawAnswer;

  it("payloads that are not JSON: 400 InvalidRequestContentException naming the parse error, as Lambda's Invoke API", async () => {
    await fc.assert(
      fc.asyncProperty(notJson, async (text) => {
        tried.tried();
        const answer = await invoke(text);
        expectRefusal(answer, 400, /^Could not parse request body into json: /);
        expect(JSON.parse(answer.body).errorType).toBe('InvalidRequestContentException');
      }),
      { numRuns: runs(40) },
    );
  });

  it('a payload over JUSTFN_MAX_BODY: 413', async () => {
    tried.tried();
    expectRefusal(await invoke(`"${'x'.repeat(65536)}"`), 413, /JUSTFN_MAX_BODY/);
  });

  it('an event nested 20,000 deep: the function fails it, Lambda-style; the runtime serves on', async () => {
    tried.tried();
    const answer = await invoke(nested(20_000));
    expect([answer.status, answer.headers['x-amz-function-error']]).toEqual([200, 'Unhandled']);
    expect(JSON.parse(answer.body).errorType).toBe('Runtime.JSONStringifyError');
    expect((await invoke('{"still":"here"}')).body).toBe('{"still":"here"}');
  });
});
