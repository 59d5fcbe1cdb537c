import { describe, expect, it } from 'vitest';
import { formatRequestTime, toDomain } from '../../../adapters/http/request-context.js';

describe('toDomain', () => {
  it.each([
    ['abc123.execute-api.us-east-1.amazonaws.com', 'abc123.execute-api.us-east-1.amazonaws.com', 'abc123'],
    ['fn.example.com:8080', 'fn.example.com', 'fn'],
    ['localhost:8080', 'localhost', 'localhost'],
    ['[::1]:8080', '[::1]', '[::1]'],
    ['[::1]', '[::1]', '[::1]'],
    ['10.0.0.1:80', '10.0.0.1', '10'],
    [undefined, 'localhost', 'localhost'],
    ['', 'localhost', 'localhost'],
  ])('Host %j → %j / %j', (host, domainName, domainPrefix) => {
    expect(toDomain(host)).toEqual({ domainName, domainPrefix });
  });
});

describe('formatRequestTime', () => {
  it.each([
    [Date.UTC(2020, 2, 12, 19, 3, 58, 390), '12/Mar/2020:19:03:58 +0000'],
    [Date.UTC(2020, 3, 21, 15, 8, 21, 67), '21/Apr/2020:15:08:21 +0000'],
    [Date.UTC(2026, 0, 1, 0, 0, 0, 0), '01/Jan/2026:00:00:00 +0000'],
    [Date.UTC(1999, 11, 31, 23, 59, 59, 999), '31/Dec/1999:23:59:59 +0000'],
  ])('%d → %s', (epoch, text) => {
    expect(formatRequestTime(epoch)).toBe(text);
    // Same second, cached string; next second, a new one.
    expect(formatRequestTime(epoch - (epoch % 1000))).toBe(text);
    expect(formatRequestTime(epoch + 1000)).not.toBe(text);
  });
});
