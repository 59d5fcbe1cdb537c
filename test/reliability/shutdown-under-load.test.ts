import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHttpRuntime } from '../helpers/http-runtime.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { type Answered, runOpenLoad } from './load.js';
import { reliabilityFixtures } from './soak.js';

// Issue 6, point 2: SIGTERM in the middle of sustained HTTP load, with a PostgreSQL pool. Each request
// inserts its number into a table (primary key: a second run of one request would fail) before it
// answers, so the table is the record of what the instance accepted. Every accepted request must be
// answered 200; every other one refused cleanly — a 503 Runtime.Draining, or a connection the closed
// listener refused; the pool closes; the exit code is 0.

let db: TestPostgres;
beforeAll(async () => {
  db = await startPostgres();
  await db.query('CREATE TABLE accepted (id integer PRIMARY KEY)');
});
// Optional: when beforeAll failed, its error is the one to read, not a TypeError from here.
afterAll(() => db?.destroy());

type Outcome = 'answered' | 'draining' | 'refused' | 'socket' | 'other';

it('SIGTERM under load: every accepted request answered, the rest refused cleanly, pool closed, exit 0', async () => {
  const runtime = await startHttpRuntime('index.handler', {
    LAMBDA_TASK_ROOT: `${reliabilityFixtures}/db`,
    DATABASE_URL: db.url,
    JUSTFN_DRAIN_TIMEOUT: '20',
  });
  await expect
    .poll(async () => (await fetch(`${runtime.url}/_/health/ready`)).status, { timeout: 10_000 })
    .toBe(200);

  const outcomes = new Map<number, { kind: Outcome; detail: string }>();
  const stopped = new Set<number>();
  let answered = 0;
  const classify = (outcome: Answered | Error): { kind: Outcome; detail: string } => {
    if (outcome instanceof Error) {
      const code = (outcome as NodeJS.ErrnoException).code ?? outcome.message;
      // A connection the server closed while the request was on its way (the keep-alive race of RFC 9112
      // §9.6): acceptable only for a request that was never accepted, which the table shows.
      const socket = ['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'].includes(code);
      return { kind: code === 'ECONNREFUSED' ? 'refused' : socket ? 'socket' : 'other', detail: code };
    }
    const detail = `${outcome.status} ${outcome.body}`;
    if (outcome.status === 200 && JSON.parse(outcome.body).id === outcome.n)
      return { kind: 'answered', detail };
    const draining =
      outcome.status === 503 &&
      outcome.headers.connection === 'close' &&
      JSON.parse(outcome.body).errorType === 'Runtime.Draining';
    return { kind: draining ? 'draining' : 'other', detail };
  };
  const load = runOpenLoad({
    origin: runtime.url,
    clients: 50,
    gapMs: 0,
    request: (n) => ({ method: 'GET', path: `/insert?id=${n}` }),
    onOutcome: (n, outcome, _at) => {
      const classified = classify(outcome);
      outcomes.set(n, classified);
      if (classified.kind === 'answered') answered += 1;
      // A client stops once it has been refused at the door: the instance is gone.
      if (classified.kind === 'refused') stopped.add(n);
    },
    stop: () => stopped.size > 0 && runtime.process.child.exitCode !== null,
  });

  await expect.poll(() => answered, { timeout: 20_000, interval: 20 }).toBeGreaterThan(500);
  runtime.process.child.kill('SIGTERM');
  expect(await runtime.process.exited).toBe(0);
  await load;

  const rows = await db.query<{ id: number }>('SELECT id FROM accepted ORDER BY id');
  const accepted = rows.map((row) => row.id);
  const byKind = (kind: Outcome) => [...outcomes].filter(([, o]) => o.kind === kind).map(([n]) => n);
  // Nothing accepted was lost: every row has its 200, and every 200 its row.
  expect(byKind('answered').sort((a, b) => a - b)).toEqual(accepted);
  // The rest were refused, and a connection that closed under a request had not been accepted.
  expect(byKind('other').map((n) => `#${n}: ${outcomes.get(n)!.detail}`)).toEqual([]);
  for (const n of byKind('socket')) expect(accepted).not.toContain(n);
  expect(byKind('draining').length + byKind('refused').length).toBeGreaterThan(0);
  console.log(
    `shutdown under load: ${outcomes.size} requests, ${accepted.length} accepted and answered, ` +
      `${byKind('draining').length} refused 503 Runtime.Draining, ${byKind('refused').length} refused at the door, ` +
      `${byKind('socket').length} closed before acceptance`,
  );

  const messages = runtime.logs().map((l) => String(l.msg));
  expect(messages).toContain('draining: finishing accepted requests');
  expect(messages.indexOf("resource 'db' closed")).toBeLessThan(messages.indexOf('drained: exiting'));
  expect(messages.indexOf("resource 'db' closed")).toBeGreaterThan(-1);
  await expect.poll(() => db.connections('reliability')).toBe(0);
});
