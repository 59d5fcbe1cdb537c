import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { type HttpRuntime, startHttpRuntime } from '../../helpers/http-runtime.js';
import { loadSample, lowerKeys } from './samples.js';

// The same samples as aws-samples.test.ts, over real sockets: what the server hands the format is the
// request as the client sent it, and what the format answers reaches the client as AWS would send it.

const runtimes: HttpRuntime[] = [];
afterAll(() => Promise.all(runtimes.map((r) => r.stop())));
const serve = async (handler: string, event = 'apigw-v2', env: Record<string, string> = {}) => {
  const runtime = await startHttpRuntime(`http/index.${handler}`, { JUSTFN_HTTP_EVENT: event, ...env });
  runtimes.push(runtime);
  return runtime;
};

describe('2.0 request samples over the wire', () => {
  it.each([
    'apigw-v2-request-no-authorizer.json',
    'apigw-v2-request-iam.json',
    'apigw-v2-request-jwt-authorizer.json',
    'apigw-v2-request-lambda-authorizer.json',
  ])('%s arrives as the sample', async (file) => {
    const runtime = await serve('echoEvent');
    const sample = loadSample(file);
    const http = sample.requestContext.http;
    const body = sample.body
      ? Buffer.from(sample.body, sample.isBase64Encoded ? 'base64' : 'utf8')
      : undefined;
    const headers: Record<string, string> = {
      ...sample.headers,
      host: sample.requestContext.domainName,
      'user-agent': http.userAgent,
    };
    if (sample.cookies) headers.cookie = sample.cookies.join('; ');
    const url = `${runtime.url}${sample.rawPath}${sample.rawQueryString ? `?${sample.rawQueryString}` : ''}`;
    const response = await request(url, { method: http.method, headers, body });
    const event = JSON.parse(await response.body.text());
    expect({
      rawPath: event.rawPath,
      rawQueryString: event.rawQueryString,
      queryStringParameters: event.queryStringParameters,
      cookies: event.cookies,
      body: event.body,
      isBase64Encoded: event.isBase64Encoded,
      method: event.requestContext.http.method,
      path: event.requestContext.http.path,
      domainName: event.requestContext.domainName,
    }).toEqual({
      rawPath: sample.rawPath,
      rawQueryString: sample.rawQueryString,
      queryStringParameters: sample.queryStringParameters,
      cookies: sample.cookies,
      body: sample.body,
      isBase64Encoded: sample.isBase64Encoded,
      method: http.method,
      path: http.path,
      domainName: sample.requestContext.domainName,
    });
    // content-length: 0 on a GET without a body is not sent again by the client; the rest arrives as sent.
    const { 'content-length': _length, ...sent } = lowerKeys(sample.headers);
    expect(event.headers).toMatchObject(sent);
    expect(event.requestContext).not.toHaveProperty('authorizer');
  });
});

describe('response samples reach the client as AWS sends them', () => {
  const fetchSample = async (runtime: HttpRuntime, file: string) => {
    const response = await request(`${runtime.url}/`, { headers: { 'x-sample': file } });
    return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
  };

  it('lambda-urls-response.json (2.0): status, headers, one Set-Cookie per cookie', async () => {
    const reply = await fetchSample(await serve('returnSample'), 'lambda-urls-response.json');
    expect(reply.status).toBe(201);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.headers['my-custom-header']).toBe('Custom Value');
    expect(reply.headers['set-cookie']).toEqual([
      'Cookie_1=Value1; Expires=21 Oct 2021 07:48 GMT',
      'Cookie_2=Value2; Max-Age=78000',
    ]);
    expect(reply.text).toBe('{ "message": "Hello, world!" }');
  });

  it('apigw-response.json (1.0): headers and multiValueHeaders merged', async () => {
    const sample = loadSample('apigw-response.json');
    const reply = await fetchSample(await serve('returnSample', 'apigw-v1'), 'apigw-response.json');
    expect(reply.status).toBe(sample.statusCode);
    expect(reply.headers['cloudfront-viewer-country']).toBe('US');
    expect(reply.text).toBe(sample.body);
  });

  it('alb-lambda-target-response.json (ALB, multi-value): every Set-Cookie line', async () => {
    const runtime = await serve('returnSample', 'alb', { JUSTFN_ALB_MULTI_VALUE: '1' });
    const reply = await fetchSample(runtime, 'alb-lambda-target-response.json');
    expect(reply.status).toBe(200);
    expect(reply.headers['set-cookie']).toEqual([
      'cookie-name=cookie-value;Domain=myweb.com;Secure;HttpOnly',
      'cookie-name=cookie-value;Expires=May 8, 2019',
    ]);
    expect(reply.text).toBe('Hello from Lambda');
  });
});
