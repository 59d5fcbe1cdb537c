// The events justfn synthesises, field for field as AWS sends them (DefinitelyTyped
// types/aws-lambda/trigger/{api-gateway-proxy,alb}.d.ts), minus what only AWS can know: no authorizer,
// no mTLS `authentication`, no path parameters or stage variables beyond the fixed `{proxy+}` route.

/**
 * API Gateway HTTP API / Function URL payload 2.0.
 *
 * @example
 * const event: ApiGatewayV2Event = apiGatewayV2.toEvent(req);
 * event.requestContext.http.method // 'GET'
 */
export interface ApiGatewayV2Event {
  version: '2.0';
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  requestContext: {
    accountId: string;
    apiId: string;
    domainName: string;
    domainPrefix: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: string;
    stage: string;
    time: string;
    timeEpoch: number;
  };
  body?: string;
  isBase64Encoded: boolean;
}

/**
 * API Gateway REST identity: only `sourceIp` and `userAgent` are known off AWS; the rest is null.
 *
 * @example
 * apigwV1.toEvent(req).requestContext.identity.sourceIp // the socket's peer address
 */
export interface ApiGatewayV1Identity {
  accessKey: null;
  accountId: null;
  apiKey: null;
  apiKeyId: null;
  caller: null;
  clientCert: null;
  cognitoAuthenticationProvider: null;
  cognitoAuthenticationType: null;
  cognitoIdentityId: null;
  cognitoIdentityPoolId: null;
  principalOrgId: null;
  sourceIp: string;
  user: null;
  userAgent: string | null;
  userArn: null;
}

/**
 * API Gateway REST API (and HTTP API payload 1.0) proxy event.
 *
 * @example
 * const event: ApiGatewayV1Event = apiGatewayV1.toEvent(req);
 * event.multiValueQueryStringParameters?.x // ['1', '2']
 */
export interface ApiGatewayV1Event {
  resource: string;
  path: string;
  httpMethod: string;
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters: Record<string, string> | null;
  multiValueQueryStringParameters: Record<string, string[]> | null;
  pathParameters: { proxy: string } | null;
  stageVariables: null;
  requestContext: {
    accountId: string;
    apiId: string;
    domainName: string;
    domainPrefix: string;
    extendedRequestId: string;
    httpMethod: string;
    identity: ApiGatewayV1Identity;
    path: string;
    protocol: string;
    requestId: string;
    requestTime: string;
    requestTimeEpoch: number;
    resourceId: string;
    resourcePath: string;
    stage: string;
  };
  body: string | null;
  isBase64Encoded: boolean;
}

/**
 * Application Load Balancer Lambda target event: single-value or multi-value fields, never both.
 *
 * @example
 * const event: AlbEvent = alb.toEvent(req, { multiValueHeaders: true });
 * event.multiValueHeaders?.host // ['example.com']
 */
export interface AlbEvent {
  requestContext: { elb: { targetGroupArn: string } };
  httpMethod: string;
  path: string;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  body: string;
  isBase64Encoded: boolean;
}
