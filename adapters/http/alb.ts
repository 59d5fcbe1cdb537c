// Application Load Balancer, Lambda target. Rules from
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html
// ("Receive events from the load balancer", "Respond to the load balancer", "Multi-value headers").
import type { AlbEvent } from './event-types.js';
import { forEachQueryPair, isTextBody, setOwn, splitUrl, walkHeaders } from './formats-shared.js';
import type { HttpEventFormat, HttpRequest, HttpResponse } from './request.js';
import { PLACEHOLDERS } from './request-context.js';
import {
  addHeaders,
  addMultiValueHeaders,
  assertFieldText,
  isRecord,
  malformed,
  type ResponseHeaders,
  readBody,
  readStatusCode,
} from './results-shared.js';

/**
 * The target group's settings.
 *
 * @example
 * const options: AlbOptions = { multiValueHeaders: true };
 */
export interface AlbOptions {
  /** The target group's `lambda.multi_value_headers.enabled`; default false. */
  multiValueHeaders?: boolean;
  targetGroupArn?: string;
}

function toEvent(req: HttpRequest, options: AlbOptions = {}): AlbEvent {
  const multi = options.multiValueHeaders === true;
  const { path, query } = splitUrl(req.url);
  // Lower-case names. Without multi-value headers "the load balancer uses the last value sent by the
  // client"; with them, every value in order.
  const headers: Record<string, string | string[]> = {};
  const facts = walkHeaders(req.rawHeaders, (_name, lower, value) => collect(headers, lower, value, multi));
  // "If the query parameters are URL-encoded, the load balancer does not decode them": keys and values
  // stay exactly as sent, '+' included.
  const parameters: Record<string, string | string[]> = {};
  forEachQueryPair(query, false, (key, value) => collect(parameters, key, value, multi));
  const base64 = req.body.length > 0 && !isTextBody(req.body, facts.contentType, facts.contentEncoding);
  const event = {
    requestContext: { elb: { targetGroupArn: options.targetGroupArn ?? PLACEHOLDERS.targetGroupArn } },
    httpMethod: req.method,
    path,
  } as AlbEvent;
  if (multi) {
    event.multiValueQueryStringParameters = parameters as Record<string, string[]>;
    event.multiValueHeaders = headers as Record<string, string[]>;
  } else {
    event.queryStringParameters = parameters as Record<string, string>;
    event.headers = headers as Record<string, string>;
  }
  // ALB always sends `body`, "" when there is none.
  event.body = req.body.toString(base64 ? 'base64' : 'utf8');
  event.isBase64Encoded = base64;
  return event;
}

function collect(into: Record<string, string | string[]>, key: string, value: string, multi: boolean) {
  if (!multi) return setOwn(into, key, value);
  const values = into[key];
  if (Array.isArray(values)) values.push(value);
  else setOwn(into, key, [value]);
}

function toResponse(result: unknown, options: AlbOptions = {}): HttpResponse {
  if (!isRecord(result)) {
    throw malformed('the result must be an object with statusCode, headers and body (ALB format)');
  }
  const statusCode = readStatusCode(result.statusCode);
  // "You must use multiValueHeaders if you have enabled multi-value headers and headers otherwise": the
  // other field is ignored, as ALB ignores it.
  const headers: ResponseHeaders = {};
  if (options.multiValueHeaders === true)
    addMultiValueHeaders(headers, result.multiValueHeaders, 'multiValueHeaders');
  else addHeaders(headers, result.headers, 'headers');
  const body = readBody(result.body, result.isBase64Encoded);
  const response: HttpResponse = { statusCode, headers, body };
  const statusMessage = toStatusMessage(result.statusDescription, statusCode);
  if (statusMessage !== undefined) response.statusMessage = statusMessage;
  return response;
}

// `statusDescription` is the whole status text, "200 OK": the reason phrase is what follows the code.
function toStatusMessage(description: unknown, statusCode: number): string | undefined {
  if (description === undefined || description === null) return undefined;
  if (typeof description !== 'string') throw malformed('statusDescription must be a string');
  assertFieldText(description, 'statusDescription');
  const prefix = `${statusCode} `;
  const phrase = description.startsWith(prefix) ? description.slice(prefix.length) : description;
  return phrase === '' ? undefined : phrase;
}

/**
 * The ALB processor: `toEvent` builds a Lambda-target event (single- or multi-value fields by the
 * `multiValueHeaders` option), `toResponse` reads the matching header field and `statusDescription`.
 *
 * @example
 * const event = alb.toEvent(req, { multiValueHeaders: true });
 * const res = alb.toResponse({ statusCode: 200, statusDescription: '200 OK', headers: {}, body: 'hi' });
 */
export const alb: HttpEventFormat<AlbEvent, AlbOptions> = { toEvent, toResponse };
