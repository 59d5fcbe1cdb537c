import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { toStatus } from '../../../adapters/grpc/grpc-status.js';
import { toErrorPayload } from '../../../runtime/errors.js';

// Which status a failed gRPC invocation answers: the thrown error's own code only when it is one a
// handler may choose (1–16); 0 (OK) or an unknown code is a server error like any other throw.
const failed = (thrown: unknown, timedOut = false) => ({
  ok: false as const,
  error: toErrorPayload(thrown),
  thrown,
  timedOut,
});

describe('toStatus', () => {
  it('keeps a thrown code from 1 to 16 with its message, the bounds included', () => {
    for (const code of [status.CANCELLED, status.UNAUTHENTICATED]) {
      const thrown = Object.assign(new Error('told the caller'), { code });
      expect(toStatus(failed(thrown), false, 'r')).toMatchObject({ code, details: 'told the caller' });
    }
  });

  it('turns a thrown code of 0, 17 or a fraction into INTERNAL, with no detail', () => {
    for (const code of [0, 17, 2.5]) {
      const thrown = Object.assign(new Error('not a status'), { code });
      expect(toStatus(failed(thrown), false, 'r')).toMatchObject({
        code: status.INTERNAL,
        details: 'Internal error',
      });
    }
  });

  it('past the deadline DEADLINE_EXCEEDED; every answer carries the request id', () => {
    const answer = toStatus(failed(new Error('late'), true), false, 'req-1');
    expect(answer).toMatchObject({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
    expect(answer.metadata?.get('x-request-id')).toEqual(['req-1']);
  });
});
