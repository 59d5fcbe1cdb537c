import type * as aws from 'aws-lambda';
import type { Pool } from 'pg';
import { describe, expectTypeOf, it } from 'vitest';
import { type LocalLambda, startLocalLambda } from '../bootstrap/testing.js';
import type {
  ClientContext,
  CloudEvent,
  CognitoIdentity,
  Context,
  GrpcEvent,
  Handler,
  StreamingHandler,
} from '../runtime/index.js';
import { awslambda, streamifyResponse } from '../runtime/index.js';

describe('the public handler types', () => {
  it('type the event, the result and context.resources', () => {
    const handler: Handler<{ id: string }, { ok: boolean }, { db: Pool }> = async (event, context) => {
      expectTypeOf(event.id).toEqualTypeOf<string>();
      expectTypeOf(context.resources.db).toEqualTypeOf<Pool>();
      expectTypeOf(context.getRemainingTimeInMillis()).toEqualTypeOf<number>();
      expectTypeOf(context.memoryLimitInMB).toEqualTypeOf<string>();
      expectTypeOf(context.signal).toEqualTypeOf<AbortSignal>();
      return { ok: true };
    };
    // biome-ignore lint/suspicious/noConfusingVoidType: the Handler type's own return type.
    expectTypeOf(handler).returns.toEqualTypeOf<void | { ok: boolean } | Promise<{ ok: boolean }>>();
  });

  it('accept sync and callback handlers', () => {
    const sync: Handler<number, number> = (n) => n + 1;
    const callback: Handler<number, string> = (_n, _context, cb) => cb(null, 'x');
    expectTypeOf(sync).toBeFunction();
    expectTypeOf(callback).toBeFunction();
  });

  it('streamifyResponse types the handler it wraps, and refuses what is none', () => {
    const streaming = streamifyResponse<{ q: string }>(async (event, stream) => {
      expectTypeOf(event.q).toEqualTypeOf<string>();
      stream.setContentType('text/plain');
      stream.end('done');
    });
    expectTypeOf(streaming).toEqualTypeOf<StreamingHandler<{ q: string }>>();
    // Without a type argument: the event is unknown, the stream still typed (no implicit any).
    streamifyResponse(async (event, stream) => {
      expectTypeOf(event).toEqualTypeOf<unknown>();
      stream.end('done');
    });
    // A handler type as the type argument, as before: the same handler.
    const impl: StreamingHandler<{ q: string }> = async (event, stream) => stream.end(event.q);
    expectTypeOf(streamifyResponse<typeof impl>(impl)).toEqualTypeOf<StreamingHandler<{ q: string }>>();
    streamifyResponse<StreamingHandler<{ q: string }>>(async (event, stream) => stream.end(event.q));
    // @ts-expect-error a sync one is none: AWS's runtime refuses it (Runtime.MalformedStreamingHandler)
    streamifyResponse((_event: unknown, stream: { end(): void }) => stream.end());
    // @ts-expect-error a class is no handler
    streamifyResponse(class {});
    expectTypeOf(awslambda.streamifyResponse).toEqualTypeOf(streamifyResponse);
  });

  it('context has no resources unless declared; a helper taking Context takes any context', () => {
    const handler: Handler = async (_event, context) => {
      // @ts-expect-error not declared
      return context.resources.db;
    };
    const logRequest = (context: Context) => context.awsRequestId;
    const withResources: Handler<unknown, string, { db: Pool }> = async (_event, context) =>
      logRequest(context);
    expectTypeOf(handler).toBeFunction();
    expectTypeOf(withResources).toBeFunction();
  });
});

describe("the events of justfn's own modes", () => {
  it('a gRPC call and a CloudEvent are typed events', () => {
    const grpc: Handler<GrpcEvent<{ name: string }>, { message: string }> = async ({ request, metadata }) => {
      expectTypeOf(metadata['x-b3-traceid']).toEqualTypeOf<string | Buffer | undefined>();
      return { message: `hello ${request.name}` };
    };
    const event: Handler<CloudEvent<{ orderId: string }>, void> = async (e) => {
      expectTypeOf(e.data).toEqualTypeOf<{ orderId: string } | undefined>();
      expectTypeOf(e.specversion).toEqualTypeOf<'1.0'>();
    };
    expectTypeOf(grpc).toBeFunction();
    expectTypeOf(event).toBeFunction();
  });
});

describe('the types of AWS functions', () => {
  it("an @types/aws-lambda handler is a justfn Handler, and justfn's context is an AWS Context", () => {
    const awsHandler: aws.APIGatewayProxyHandlerV2 = async (event, context) => ({
      statusCode: 200,
      body: `${event.rawPath} ${context.awsRequestId} ${context.identity?.cognitoIdentityId}`,
    });
    const ours: Handler<aws.APIGatewayProxyEventV2, aws.APIGatewayProxyResultV2> = awsHandler;
    const takesAwsContext = (context: aws.Context) => context.clientContext?.client.appTitle;
    const passes: Handler = async (_event, context) => takesAwsContext(context);
    expectTypeOf(ours).toBeFunction();
    expectTypeOf(passes).toBeFunction();
    expectTypeOf<Context['identity']>().toEqualTypeOf<CognitoIdentity | undefined>();
    expectTypeOf<Context['clientContext']>().toEqualTypeOf<ClientContext | undefined>();
  });
});

describe('justfn/testing', () => {
  it('names what startLocalLambda gives, for a variable set in beforeAll', () => {
    expectTypeOf(startLocalLambda).returns.resolves.toEqualTypeOf<LocalLambda>();
    expectTypeOf<LocalLambda['invokeUrl']>().toEqualTypeOf<string>();
    expectTypeOf<LocalLambda['close']>().returns.toEqualTypeOf<Promise<void>>();
  });
});
