import path from 'node:path';
import { request } from 'undici';
import { type FakeRuntimeApiOptions, startFakeRuntimeApi } from '../helpers/fake-runtime-api.js';
import type { TestPostgres } from '../helpers/postgres.js';
import { cleanEnv, fixtures, runtimeCommand, spawnCaptured } from '../helpers/process.js';

/** A function directory under `test/fixtures/lifecycle/`. */
export const fixture = (name: string): string => path.join(fixtures, 'lifecycle', name);

/** `DATABASE_URL` for the test PostgreSQL, or for `port` on the same host (where nothing may listen). */
export function databaseUrl(db: Pick<TestPostgres, 'password' | 'port'>, port = db.port): string {
  return `postgres://postgres:${db.password}@127.0.0.1:${port}/postgres`;
}

/** Steps run after each test, last added first: `afterEach(cleanup.run)`. */
export function createCleanup() {
  const steps: (() => unknown)[] = [];
  return {
    add: (step: () => unknown) => steps.push(step),
    run: async () => {
      for (const step of steps.splice(0).reverse()) await step();
    },
  };
}

/** One GET: the status and the body as text. */
export async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await request(url);
  return { status: response.statusCode, body: await response.body.text() };
}

/** How many statements beginning with `text` the server is running now for `application`. */
export async function running(db: TestPostgres, application: string, text: string): Promise<number> {
  const rows = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND query LIKE $2",
    [application, `${text}%`],
  );
  return rows[0]?.n ?? 0;
}

/** A line of Lambda's Text log format: `timestamp \t requestId \t LEVEL \t message`. */
export interface TextLine {
  requestId: string;
  level: string;
  message: string;
}

/** Every line of Lambda's Text format in `output`, split into its fields. */
export function textLines(output: string): TextLine[] {
  return output
    .split('\n')
    .map((line) => line.split('\t'))
    .filter((fields) => fields.length >= 4 && /^\d{4}-\d\d-\d\dT/.test(fields[0]!))
    .map(([, requestId = '', level = '', ...message]) => ({ requestId, level, message: message.join('\t') }));
}

/**
 * The real bootstrap in Lambda mode against the fake Runtime API, to see on the wire what the runtime
 * posts (`/init/error`, `/restore/next`, `/restore/error`).
 */
export async function startOnFakeApi(
  taskRoot: string,
  env: Record<string, string>,
  options: FakeRuntimeApiOptions = {},
) {
  const fake = await startFakeRuntimeApi(options);
  const runtime = spawnCaptured(
    runtimeCommand,
    cleanEnv({
      AWS_LAMBDA_RUNTIME_API: fake.address,
      LAMBDA_TASK_ROOT: taskRoot,
      _HANDLER: 'index.handler',
      AWS_LAMBDA_FUNCTION_NAME: 'lifecycle',
      ...env,
    }),
  );
  return {
    fake,
    runtime,
    close: async () => {
      await runtime.kill();
      await fake.close();
    },
  };
}
