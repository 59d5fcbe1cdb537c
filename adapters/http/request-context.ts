// The parts of requestContext that are neither in the request nor in the options: the domain as API
// Gateway reports it, its time format, and placeholders for the ids only AWS assigns.

/**
 * The `Host` value as API Gateway's `domainName` (no port) and `domainPrefix` (its first label).
 *
 * @example
 * toDomain('abc.execute-api.us-east-1.amazonaws.com:443') // { domainName: 'abc.execute-api...', domainPrefix: 'abc' }
 */
export function toDomain(host: string | undefined): { domainName: string; domainPrefix: string } {
  let domainName = host === undefined || host === '' ? 'localhost' : host;
  const colon = domainName.startsWith('[') ? domainName.indexOf(']:') + 1 : domainName.lastIndexOf(':');
  if (colon > 0) domainName = domainName.slice(0, colon);
  const dot = domainName.indexOf('.');
  return { domainName, domainPrefix: dot === -1 ? domainName : domainName.slice(0, dot) };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let cachedSecond = Number.NaN;
let cachedTime = '';
const pad = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/**
 * API Gateway's request time, `12/Mar/2020:19:03:58 +0000` (UTC). Formatted once per second: every
 * request of that second shares the string.
 *
 * @example
 * formatRequestTime(1584039838000) // '12/Mar/2020:19:03:58 +0000'
 */
export function formatRequestTime(epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  if (second !== cachedSecond) {
    const d = new Date(second * 1000);
    cachedTime = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
    cachedSecond = second;
  }
  return cachedTime;
}

/**
 * Placeholders for what only AWS knows, the values AWS SAM's local emulator uses
 * (aws-sam-cli `samcli/local/events/api_event.py`): obviously fake, yet shaped like the real thing.
 *
 * @example
 * apigwV2.toEvent(req, { accountId: PLACEHOLDERS.accountId })
 */
export const PLACEHOLDERS = Object.freeze({
  accountId: '123456789012',
  apiId: '1234567890',
  resourceId: '123456',
  targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/justfn/0123456789abcdef',
});
