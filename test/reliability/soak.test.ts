import { describe, it } from 'vitest';
import { expectEachAnsweredOnce, soakGrpc, soakHttp, soakLambda } from './soak.js';

// The soak of `npm run soak` (test/soak/), small enough for every test run: the same load, the same
// exactly-once and file descriptor assertions. Memory drift is asserted only by the long soak, where
// 100,000 invocations make a leak stand out of the noise; here it is reported.

const small = { count: 2_000, checkpoint: 500, settleMs: 1_000 };

// A fixed amount of work, not a speed: some 5 s each on a quiet machine, past 30 s on two cores that other
// suites share. A lost answer still fails the test, as a wait that never ends.
describe('soak, small', { timeout: 120_000 }, () => {
  it('Lambda via justfn emulate: 2,000 invocations, each answered once, no restart, fds back', async () => {
    expectEachAnsweredOnce(await soakLambda({ ...small, clients: 8 }));
  });

  it('HTTP with 50 concurrent clients: 2,000 requests, each answered once, fds back', async () => {
    expectEachAnsweredOnce(await soakHttp({ ...small, clients: 50 }));
  });

  it('gRPC with 50 concurrent callers: 2,000 unary calls, each answered once, fds back', async () => {
    expectEachAnsweredOnce(await soakGrpc({ ...small, clients: 50 }));
  });
});
