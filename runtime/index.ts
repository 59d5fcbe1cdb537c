// The `justfn` package: what a function's code may import. Everything here is platform-free.
export type { FunctionInfo, InvocationInfo } from './context.js';
export { LambdaContext } from './context.js';
export { type ErrorCode, type ErrorPayload, errorCatalog, JustfnError, toErrorPayload } from './errors.js';
export type { Callback, Context, Handler, StreamingHandler } from './handler-types.js';
export {
  awslambda,
  type HttpPrelude,
  HttpResponseStream,
  ResponseStream,
  streamifyResponse,
} from './streaming.js';
