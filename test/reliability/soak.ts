import path from 'node:path';
import { Pool } from 'undici';
import { expect } from 'vitest';
import { startTestEmulator } from '../helpers/emulator.js';
import { startGrpcRuntime } from '../helpers/grpc-runtime.js';
import { startHttpRuntime } from '../helpers/http-runtime.js';
import { fixtures } from '../helpers/process.js';
import { createLedger, type Ledger } from './ledger.js';
import { type Answered, runLoad } from './load.js';
import { openFds, pause, residentKiB } from './proc.js';
import { report } from './report.js';

export const reliabilityFixtures = path.join(fixtures, 'reliability');

export interface SoakOptions {
  /** Invocations (Lambda) or requests (HTTP) in all. */
  count: number;
  /** Concurrent clients. */
  clients: number;
  /** After how many the baseline memory is taken (the "first 10,000"). */
  checkpoint: number;
  /** Quiet time before each measurement: longer than the idle collector waits, for a memory figure. */
  settleMs: number;
}

export interface SoakFigures {
  source: string;
  sent: number;
  answered: number;
  lost: number;
  duplicated: number;
  failed: number;
  problems: string[];
  /** VmRSS after the checkpoint, and at the end, in KiB. */
  rssCheckpointKiB: number;
  rssEndKiB: number;
  fdsStart: number;
  fdsEnd: number;
  /** The runtime process at the start and at the end (a restart would lose state and hide leaks). */
  pidStart: number;
  pidEnd: number | undefined;
  seconds: number;
}

interface Target {
  pid(): number | undefined;
  /**
   * Sends requests `from` to `from + count - 1` from `clients` concurrent callers and records each answer
   * in the ledger. Its connections close at the end, so that the runtime's descriptors can go back.
   */
  load(from: number, count: number, clients: number, ledger: Ledger): Promise<void>;
}

/** An HTTP target: numbered requests over a pool of `clients` keep-alive connections. */
function overHttp(
  origin: string,
  pid: () => number | undefined,
  request: (n: number) => { method: 'GET' | 'POST'; path: string; body?: string },
  /** Checks one answer and records it in the ledger. */
  check: (answer: Answered, ledger: Ledger) => void,
): Target {
  return {
    pid,
    async load(from, count, clients, ledger) {
      const pool = new Pool(origin, { connections: clients, pipelining: 1 });
      await runLoad(
        {
          origin,
          from,
          count,
          clients,
          request,
          onAnswer: (answer) => check(answer, ledger),
          onError: (n, error) => ledger.failed(n, `no answer: ${error.message}`),
        },
        pool,
      );
      await pool.close();
    },
  };
}

async function soak(source: string, target: Target, options: SoakOptions): Promise<SoakFigures> {
  const ledger = createLedger();
  const pidStart = target.pid()!;
  const fdsStart = openFds(pidStart);
  const started = performance.now();
  const phase = async (from: number, count: number) => {
    await target.load(from, count, options.clients, ledger);
    await pause(options.settleMs);
  };
  const first = Math.min(options.checkpoint, options.count);
  await phase(0, first);
  const rssCheckpointKiB = residentKiB(pidStart);
  await phase(first, options.count - first);
  const seconds = (performance.now() - started - 2 * options.settleMs) / 1000;
  const pidEnd = target.pid();
  return {
    source,
    ...ledger.summary(options.count),
    rssCheckpointKiB,
    rssEndKiB: residentKiB(pidStart),
    fdsStart,
    fdsEnd: openFds(pidStart),
    pidStart,
    pidEnd,
    seconds,
  };
}

/** Parses a body as JSON, or undefined. */
function json(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Lambda mode through `justfn emulate`: the real emulator, the real runtime as its child, numbered
 * invocations on the invoke endpoint, each answered by the handler with its number and request id.
 */
export async function soakLambda(options: SoakOptions): Promise<SoakFigures> {
  const emulator = await startTestEmulator('faults/index.count', { taskRoot: reliabilityFixtures });
  try {
    await emulator.emulator.ready();
    const url = new URL(emulator.emulator.invokeUrl);
    const figures = await soak(
      'Lambda (justfn emulate)',
      overHttp(
        url.origin,
        () => emulator.emulator.runtimePid(),
        (n) => ({ method: 'POST', path: url.pathname, body: `{"n":${n}}` }),
        (answer, ledger) => {
          const body = json(answer.body);
          if (answer.status !== 200 || answer.headers['x-amz-function-error'] || body?.n !== answer.n) {
            return ledger.failed(answer.n, `${answer.status} ${answer.body.slice(0, 200)}`);
          }
          ledger.answered(answer.n, String(body.requestId), Number(body.invocations));
        },
      ),
      options,
    );
    // The emulator's own record: one START and one END per invocation.
    const starts = emulator.reports.filter((line) => line.startsWith('START ')).length;
    const ends = emulator.reports.filter((line) => line.startsWith('END ')).length;
    if (starts !== options.count || ends !== options.count) {
      figures.problems.push(`emulator reported ${starts} START and ${ends} END lines`);
    }
    return figures;
  } finally {
    await emulator.close();
  }
}

/**
 * HTTP mode: the real bootstrap serving on a free port, `clients` concurrent callers; each answer's
 * `x-request-id` must be the request id the handler saw.
 */
export async function soakHttp(options: SoakOptions): Promise<SoakFigures> {
  const runtime = await startHttpRuntime('faults/index.count', { LAMBDA_TASK_ROOT: reliabilityFixtures });
  try {
    return await soak(
      'HTTP',
      overHttp(
        runtime.url,
        () => runtime.process.child.pid,
        (n) => ({ method: 'GET', path: `/soak?n=${n}` }),
        (answer, ledger) => {
          const body = json(answer.body);
          const id = answer.headers['x-request-id'];
          if (answer.status !== 200 || body?.n !== answer.n || body.requestId !== id) {
            return ledger.failed(answer.n, `${answer.status} ${answer.body.slice(0, 200)}`);
          }
          ledger.answered(answer.n, String(id), Number(body.invocations));
        },
      ),
      options,
    );
  } finally {
    await runtime.stop();
  }
}

/**
 * gRPC mode: the real bootstrap serving unary calls, `clients` concurrent callers on one channel (one
 * HTTP/2 connection, as a gRPC client keeps); each answer names its number, the handler's running count
 * and the request id the `x-request-id` trailer carries.
 */
export async function soakGrpc(options: SoakOptions): Promise<SoakFigures> {
  const runtime = await startGrpcRuntime({}, path.join(reliabilityFixtures, 'grpc-mode'));
  try {
    return await soak(
      'gRPC',
      {
        pid: () => runtime.process.child.pid,
        async load(from, count, clients, ledger) {
          const client = runtime.connect();
          const call = (n: number) =>
            new Promise<void>((resolve) => {
              let reply: { message?: string; request_id?: string } | undefined;
              const call = (client.SayHello as Function).call(
                client,
                { name: String(n) },
                (error: Error | null, value: typeof reply) => {
                  if (error) ledger.failed(n, `no answer: ${error.message}`);
                  reply = value;
                },
              );
              call.on('status', (status: { metadata: { get(key: string): unknown[] } }) => {
                const [number, invocations] = (reply?.message ?? '').split(' ').map(Number);
                const id = status.metadata.get('x-request-id')[0];
                if (reply && number === n && reply.request_id === id) {
                  ledger.answered(n, String(id), Number(invocations));
                } else if (reply)
                  ledger.failed(n, `answered ${JSON.stringify(reply)} with x-request-id ${id}`);
                resolve();
              });
            });
          let next = from;
          const caller = async () => {
            while (next < from + count) await call(next++);
          };
          await Promise.all(Array.from({ length: clients }, caller));
          client.close();
        },
      },
      options,
    );
  } finally {
    await runtime.stop();
  }
}

/**
 * What every soak asserts, and reports: each request answered exactly once, by the same process, with
 * its file descriptors back to their starting count.
 */
export function expectEachAnsweredOnce(figures: SoakFigures): void {
  report.soak(figures);
  expect(figures.problems).toEqual([]);
  expect({ lost: figures.lost, duplicated: figures.duplicated, failed: figures.failed }).toEqual({
    lost: 0,
    duplicated: 0,
    failed: 0,
  });
  expect(figures.answered).toBe(figures.sent);
  expect(figures.pidEnd).toBe(figures.pidStart);
  expect(figures.fdsEnd).toBe(figures.fdsStart);
}
