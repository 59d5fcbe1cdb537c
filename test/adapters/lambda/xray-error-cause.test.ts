import { describe, expect, it } from 'vitest';
import { MAX_ERROR_CAUSE_BYTES, toXRayErrorCause } from '../../../adapters/lambda/xray-error-cause.js';

const parsed = (thrown: unknown) => JSON.parse(toXRayErrorCause(thrown, '/var/task')!);
const withStack = (stack: string) => Object.assign(new Error('m'), { stack });

describe('the X-Ray error cause', () => {
  it('reads each kind of V8 frame into {path, line, label}', () => {
    const cause = parsed(
      withStack(
        [
          'Error: first line',
          'second line of the message, at nothing',
          '    at handler (/var/task/index.js:3:9)',
          '    at /var/task/lib/db.js:10:2',
          '    at async Promise.all (index 0)',
          '    at run (file:///var/task/app.mjs:7:1)',
          '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
        ].join('\n'),
      ),
    );
    expect(cause.exceptions[0].stack).toEqual([
      { path: '/var/task/index.js', line: 3, label: 'handler' },
      { path: '/var/task/lib/db.js', line: 10, label: 'anonymous' },
      { path: 'index 0', label: 'async Promise.all' },
      { path: '/var/task/app.mjs', line: 7, label: 'run' },
      { path: 'node:internal/process/task_queues', line: 95, label: 'process.processTicksAndRejections' },
    ]);
    expect(cause.paths).toEqual([
      '/var/task/index.js',
      '/var/task/lib/db.js',
      'index 0',
      '/var/task/app.mjs',
      'node:internal/process/task_queues',
    ]);
  });

  it('names each path once, in the order the frames first name it', () => {
    const cause = parsed(withStack('E: m\n    at a (/x.js:1:1)\n    at b (/y.js:2:1)\n    at c (/x.js:3:1)'));
    expect(cause.paths).toEqual(['/x.js', '/y.js']);
  });

  it('escapes DEL and non-ASCII, and parses back to them', () => {
    const cause = toXRayErrorCause(Object.assign(new Error('a\x7fb ü 😀'), { name: 'Fehler' }), '/var/täsk')!;
    expect(cause).toMatch(/^[\x20-\x7e]+$/);
    expect(JSON.parse(cause)).toMatchObject({
      working_directory: '/var/täsk',
      exceptions: [{ type: 'Fehler', message: 'a\x7fb ü 😀' }],
    });
  });

  it('has no cause for a value whose fields throw when read', () => {
    const error = new Error('x');
    Object.defineProperty(error, 'stack', {
      get() {
        throw new Error('no stack');
      },
    });
    expect(toXRayErrorCause(error, '/var/task')).toBeUndefined();
    expect(toXRayErrorCause(null, '/var/task')).toBeUndefined();
  });

  it('over 64 KiB: crops the message first, then drops the outermost frames', () => {
    const frames = Array.from(
      { length: 4000 },
      (_, i) => `    at f${i} (/var/task/module-${i}.js:${i + 1}:1)`,
    );
    const cause = toXRayErrorCause(withStack(['Error: m', ...frames].join('\n')), '/var/task')!;
    expect(cause.length).toBeLessThanOrEqual(MAX_ERROR_CAUSE_BYTES);
    const { exceptions, paths } = JSON.parse(cause);
    expect(exceptions[0].stack[0]).toEqual({ path: '/var/task/module-0.js', line: 1, label: 'f0' });
    expect(exceptions[0].stack.length).toBeLessThan(4000);
    expect(paths).toHaveLength(exceptions[0].stack.length);

    const long = parsed(
      Object.assign(new Error('x'.repeat(200_000)), { stack: 'Error: x\n    at h (/a.js:1:1)' }),
    );
    expect(long.exceptions[0].message).toMatch(/^x+\.\.\.$/);
    expect(long.exceptions[0].stack).toEqual([{ path: '/a.js', line: 1, label: 'h' }]);
  });
});
