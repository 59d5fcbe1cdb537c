import { describe, expect, it } from 'vitest';
import { report } from './report.js';
import { type SoakFigures, soakHttp, soakLambda } from './soak.js';

// The soak of `npm run soak` (test/soak/), small enough for every test run: the same load, the same
// exactly-once and file descriptor assertions. Memory drift is asserted only by the long soak, where
// 100,000 invocations make a leak stand out of the noise; here it is reported.

const small = { count: 2_000, checkpoint: 500, settleMs: 1_000 };

function expectExactlyOnce(figures: SoakFigures): void {
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

describe('soak, small', () => {
  it('Lambda via justfn emulate: 2,000 invocations, each answered once, no restart, fds back', async () => {
    expectExactlyOnce(await soakLambda({ ...small, clients: 8 }));
  });

  it('HTTP with 50 concurrent clients: 2,000 requests, each answered once, fds back', async () => {
    expectExactlyOnce(await soakHttp({ ...small, clients: 50 }));
  });
});
