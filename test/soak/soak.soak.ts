import { describe, expect, it } from 'vitest';
import {
  expectEachAnsweredOnce,
  type SoakFigures,
  soakGrpc,
  soakHttp,
  soakLambda,
} from '../reliability/soak.js';

// Issue 6, point 1: 100,000 invocations through each source. Zero lost, zero duplicated, memory at the
// end within a few MiB of memory after the first 10,000, file descriptors back to their starting count.

const COUNT = Number(process.env.JUSTFN_SOAK_COUNT ?? 100_000);
const MAX_DRIFT_KIB = 4 * 1024;
// The settle time outlasts the idle collector (bootstrap/memory.ts: 6 s and 12 s after the last invocation in
// Lambda mode, 10 s and 16 s in the server modes).
const long = { count: COUNT, checkpoint: Math.min(10_000, COUNT / 10), settleMs: 18_000 };

function expectNoLossNoLeak(figures: SoakFigures): void {
  expectEachAnsweredOnce(figures);
  expect(figures.rssEndKiB - figures.rssCheckpointKiB).toBeLessThan(MAX_DRIFT_KIB);
}

describe(`soak: ${COUNT} through each source`, () => {
  it('Lambda via justfn emulate', async () => {
    expectNoLossNoLeak(await soakLambda({ ...long, clients: 8 }));
  });

  it('HTTP with 50 concurrent clients', async () => {
    expectNoLossNoLeak(await soakHttp({ ...long, clients: 50 }));
  });

  it('gRPC with 50 concurrent callers', async () => {
    expectNoLossNoLeak(await soakGrpc({ ...long, clients: 50 }));
  });
});
