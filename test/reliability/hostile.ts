import net from 'node:net';
import { afterAll, expect } from 'vitest';
import type { HttpRuntime } from '../helpers/http-runtime.js';
import { report } from './report.js';

// What every hostile-input test shares: the canary secret the runtime holds, how a refusal must look,
// a raw HTTP client (no library between the bytes and the server), and the count of cases per family.

/** In the runtime's environment as a secret would be; no answer may ever carry it. */
export const CANARY = 's3cr3t-canary-0bd9';
export const secretEnv = { AWS_SECRET_ACCESS_KEY: CANARY, DATABASE_PASSWORD: CANARY };

/** fast-check runs per property: modest in `npm test`, raised by `npm run soak` (JUSTFN_HOSTILE_RUNS). */
export const runs = (fallback: number): number => Number(process.env.JUSTFN_HOSTILE_RUNS ?? fallback);

/** Counts the cases one family tried; reported (and collected by `npm run soak`) after its file. */
export function family(name: string) {
  let cases = 0;
  afterAll(() => report.hostile(name, cases));
  return {
    tried: (n = 1) => {
      cases += n;
    },
    get cases() {
      return cases;
    },
  };
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Stack frames, file positions: what must never reach a caller. */
const leak = /\n\s+at |\.(?:m?[cjt]s|cjs):\d+|node_modules|\/work\//;

/**
 * A refusal as the issue wants it: a 4xx (never a 5xx for bad input), a JSON `{errorType, errorMessage}`
 * naming the problem, no stack, no secret.
 */
export function expectRefusal(answer: RawAnswer, status?: number, message?: string | RegExp): void {
  expect(answer.status, answer.body).toBeGreaterThanOrEqual(400);
  expect(answer.status, answer.body).toBeLessThan(500);
  if (status !== undefined) expect(answer.status, answer.body).toBe(status);
  const body = JSON.parse(answer.body) as { errorType: string; errorMessage: string };
  expect(Object.keys(body)).toEqual(['errorType', 'errorMessage']);
  expect(body.errorMessage.length).toBeGreaterThan(0);
  if (message !== undefined) expect(body.errorMessage).toMatch(message);
  expectNoLeak(answer);
}

/** Whatever the status: no stack, no file path, no secret in the body or the headers. */
export function expectNoLeak(answer: RawAnswer): void {
  const text = `${JSON.stringify(answer.headers)}\n${answer.body}`;
  expect(text).not.toContain(CANARY);
  expect(text).not.toMatch(leak);
}

/** The runtime survived: alive, live, and nothing fatal or uncaught in its log. */
export async function expectAlive(runtime: HttpRuntime): Promise<void> {
  expect(runtime.process.child.exitCode).toBeNull();
  const live = await rawRequest(
    runtime.port,
    'GET /_/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  );
  expect(live).toMatchObject({ status: 200 });
  const bad = runtime.logs().filter((l) => l.level === 'fatal' || /Uncaught|Unhandled/.test(String(l.msg)));
  expect(bad).toEqual([]);
}

export interface RawOptions {
  /** Split the request into pieces of this many bytes, sent `gapMs` apart. */
  chunkSize?: number;
  gapMs?: number;
}

/**
 * One request over a fresh TCP connection, as bytes: the answer parsed by hand (status, headers, body
 * by Content-Length or until close), or `closed`/`reset` when the server dropped the connection.
 */
export function rawRequest(
  port: number,
  request: string | Buffer,
  options: RawOptions = {},
): Promise<RawAnswer | 'closed' | 'reset'> {
  const bytes = typeof request === 'string' ? Buffer.from(request, 'latin1') : request;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const done = (value: RawAnswer | 'closed' | 'reset') => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const answer = parse(Buffer.concat(chunks));
      if (answer) done(answer);
    });
    socket.on('error', () => done('reset'));
    socket.on('close', () => done(parse(Buffer.concat(chunks), true) ?? 'closed'));
    const size = options.chunkSize ?? bytes.length;
    let at = 0;
    const send = () => {
      if (socket.destroyed || at >= bytes.length) return;
      socket.write(bytes.subarray(at, at + size));
      at += size;
      if (at < bytes.length) timer = setTimeout(send, options.gapMs ?? 0);
    };
    socket.on('connect', send);
  });
}

function parse(bytes: Buffer, ended = false): RawAnswer | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [statusLine = '', ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = bytes.subarray(end + 4);
  const length = headers['content-length'];
  if (length !== undefined && body.length < Number(length)) return undefined;
  if (length === undefined && headers['transfer-encoding'] === 'chunked' && !ended) {
    if (!body.includes('\r\n0\r\n\r\n')) return undefined;
  }
  const text =
    length !== undefined ? body.subarray(0, Number(length)).toString('utf8') : body.toString('utf8');
  return { status: Number(statusLine.split(' ')[1]), headers, body: text };
}

/** A request head from a method, a path and headers (name, value pairs: repeats allowed). */
export function head(method: string, path: string, headers: [string, string][], body?: string | Buffer) {
  const length = body === undefined ? 0 : Buffer.byteLength(body);
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: justfn.test', 'Connection: close'];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  if (body !== undefined && !headers.some(([n]) => /^(content-length|transfer-encoding)$/i.test(n))) {
    lines.push(`Content-Length: ${length}`);
  }
  const start = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return body === undefined
    ? start
    : Buffer.concat([start, typeof body === 'string' ? Buffer.from(body) : body]);
}
