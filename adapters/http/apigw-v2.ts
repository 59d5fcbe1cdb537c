// API Gateway HTTP API / Lambda Function URL, payload format 2.0. Rules from
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
// and https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html; details checked against live
// captures (hotsock/voker `vokerhttp/testdata/`, July 2026).
import { stringifyResult } from '../../runtime/result.js';
import type { ApiGatewayV2Event } from './event-types.js';
import {
  decodePath,
  forEachQueryPair,
  type HeaderFacts,
  isTextBody,
  setOwn,
  splitCookies,
  splitUrl,
  walkHeaders,
} from './formats-shared.js';
import type { HttpEventFormat, HttpRequest, HttpResponse } from './request.js';
import { formatRequestTime, PLACEHOLDERS, toDomain } from './request-context.js';
import {
  addCookies,
  addHeaders,
  isRecord,
  type ResponseHeaders,
  readBody,
  readStatusCode,
} from './results-shared.js';

/**
 * What the request cannot say: the stage and the ids AWS would assign.
 *
 * @example
 * const options: ApiGatewayV2Options = { stage: '$default', apiId: 'users' };
 */
export interface ApiGatewayV2Options {
  /** Default `$default`. */
  stage?: string;
  accountId?: string;
  apiId?: string;
}

function toEvent(req: HttpRequest, options: ApiGatewayV2Options = {}): ApiGatewayV2Event {
  const { path, query } = splitUrl(req.url);
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  const facts = walkHeaders(req.rawHeaders, (_name, lower, value) => {
    // 2.0 moves every Cookie header into `cookies`; `headers` has no `cookie` (HTTP API behaviour).
    if (lower === 'cookie') return splitCookies(value, cookies);
    const previous = headers[lower];
    setOwn(headers, lower, typeof previous === 'string' ? `${previous},${value}` : value);
  });
  // Built field by field so the event reads in AWS's order, without keys for absent optional fields.
  const event = {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: query,
  } as ApiGatewayV2Event;
  if (cookies.length > 0) event.cookies = cookies;
  event.headers = headers;
  const parameters = toQueryParameters(query);
  if (parameters !== undefined) event.queryStringParameters = parameters;
  event.requestContext = toRequestContext(req, path, facts, options);
  const base64 = req.body.length > 0 && !isTextBody(req.body, facts.contentType, facts.contentEncoding);
  // An empty body has no `body` field at all, as AWS sends it.
  if (req.body.length > 0) event.body = req.body.toString(base64 ? 'base64' : 'utf8');
  event.isBase64Encoded = base64;
  return event;
}

// Only from the connection, the clock and the options: no header can add an authorizer or change a field.
function toRequestContext(
  req: HttpRequest,
  path: string,
  facts: HeaderFacts,
  options: ApiGatewayV2Options,
): ApiGatewayV2Event['requestContext'] {
  const { domainName, domainPrefix } = toDomain(facts.host);
  return {
    accountId: options.accountId ?? PLACEHOLDERS.accountId,
    apiId: options.apiId ?? PLACEHOLDERS.apiId,
    domainName,
    domainPrefix,
    http: {
      method: req.method,
      // Function URLs keep `rawPath` as sent and decode `http.path` once (live capture).
      path: decodePath(path),
      protocol: `HTTP/${req.httpVersion}`,
      // The socket peer, never X-Forwarded-For: any client can write that header. Behind a trusted proxy
      // (Knative's queue-proxy, an ingress) the handler can still read the header itself.
      sourceIp: req.remoteAddress,
      userAgent: facts.userAgent ?? '',
    },
    requestId: req.requestId,
    routeKey: '$default',
    stage: options.stage ?? '$default',
    time: formatRequestTime(req.receivedAt),
    timeEpoch: req.receivedAt,
  };
}

// Duplicate keys are comma-joined; keys and values are decoded ('+' is a space).
function toQueryParameters(query: string): Record<string, string> | undefined {
  let parameters: Record<string, string> | undefined;
  forEachQueryPair(query, true, (key, value) => {
    parameters ??= {};
    const previous = parameters[key];
    setOwn(parameters, key, typeof previous === 'string' ? `${previous},${value}` : value);
  });
  return parameters;
}

function toResponse(result: unknown): HttpResponse {
  // "If your Lambda function returns valid JSON and doesn't return a statusCode, API Gateway assumes a
  // 200 status code", content-type application/json, and the value as the body (AWS docs, above).
  if (!isRecord(result) || result.statusCode === undefined) {
    const body = typeof result === 'string' ? result : stringifyResult(result);
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body };
  }
  const statusCode = readStatusCode(result.statusCode);
  const headers: ResponseHeaders = {};
  addHeaders(headers, result.headers, 'headers');
  addCookies(headers, result.cookies);
  const body = readBody(result.body, result.isBase64Encoded);
  if (statusCode !== 304) headers['content-type'] ??= 'application/json';
  return { statusCode, headers, body };
}

/**
 * The payload 2.0 processor: `toEvent` builds an HTTP API / Function URL event from a plain request,
 * `toResponse` applies 2.0's response rules (shorthand, cookies, base64).
 *
 * @example
 * const event = apigwV2.toEvent(req, { stage: '$default' });
 * const res = apigwV2.toResponse({ statusCode: 201, cookies: ['a=1'], body: 'made' });
 */
export const apigwV2: HttpEventFormat<ApiGatewayV2Event, ApiGatewayV2Options> = { toEvent, toResponse };
