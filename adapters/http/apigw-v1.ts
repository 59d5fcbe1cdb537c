// API Gateway REST API proxy integration (payload format 1.0, also HTTP API's 1.0). Rules from
// https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
// (input and output formats); details checked against live captures (hotsock/voker
// `vokerhttp/testdata/apigwv1-request.json`, July 2026).
import type { ApiGatewayV1Event, ApiGatewayV1Identity } from './event-types.js';
import {
  forEachQueryPair,
  type HeaderFacts,
  isTextBody,
  setOwn,
  splitUrl,
  walkHeaders,
} from './formats-shared.js';
import type { HttpEventFormat, HttpRequest, HttpResponse } from './request.js';
import { formatRequestTime, PLACEHOLDERS, toDomain } from './request-context.js';
import {
  addHeaders,
  addMultiValueHeaders,
  isRecord,
  malformed,
  type ResponseHeaders,
  readBody,
  readStatusCode,
} from './results-shared.js';

/**
 * What the request cannot say: the stage and the ids AWS would assign.
 *
 * @example
 * const options: ApiGatewayV1Options = { stage: 'prod' };
 */
export interface ApiGatewayV1Options {
  /** Default `$default`. */
  stage?: string;
  accountId?: string;
  apiId?: string;
  resourceId?: string;
}

function toEvent(req: HttpRequest, options: ApiGatewayV1Options = {}): ApiGatewayV1Event {
  const { path, query } = splitUrl(req.url);
  // Names keep the case they were sent in; `headers` keeps the last value of a repeated name.
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const facts = walkHeaders(req.rawHeaders, (name, lower, value) => {
    // REST API does not pass Content-Length on (aws-lambda-go's sample and the live capture both lack it).
    if (lower === 'content-length') return;
    setOwn(headers, name, value);
    const values = multiValueHeaders[name];
    if (Array.isArray(values)) values.push(value);
    else setOwn(multiValueHeaders, name, [value]);
  });
  // The catch-all route a proxy API uses: `/{proxy+}`, plus `/` for the root, which `{proxy+}` cannot
  // match. `proxy` stays percent-encoded, as API Gateway sends it.
  const root = path === '/';
  const resource = root ? '/' : '/{proxy+}';
  const parameters = toQueryParameters(query);
  const base64 = req.body.length > 0 && !isTextBody(req.body, facts.contentType, facts.contentEncoding);
  return {
    resource,
    path,
    httpMethod: req.method,
    headers,
    multiValueHeaders,
    queryStringParameters: parameters.single,
    multiValueQueryStringParameters: parameters.multi,
    pathParameters: root ? null : { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: toRequestContext(req, path, resource, facts, options),
    body: req.body.length === 0 ? null : req.body.toString(base64 ? 'base64' : 'utf8'),
    isBase64Encoded: base64,
  };
}

// Only from the connection, the clock and the options: no header can add an authorizer or change a field.
function toRequestContext(
  req: HttpRequest,
  path: string,
  resource: string,
  facts: HeaderFacts,
  options: ApiGatewayV1Options,
): ApiGatewayV1Event['requestContext'] {
  const { domainName, domainPrefix } = toDomain(facts.host);
  return {
    accountId: options.accountId ?? PLACEHOLDERS.accountId,
    apiId: options.apiId ?? PLACEHOLDERS.apiId,
    domainName,
    domainPrefix,
    extendedRequestId: req.requestId,
    httpMethod: req.method,
    identity: toIdentity(req.remoteAddress, facts.userAgent),
    path,
    protocol: `HTTP/${req.httpVersion}`,
    requestId: req.requestId,
    requestTime: formatRequestTime(req.receivedAt),
    requestTimeEpoch: req.receivedAt,
    resourceId: options.resourceId ?? PLACEHOLDERS.resourceId,
    resourcePath: resource,
    stage: options.stage ?? '$default',
  };
}

// Built from the connection alone: no header can claim a Cognito identity, an API key or a caller. The
// socket peer is the source IP, never X-Forwarded-For, which any client can write.
function toIdentity(sourceIp: string, userAgent: string | undefined): ApiGatewayV1Identity {
  return {
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp,
    user: null,
    userAgent: userAgent ?? null,
    userArn: null,
  };
}

// Decoded ('+' is a space); the single-value map keeps the last value; both are null without a query.
function toQueryParameters(query: string) {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  let empty = true;
  forEachQueryPair(query, true, (key, value) => {
    empty = false;
    setOwn(single, key, value);
    const values = multi[key];
    if (Array.isArray(values)) values.push(value);
    else setOwn(multi, key, [value]);
  });
  return empty ? { single: null, multi: null } : { single, multi };
}

// REST API rejects any other key ("Malformed Lambda proxy response"): `cookies` is 2.0-only.
const RESULT_KEYS = new Set(['statusCode', 'headers', 'multiValueHeaders', 'body', 'isBase64Encoded']);

function toResponse(result: unknown): HttpResponse {
  if (!isRecord(result)) {
    throw malformed(
      'the result must be an object with statusCode, headers and body (API Gateway 1.0 format)',
    );
  }
  for (const key of Object.keys(result)) {
    if (!RESULT_KEYS.has(key))
      throw malformed(`unexpected key "${key}" in the result (API Gateway 1.0 format)`);
  }
  const statusCode = readStatusCode(result.statusCode);
  // "If you specify values for both headers and multiValueHeaders, API Gateway merges them into a single
  // list. If the same key-value pair is specified in both, only the values from multiValueHeaders will
  // appear" (AWS docs, above); multiValueHeaders come first, as in SAM's `_merge_response_headers`.
  const headers: ResponseHeaders = {};
  addMultiValueHeaders(headers, result.multiValueHeaders, 'multiValueHeaders');
  addHeaders(headers, result.headers, 'headers', true);
  const body = readBody(result.body, result.isBase64Encoded);
  if (statusCode !== 304) headers['content-type'] ??= 'application/json';
  return { statusCode, headers, body };
}

/**
 * The payload 1.0 processor: `toEvent` builds a REST API proxy event (`/{proxy+}` route) from a plain
 * request, `toResponse` applies the 1.0 response rules (strict keys, merged multi-value headers, base64).
 *
 * @example
 * const event = apigwV1.toEvent(req, { stage: 'prod' });
 * const res = apigwV1.toResponse({ statusCode: 200, multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] }, body: '' });
 */
export const apigwV1: HttpEventFormat<ApiGatewayV1Event, ApiGatewayV1Options> = { toEvent, toResponse };
