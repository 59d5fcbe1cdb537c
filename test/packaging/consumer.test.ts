import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, repoRoot } from '../helpers/process.js';

// A function project that depends on justfn: the tarball `npm pack` publishes, installed offline. The
// bundles carry their libraries, so the install fetches nothing (no fastify, pg or grpc-js copies, no
// engine warnings from their dependencies) and everything a function developer runs still works.
const project = mkdtempSync(path.join(tmpdir(), 'justfn-consumer-'));
let install: string;

function run(command: string, args: string[], input = ''): string {
  return execFileSync(command, args, { cwd: project, env: cleanEnv(), encoding: 'utf8', input });
}

beforeAll(() => {
  run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', project, repoRoot]);
  const tarball = readdirSync(project).find((f) => f.endsWith('.tgz'))!;
  writeFileSync(path.join(project, 'package.json'), '{ "name": "fn", "private": true, "type": "module" }\n');
  cpSync(path.join(repoRoot, 'examples', 'hello'), project, { recursive: true });
  install = execFileSync(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', `./${tarball}`],
    { cwd: project, env: cleanEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
}, 120_000);
afterAll(() => rmSync(project, { recursive: true, force: true }));

describe('npm install justfn, in a function project', () => {
  it('installs justfn alone, with nothing to fetch', () => {
    expect(install).toMatch(/added 1 package/);
    expect(readdirSync(path.join(project, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual([
      'justfn',
    ]);
  });

  it('justfn/testing runs the function in-process', () => {
    const script = `import { invokeHandler } from 'justfn/testing';
import { handler } from './index.mjs';
const outcome = await invokeHandler(handler, { queryStringParameters: { name: 'npm' } });
console.log(JSON.parse(outcome.value.body).greeting);`;
    // The function's own log line first (the context is a test context), then what the script prints.
    expect(run('node', ['--input-type=module', '-e', script]).trim().split('\n').at(-1)).toBe('hello, npm');
  });

  it("require('justfn/testing') and require('justfn') work from CommonJS (Jest, Node before 20.19)", () => {
    const script = `const { invokeHandler } = require('justfn/testing');
const { JustfnError, onShutdown } = require('justfn');
invokeHandler(async (event) => ({ got: event.n }), { n: 7 }).then((outcome) =>
  console.log(JSON.stringify(outcome), typeof JustfnError, typeof onShutdown));`;
    expect(run('node', ['--no-experimental-require-module', '-e', script]).trim()).toBe(
      '{"ok":true,"value":{"got":7}} function function',
    );
  });

  it('justfn/testing starts a local Lambda from the justfn.yaml of the project', () => {
    const script = `import { startLocalLambda } from 'justfn/testing';
const lambda = await startLocalLambda({ taskRoot: '.', output: { stdout() {}, stderr() {} } });
const response = await fetch(lambda.invokeUrl, { method: 'POST', body: '{"queryStringParameters":{"name":"local"}}' });
console.log(JSON.parse((await response.json()).body).greeting);
await lambda.close();`;
    expect(run('node', ['--input-type=module', '-e', script]).trim()).toBe('hello, local');
  });

  it('TypeScript projects compile against the declarations: ESM, CommonJS under node16, a bundler', () => {
    // strict, no skipLibCheck, and none of the optional peers (pg, grpc-js, undici) installed.
    const tsc = (config: object): string => {
      writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(config));
      try {
        return run(process.execPath, [
          path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'),
          '-p',
          '.',
        ]);
      } catch (error) {
        return String((error as { stdout: string }).stdout);
      }
    };
    const source = (load: string) => `${load}
export const handler: Handler<{ name: string }, { greeting: string }> = async (event, context) => {
  onShutdown(() => console.log(context.awsRequestId));
  return { greeting: \`hello, \${event.name}\` };
};
void invokeHandler(handler, { name: 'ts' }).then((outcome) => outcome.ok && outcome.value);
`;
    const imports = `import { type Handler, onShutdown } from 'justfn';
import { invokeHandler } from 'justfn/testing';`;
    writeFileSync(path.join(project, 'esm.mts'), source(imports));
    writeFileSync(path.join(project, 'cjs.cts'), source(imports));
    writeFileSync(path.join(project, 'bundled.ts'), source(imports));
    const compilerOptions = {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
      typeRoots: [path.join(repoRoot, 'node_modules', '@types')],
    };
    // The declarations type the handler: a wrong result is an error in the function's own file, and the
    // only one. Checked beside the ESM and CommonJS files, in the same compile.
    writeFileSync(path.join(project, 'wrong.cts'), source(imports).replace('{ greeting:', '{ greting:'));
    const node16 = { ...compilerOptions, module: 'node16', moduleResolution: 'node16' };
    const node16Output = tsc({ compilerOptions: node16, files: ['esm.mts', 'cjs.cts', 'wrong.cts'] });
    expect(node16Output).toMatch(/^wrong\.cts\(\d+,\d+\): error TS/);
    // A diagnostic's first line names its file; the lines that continue it are indented.
    const erring = node16Output.split('\n').filter((line) => /^\S/.test(line));
    expect(new Set(erring.map((line) => line.split('(')[0]))).toEqual(new Set(['wrong.cts']));
    const bundler = { ...compilerOptions, target: 'es2022', module: 'esnext', moduleResolution: 'bundler' };
    expect(tsc({ compilerOptions: bundler, files: ['bundled.ts'] })).toBe('');
    // Each compile checks @types/node and the declarations without skipLibCheck, some 8 s of CPU: on two
    // cores shared with the rest of the suite (or another suite) the pair has taken a minute.
  }, 120_000);

  it("stack traces name the installed package's files, not where it was built", () => {
    // Lambda mode, as the runtime runs the function: its bundle loads through a code cache where there is one.
    writeFileSync(
      path.join(project, 'boom.mjs'),
      "export const handler = () => { throw new Error('boom'); };\n",
    );
    const script = `import { startLocalLambda } from 'justfn/testing';
const lambda = await startLocalLambda({ taskRoot: '.', handler: 'boom.handler', output: { stdout() {}, stderr() {} } });
const response = await fetch(lambda.invokeUrl, { method: 'POST', body: '{}' });
console.log(JSON.stringify((await response.json()).trace));
await lambda.close();`;
    const trace: string[] = JSON.parse(run('node', ['--input-type=module', '-e', script]));
    const runtimeFrames = trace.filter((line) => line.includes('/dist/'));
    expect(runtimeFrames.join('\n')).toContain('lambda.cjs');
    for (const frame of runtimeFrames)
      expect(frame).toContain(path.join(project, 'node_modules', 'justfn', 'dist'));
  });

  it('npx justfn check and invoke work from the installed package', () => {
    expect(run('npx', ['--offline', 'justfn', 'check', '.'])).toContain('ok');
    const result = run('npx', ['--offline', 'justfn', 'invoke', '.', '--event', '-'], '{"name":"cli"}');
    expect(result).toContain('hello, cli');
  });
});
