import { describe, expect, it } from 'vitest';
import { newRequestId } from '../../runtime/request-id.js';

describe('newRequestId', () => {
  it('is a version-4 UUID, as crypto.randomUUID() makes them', () => {
    for (let i = 0; i < 1_000; i++) {
      expect(newRequestId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it('does not repeat itself', () => {
    const ids = new Set(Array.from({ length: 200_000 }, newRequestId));
    expect(ids.size).toBe(200_000);
  });
});
