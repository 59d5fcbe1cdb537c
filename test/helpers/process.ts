import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
export const fixtures = path.join(repoRoot, 'test', 'fixtures');
export const handlers = path.join(fixtures, 'handlers');
/** Third-party samples (AWS events, CloudEvents conformance), copied unchanged into the repository. */
export const testdata = path.join(fixtures, 'testdata');
/** What `bootstrap/bootstrap` runs. */
export const mainBundle = path.join(repoRoot, 'dist', 'main.cjs');
/** The real entry point: POSIX sh, which finds Node on PATH and execs dist/main.cjs. */
export const bootstrapScript = path.join(repoRoot, 'bootstrap', 'bootstrap');
export const runtimeCommand = [bootstrapScript] as const;

/**
 * The environment a runtime starts with in tests: PATH and HOME only, plus what the test adds. Nothing
 * of the developer's shell leaks in (this machine exports NODE_EXTRA_CA_CERTS, which slows every start).
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
  };
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

export interface Spawned {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  exited: Promise<number | string>;
  /** Resolves once stdout + stderr contain `text`. */
  waitForOutput(text: string | RegExp, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

// Every process spawnCaptured started that has not exited.
const running = new Set<ChildProcess>();

/**
 * Kills what is left of them: a test that timed out moves on without the kill at its end, and its
 * runtime would go on listening, and loading the machine, after the test file ends. Run after each test
 * file (test/setup.ts).
 */
export function killLeftovers(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** Starts a process with output captured, for assertions on what it printed and how it ended. */
export function spawnCaptured(
  command: readonly string[],
  env: Record<string, string>,
  cwd = repoRoot,
  /** In a process group of its own (its pid), as a shell runs a foreground job: for signals to the group. */
  detached = false,
): Spawned {
  const child = spawn(command[0]!, command.slice(1), {
    env,
    cwd,
    detached,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  const onData = () => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    onData();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
    onData();
  });
  running.add(child);
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  const spawned: Spawned = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput(text, timeoutMs = 10_000) {
      const seen = () => (typeof text === 'string' ? (out + err).includes(text) : text.test(out + err));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${String(text)} in output:\n${out}\n${err}`)),
          timeoutMs,
        );
        const check = () => {
          if (seen()) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        check();
      });
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  return spawned;
}
