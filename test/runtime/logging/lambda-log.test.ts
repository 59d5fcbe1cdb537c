import { openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLambdaLog, formatErrorDetails } from '../../../runtime/logging/lambda-log.js';
import { createSequentialScope } from '../../../runtime/scope.js';
import { maskInErrors } from '../../../runtime/secrets.js';
import { tempDir } from '../../helpers/temp.js';

const scope = createSequentialScope();
scope.run({ requestId: 'req-9', tenantId: 't1' }, () => {});

function capture(format: 'Text' | 'JSON', level: 'TRACE' | 'INFO' | 'ERROR' = 'TRACE') {
  const lines: string[] = [];
  const log = createLambdaLog({ format, level, scope, stdout: (line) => lines.push(line) });
  return { log, lines };
}

describe('Lambda Text format', () => {
  it('is time, request id, level and the formatted message on one line', () => {
    const { log, lines } = capture('Text');
    log.log('a %s\nb', 'x', { k: 1 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\treq-9\tINFO\ta x\rb \{ k: 1 \}\n$/);
  });

  it('console.log() with no arguments: as AWS, `undefined` in Text, no message field in JSON', () => {
    const text = capture('Text');
    text.log.log();
    expect(text.lines[0]).toMatch(/\treq-9\tINFO\tundefined\n$/);
    const json = capture('JSON');
    json.log.log();
    expect(JSON.parse(json.lines[0]!)).toEqual({
      timestamp: expect.any(String),
      level: 'INFO',
      requestId: 'req-9',
      tenantId: 't1',
    });
  });

  it('prints errors with their stack, folded into one record', () => {
    const { log, lines } = capture('Text');
    log.error(new Error('bad'));
    expect(lines[0]).toMatch(/\tERROR\tError: bad\r {4}at /);
  });

  it('the runtime error logger adds the JSON details after a tab, as AWS does', () => {
    const { log, lines } = capture('Text');
    const error = Object.assign(new TypeError('nope'), { code: 'E_X', extra: 1 });
    log.logError('Invoke Error', error);
    const [, json] = lines[0]!.trimEnd().split('Invoke Error \t');
    expect(JSON.parse(json!)).toMatchObject({
      errorType: 'TypeError',
      errorMessage: 'nope',
      code: 'E_X',
      extra: 1,
    });
    expect(JSON.parse(formatErrorDetails(error).slice(1)).stack[0]).toBe('TypeError: nope');
  });

  it('drops levels below AWS_LAMBDA_LOG_LEVEL; fatal always prints', () => {
    const { log, lines } = capture('Text', 'ERROR');
    log.trace('t');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    log.fatal('f');
    expect(lines.map((l) => l.split('\t')[2])).toEqual(['ERROR', 'FATAL']);
  });
});

describe('Lambda JSON format', () => {
  it('has timestamp, level, requestId, tenantId and message', () => {
    const { log, lines } = capture('JSON');
    log.info('hello', 42);
    expect(JSON.parse(lines[0]!)).toEqual({
      timestamp: expect.stringMatching(/Z$/),
      level: 'INFO',
      requestId: 'req-9',
      tenantId: 't1',
      message: 'hello 42',
    });
  });

  it('keeps a lone object as structured data', () => {
    const { log, lines } = capture('JSON');
    log.info({ user: 'u1', n: [1, 2] });
    expect(JSON.parse(lines[0]!).message).toEqual({ user: 'u1', n: [1, 2] });
  });

  it('adds the error fields when an error is among several arguments', () => {
    const { log, lines } = capture('JSON');
    log.error('failed:', new RangeError('r'));
    expect(JSON.parse(lines[0]!)).toMatchObject({
      errorType: 'RangeError',
      errorMessage: 'r',
      message: expect.stringMatching(/^failed: RangeError: r/),
    });
  });
});

describe('telemetry fd frames', () => {
  it('writes type|length|timestamp headers and keeps newlines', () => {
    const file = path.join(tempDir('frames'), 'frames');
    const fd = openSync(file, 'w');
    const log = createLambdaLog({ format: 'Text', level: 'TRACE', scope, telemetryFd: fd, stdout: () => {} });
    const before = BigInt(Date.now()) * 1000n;
    log.warn('one\ntwo');
    log.error('x');
    const bytes = readFileSync(file);
    const first = {
      type: bytes.readUInt32BE(0),
      length: bytes.readUInt32BE(4),
      micros: bytes.readBigUInt64BE(8),
    };
    expect(first.type).toBe((0xa55a0003 | 0b10000) >>> 0);
    // Microseconds since the epoch: not before the call, not after it.
    expect(first.micros >= before).toBe(true);
    expect(first.micros <= BigInt(Date.now()) * 1000n).toBe(true);
    const message = bytes.subarray(16, 16 + first.length).toString('utf8');
    expect(message).toMatch(/\treq-9\tWARN\tone\ntwo\n$/);
    const second = 16 + first.length;
    expect(bytes.readUInt32BE(second)).toBe((0xa55a0003 | 0b10100) >>> 0);
  });

  it('in the JSON format: the JSON frame type, and the record without a trailing newline', () => {
    const file = path.join(tempDir('frames'), 'frames');
    const fd = openSync(file, 'w');
    const log = createLambdaLog({ format: 'JSON', level: 'TRACE', scope, telemetryFd: fd, stdout: () => {} });
    log.info('one\ntwo');
    const bytes = readFileSync(file);
    expect(bytes.readUInt32BE(0)).toBe((0xa55a0002 | 0b01100) >>> 0);
    const length = bytes.readUInt32BE(4);
    expect(bytes.length).toBe(16 + length);
    const body = bytes.subarray(16).toString('utf8');
    expect(body.endsWith('\n')).toBe(false);
    expect(JSON.parse(body)).toMatchObject({ level: 'INFO', requestId: 'req-9', message: 'one\ntwo' });
  });
});

describe("the runtime's error lines mask the secrets", () => {
  afterEach(() => maskInErrors([]));
  // Inside the JSON of either format the secret reads escaped: its quote and backslash each get a backslash.
  const secret = 'pa"ss\\word';
  const escaped = JSON.stringify(secret).slice(1, -1);

  it.each(['Text', 'JSON'] as const)('%s: the escaped form too', (format) => {
    maskInErrors([secret]);
    const { log, lines } = capture(format);
    log.logError('Invoke Error', new Error(`cannot log in with ${secret}`));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('cannot log in with [redacted]');
    expect(lines[0]).not.toContain(escaped);
    expect(lines[0]).not.toContain(secret);
  });
});
