import { describe, expect, it } from 'vitest';
import { cleanEnv, spawnCaptured } from '../helpers/process.js';

describe('justfn --help', () => {
  // `start` takes a fast path past the command-line bundle; --help must not become its handler string.
  it.each(['start', 'invoke', 'emulate', 'check', 'manifests', 'layer'])(
    'justfn %s --help prints the usage and exits 0',
    async (command) => {
      const run = spawnCaptured(['node', 'bin/justfn.cjs', command, '--help'], cleanEnv({}));
      expect(await run.exited).toBe(0);
      expect(run.stdout()).toMatch(/^justfn \S+: one Lambda handler/);
      expect(run.stdout()).toContain(`justfn ${command} `);
      expect(run.stderr()).toBe('');
    },
  );
});

describe('justfn [handler]', () => {
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const spawned = spawnCaptured(['node', 'bin/justfn.cjs', ...args], cleanEnv({ PORT: '0', ...env }));
    return { code: await spawned.exited, stderr: spawned.stderr() };
  };

  it.each(['start', 'invoke', 'check'])(
    'justfn %s examples/helo: no such directory, exit 2',
    async (command) => {
      expect(await run([command, 'examples/helo'])).toEqual({
        code: 2,
        stderr: expect.stringContaining(
          'examples/helo: no such directory, and not a handler string (file.export, e.g. index.handler)\n',
        ),
      });
    },
  );

  // A second argument is a mistake (a handler and a directory, a stray word): nothing is served.
  const oneHandler = ': name one handler or directory\n';
  it.each([
    [
      ['start', 'examples/hello', 'index.handler'],
      `justfn: start: unexpected argument 'index.handler'${oneHandler}`,
    ],
    [['invoke', 'examples/hello', 'extra'], `justfn: unexpected argument 'extra'${oneHandler}`],
    [['check', 'examples/hello', 'extra'], `justfn: unexpected argument 'extra'${oneHandler}`],
    [['emulate', 'examples/hello', 'extra'], `justfn: unexpected argument 'extra'${oneHandler}`],
    [
      ['manifests', 'examples/hello', 'extra', '--target', 'knative'],
      "justfn: manifests: unexpected argument 'extra': name one directory or justfn.yaml\n",
    ],
  ])('justfn %j: one handler or directory only, exit 2', async (args, stderr) => {
    expect(await run(args)).toEqual({ code: 2, stderr });
  });

  it('justfn start --bogus is an unknown option, not a handler', async () => {
    expect(await run(['start', '--bogus'])).toEqual({
      code: 2,
      stderr: "justfn: start: unknown option '--bogus'\n",
    });
  });

  it.each([
    [
      ['start', 'examples/hello'],
      'AWS_LAMBDA_FUNCTION_MEMORY_SIZE="lots": expected a whole number from 128 to 10240',
    ],
    [
      ['invoke', 'examples/hello'],
      'AWS_LAMBDA_FUNCTION_MEMORY_SIZE="lots": expected a whole number from 128 to 10240',
    ],
  ])('a variable that does not parse: one line naming it, exit 2 (justfn %s)', async (args, message) => {
    expect(await run(args, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: 'lots' })).toEqual({
      code: 2,
      stderr: `justfn: ${message}\n`,
    });
  });

  it('justfn invoke --event naming no file: one line, exit 2 (1 is a function error)', async () => {
    expect(await run(['invoke', 'examples/hello', '--event', 'nope.json'])).toEqual({
      code: 2,
      stderr: 'justfn: --event nope.json: cannot be read (ENOENT)\n',
    });
  });

  it('justfn emulate --port abc names the flag, exit 2', async () => {
    expect(await run(['emulate', 'examples/hello', '--port', 'abc'])).toEqual({
      code: 2,
      stderr: 'justfn: --port="abc": expected a whole number from 0 to 65535\n',
    });
  });
});
