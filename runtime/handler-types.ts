import type { LambdaContext } from './context.js';
import type { ResponseStream } from './streaming.js';

/** The context a handler receives: every Lambda field, plus `resources` and `signal`. */
export type Context<Resources extends object = Record<string, never>> = LambdaContext<Resources>;

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
export type Handler<Event = unknown, Result = unknown, Resources extends object = Record<string, never>> = (
  event: Event,
  context: Context<Resources>,
  callback: Callback<Result>,
  // biome-ignore lint/suspicious/noConfusingVoidType: a callback-style handler returns nothing.
) => void | Result | Promise<Result>;

/**
 * A streaming handler, wrapped with `streamifyResponse`.
 *
 * @example
 * export const handler = streamifyResponse<StreamingHandler>(async (event, stream) => {
 *   stream.end('hi');
 * });
 */
export type StreamingHandler<Event = unknown, Resources extends object = Record<string, never>> = (
  event: Event,
  responseStream: ResponseStream,
  context: Context<Resources>,
) => Promise<void>;
