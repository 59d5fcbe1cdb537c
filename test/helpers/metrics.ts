import { request } from 'undici';
import { expect } from 'vitest';

/**
 * A scrape as Prometheus reads it: every sample line, keyed by its name and labels as written.
 *
 * @example
 * await expect.poll(async () => (await scrape(metricsPort)).get('justfn_invocations_in_flight')).toBe(1);
 */
export async function scrape(port: number): Promise<Map<string, number>> {
  const response = await request(`http://127.0.0.1:${port}/metrics`);
  expect(response.statusCode).toBe(200);
  const samples = new Map<string, number>();
  for (const line of (await response.body.text()).split('\n')) {
    const sample = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (sample) samples.set(sample[1]!, Number(sample[2]));
  }
  return samples;
}
