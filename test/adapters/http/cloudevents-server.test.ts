import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CloudEvent, emitterFor, HTTP, type Message, Mode } from 'cloudevents';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpRuntime, startHttpRuntime } from '../../helpers/http-runtime.js';

let runtime: HttpRuntime;
beforeAll(async () => {
  runtime = await startHttpRuntime('http/index.cloudEvent');
});
afterAll(() => runtime.stop());

/** The real SDK as the sender; what came back, decoded by the SDK too. */
async function emit(event: CloudEvent<unknown>, mode: Mode, url = runtime.url) {
  let status = 0;
  let reply: CloudEvent<unknown> | undefined;
  const emitter = emitterFor(
    async (message: Message) => {
      const response = await request(url, {
        method: 'POST',
        headers: message.headers as Record<string, string>,
        body: message.body as string,
      });
      status = response.statusCode;
      const body = await response.body.text();
      if (status === 200)
        reply = HTTP.toEvent({
          headers: response.headers as Record<string, string>,
          body,
        }) as CloudEvent<unknown>;
      return { status, body };
    },
    { mode },
  );
  await emitter(event);
  return { status, reply };
}

const incoming = (type: string) =>
  new CloudEvent({
    id: 'evt-1',
    source: '/orders',
    type,
    subject: 'order 7',
    datacontenttype: 'application/json',
    data: { order: 7, note: 'ünïcode & spaces' },
    comexampleextension: 'kept',
  });

describe.each([Mode.BINARY, Mode.STRUCTURED])('CloudEvents in %s mode', (mode) => {
  it('arrive with every attribute, extension and data; a value comes back as a reply event', async () => {
    const event = incoming('order.created');
    const { status, reply } = await emit(event, mode);
    expect(status).toBe(200);
    expect(reply?.type).toBe('order.created.response');
    // The SDK adds `time` when sending; every attribute it sent arrives.
    const { received } = reply!.data as { received: Record<string, unknown> };
    expect(received.time).toBe(event.time);
    expect({ received }).toEqual({
      received: {
        time: event.time,
        specversion: '1.0',
        id: 'evt-1',
        source: '/orders',
        type: 'order.created',
        subject: 'order 7',
        datacontenttype: 'application/json',
        comexampleextension: 'kept',
        data: { order: 7, note: 'ünïcode & spaces' },
      },
    });
  });

  it('a CloudEvent result is the reply as it is; nothing is a 202', async () => {
    const replied = await emit(incoming('reply.event'), mode);
    expect([replied.status, replied.reply?.type, replied.reply?.source, replied.reply?.data]).toEqual([
      200,
      'replied',
      '/replier',
      { got: { order: 7, note: 'ünïcode & spaces' } },
    ]);
    expect((await emit(incoming('reply.none'), mode)).status).toBe(202);
  });

  it('a failing handler is a 500, which a broker retries', async () => {
    expect((await emit(incoming('fail'), mode)).status).toBe(500);
  });

  it("a redelivered event's reply has the same id, so a receiver deduplicating on source and id drops it", async () => {
    const [first, again, other] = await Promise.all([
      emit(incoming('order.created'), mode),
      emit(incoming('order.created'), mode),
      emit(new CloudEvent({ ...incoming('order.created'), id: 'evt-2' }), mode),
    ]);
    expect(first.reply?.id).toBe(again.reply?.id);
    expect(other.reply?.id).not.toBe(first.reply?.id);
    expect(first.reply?.source).toBe(again.reply?.source);
  });
});

describe('CloudEvents edge cases over the wire', () => {
  const post = async (headers: Record<string, string>, body: string) => {
    const response = await request(runtime.url, { method: 'POST', headers, body });
    return { status: response.statusCode, text: await response.body.text() };
  };
  /** A batch of events of these types, ids `<prefix>0`, `<prefix>1`, ... */
  const batchOf = (prefix: string, types: string[]) =>
    types.map((type, n) => ({ specversion: '1.0', id: `${prefix}${n}`, source: '/batch', type }));

  it('a batch runs one invocation per event and answers 202', async () => {
    const events = batchOf('b', ['reply.none', 'reply.none', 'reply.none']);
    const reply = await post(
      { 'content-type': 'application/cloudevents-batch+json' },
      JSON.stringify(events),
    );
    expect(reply.status).toBe(202);
  });

  it('a batch drops replies unbuilt: one no sender could take fails neither the batch nor its other events', async () => {
    const events = batchOf('d', ['reply.none', 'reply.invalid', 'reply.bigint']);
    const batch = await post(
      { 'content-type': 'application/cloudevents-batch+json' },
      JSON.stringify(events),
    );
    expect([batch.status, batch.text]).toEqual([202, '']);
    // Alone, the same event's reply is refused as API Gateway refuses a malformed result.
    const alone = await post({ 'content-type': 'application/cloudevents+json' }, JSON.stringify(events[1]));
    expect(alone.status).toBe(502);
  });

  it("a batch's failure is answered under the failed event's request id, the one on its log lines", async () => {
    const events = batchOf('f', ['reply.none', 'fail', 'reply.none']);
    const response = await request(runtime.url, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(events),
    });
    await response.body.text();
    expect(response.statusCode).toBe(500);
    const requestId = response.headers['x-request-id'];
    const failed = runtime.logs().filter((l) => l.msg === 'Invoke Error' && l.requestId === requestId);
    expect(failed.map((l) => (l.err as { message: string }).message)).toEqual(['cannot handle']);
  });

  it('a missing required attribute is a 400 naming it', async () => {
    const reply = await post(
      { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-type': 't', 'content-type': 'text/plain' },
      'x',
    );
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.text)).toMatchObject({
      errorType: 'CloudEvents.Invalid',
      errorMessage: expect.stringContaining('ce-source'),
    });
  });

  it('an unknown CloudEvents format is a 415', async () => {
    expect((await post({ 'content-type': 'application/cloudevents+avro' }, 'x')).status).toBe(415);
  });
});

describe('reply attributes', () => {
  it('source is urn:justfn:<function name> unless justfn.yaml says otherwise, and so is type', async () => {
    const { reply } = await emit(incoming('order.created'), Mode.BINARY);
    expect([reply?.source, reply?.type]).toEqual(['urn:justfn:justfn', 'order.created.response']);

    const dir = mkdtempSync(path.join(tmpdir(), 'justfn-reply-'));
    const config = path.join(dir, 'justfn.yaml');
    writeFileSync(
      config,
      'name: orders\nhttp:\n  replyType: order.handled\n  replySource: /services/orders\n',
    );
    const configured = await startHttpRuntime('http/index.cloudEvent', { JUSTFN_CONFIG: config });
    try {
      const answer = await emit(incoming('order.created'), Mode.STRUCTURED, configured.url);
      expect([answer.reply?.source, answer.reply?.type]).toEqual(['/services/orders', 'order.handled']);
    } finally {
      await configured.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
