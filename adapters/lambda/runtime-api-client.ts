/// <reference path="../../runtime/undici-modules.d.ts" />
import Client from 'undici/lib/dispatcher/client.js';
import type { ErrorPayload } from '../../runtime/errors.js';
import { withTimeout } from '../../runtime/resources/timing.js';
import { toRuntimeApiOrigin } from './runtime-api-origin.js';
import { toXRayErrorCause } from './xray-error-cause.js';

/** One answer of the Runtime API. */
export interface ApiAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

const API = '/2018-06-01/runtime';
const EXTENSION_API = '/2020-01-01/extension';
const REGISTER_TIMEOUT_MS = 1_000;

export interface RuntimeApiClientOptions {
  /** Names the runtime in Lambda's telemetry: its first token is the "runtime release". */
  userAgent: string;
  /** The X-Ray error cause's `working_directory`. */
  workingDirectory: string;
}

/** An invocation's error: its body, and the value thrown, which the X-Ray error cause is read from. */
export interface InvocationError {
  error: ErrorPayload;
  thrown: unknown;
}

/**
 * The Lambda Runtime API over one keep-alive connection (an undici `Client`), with no timeout on `/next`:
 * the process may be frozen between the request and the event.
 *
 * @example
 * const api = createRuntimeApiClient('127.0.0.1:9001', { userAgent: 'justfn/1.0.0', workingDirectory: '/var/task' });
 * const { headers, body } = await api.next();
 */
export function createRuntimeApiClient(address: string, options: RuntimeApiClientOptions) {
  const origin = toRuntimeApiOrigin(address);
  const client = connect(origin);
  const baseHeaders = { 'user-agent': options.userAgent };

  const send = (
    method: 'GET' | 'POST',
    path: string,
    body?: string | Buffer,
    headers?: Record<string, string>,
  ) =>
    request(client, {
      method,
      path,
      body: body ?? null,
      headers:
        body === undefined ? baseHeaders : { ...baseHeaders, 'content-type': 'application/json', ...headers },
    });

  const invocationPath = (requestId: string, what: 'response' | 'error') =>
    `${API}/invocation/${encodeURIComponent(requestId)}/${what}`;
  const echo = (invocationId: string | undefined): Record<string, string> =>
    invocationId === undefined ? {} : { 'lambda-runtime-invocation-id': invocationId };

  return {
    origin,
    next: () => send('GET', `${API}/invocation/next`),
    postResponse: (requestId: string, body: string, invocationId?: string) =>
      send('POST', invocationPath(requestId, 'response'), body, echo(invocationId)),
    postError: (requestId: string, { error, thrown }: InvocationError, invocationId?: string) => {
      // Only RAPID's /error takes a cause (AWS's client sends none on /init/error or /restore/error).
      const cause = toXRayErrorCause(thrown, options.workingDirectory);
      return send('POST', invocationPath(requestId, 'error'), JSON.stringify(error), {
        'lambda-runtime-function-error-type': errorTypeHeader(error.errorType),
        ...(cause !== undefined && { 'lambda-runtime-function-xray-error-cause': cause }),
        ...echo(invocationId),
      });
    },
    postInitError: (error: ErrorPayload) =>
      send('POST', `${API}/init/error`, JSON.stringify(error), {
        'lambda-runtime-function-error-type': errorTypeHeader(error.errorType),
      }),
    restoreNext: () => send('GET', `${API}/restore/next`),
    postRestoreError: (error: ErrorPayload) =>
      send('POST', `${API}/restore/error`, JSON.stringify(error), {
        'lambda-runtime-function-error-type': errorTypeHeader(error.errorType),
      }),
    /** Path and headers of a streamed `/response`, for the streaming sink. */
    streamTarget: (requestId: string, invocationId?: string) => ({
      origin,
      path: invocationPath(requestId, 'response'),
      headers: { ...baseHeaders, ...echo(invocationId) },
    }),
    /**
     * Asks Lambda to send SIGTERM at shutdown, which it does only when an extension is registered
     * (awsdocs runtimes-extensions-api: Shutdown phase): registers an internal extension for no events,
     * then asks for its next event, on a connection of its own, as Lambda needs of every extension
     * before init ends; registered for none, it never gets one, and the request stays open.
     */
    requestSigterm: async () => {
      const extensions = connect(origin);
      // Init must not wait on it: a Runtime API that takes the registration and never answers is given up on.
      const registered = await withTimeout(
        () =>
          request(extensions, {
            method: 'POST',
            path: `${EXTENSION_API}/register`,
            body: '{"events":[]}',
            headers: {
              ...baseHeaders,
              'content-type': 'application/json',
              'lambda-extension-name': 'justfn',
            },
          }),
        REGISTER_TIMEOUT_MS,
        undefined,
        () => new Error(`POST ${EXTENSION_API}/register: no answer within ${REGISTER_TIMEOUT_MS} ms`),
      ).catch((error: unknown) => {
        void extensions.destroy();
        throw error;
      });
      const id = registered.headers['lambda-extension-identifier'];
      if (registered.status !== 200 || typeof id !== 'string') {
        await extensions.close();
        throw new Error(
          `POST ${EXTENSION_API}/register: the Runtime API answered ${registered.status} ${registered.body.toString('utf8', 0, 200)}`,
        );
      }
      request(extensions, {
        method: 'GET',
        path: `${EXTENSION_API}/event/next`,
        body: null,
        headers: { ...baseHeaders, 'lambda-extension-identifier': id },
      }).catch(() => {});
    },
    close: () => client.close(),
    destroy: () => client.destroy(),
  };
}

/** One keep-alive connection with no timeouts: the process may be frozen between a request and its answer. */
function connect(origin: string): Client {
  return new Client(origin, {
    pipelining: 1,
    keepAliveTimeout: 600_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: 0,
    bodyTimeout: 0,
    // Given, so undici does not read Node's default from node:http, which Lambda mode never loads.
    maxHeaderSize: 64 * 1024,
    connect: { noDelay: true },
  });
}

export type RuntimeApiClient = ReturnType<typeof createRuntimeApiClient>;

/**
 * The `Lambda-Runtime-Function-Error-Type` header (or trailer) for an error type, which user code names
 * freely (`x.name = 'ОшибкаВалидации'`, or one with a newline): as written when a header can carry it,
 * otherwise what RAPID makes of any type it does not accept, `Runtime.Unknown` (`Function.Unknown` for a
 * `Function.` one). The body keeps the type as written.
 *
 * @example
 * errorTypeHeader('TypeError'); // 'TypeError'
 * errorTypeHeader('Bad\nName'); // 'Runtime.Unknown'
 */
export function errorTypeHeader(errorType: string): string {
  if (/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(errorType)) return errorType;
  return errorType.startsWith('Function.') ? 'Function.Unknown' : 'Runtime.Unknown';
}

/**
 * The Runtime API's answer began (its status and headers came) and did not end: the request reached it,
 * so it must not be sent again (a `/next` repeated would skip the invocation it answered).
 */
export class AnswerCutError extends Error {
  override name = 'AnswerCutError';
  readonly code: unknown;

  constructor(status: number, cause: Error) {
    super(`the answer (${status}) was cut off: ${cause.message}`, { cause });
    this.code = (cause as { code?: unknown }).code;
  }
}

interface RequestOptions {
  method: 'GET' | 'POST';
  path: string;
  body: string | Buffer | null;
  headers: Record<string, string>;
}

/** A whole request and its whole answer, through `dispatch`: no stream objects per call. */
function request(client: Client, options: RequestOptions): Promise<ApiAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let status = 0;
    let headers: Record<string, string | string[]> = {};
    client.dispatch(options, {
      onRequestStart() {},
      onResponseStart(_controller, statusCode, responseHeaders) {
        status = statusCode;
        headers = responseHeaders as Record<string, string | string[]>;
      },
      onResponseData(_controller, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        resolve({ status, headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
      },
      onResponseError(_controller, error) {
        reject(status === 0 ? error : new AnswerCutError(status, error));
      },
    });
  });
}
