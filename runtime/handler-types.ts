import type { LambdaContext } from './context.js';
import type { ResponseStream } from './streaming.js';

/** The context a handler receives: every Lambda field, plus `resources` and `signal`. */
export type Context<Resources extends object = object> = LambdaContext<Resources>;

/** Node's callback style: `callback(error)` or `callback(null, result)`. */
export type Callback<Result = unknown> = (error?: unknown, result?: Result) => void;

/**
 * A handler, as on AWS Lambda: async, promise-returning, sync (its value is the result) or callback style.
 * `Resources` types `context.resources` (see `ResourcesOf`).
 *
 * @example
 * import type { Handler } from 'justfn';
 * export const handler: Handler<{ name: string }, { greeting: string }> = async (event, context) => ({
 *   greeting: `hello ${event.name} from ${context.functionName}`,
 * });
 */
export type Handler<Event = unknown, Result = unknown, Resources extends object = object> = (
  event: Event,
  context: Context<Resources>,
  callback: Callback<Result>,
  // biome-ignore lint/suspicious/noConfusingVoidType: a callback-style handler returns nothing.
) => void | Result | Promise<Result>;

/**
 * A streaming handler, wrapped with `streamifyResponse`.
 *
 * @example
 * export const handler = streamifyResponse<{ q: string }>(async (event, stream) => {
 *   stream.end(event.q);
 * });
 */
export type StreamingHandler<Event = unknown, Resources extends object = object> = (
  event: Event,
  responseStream: ResponseStream,
  context: Context<Resources>,
  // What it resolves to is not read, as in AWS's runtime: `async (e, stream) => stream.end('x')` is one.
) => Promise<unknown>;

/**
 * What a gRPC-mode handler receives for each call (docs/grpc.md): the call's service, method, decoded
 * request and metadata.
 *
 * @example
 * export const handler: Handler<GrpcEvent<{ name: string }>, { message: string }> = async ({ request }) => ({
 *   message: `hello ${request.name}`,
 * });
 */
export interface GrpcEvent<Request = unknown> {
  /** Fully-qualified service, e.g. `users.v1.Users`. */
  service: string;
  /** The method's name as in the `.proto`, e.g. `GetUser`. */
  method: string;
  request: Request;
  /** The call's metadata as a plain object (`-bin` keys carry Buffers). */
  metadata: Record<string, string | Buffer>;
}

/**
 * A CloudEvent as a handler receives it, in every content mode (docs/cloudevents.md): the JSON format's
 * shape, its extensions as top-level members, and `data` (or `data_base64` for bytes).
 *
 * @example
 * export const handler: Handler<CloudEvent<{ orderId: string }>, void> = async (event) => {
 *   console.log(event.type, event.data?.orderId);
 * };
 */
export interface CloudEvent<Data = unknown> {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  datacontenttype?: string;
  dataschema?: string;
  subject?: string;
  time?: string;
  data?: Data;
  data_base64?: string;
  [extension: string]: unknown;
}
