// The `justfn` package: what a function's code may import. Everything here is platform-free.

export type { ServiceConfig } from './config/service-config.js';
export type { ClientContext, CognitoIdentity, FunctionInfo, InvocationInfo } from './context.js';
export { LambdaContext } from './context.js';
export { type ErrorCode, type ErrorPayload, errorCatalog, JustfnError, toErrorPayload } from './errors.js';
export type {
  Callback,
  CloudEvent,
  Context,
  GrpcEvent,
  Handler,
  StreamingHandler,
} from './handler-types.js';
export { onAfterRestore, onBeforeSnapshot, onShutdown } from './hooks.js';
export type { GrpcClient, ResourceClients, ResourcesOf } from './resources/resources-of.js';
export {
  awslambda,
  type HttpPrelude,
  HttpResponseStream,
  ResponseStream,
  streamifyResponse,
} from './streaming.js';
