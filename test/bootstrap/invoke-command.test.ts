import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cleanEnv, handlers, spawnCaptured } from '../helpers/process.js';

// `justfn invoke`: one invocation, the result (or the error payload) on stdout, the log on stderr, and
// the exit code a script can test.
async function invoke(handler: string, env: Record<string, string> = {}) {
  const run = spawnCaptured(
    ['node', 'bin/justfn.cjs', 'invoke', handler],
    cleanEnv({ LAMBDA_TASK_ROOT: handlers, ...env }),
  );
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

describe('justfn invoke', () => {
  it('prints the result and exits 0; the log, console.fatal and console.dir included, goes to stderr', async () => {
    expect(await invoke('kinds/index.echo')).toMatchObject({ code: 0, stdout: '{}\n' });
    const fatal = await invoke('kinds/index.fatalLine');
    expect([fatal.code, fatal.stdout]).toEqual([0, '"logged"\n']);
    expect(fatal.stderr).toMatch(/\t[0-9a-f-]{36}\tFATAL\tfatal line\n/);
    expect(fatal.stderr).toContain("{ dir: 'line' }\n");
  });

  it('--event - reads the event from stdin', () => {
    const run = spawnSync(
      process.execPath,
      ['bin/justfn.cjs', 'invoke', 'kinds/index.echo', '--event', '-'],
      {
        input: '{"from":"stdin"}',
        env: cleanEnv({ LAMBDA_TASK_ROOT: handlers }),
      },
    );
    expect([run.status, String(run.stdout)]).toEqual([0, '{"from":"stdin"}\n']);
  });

  it('JUSTFN_TIMEOUT is the deadline: past it, Sandbox.Timedout on stdout and exit 1', async () => {
    const run = await invoke('kinds/index.sleep', { JUSTFN_TIMEOUT: '1' });
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      errorType: 'Sandbox.Timedout',
      errorMessage: 'Task timed out after 1.00 seconds',
    });
  });

  it('a handler that calls process.exit: Runtime.ExitError on stdout, as Lambda answers it, and exit 1', async () => {
    const result = await invoke('kinds/index.exit');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      errorType: 'Runtime.ExitError',
      errorMessage: expect.stringMatching(
        /^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: exit status 3$/,
      ),
    });
    // The log line has the error's fields as AWS's client prints them, none of justfn's bookkeeping.
    const logged = /\tERROR\tInvoke Error \t(\{.*\})$/m.exec(result.stderr)?.[1];
    expect(Object.keys(JSON.parse(logged ?? '{}'))).toEqual(['errorType', 'errorMessage', 'stack']);
  });

  it.each([
    ['kinds/index.throwError', 'RangeError', 'out of range'],
    ['kinds/index.uncaught', 'Error', 'thrown from a timer'],
    ['kinds/index.rejectDuring', 'Runtime.UnhandledPromiseRejection', 'Error: nobody waits for me'],
    [
      'missing-module/index.handler',
      'Runtime.ImportModuleError',
      expect.stringContaining('Cannot find module'),
    ],
  ])('%s: the error payload on stdout, exit 1', async (handler, errorType, errorMessage) => {
    const result = await invoke(handler);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ errorType, errorMessage });
    expect(result.stderr).not.toMatch(/^\s+at .*node:internal/m);
  });

  it('a gRPC function: a usage error that says how to run it instead, exit 2', async () => {
    const run = spawnCaptured(['node', 'bin/justfn.cjs', 'invoke', 'examples/auth'], cleanEnv());
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toBe(
      'justfn: invoke: this is a gRPC function (grpc: auth.v1.Auth in justfn.yaml): its handler answers calls, not events; run it with `justfn start` and call it with a gRPC client\n',
    );
    expect(run.stdout()).toBe('');
  });

  it("reads AWS's variables as Lambda mode does: log format and level, the global awslambda, log group and stream", async () => {
    const plain = await invoke('aws-settings/index.handler');
    expect(JSON.parse(plain.stdout)).toMatchObject({
      awslambda: 'object',
      logGroupName: '/aws/lambda/justfn',
    });
    expect(plain.stderr).toMatch(/\tINFO\tan info line\n/);
    const set = await invoke('aws-settings/index.handler', {
      AWS_LAMBDA_LOG_FORMAT: 'JSON',
      AWS_LAMBDA_LOG_LEVEL: 'ERROR',
      AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA: '1',
      AWS_LAMBDA_LOG_GROUP_NAME: '/custom/group',
      AWS_LAMBDA_LOG_STREAM_NAME: 'stream-1',
    });
    expect(JSON.parse(set.stdout)).toEqual({
      awslambda: 'undefined',
      logGroupName: '/custom/group',
      logStreamName: 'stream-1',
    });
    const lines = set.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((l) => [l.level, l.message])).toEqual([['ERROR', 'an error line']]);
  });

  it('a handler the event loop runs dry under ends there, as on Lambda: null, or Runtime.NodeJsExit for an async one', async () => {
    expect(await invoke('kinds/index.callbackNeverCalled')).toMatchObject({ code: 0, stdout: 'null\n' });
    const async = await invoke('kinds/index.asyncNeverSettles');
    expect(async.code).toBe(1);
    expect(JSON.parse(async.stdout)).toMatchObject({ errorType: 'Runtime.NodeJsExit' });
  });

  it("ES-module syntax in a CommonJS package's .js loads as Node detects it, and not with Lambda's flags", async () => {
    expect(await invoke('esm-in-js/index.handler')).toMatchObject({ code: 0, stdout: '"esm in .js"\n' });
    const asOnLambda = await invoke('esm-in-js/index.handler', {
      NODE_OPTIONS: '--no-experimental-detect-module --no-experimental-require-module',
    });
    expect(asOnLambda.code).toBe(1);
    expect(JSON.parse(asOnLambda.stdout)).toMatchObject({
      errorType: 'Runtime.UserCodeSyntaxError',
      errorMessage: "SyntaxError: Unexpected token 'export'",
    });
  });
});
