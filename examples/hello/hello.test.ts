import { describe, expect, it } from 'vitest';
import { invokeHandler } from '../../bootstrap/testing.js';
import { handler } from './index.mjs';

describe('examples/hello', () => {
  it('greets an HTTP caller by name', async () => {
    const outcome = await invokeHandler(handler, { queryStringParameters: { name: 'ada' } });
    expect(outcome.ok && JSON.parse((outcome.value as { body: string }).body)).toMatchObject({
      greeting: 'hello, ada',
    });
  });

  it('answers a CloudEvent with the data of its reply', async () => {
    const event = { specversion: '1.0', id: '1', source: '/t', type: 'greet', data: { name: 'knative' } };
    expect(await invokeHandler(handler, event)).toEqual({ ok: true, value: { greeting: 'hello, knative' } });
  });
});
