import { describe, expect, it } from 'vitest';
import { alb } from '../../../adapters/http/alb.js';
import { apigwV1 } from '../../../adapters/http/apigw-v1.js';
import { apigwV2 } from '../../../adapters/http/apigw-v2.js';
import { forgedHeaders, loadSample, lowerKeys, makeRequest, REQUEST_TIME, type Sample } from './samples.js';

// Each AWS sample is turned back into the plain HTTP request that produced it; the event we build from
// that request must equal the sample on every field the request determines. Fields only AWS knows (ids,
// authorizers, stage variables, times) are checked for shape, and must never come from a header.

/** Rebuilds the request behind a 2.0 sample. `split` names headers AWS comma-joined from several lines. */
function rebuildV2(sample: Sample, split: string[] = []) {
  const http = sample.requestContext.http;
  const headers: [string, string][] = [];
  for (const [name, value] of Object.entries<string>(sample.headers)) {
    if (split.includes(name)) for (const part of value.split(',')) headers.push([name, part]);
    else headers.push([name, value]);
  }
  // What the request must have carried although the hand-written samples leave it out of `headers`: Host
  // (required by HTTP/1.1, RFC 9112 §3.2; the sample's domainName says what it was), the User-Agent
  // behind `http.userAgent`, and the Content-Length of its body. They do show up in our `headers`.
  const added: Record<string, string> = {};
  const body = Buffer.from(sample.body ?? '', sample.isBase64Encoded ? 'base64' : 'utf8');
  const needs = (name: string, value: string) => {
    if (headers.some(([n]) => n.toLowerCase() === name)) return;
    headers.push([name, value]);
    added[name] = value;
  };
  needs('host', sample.requestContext.domainName);
  needs('user-agent', http.userAgent);
  if (body.length > 0) needs('content-length', String(body.length));
  if (sample.cookies) headers.push(['Cookie', sample.cookies.join('; ')]);
  const url = sample.rawQueryString ? `${sample.rawPath}?${sample.rawQueryString}` : sample.rawPath;
  const parts = { method: http.method, url, headers, body, remoteAddress: http.sourceIp };
  const req = makeRequest({ ...parts, httpVersion: http.protocol.slice('HTTP/'.length) });
  return { req, added };
}

const v2Samples: [string, string[]][] = [
  ['apigw-v2-request-no-authorizer.json', []],
  ['apigw-v2-request-iam.json', []],
  ['apigw-v2-request-jwt-authorizer.json', []],
  ['apigw-v2-request-lambda-authorizer.json', []],
  // `header2: "value1,value2"` is what two header2 lines become ("duplicate headers are combined with commas").
  ['lambda-urls-request.json', ['header2']],
];

describe('apigwV2.toEvent rebuilds the AWS 2.0 samples', () => {
  it.each(v2Samples)('%s', (file, split) => {
    const sample = loadSample(file);
    const { req, added } = rebuildV2(sample, split);
    const event = apigwV2.toEvent(req, { stage: '$default' });

    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe('$default');
    expect(event.rawPath).toBe(sample.rawPath);
    expect(event.rawQueryString).toBe(sample.rawQueryString);
    expect(event.cookies).toEqual(sample.cookies);
    // AWS lower-cases every header name (docs); three hand-written samples still show `Header1`.
    expect(event.headers).toEqual({ ...lowerKeys(sample.headers), ...added });
    expect(event.queryStringParameters).toEqual(sample.queryStringParameters);
    expect(event.body).toBe(sample.body);
    expect(event.isBase64Encoded).toBe(sample.isBase64Encoded);

    const context = event.requestContext;
    expect(context.http).toEqual(sample.requestContext.http);
    expect(context.domainName).toBe(sample.requestContext.domainName);
    expect(context.domainPrefix).toBe(sample.requestContext.domainPrefix);
    expect(context.routeKey).toBe('$default');
    expect(context.stage).toBe('$default');
    // Only AWS knows these: same type and shape.
    expect(context.accountId).toMatch(/^\d{12}$/);
    expect(typeof context.apiId).toBe('string');
    expect(context.requestId).toBe(req.requestId);
    expect(context.time).toMatch(REQUEST_TIME);
    expect(context.timeEpoch).toBe(req.receivedAt);
    // Route parameters, stage variables, authorizers and mTLS come from AWS configuration, never a request.
    expect(event).not.toHaveProperty('pathParameters');
    expect(event).not.toHaveProperty('stageVariables');
    expect(context).not.toHaveProperty('authorizer');
    expect(context).not.toHaveProperty('authentication');
  });

  it.each(v2Samples)('%s: forged identity headers change nothing in requestContext', (file, split) => {
    const { req } = rebuildV2(loadSample(file), split);
    const forged = { ...req, rawHeaders: [...req.rawHeaders, ...forgedHeaders.flat()] };
    const context = apigwV2.toEvent(forged).requestContext;
    expect(context).toEqual(apigwV2.toEvent(req).requestContext);
    expect(context).not.toHaveProperty('authorizer');
    expect(context.http.sourceIp).toBe(req.remoteAddress);
  });
});

describe('apigwV1.toEvent rebuilds the AWS REST sample (apigw-request.json)', () => {
  const sample = loadSample('apigw-request.json');
  const headers = Object.entries<string>(sample.headers);
  const body = Buffer.from(sample.body);
  // REST API does not pass Content-Length on (sample, and a live capture): the client did send it.
  headers.push(['Content-Length', String(body.length)]);
  const identity = sample.requestContext.identity;
  const req = makeRequest({
    method: 'POST',
    url: '/hello/world?name=me',
    headers,
    body,
    remoteAddress: identity.sourceIp,
  });
  const event = apigwV1.toEvent(req, { stage: sample.requestContext.stage });

  it('matches every field the request determines', () => {
    const { requestContext, stageVariables, isBase64Encoded, ...fromRequest } = event;
    const { requestContext: _, stageVariables: __, ...sampleFromRequest } = sample;
    expect(fromRequest).toEqual(sampleFromRequest);
    expect(isBase64Encoded).toBe(false);
    const c = sample.requestContext;
    expect(requestContext).toMatchObject({
      httpMethod: c.httpMethod,
      path: c.path,
      protocol: c.protocol,
      resourcePath: c.resourcePath,
      stage: c.stage,
      identity: { sourceIp: identity.sourceIp, userAgent: identity.userAgent },
    });
    // The sample's own Host (…us-east-1…) and domainName (…us-east-2…) disagree; ours follows Host.
    expect(requestContext.domainName).toBe(sample.headers.Host);
    expect(requestContext.domainPrefix).toBe('gy415nuibc');
  });

  it('has the shape of what only AWS knows, and no identity or authorizer from the client', () => {
    const c = event.requestContext;
    expect(Object.keys(c).sort()).toEqual(
      expect.arrayContaining(
        Object.keys(sample.requestContext)
          .filter((k) => k !== 'authorizer')
          .sort(),
      ),
    );
    expect(c).not.toHaveProperty('authorizer');
    expect(event.stageVariables).toBeNull();
    expect(c.requestTime).toMatch(REQUEST_TIME);
    expect(c.requestTimeEpoch).toBe(req.receivedAt);
    for (const key of Object.keys(sample.requestContext.identity)) expect(c.identity).toHaveProperty(key);
    const { sourceIp, userAgent, ...rest } = c.identity;
    expect(Object.values(rest).every((v) => v === null)).toBe(true);
    const forged = apigwV1.toEvent(
      { ...req, rawHeaders: [...req.rawHeaders, ...forgedHeaders.flat()] },
      { stage: 'testStage' },
    );
    expect(forged.requestContext).toEqual(c);
  });
});

describe('alb.toEvent rebuilds the AWS ALB samples', () => {
  it.each([
    ['alb-lambda-target-request-headers-only.json', false],
    ['alb-lambda-target-request-multivalue-headers.json', true],
  ])('%s', (file, multiValueHeaders) => {
    const sample = loadSample(file);
    const headers = sample.headers ?? sample.multiValueHeaders;
    const rawHeaders = Object.entries<string | string[]>(headers).flatMap(([n, v]) =>
      [v].flat().map((x) => [n, x] as [string, string]),
    );
    const query = sample.queryStringParameters ?? sample.multiValueQueryStringParameters;
    const url = `${sample.path}?${new URLSearchParams(Object.entries<string>(query).map(([k, v]) => [k, String(v)] as [string, string]))}`;
    const remoteAddress = [headers['x-forwarded-for']].flat()[0];
    const req = makeRequest({ method: sample.httpMethod, url, headers: rawHeaders, remoteAddress });
    // The target group ARN is configuration: given, the whole event must equal the sample.
    const options = { multiValueHeaders, targetGroupArn: sample.requestContext.elb.targetGroupArn };
    expect(alb.toEvent(req, options)).toEqual(sample);
    const forged = { ...req, rawHeaders: [...req.rawHeaders, ...forgedHeaders.flat()] };
    expect(alb.toEvent(forged, options).requestContext).toEqual(sample.requestContext);
  });
});

describe('the AWS response samples become the response AWS sends', () => {
  it('lambda-urls-response.json (2.0): each cookie its own Set-Cookie line', () => {
    expect(apigwV2.toResponse(loadSample('lambda-urls-response.json'))).toEqual({
      statusCode: 201,
      headers: {
        'content-type': 'application/json',
        'my-custom-header': 'Custom Value',
        'set-cookie': ['Cookie_1=Value1; Expires=21 Oct 2021 07:48 GMT', 'Cookie_2=Value2; Max-Age=78000'],
      },
      body: '{ "message": "Hello, world!" }',
    });
  });

  it('apigw-response.json (1.0): headers and multiValueHeaders merged, a pair given in both sent once', () => {
    const sample = loadSample('apigw-response.json');
    const res = apigwV1.toResponse(sample);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('Hello World');
    // API Gateway's default when the function sets none.
    expect(res.headers).toEqual({ ...lowerKeys(sample.headers), 'content-type': 'application/json' });
  });

  const albSample = loadSample('alb-lambda-target-response.json');
  it('alb-lambda-target-response.json, multi-value headers off: `headers` only', () => {
    expect(alb.toResponse(albSample)).toEqual({
      statusCode: 200,
      statusMessage: 'OK',
      headers: { 'set-cookie': 'cookies', 'content-type': 'application/json' },
      body: 'Hello from Lambda',
    });
  });

  it('alb-lambda-target-response.json, multi-value headers on: `multiValueHeaders` only', () => {
    expect(alb.toResponse(albSample, { multiValueHeaders: true })).toEqual({
      statusCode: 200,
      statusMessage: 'OK',
      headers: {
        'set-cookie': [
          'cookie-name=cookie-value;Domain=myweb.com;Secure;HttpOnly',
          'cookie-name=cookie-value;Expires=May 8, 2019',
        ],
        'content-type': 'application/json',
      },
      body: 'Hello from Lambda',
    });
  });
});
