import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startTestEmulator } from '../helpers/emulator.js';
import { postgresForFile } from '../helpers/postgres.js';
import { databaseUrl, fixture } from './harness.js';

// Lambda Managed Instances: `AWS_LAMBDA_MAX_CONCURRENCY` invocations share one process and its pool.
// The handlers prove they ran side by side (each waits until all are inside at once); the JSON log
// lines prove each line kept its own invocation's request id while the others ran.

const db = postgresForFile();

interface Seen {
  n: number;
  together: boolean;
  requestId: string;
  store: { requestId: string; traceId: string };
}

describe('Lambda Managed Instances', () => {
  it('four invocations at once, each log line under its own request id', async () => {
    const emulator = await startTestEmulator('index.handler', {
      taskRoot: fixture('managed'),
      maxConcurrency: 4,
      timeout: 20,
      env: { DATABASE_URL: databaseUrl(db), AWS_LAMBDA_LOG_FORMAT: 'JSON' },
    });
    try {
      const replies = await Promise.all(
        [1, 2, 3, 4].map((n) =>
          emulator.invoke(JSON.stringify({ n, together: 4 }), { 'x-amzn-trace-id': `Root=1-${n}` }),
        ),
      );
      const seen = replies.map((r) => JSON.parse(r.text) as Seen);
      expect(seen.map((s) => [s.n, s.together])).toEqual([
        [1, true],
        [2, true],
        [3, true],
        [4, true],
      ]);
      expect(new Set(seen.map((s) => s.requestId)).size).toBe(4);
      // The invoke store the AWS SDK reads knows each invocation's own ids (no process-wide variable can).
      for (const s of seen) expect(s.store).toEqual({ requestId: s.requestId, traceId: `Root=1-${s.n}` });

      const lines = () =>
        emulator
          .output()
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as { requestId?: string; message?: unknown })
          .filter((line) => typeof line.message === 'string' && /^(enter|leave) \d$/.test(line.message));
      // The runtime's lines can trail the answers.
      await expect.poll(() => lines().length).toBe(8);
      for (const { n, requestId } of seen) {
        const own = lines().filter((l) => (l.message as string).endsWith(` ${n}`));
        expect(own.map((l) => [l.message, l.requestId])).toEqual([
          [`enter ${n}`, requestId],
          [`leave ${n}`, requestId],
        ]);
      }
    } finally {
      await emulator.close();
    }
  });

  it('streamed responses go out side by side, each on its own connection', async () => {
    const emulator = await startTestEmulator('side-by-side/index.handler', { maxConcurrency: 3 });
    try {
      const open = (name: string) =>
        request(emulator.emulator.invokeUrl, { method: 'POST', body: JSON.stringify({ name }) });
      // Both answers' heads and first bytes arrive while both streams are open: one stream waiting for
      // the other's end would never start, and this would time out.
      const [a, b] = await Promise.all([open('a'), open('b')]);
      const aIterator = a.body[Symbol.asyncIterator]();
      const bIterator = b.body[Symbol.asyncIterator]();
      expect([(await aIterator.next()).value.toString(), (await bIterator.next()).value.toString()]).toEqual([
        'a started;',
        'b started;',
      ]);
      expect((await emulator.invoke('{"release":true}')).text).toBe('released');
      const rest = async (iterator: AsyncIterator<Buffer>) => {
        let text = '';
        for (let step = await iterator.next(); !step.done; step = await iterator.next()) text += step.value;
        return text;
      };
      expect([await rest(aIterator), await rest(bIterator)]).toEqual(['a ended', 'b ended']);
    } finally {
      await emulator.close();
    }
  });
});
