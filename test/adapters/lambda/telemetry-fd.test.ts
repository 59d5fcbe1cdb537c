import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeRuntimeApi } from '../../helpers/fake-runtime-api.js';
import { cleanEnv, handlers, repoRoot, runtimeCommand } from '../../helpers/process.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** The frames read from a telemetry fd: type | length | microseconds | body (`lambda-log.ts`). */
function frames(bytes: Buffer) {
  const found: { type: number; body: string }[] = [];
  for (let at = 0; at + 16 <= bytes.length; ) {
    const length = bytes.readUInt32BE(at + 4);
    found.push({ type: bytes.readUInt32BE(at), body: bytes.subarray(at + 16, at + 16 + length).toString() });
    at += 16 + length;
  }
  return found;
}

describe('Lambda mode: _LAMBDA_TELEMETRY_LOG_FD', () => {
  it("the function's log lines go to the fd as frames, not to stdout; the variable is not the function's", async () => {
    const fake = await startFakeRuntimeApi({ invocations: [{ event: {}, requestId: 'fd-1' }] });
    cleanup.push(() => fake.close());
    const child = spawn(runtimeCommand[0], {
      cwd: repoRoot,
      env: cleanEnv({
        AWS_LAMBDA_RUNTIME_API: fake.address,
        LAMBDA_TASK_ROOT: handlers,
        _HANDLER: 'kinds/index.telemetryFd',
        _LAMBDA_TELEMETRY_LOG_FD: '3',
      }),
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    cleanup.push(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
      return exited;
    });
    const telemetry: Buffer[] = [];
    let stdout = '';
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => telemetry.push(chunk));
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });

    const post = await fake.waitFor((r) => r.method === 'POST' && r.path.endsWith('/fd-1/response'));
    expect(post.body.toString()).toBe('{"fd":"unset"}');
    // The line was written (synchronously) before the handler returned, so before its answer was posted.
    await expect
      .poll(() => frames(Buffer.concat(telemetry)))
      .toContainEqual({
        type: (0xa55a0003 | 0b01100) >>> 0, // Text, INFO
        body: expect.stringMatching(/\tfd-1\tINFO\tto the fd\n$/),
      });
    expect(stdout).not.toContain('to the fd');
  });
});
