import { afterEach, describe, expect, it } from 'vitest';
import { startTestEmulator } from '../helpers/emulator.js';
import type { Answer, Recorded } from '../helpers/fake-runtime-api.js';
import { postgresForFile } from '../helpers/postgres.js';
import { createCleanup, databaseUrl, fixture, startOnFakeApi, textLines } from './harness.js';

// SnapStart on a custom runtime (AWS: snapstart-runtime-hooks-custom): init, before-hooks, resources
// closed, `GET /restore/next` blocking across the snapshot, resources reopened, after-hooks — or
// `/restore/error`. The fake Runtime API holds `/restore/next`, so the test looks at the snapshot moment.

const db = postgresForFile();
const cleanup = createCleanup();
afterEach(cleanup.run);

const RESTORED: Answer = { status: 200, body: '' };
const isRestoreNext = (r: Recorded) => r.method === 'GET' && r.path === '/2018-06-01/runtime/restore/next';
const isRestoreError = (r: Recorded) => r.method === 'POST' && r.path === '/2018-06-01/runtime/restore/error';

/** The snapstart fixture on the fake Runtime API, with `/restore/next` answered when the test says. */
async function snapStart(env: Record<string, string> = {}, invocations = [{ event: {} }]) {
  let restore: (answer: Answer) => void = () => {};
  const held = new Promise<Answer>((resolve) => {
    restore = resolve;
  });
  const started = await startOnFakeApi(
    fixture('snapstart'),
    { DATABASE_URL: databaseUrl(db), AWS_LAMBDA_INITIALIZATION_TYPE: 'snap-start', ...env },
    { invocations, answer: (r) => (isRestoreNext(r) ? held : undefined) },
  );
  cleanup.add(started.close);
  const moments = () =>
    textLines(started.runtime.stdout())
      .map((l) => l.message.replace(/ \{[\s\S]*$/, ''))
      .filter((m) => /^(before-hook|after-hook|resource 'db' (open|closed))/.test(m));
  return { ...started, restore, moments };
}

describe('SnapStart', () => {
  it('before-hooks, then the pool closes; after the restore it reopens, then the after-hooks run', async () => {
    const { fake, restore, moments } = await snapStart();
    await fake.waitFor(isRestoreNext);
    // The snapshot would be taken now: no connection may be in it.
    await expect.poll(() => db.connections('snapstart')).toBe(0);
    expect(moments()).toEqual([
      "resource 'db' open",
      'before-hook 2',
      'before-hook 1',
      "resource 'db' closed",
    ]);

    restore(RESTORED);
    const response = await fake.waitFor((r) => r.path.endsWith('/response'));
    expect(JSON.parse(response.body.toString())).toMatchObject({ restored: 1 });
    expect(moments().slice(4)).toEqual(["resource 'db' open", 'after-hook 1', 'after-hook 2']);
    expect(await db.connections('snapstart')).toBeGreaterThan(0);
    expect(
      fake.requests.slice(0, 3).map((r) => `${r.method} ${r.path.replace(/invocation\/[^/]+\//, '')}`),
    ).toEqual([
      'GET /2018-06-01/runtime/restore/next',
      'GET /2018-06-01/runtime/invocation/next',
      'POST /2018-06-01/runtime/response',
    ]);
  });

  it('an after-hook that throws: POST /restore/error with its error, exit 129, no invocation', async () => {
    const { fake, runtime, restore } = await snapStart({ FAIL_AFTER_RESTORE: '1' });
    await fake.waitFor(isRestoreNext);
    restore(RESTORED);
    const posted = await fake.waitFor(isRestoreError);
    expect(posted.headers['lambda-runtime-function-error-type']).toBe('RangeError');
    expect(JSON.parse(posted.body.toString())).toMatchObject({
      errorType: 'RangeError',
      errorMessage: 'the new credentials cannot be fetched',
    });
    expect(await runtime.exited).toBe(129);
    expect(fake.requests.some((r) => r.path.endsWith('/invocation/next'))).toBe(false);
  });

  it.each([
    ['rejection', 128, 'Runtime.UnhandledPromiseRejection', 'Error: nobody awaits the refresh'],
    ['exception', 129, 'TypeError', 'thrown after the hook returned'],
  ])(
    'an after-hook that leaves an unhandled %s behind: POST /restore/error, exit %i, no invocation',
    async (crash, code, errorType, errorMessage) => {
      const { fake, runtime, restore } = await snapStart({ CRASH_AFTER_RESTORE: crash });
      await fake.waitFor(isRestoreNext);
      restore(RESTORED);
      const posted = await fake.waitFor(isRestoreError);
      expect(posted.headers['lambda-runtime-function-error-type']).toBe(errorType);
      expect(JSON.parse(posted.body.toString())).toMatchObject({ errorType, errorMessage });
      expect(await runtime.exited).toBe(code);
      expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        'GET /2018-06-01/runtime/restore/next',
        'POST /2018-06-01/runtime/restore/error',
      ]);
    },
  );

  it("a crash after the first /next, before an invocation: still the restore's, on a connection of its own, exit 129", async () => {
    // As AWS's client, whose init error handlers stay until the first invocation: RAPID takes the post
    // if the /next has not reached it yet (it refuses it once it has; this fake takes anything).
    const { fake, runtime, restore } = await snapStart({ CRASH_AFTER_RESTORE: 'later' }, []);
    await fake.waitFor(isRestoreNext);
    restore(RESTORED);
    expect(await runtime.exited).toBe(129);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /2018-06-01/runtime/restore/next',
      'GET /2018-06-01/runtime/invocation/next',
      'POST /2018-06-01/runtime/restore/error',
    ]);
    expect(runtime.stdout()).toMatch(
      /ERROR\tUncaught Exception \t\{"errorType":"TypeError","errorMessage":"thrown while waiting/,
    );
  });

  it('the database gone at restore: POST /restore/error with Runtime.ResourceUnavailable naming db', async () => {
    const { fake, runtime, restore } = await snapStart();
    await fake.waitFor(isRestoreNext);
    await db.stop();
    cleanup.add(() => db.start());
    restore(RESTORED);
    const posted = await fake.waitFor(isRestoreError);
    expect(posted.headers['lambda-runtime-function-error-type']).toBe('Runtime.ResourceUnavailable');
    expect(JSON.parse(posted.body.toString()).errorMessage).toMatch(
      /^resource 'db' \(postgres, postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres\): cannot open: connect ECONNREFUSED/,
    );
    expect(await runtime.exited).toBe(129);
  });

  it('justfn emulate with SnapStart serves /restore/next, and the function answers', async () => {
    const emulator = await startTestEmulator('index.handler', {
      taskRoot: fixture('snapstart'),
      snapStart: true,
      env: { DATABASE_URL: databaseUrl(db) },
    });
    cleanup.add(emulator.close);
    const reply = await emulator.invoke('{}');
    expect(reply.headers['x-amz-function-error']).toBeUndefined();
    expect(JSON.parse(reply.text)).toMatchObject({ restored: 1 });
  });
});
