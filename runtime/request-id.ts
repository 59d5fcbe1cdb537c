const HEX = Array.from({ length: 256 }, (_, byte) => (byte + 0x100).toString(16).slice(1));

const random32 = () => (Math.random() * 0x1_0000_0000) >>> 0;
const hex16 = (n: number) => HEX[(n >>> 8) & 0xff]! + HEX[n & 0xff]!;
const hex32 = (n: number) => hex16(n >>> 16) + hex16(n);

/**
 * A request id for the server modes: a version-4 UUID, like `crypto.randomUUID()`'s, drawn from
 * `Math.random()` (V8 seeds it from the system's entropy for each process). A request id must be unique,
 * not secret — it is printed in logs and sent back in `x-request-id` — and `node:crypto`, which the
 * first `crypto.randomUUID()` loads, would cost the first request about a millisecond of an HTTP-mode
 * cold start.
 *
 * @example
 * newRequestId(); // '3b241101-e2bb-4255-8caf-4136c566a962'
 */
export function newRequestId(): string {
  const a = random32();
  const b = random32();
  const c = random32();
  return `${hex32(a)}-${hex16(b >>> 16)}-${hex16((b & 0x0fff) | 0x4000)}-${hex16(((c >>> 16) & 0x3fff) | 0x8000)}-${hex16(c)}${hex32(random32())}`;
}
