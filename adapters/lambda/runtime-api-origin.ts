/**
 * `AWS_LAMBDA_RUNTIME_API` is `host:port`; some tools add `http://` (Architect), which is tolerated. A
 * module of its own: the start-up entry needs it too, without the client.
 *
 * @example
 * toRuntimeApiOrigin('127.0.0.1:9001'); // 'http://127.0.0.1:9001'
 */
export function toRuntimeApiOrigin(address: string): string {
  const trimmed = address.trim().replace(/\/+$/, '');
  return /^https?:\/\//.test(trimmed) ? trimmed : `http://${trimmed}`;
}
