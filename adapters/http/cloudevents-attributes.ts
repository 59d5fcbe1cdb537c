import { invalidCloudEvent, show } from './cloudevents-types.js';

// CloudEvents 1.0.2 §Attribute Naming Convention.
const NAME = /^[a-z0-9]+$/;
// CloudEvents 1.0.2 §Type System, String: no control characters (U+0000-U+001F, U+007F-U+009F),
// no noncharacters, no unpaired surrogates.
const BAD_STRING_CHAR = /[\p{Cc}\p{Cs}\p{Noncharacter_Code_Point}]/u;
// RFC 3339 §5.6 date-time; 't', 'z' and a leap second are allowed (§5.6 NOTE, §5.7).
const DATE_TIME = /^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:[Zz]|[+-](\d\d):(\d\d))$/;

/**
 * The attributes every CloudEvent carries (CloudEvents 1.0.2 §REQUIRED Attributes), in the order we
 * report them missing.
 */
export const REQUIRED_ATTRIBUTES = ['id', 'source', 'type'] as const;

/**
 * Whether `name` is a legal attribute or extension name: `a-z` and `0-9` only, at least one character
 * (CloudEvents 1.0.2 §Attribute Naming Convention). The 20-character limit is a SHOULD, not checked.
 *
 * @example
 * isAttributeName('comexampleextension1') // true
 */
export function isAttributeName(name: string): boolean {
  return NAME.test(name);
}

/**
 * Throws the 400 when `value` holds a character a CloudEvents String may not (§Type System): a control
 * character, a noncharacter or an unpaired surrogate. `where` names the attribute or header.
 *
 * @example
 * checkStringChars('subject', 'a\nb') // throws "subject: character U+000A is not allowed in a CloudEvents String"
 */
export function checkStringChars(where: string, value: string): void {
  const found = BAD_STRING_CHAR.exec(value);
  if (found === null) return;
  const cp = found[0].codePointAt(0) ?? 0;
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  throw invalidCloudEvent(`${where}: character U+${hex} is not allowed in a CloudEvents String`);
}

/**
 * Whether `value` is an RFC 3339 `date-time`, with its fields in range (month days and leap years
 * included).
 *
 * @example
 * isRfc3339('2018-04-05T03:56:24Z') // true
 */
export function isRfc3339(value: string): boolean {
  const m = DATE_TIME.exec(value);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (hour > 23 || minute > 59 || second > 60) return false;
  return m[7] === undefined || (Number(m[7]) <= 23 && Number(m[8]) <= 59);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Whether `value` is canonical RFC 4648 §4 base64 (standard alphabet, padded, no whitespace): Node's
 * decoder skips bad characters silently, so the value must survive a decode/encode round trip.
 *
 * @example
 * isBase64('aGVsbG8=') // true
 */
export function isBase64(value: string): boolean {
  return value.length % 4 === 0 && Buffer.from(value, 'base64').toString('base64') === value;
}

/**
 * Checks the attributes of a binary-mode event, whose values are all strings: `specversion` is `1.0`,
 * `id`, `source` and `type` are present and non-empty, `subject` and `dataschema` are non-empty, `time`
 * is RFC 3339 (CloudEvents 1.0.2 §Context Attributes). Messages name the `ce-` header.
 *
 * @example
 * checkBinaryAttributes({ specversion: '1.0', id: '1', source: '/s', type: 't' });
 */
export function checkBinaryAttributes(event: Record<string, unknown>): void {
  const specversion = event.specversion;
  if (specversion === undefined) throw invalidCloudEvent('ce-specversion: required header is missing');
  if (specversion !== '1.0')
    throw invalidCloudEvent(`ce-specversion: must be "1.0", got ${show(specversion)}`);
  for (const name of REQUIRED_ATTRIBUTES) {
    const value = event[name];
    if (value === undefined) throw invalidCloudEvent(`ce-${name}: required header is missing`);
    if (value === '') throw invalidCloudEvent(`ce-${name}: must not be empty`);
  }
  if (event.subject === '') throw invalidCloudEvent('ce-subject: must not be empty');
  if (event.dataschema === '') throw invalidCloudEvent('ce-dataschema: must not be empty');
  const time = event.time;
  if (typeof time === 'string' && !isRfc3339(time)) {
    throw invalidCloudEvent(`ce-time: not an RFC 3339 timestamp: ${show(time)}`);
  }
}
