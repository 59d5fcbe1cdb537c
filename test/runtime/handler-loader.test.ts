import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JustfnError } from '../../runtime/errors.js';
import { describeHandler, loadHandler } from '../../runtime/handler-loader.js';
import { streamifyResponse } from '../../runtime/streaming.js';
import { nativeImport } from '../helpers/native-import.js';
import { handlers } from '../helpers/process.js';

const load = (handler: string, taskRoot = handlers) =>
  loadHandler(handler, { taskRoot, importModule: nativeImport });

describe('loadHandler: resolution as AWS does it', () => {
  it.each([
    ['cjs/index.handler', 'cjs'],
    ['esm-mjs/index.handler', 'mjs'],
    ['esm-type-module/index.handler', 'type-module'],
    ['cjs-ext/index.handler', 'cjs-ext'],
    ['nested/lib/app.api.v1.handler', 'nested'],
    ['tla/index.handler', 'tla'],
  ])('%s loads (%s)', async (handlerString, format) => {
    const loaded = await load(handlerString);
    expect(loaded.kind).toBe('promise');
    expect(loaded.name).toBe(handlerString);
    await expect(loaded.fn({ n: 1 })).resolves.toMatchObject({ format });
  });

  it('waits for top-level await before the handler exists', async () => {
    const loaded = await load('tla/index.handler');
    await expect(loaded.fn({})).resolves.toEqual({ format: 'tla', config: { loaded: true } });
  });

  it('falls back to package lookup from the task root', async () => {
    const loaded = await load('greeter.handler', path.join(handlers, 'package-fallback'));
    await expect(loaded.fn({})).resolves.toEqual({ format: 'package' });
  });
});

describe('loadHandler: the Runtime.* errors, with AWS messages', () => {
  const failure = async (handler: string) => {
    const error = await load(handler).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(JustfnError);
    return error as JustfnError;
  };

  it('rejects .. in the handler string', async () => {
    const error = await failure('../secrets/index.handler');
    expect(error.name).toBe('Runtime.MalformedHandlerName');
    expect(error.message).toBe(
      "'../secrets/index.handler' is not a valid handler name. Use absolute paths when specifying root directories in handler names.",
    );
  });

  it('rejects a handler string without a dot', async () => {
    const error = await failure('cjs/index');
    expect([error.name, error.message]).toEqual(['Runtime.MalformedHandlerName', 'Bad handler']);
  });

  it('reports a syntax error in user code', async () => {
    const error = await failure('syntax-error/index.handler');
    expect(error.name).toBe('Runtime.UserCodeSyntaxError');
    expect(error.message).toMatch(/^SyntaxError: /);
  });

  it('reports a module the user code requires but that is missing', async () => {
    const error = await failure('missing-module/index.handler');
    expect(error.name).toBe('Runtime.ImportModuleError');
    expect(error.message).toMatch(/^Error: Cannot find module 'this-module-does-not-exist'/);
  });

  it('reports a handler module that does not exist', async () => {
    const error = await failure('nowhere/index.handler');
    expect(error.name).toBe('Runtime.ImportModuleError');
    expect(error.message).toMatch(/Cannot find module 'index'/);
  });

  it('says so when the missing handler module is there as TypeScript', async () => {
    const error = await failure('typescript/index.handler');
    expect(error.name).toBe('Runtime.ImportModuleError');
    expect(error.message.split('\n')[0]).toBe(
      "Error: Cannot find module 'index' (index.ts is TypeScript: compile it to .js or .mjs first, as for Lambda)",
    );
  });

  it('reports a missing export', async () => {
    const error = await failure('cjs/index.nope');
    expect([error.name, error.message]).toEqual([
      'Runtime.HandlerNotFound',
      'cjs/index.nope is undefined or not exported',
    ]);
  });

  it('reports an export that is not a function', async () => {
    const error = await failure('not-function/index.handler');
    expect([error.name, error.message]).toEqual([
      'Runtime.HandlerNotFound',
      'not-function/index.handler is not a function',
    ]);
  });
});

describe('describeHandler: the kind decides how the loop calls it', () => {
  it('a function of three parameters is callback style', () => {
    expect(describeHandler((_e: unknown, _c: unknown, _cb: unknown) => undefined, 'x.y').kind).toBe(
      'callback',
    );
  });

  it('streamifyResponse marks streaming, with its highWaterMark', () => {
    const fn = streamifyResponse(async () => {}, { highWaterMark: 1024 });
    expect(describeHandler(fn as (...args: unknown[]) => unknown, 'x.y')).toMatchObject({
      kind: 'streaming',
      highWaterMark: 1024,
    });
  });

  it('a foreign streaming marker is a malformed streaming handler', () => {
    const fn = Object.assign(async () => {}, {
      [Symbol.for('aws.lambda.runtime.handler.streaming')]: 'request',
    });
    expect(() => describeHandler(fn, 'x.y')).toThrow('Only response streaming is supported.');
  });
});
