import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator } from '../../adapters/emulator/emulator.js';
import { runtimeFiles } from '../../adapters/lambda/layer.js';
import { CACHED_SPLITS } from '../../bootstrap/load-bundle.js';
import { cleanEnv, repoRoot, type Spawned, spawnCaptured } from '../helpers/process.js';
import { envPairs, execForm, parseDockerfile, runParts } from './dockerfile.js';

// The Dockerfile's own steps, run here with the image's paths moved under a temporary root: what `npm
// pack` publishes, unpacked and pruned into opt/justfn with code caches written, the example copied into
// var/task. Then that tree serves real requests, as `docker run` would, and runs under the emulator, as
// Lambda would — with no node_modules anywhere above it.
const dockerfile = parseDockerfile(readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8'));
const finalStage = Math.max(...dockerfile.map((i) => i.stage));
const root = mkdtempSync(path.join(tmpdir(), 'justfn-image-'));
const pkg = path.join(root, '.pkg');
const opt = path.join(root, 'opt', 'justfn');
const task = path.join(root, 'var', 'task');

/** The image's absolute paths, moved under `root`; the build stage's outputs and the context's files, mounted. */
function relocate(command: string, mounts: ReturnType<typeof runParts>['mounts']): string {
  let out = command;
  for (const mount of mounts) {
    const host = mount.from === 'build' ? pkg : path.join(repoRoot, mount.source);
    out = out.replaceAll(mount.target, host);
  }
  return out.replaceAll('/opt/justfn', opt).replaceAll('/var/task', task).replaceAll('/tmp/pkg', pkg);
}

function sh(command: string, cwd: string, env: Record<string, string> = {}): void {
  execFileSync('sh', ['-c', command], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
}

// Docker hands a build's proxy settings to every RUN; the code-cache warm-up talks to loopback servers,
// which no proxy must be asked for (grpc-js honours these variables). A port nothing listens on.
const buildProxy = {
  http_proxy: 'http://127.0.0.1:9',
  https_proxy: 'http://127.0.0.1:9',
  grpc_proxy: 'http://127.0.0.1:9',
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(() => {
  mkdirSync(pkg, { recursive: true });
  // Build stage: the test setup has built dist/ as `node scripts/build.mjs --bundles-only` does; the rest
  // of that step (npm pack) runs as written.
  const build = dockerfile.filter((i) => i.stage === 0 && i.keyword === 'RUN' && i.args.includes('npm pack'));
  expect(build).toHaveLength(1);
  const steps = build[0]!.args.split('&&').map((s) => s.trim());
  expect(steps[0]).toBe('node scripts/build.mjs --bundles-only');
  sh(relocate(steps.slice(1).join(' && '), []), repoRoot);
  for (const run of dockerfile.filter((i) => i.stage === finalStage && i.keyword === 'RUN')) {
    const { mounts, command } = runParts(run.args);
    // The image's system packages (tini) are the host's to have: .ci/run installs them as the image does.
    if (command.startsWith('apt-get')) continue;
    sh(relocate(command, mounts), root, buildProxy);
  }
  // examples/hello/Dockerfile: COPY <files> ./ into the WORKDIR.
  const example = parseDockerfile(readFileSync(path.join(repoRoot, 'examples/hello/Dockerfile'), 'utf8'));
  const copy = example.find((i) => i.keyword === 'COPY')!.args.split(/\s+/);
  for (const file of copy.slice(0, -1))
    cpSync(path.join(repoRoot, 'examples/hello', file), path.join(task, file));
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the image installed into a directory, as the Dockerfile does it', () => {
  it('holds the runtime bundles with fresh code caches, and nothing else of the package', () => {
    const dist = readdirSync(path.join(opt, 'dist')).sort();
    // What the layer ships too (adapters/lambda/layer.ts), with the three modes' and the split bundles' caches written here.
    const runtime = runtimeFiles(path.join(repoRoot, 'dist'));
    const caches = ['http.cjs', 'lambda.cjs', 'grpc.cjs', ...CACHED_SPLITS].map(
      (bundle) => `${bundle}.cache`,
    );
    expect(dist).toEqual([...runtime, ...caches].sort());
    expect(runtime).toEqual(expect.arrayContaining(['main.cjs', 'lambda.cjs', 'http.cjs']));
    expect(runtime).not.toContain('cli.cjs');
    expect(existsSync(path.join(opt, 'bin'))).toBe(false);
    expect(existsSync(path.join(opt, 'node_modules'))).toBe(false);
    // Node resolves packages by walking up from the bundle: nothing to find there either.
    for (let dir = opt; dir !== path.dirname(dir); dir = path.dirname(dir)) {
      expect(existsSync(path.join(dir, 'node_modules'))).toBe(false);
    }
    // Every bundle a runtime bundle requires by path is there.
    for (const file of dist.filter((f) => f.endsWith('.cjs'))) {
      const source = readFileSync(path.join(opt, 'dist', file), 'utf8');
      for (const [, required] of source.matchAll(/(?:require\("\.\/|__dirname, ")([\w.-]+\.cjs)"\)/g))
        expect(dist).toContain(required);
    }
  });

  it("writes code caches this Node accepts; the modes' hold their start and first requests compiled, the kinds' their opening (behind a build proxy too)", () => {
    // The way bootstrap/load-bundle.ts compiles a bundle with its cache; a cache of the top level alone for
    // comparison, written the same way from a copy with no cache to read.
    const check = `
      const fs = require('node:fs'); const { Script } = require('node:vm');
      const [file, bare] = process.argv.slice(1);
      const source = fs.readFileSync(file, 'utf8');
      const wrapper = '(function (exports, require, module, __filename, __dirname) {' + source + '\\n})';
      const script = new Script(wrapper, { filename: file, cachedData: fs.readFileSync(file + '.cache') });
      const top = new Script(wrapper, { filename: bare });
      const module = { exports: {} };
      top.runInThisContext()(module.exports, require('node:module').createRequire(file), module, file, '.');
      process.stdout.write(JSON.stringify([script.cachedDataRejected, fs.statSync(file + '.cache').size, top.createCachedData().length]));`;
    const verdict = (bundle: string) =>
      JSON.parse(
        execFileSync(process.execPath, ['-e', check, path.join(opt, 'dist', bundle), 'bare.cjs'], {
          env: cleanEnv(),
        }).toString(),
      ) as [boolean, number, number];
    for (const bundle of [
      'http.cjs',
      'grpc.cjs',
      'resources.cjs',
      'resource-grpc.cjs',
      'resource-http.cjs',
    ]) {
      const [rejected, warmed, topLevel] = verdict(bundle);
      console.info(`${bundle}.cache: ${warmed} bytes; its top level alone: ${topLevel}`);
      expect(rejected, bundle).toBe(false);
      expect(warmed, bundle).toBeGreaterThan(topLevel * 1.3);
    }
    expect(verdict('lambda.cjs')[0]).toBe(false);
  });

  it("writes bootstrap/node-flags: the options of the image's Node that justfn uses, none on Node 20, then Lambda's NODE_PATH", () => {
    const frame = '--experimental-async-context-frame';
    const expected = process.allowedNodeEnvironmentFlags.has(frame) ? frame : '';
    const major = process.versions.node.split('.')[0];
    expect(readFileSync(path.join(opt, 'bootstrap', 'node-flags'), 'utf8')).toBe(
      `${expected}\n/opt/nodejs/node${major}/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task\n`,
    );
  });

  describe('docker run: HTTP mode', () => {
    let server: Spawned;
    let base: string;

    beforeAll(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      const env = Object.assign(
        {},
        ...dockerfile
          .filter((i) => i.stage === finalStage && i.keyword === 'ENV')
          .map((i) => envPairs(i.args)),
      );
      const cmd = execForm(dockerfile.filter((i) => i.keyword === 'CMD').at(-1)!.args) ?? [];
      const entrypoint = execForm(dockerfile.filter((i) => i.keyword === 'ENTRYPOINT').at(-1)!.args) ?? [];
      server = spawnCaptured(
        [...entrypoint.map((p) => relocate(p, [])), ...cmd],
        cleanEnv({ ...env, LAMBDA_TASK_ROOT: task, PORT: String(port), JUSTFN_METRICS_PORT: '0' }),
        task,
      );
      await server.waitForOutput(/listening|Server listening|"port"/i, 15_000);
    }, 30_000);

    afterAll(async () => {
      await server.kill('SIGTERM');
    });

    it('answers a plain request as the example does, with the request id', async () => {
      const response = await request(`${base}/hello?name=image`);
      const body = (await response.body.json()) as { greeting: string; requestId: string };
      expect(response.statusCode).toBe(200);
      expect(body.greeting).toBe('hello, image');
      expect(response.headers['x-request-id']).toBe(body.requestId);
    });

    it('is ready, and answers a CloudEvent with a CloudEvent', async () => {
      expect((await request(`${base}/_/health/ready`)).statusCode).toBe(200);
      const response = await request(`${base}/`, {
        method: 'POST',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': '1',
          'ce-source': '/test',
          'ce-type': 'greet',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ name: 'knative' }),
      });
      expect(response.statusCode).toBe(200);
      expect(response.headers['ce-type']).toBe('greet.response');
      expect(await response.body.json()).toEqual({ greeting: 'hello, knative' });
    });

    it('logs as the image name says, from the installed bundles', () => {
      expect(server.stderr() + server.stdout()).toContain('hello from hello');
    });
  });

  describe("docker run without --init: the bootstrap as the container's PID 1", () => {
    // A PID namespace of its own, as a container has (a user namespace too when not root); /proc mounted
    // anew, so that the function sees the container's processes only.
    const unshare = [
      execFileSync('sh', ['-c', 'command -v unshare']).toString().trim(),
      ...(process.getuid?.() === 0 ? [] : ['--user', '--map-root-user']),
      '--pid',
      '--fork',
      '--mount-proc',
      // The namespace goes with unshare: a test that fails before its SIGTERM kills unshare alone (which
      // ignores SIGTERM), and would leave the bootstrap's Node serving, its PID 1 reparented to the host's.
      '--kill-child',
    ];
    // A function that leaves an orphan behind (a shell that exits before its background job), and one
    // that lists the container's processes.
    const functionDir = path.join(root, 'pid1');
    mkdirSync(functionDir, { recursive: true });
    writeFileSync(
      path.join(functionDir, 'index.js'),
      `const { execFileSync } = require('node:child_process');
      const { readdirSync, readFileSync } = require('node:fs');
      exports.handler = async (event) => {
        if (event.rawPath === '/orphan') execFileSync('/bin/sh', ['-c', '/bin/sleep 0.05 & exit 0']);
        return readdirSync('/proc').filter((name) => /^\\d+$/.test(name)).map((pid) => {
          const stat = readFileSync('/proc/' + pid + '/stat', 'utf8');
          return { pid: Number(pid), name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), state: stat.slice(stat.lastIndexOf(')') + 2)[0] };
        });
      };`,
    );
    type Process = { pid: number; name: string; state: string };

    async function startAsPid1(env: Record<string, string>) {
      const port = await freePort();
      const server = spawnCaptured(
        [...unshare, path.join(opt, 'bootstrap', 'bootstrap'), 'index.handler'],
        cleanEnv({ LAMBDA_TASK_ROOT: functionDir, PORT: String(port), JUSTFN_METRICS_PORT: '0', ...env }),
        functionDir,
      );
      await server.waitForOutput('justfn is serving', 15_000);
      const processes = async (route = '/') =>
        (await (await request(`http://127.0.0.1:${port}${route}`)).body.json()) as Process[];
      // The namespace's PID 1, as the host sees it: unshare's only child.
      const pid1 = readdirSync('/proc')
        .filter((name) => /^\d+$/.test(name))
        .find((pid) => {
          try {
            const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
            return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(server.child.pid);
          } catch {
            return false; // gone since the listing
          }
        });
      return { server, processes, pid1 };
    }

    // The image installs tini from Debian, and so does .ci/run on the CI machine; a machine without it
    // runs the test below only.
    const tini = spawnSync('sh', ['-c', 'command -v tini']).status === 0;

    it.skipIf(!tini)(
      'with tini on PATH (the image installs it; apt-get install tini here): orphans are reaped, and SIGTERM still drains',
      async () => {
        const { server, processes, pid1 } = await startAsPid1({});
        try {
          expect((await processes()).find((p) => p.pid === 1)?.name).toBe('tini');
          for (let i = 0; i < 3; i++) await processes('/orphan');
          let zombies: Process[] = [];
          for (let tries = 0; tries < 100; tries++) {
            await new Promise((resolve) => setTimeout(resolve, 50));
            zombies = (await processes()).filter((p) => p.state === 'Z' || p.name === 'sleep');
            if (zombies.length === 0) break;
          }
          expect(zombies).toEqual([]);
          process.kill(Number(pid1), 'SIGTERM');
          expect(await server.exited).toBe(0);
          expect(server.stdout() + server.stderr()).toMatch(/drained: exiting/);
          expect(server.stderr()).not.toContain('without tini');
        } finally {
          await server.kill();
        }
      },
    );

    // An AWS_LAMBDA_EXEC_WRAPPER ends with `exec "$@"`: it replaced the bootstrap as PID 1, and nothing reaped.
    it.skipIf(!tini)(
      'in Lambda mode through an AWS_LAMBDA_EXEC_WRAPPER: tini in front of the wrapper',
      async () => {
        let output = '';
        const emulator = await startEmulator({
          handler: 'index.handler',
          taskRoot: functionDir,
          command: [...unshare, path.join(opt, 'bootstrap', 'bootstrap')],
          env: cleanEnv({
            LAMBDA_TASK_ROOT: functionDir,
            AWS_LAMBDA_EXEC_WRAPPER: path.join(repoRoot, 'test', 'fixtures', 'exec-wrapper', 'wrapper'),
          }),
          port: 0,
          output: { stdout: (c) => (output += c), stderr: (c) => (output += c) },
        });
        try {
          const response = await request(emulator.invokeUrl, { method: 'POST', body: '{}' });
          const processes = (await response.body.json()) as Process[];
          expect(processes.find((p) => p.pid === 1)?.name, output).toBe('tini');
          expect(processes.map((p) => p.name)).toContain('node');
        } finally {
          await emulator.close();
        }
      },
    );

    it('without tini: says that orphans will not be reaped, and serves and drains all the same', async () => {
      // PATH with Node alone on it.
      const bin = path.join(root, 'node-only');
      mkdirSync(bin, { recursive: true });
      symlinkSync(process.execPath, path.join(bin, 'node'));
      const { server, processes, pid1 } = await startAsPid1({ PATH: bin });
      try {
        expect(server.stderr()).toContain(
          'justfn bootstrap: running as PID 1 without tini: orphaned child processes will not be reaped',
        );
        expect((await processes()).find((p) => p.pid === 1)?.name).toBe('node');
        process.kill(Number(pid1), 'SIGTERM');
        expect(await server.exited).toBe(0);
        expect(server.stdout() + server.stderr()).toMatch(/drained: exiting/);
      } finally {
        await server.kill();
      }
    });
  });

  it('Lambda: serves invocations from the emulator through the installed bootstrap', async () => {
    let output = '';
    const emulator = await startEmulator({
      handler: 'index.handler',
      taskRoot: task,
      command: [path.join(opt, 'bootstrap', 'bootstrap')],
      env: cleanEnv({ LAMBDA_TASK_ROOT: task }),
      port: 0,
      output: { stdout: (c) => (output += c), stderr: (c) => (output += c) },
    });
    try {
      const response = await request(emulator.invokeUrl, { method: 'POST', body: '{"name":"lambda"}' });
      const result = (await response.body.json()) as { statusCode: number; body: string };
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(result.body).greeting).toBe('hello, lambda');
      expect(output).toContain('hello from');
    } finally {
      await emulator.close();
    }
  }, 30_000);
});
