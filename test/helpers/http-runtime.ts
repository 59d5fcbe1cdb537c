import { freePort } from './postgres.js';
import { cleanEnv, handlers, runtimeCommand, type Spawned, spawnCaptured } from './process.js';

export interface HttpRuntime {
  url: string;
  port: number;
  process: Spawned;
  /** Every JSON log line so far, parsed. */
  logs(): Record<string, unknown>[];
  /** Resolves once a log line matches. */
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  stop(): Promise<number | string>;
}

/**
 * The real bootstrap in HTTP mode on a free port, as a container runs it: the handler from the fixtures,
 * a clean environment, metrics off unless a test asks for them.
 */
export async function startHttpRuntime(
  handler: string,
  env: Record<string, string> = {},
): Promise<HttpRuntime> {
  // Lambda's Text format has no JSON line to read the port from: the port is chosen here then.
  const text = env.JUSTFN_LOG_FORMAT === 'Text';
  const textPort = text ? await freePort() : 0;
  const spawned = spawnCaptured(
    runtimeCommand,
    cleanEnv({
      PORT: String(textPort),
      JUSTFN_HOST: '127.0.0.1',
      JUSTFN_METRICS_PORT: '0',
      LAMBDA_TASK_ROOT: handlers,
      _HANDLER: handler,
      ...env,
    }),
  );
  const logs = () =>
    spawned
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const waitForLog: HttpRuntime['waitForLog'] = async (predicate, timeoutMs = 10_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = logs().find(predicate);
      if (found) return found;
      if (Date.now() > until || spawned.child.exitCode !== null) {
        throw new Error(`no matching log line; stdout:\n${spawned.stdout()}\nstderr:\n${spawned.stderr()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  let port = textPort;
  if (text) {
    for (const until = Date.now() + 10_000; !spawned.stdout().includes('justfn is serving'); ) {
      if (Date.now() > until || spawned.child.exitCode !== null) {
        throw new Error(`not serving; stdout:\n${spawned.stdout()}\nstderr:\n${spawned.stderr()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } else {
    const serving = await waitForLog(
      (line) => typeof line.msg === 'string' && line.msg.startsWith('justfn is serving'),
    );
    port = Number(serving.port);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    process: spawned,
    logs,
    waitForLog,
    stop: () => spawned.kill('SIGKILL'),
  };
}
