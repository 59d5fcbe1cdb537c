import { describe, expect, it } from 'vitest';
import { readOptions } from '../../bootstrap/options.js';
import { createServingQueue } from '../../bootstrap/serving.js';
import { describeHandler } from '../../runtime/handler-loader.js';
import { createMetricsRecorder } from '../../runtime/metrics-recorder.js';
import { createConcurrentScope } from '../../runtime/scope.js';

describe('the serving queue', () => {
  it('says when every slot comes to be held by a handler running past its deadline, and when no longer', async () => {
    const changes: boolean[] = [];
    // Ignores its signal: runs until the test lets it return, whatever its 50 ms deadline says.
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handler = describeHandler(async () => {
      await released;
      return 'late';
    }, 'overrun');
    const source = createServingQueue(
      readOptions({ JUSTFN_CONCURRENCY: '1', JUSTFN_QUEUE: '0' }),
      {
        handler,
        functionInfo: {
          functionName: 'f',
          functionVersion: '$LATEST',
          memoryLimitInMB: '128',
          logGroupName: 'g',
          logStreamName: 's',
        },
        scope: createConcurrentScope(),
      },
      createMetricsRecorder(),
      { onStuck: (stuck) => changes.push(stuck) },
    );
    const answers: boolean[] = [];
    source.submit({
      event: {},
      info: { requestId: 'r1', deadlineMs: Date.now() + 50, invokedFunctionArn: 'arn' },
      respond: (outcome) => void answers.push(outcome.ok),
    });
    await expect.poll(() => [answers, changes, source.stuck()]).toEqual([[false], [true], true]);
    release();
    await expect.poll(() => [changes, source.stuck(), source.running()]).toEqual([[true, false], false, 0]);
  });
});
