import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { JustfnError } from '../../runtime/errors.js';
import { loadHandler } from '../../runtime/handler-loader.js';
import { startFakeRuntimeApi } from '../helpers/fake-runtime-api.js';
import { nativeImport } from '../helpers/native-import.js';
import { cleanEnv, handlers, runtimeCommand, spawnCaptured } from '../helpers/process.js';
import { family, runs } from './hostile.js';
import { reliabilityFixtures } from './soak.js';

// Issue 6, point 4: path traversal and odd characters in handler strings (_HANDLER, the command line,
// `handler:` in justfn.yaml). The handler string is configuration, not caller input, but a broken one
// must still end in one of AWS's Runtime.* init errors naming it — never another exception, never a
// module loaded from outside the task root through `..`. docs/security.md says what is trusted.

const loadErrors = ['MALFORMED_HANDLER_NAME', 'IMPORT_MODULE', 'HANDLER_NOT_FOUND', 'USER_CODE_SYNTAX'];
const pieces = [
  '..',
  '.',
  '/',
  '//',
  '%2e',
  '%2e%2e',
  '%2f',
  '\\',
  '\0',
  '~',
  ' ',
  '\n',
  '\t',
  'é',
  '😀',
  '\uD800',
  '*',
  '?',
  '$',
  '{',
  '}',
  ':',
  'node:',
  'faults',
  'index',
  'count',
  'db',
  'etc',
  'passwd',
  '__proto__',
  'constructor',
  'prototype',
  'then',
  'mjs',
  'cjs',
  'x'.repeat(300),
];
const handlerString = fc.oneof(
  fc.array(fc.constantFrom(...pieces), { maxLength: 10 }).map((parts) => parts.join('')),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc
    .tuple(
      fc.constantFrom('', '../', '../../', 'faults/../../', '/'),
      fc.constantFrom('faults/index.count', 'index.handler', 'etc/passwd.x'),
    )
    .map(([a, b]) => a + b),
);

describe('handler strings, in-process: a Runtime.* error or a function, nothing else', () => {
  const tried = family('handler strings (loader, property)');
  it('any string', async () => {
    await fc.assert(
      fc.asyncProperty(handlerString, async (text) => {
        tried.tried();
        const outcome = await loadHandler(text, {
          taskRoot: reliabilityFixtures,
          importModule: nativeImport,
        }).then(
          (loaded) => loaded,
          (error: unknown) => error,
        );
        if (outcome instanceof Error) {
          expect(outcome, String(outcome)).toBeInstanceOf(JustfnError);
          expect(loadErrors).toContain((outcome as JustfnError).code);
          if (text.includes('..')) expect((outcome as JustfnError).code).toBe('MALFORMED_HANDLER_NAME');
        } else {
          expect(text).not.toContain('..');
          expect(typeof (outcome as { fn: unknown }).fn).toBe('function');
        }
      }),
      { numRuns: runs(300) },
    );
  });
});

describe('handler strings through the real process', () => {
  const tried = family('handler strings (process, table)');
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  const cases: [string, string, RegExp][] = [
    [
      '../etc/passwd.x',
      'Runtime.MalformedHandlerName',
      /^'\.\.\/etc\/passwd\.x' is not a valid handler name/,
    ],
    ['kinds/../../../etc/passwd.root', 'Runtime.MalformedHandlerName', /is not a valid handler name/],
    ['kinds/index..echo', 'Runtime.MalformedHandlerName', /is not a valid handler name/],
    ['index', 'Runtime.MalformedHandlerName', /^Bad handler$/],
    ['/nonexistent/dir/index.handler', 'Runtime.ImportModuleError', /Cannot find module 'index'/],
    ['kinds/ind%65x.echo', 'Runtime.ImportModuleError', /Cannot find module 'ind%65x'/],
    ['kinds/índex.echo', 'Runtime.ImportModuleError', /Cannot find module 'índex'/],
    [`kinds/${'long'.repeat(1000)}.echo`, 'Runtime.ImportModuleError', /Cannot find module 'long/],
    ['kinds/index.', 'Runtime.HandlerNotFound', /^kinds\/index\. is undefined or not exported$/],
    ['kinds/index.echo ', 'Runtime.HandlerNotFound', /is undefined or not exported$/],
    ['kinds/index.echo.nested.deeper', 'Runtime.HandlerNotFound', /is undefined or not exported$/],
    ['kinds/index.__proto__', 'Runtime.HandlerNotFound', /is undefined or not exported$/],
    ['syntax-error/index.handler', 'Runtime.UserCodeSyntaxError', /^SyntaxError: /],
  ];

  it.each(cases)('Lambda mode, %j: /init/error %s, exit 129', async (handler, type, message) => {
    tried.tried();
    const fake = await startFakeRuntimeApi();
    cleanup.push(() => fake.close());
    const runtime = spawnCaptured(
      runtimeCommand,
      cleanEnv({ AWS_LAMBDA_RUNTIME_API: fake.address, LAMBDA_TASK_ROOT: handlers, _HANDLER: handler }),
    );
    cleanup.push(() => runtime.kill());
    expect(await runtime.exited).toBe(129);
    const posted = fake.requests.filter((r) => r.path.endsWith('/init/error'));
    expect(posted).toHaveLength(1);
    expect(posted[0]!.headers['lambda-runtime-function-error-type']).toBe(type);
    expect(JSON.parse(posted[0]!.body.toString())).toMatchObject({
      errorType: type,
      errorMessage: expect.stringMatching(message),
    });
    expect(runtime.stderr()).toBe('');
    expect(fake.requests.some((r) => r.path.endsWith('/next'))).toBe(false);
  });

  it.each(cases.slice(0, 6))(
    'HTTP mode, %j: one fatal line naming %s, exit 1, nothing served',
    async (handler, type) => {
      tried.tried();
      const runtime = spawnCaptured(
        runtimeCommand,
        cleanEnv({ PORT: '0', JUSTFN_METRICS_PORT: '0', LAMBDA_TASK_ROOT: handlers, _HANDLER: handler }),
      );
      cleanup.push(() => runtime.kill());
      expect(await runtime.exited).toBe(1);
      const lines = runtime
        .stdout()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 'fatal',
        msg: 'Init Error: the handler cannot be loaded',
        handler,
      });
      expect((lines[0]!.err as { type: string }).type).toMatch(
        new RegExp(`^(${type.replace('.', '\\.')}|JustfnError)$`),
      );
      expect(runtime.stderr()).toBe('');
    },
  );
});
