import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { manifestTargets } from '../../../adapters/manifests.js';
import { readServiceShape } from '../../../adapters/service-shape.js';
import { loadServiceConfig } from '../../../runtime/config/load.js';
import { cleanEnv, repoRoot } from '../../helpers/process.js';
import { tempDir } from '../../helpers/temp.js';
import { services, writeService } from './services.js';

const run = promisify(execFile);
const cli = path.join(repoRoot, 'bin', 'justfn.cjs');

/** `justfn manifests ...` as a user runs it; resolves with the exit code and both outputs. */
async function manifests(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, 'manifests', ...args], {
      env: cleanEnv(env),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const examples = readdirSync(path.join(repoRoot, 'examples'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(path.join(repoRoot, 'examples', d.name, 'justfn.yaml')))
  .map((d) => d.name);
/** A function that serves gRPC has no Lambda description: Lambda cannot serve it. */
const servesGrpc = (name: string) =>
  /^grpc:/m.test(readFileSync(path.join(repoRoot, 'examples', name, 'justfn.yaml'), 'utf8'));

describe('justfn manifests', () => {
  it.each(
    examples.flatMap((name) =>
      manifestTargets.filter((t) => t !== 'lambda' || !servesGrpc(name)).map((target) => [name, target]),
    ),
  )('examples/%s --target %s: validates, and writes the same bytes every time', async (name, target) => {
    const dir = path.join(repoRoot, 'examples', name);
    const out = tempDir('out');
    const first = await manifests([dir, '--target', target, '-o', out]);
    expect(first.stderr).toMatch(/justfn manifests: wrote /);
    expect(first.code).toBe(0);
    const [file] = readdirSync(out);
    expect(file).toBe(
      { knative: 'knative.yaml', kubernetes: 'kubernetes.yaml', lambda: 'template.yaml' }[target],
    );
    const again = tempDir('out');
    await manifests([dir, '--target', target, '-o', again]);
    expect(readFileSync(path.join(again, file!), 'utf8')).toBe(readFileSync(path.join(out, file!), 'utf8'));
  });

  it.each(examples.filter(servesGrpc))('examples/%s --target lambda: refused, saying why', async (name) => {
    const refused = await manifests([path.join(repoRoot, 'examples', name), '--target', 'lambda']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('grpc: Lambda is request/response and cannot serve gRPC');
  });

  it('never prints a value read from a variable or a secret file: it reads none', async () => {
    const file = writeService(services.users);
    writeFileSync(path.join(path.dirname(file), 'secrets', 'partner-token'), 'TOKEN-FROM-FILE-7f3a\n');
    const values = {
      DATABASE_PASSWORD: 'PASSWORD-VALUE-91c2',
      BILLING_ORIGIN: 'http://BILLING-VALUE-44d1.example',
      AUTH_TIMEOUT: '987654',
    };
    for (const target of manifestTargets) {
      const withValues = await manifests(
        [file, '--target', target, '--image', 'registry.example.com/u:1'],
        values,
      );
      const without = await manifests([file, '--target', target, '--image', 'registry.example.com/u:1']);
      if (target === 'lambda') {
        expect(withValues.code).toBe(1);
        // biome-ignore lint/suspicious/noTemplateCurlyInString: justfn.yaml's own syntax.
        expect(withValues.stderr).toContain('${file:secrets/partner-token}: Lambda has no secret files');
      } else {
        expect(withValues.code).toBe(0);
        expect(withValues.stdout).toContain('DATABASE_PASSWORD');
      }
      expect(withValues.stdout).toBe(without.stdout);
      for (const value of [...Object.values(values), 'TOKEN-FROM-FILE', 'BILLING-VALUE']) {
        expect(withValues.stdout + withValues.stderr).not.toContain(value);
      }
    }
  });

  it('writes nothing when a description is wrong, and says why', async () => {
    const file = writeService(
      'name: clash\nhttp: { port: 9091 }\ndeploy: { image: registry.example.com/c:1 }\n',
    );
    const out = tempDir('out');
    const result = await manifests([file, '--target', 'knative', '-o', out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "justfn manifests --target knative: Service clash: containers[0].ports: 9091 is reserved by Knative's queue-proxy\n",
    );
    expect(readdirSync(out)).toEqual([]);
  });

  // biome-ignore-start lint/suspicious/noTemplateCurlyInString: justfn.yaml substitutions, as users write them
  it('secret files: one file by two spellings is one key; a key shared with a variable, a directory, a mount over the function or /proc refused', async () => {
    const service = (origins: string) =>
      writeService(`name: files\nresources:\n${origins}deploy: { image: registry.example.com/f:1 }\n`);
    const http = (name: string, origin: string) => `  ${name}: { kind: http, origin: "${origin}" }\n`;
    const same = await manifests([
      service(http('a', '${file:secrets/token}') + http('b', '${file:./secrets/token}')),
      '--target',
      'kubernetes',
    ]);
    expect(same.code).toBe(0);
    expect(same.stdout.match(/subPath: token/g)).toHaveLength(1);
    for (const target of ['knative', 'kubernetes']) {
      const refused = await manifests([
        service(
          http('a', '${TOKEN}') +
            http('b', '${file:secrets/TOKEN}') +
            http('c', '${file:secrets/}') +
            http('d', '${file:.}') +
            http('e', '${file:/proc/self/environ}'),
        ),
        '--target',
        target,
      ]);
      expect(refused.code).toBe(1);
      const prefix = `justfn manifests --target ${target}: `;
      expect(refused.stderr.split('\n')).toEqual([
        `${prefix}\${file:secrets/TOKEN} and \${TOKEN} share the Secret key TOKEN`,
        `${prefix}\${file:secrets/}: names a directory; a Secret file is a file`,
        `${prefix}\${file:.}: mounted at /var/task, it would hide the function's directory (/var/task); name a file beside justfn.yaml or elsewhere`,
        `${prefix}\${file:/proc/self/environ}: mounted at /proc/self/environ, it would hide what the kernel serves there; name a file beside justfn.yaml or elsewhere`,
        '',
      ]);
    }
  });
  // biome-ignore-end lint/suspicious/noTemplateCurlyInString: justfn.yaml substitutions

  it('refuses what the platform would: the metrics port as http.port, min-scale over max-scale', async () => {
    for (const target of ['knative', 'kubernetes']) {
      const port = writeService(
        'name: metrics\nhttp: { port: 9464 }\ndeploy: { image: registry.example.com/m:1 }\n',
      );
      const result = await manifests([port, '--target', target]);
      expect([result.code, result.stderr]).toEqual([
        1,
        `justfn manifests --target ${target}: http.port: 9464 is the metrics port (JUSTFN_METRICS_PORT); pick another\n`,
      ]);
    }
    const scale = writeService(
      'name: scale\ndeploy: { image: registry.example.com/s:1, knative: { minScale: 5, maxScale: 2 } }\n',
    );
    const result = await manifests([scale, '--target', 'knative']);
    expect([result.code, result.stderr]).toEqual([
      1,
      `${scale}: deploy.knative.minScale: must not exceed deploy.knative.maxScale (2), got 5\n`,
    ]);
    const unlimited = writeService(
      'name: scale\ndeploy: { image: registry.example.com/s:1, knative: { minScale: 5, maxScale: 0 } }\n',
    );
    expect((await manifests([unlimited, '--target', 'knative'])).code).toBe(0);
    // A name Kubernetes takes, but whose revisions (<name>-00001) it would not: Knative's, not Kubernetes'.
    const name = `n${'a'.repeat(57)}`;
    const long = writeService(`name: ${name}\ndeploy: { image: registry.example.com/n:1 }\n`);
    const refused = await manifests([long, '--target', 'knative']);
    expect([refused.code, refused.stderr]).toEqual([
      1,
      `justfn manifests --target knative: Service ${name}: the name has 58 characters; Knative names its revisions ${name}-00001, which may have 63, so at most 57\n`,
    ]);
    expect((await manifests([long, '--target', 'kubernetes'])).code).toBe(0);
    const fits = writeService(`name: ${name.slice(1)}\ndeploy: { image: registry.example.com/n:1 }\n`);
    expect((await manifests([fits, '--target', 'knative'])).code).toBe(0);
  });

  it("warns, and still writes, past the limits Knative's defaults set and a cluster may raise", async () => {
    const long = writeService(
      'name: long\ntimeout: 3600\nconcurrency: 5000\ndeploy: { image: registry.example.com/l:1 }\n',
    );
    const result = await manifests([long, '--target', 'knative']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/timeoutSeconds: 3600\n/);
    const raise = 'the cluster refuses the Service unless its config-defaults ConfigMap raises it';
    expect(result.stderr.split('\n')).toEqual([
      `justfn manifests --target knative: warning: timeout: 3600 s is over Knative's default max-revision-timeout-seconds (600); ${raise}`,
      `justfn manifests --target knative: warning: concurrency: 5000 is over Knative's default container-concurrency-max-limit (1000); ${raise}`,
      '',
    ]);
    // Kubernetes has no such limits; at Knative's own maxima nothing is said.
    expect((await manifests([long, '--target', 'kubernetes'])).stderr).toBe('');
    const edge = writeService(
      'name: edge\ntimeout: 600\nconcurrency: 1000\ndeploy: { image: registry.example.com/e:1 }\n',
    );
    expect(await manifests([edge, '--target', 'knative'])).toMatchObject({ code: 0, stderr: '' });
  });

  it('-o naming a file, not a directory: one line, no stack', async () => {
    const file = writeService('name: out\ndeploy: { image: registry.example.com/o:1 }\n');
    const result = await manifests([file, '--target', 'knative', '-o', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^justfn: manifests: EEXIST: file already exists, mkdir '.*justfn\.yaml'\n$/,
    );
  });

  it('-o where no directory can be made (under /proc): one line, not a process spinning for ever', async () => {
    const file = writeService('name: out\ndeploy: { image: registry.example.com/o:1 }\n');
    const result = await manifests([file, '--target', 'knative', '-o', '/proc/justfn-nope/deploy']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "justfn: manifests: ENOENT: no such file or directory, mkdir '/proc/justfn-nope'\n",
    );
  });

  it('a setting the manifests need may not come from a variable; --image stands in for deploy.image', async () => {
    const yaml = `name: dyn\ntimeout: \${TIMEOUT:-30}\ndeploy: { image: "registry.example.com/dyn:\${VERSION}" }\n`;
    const file = writeService(yaml);
    const result = await manifests([file, '--target', 'kubernetes']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `${file}: timeout: manifests are made without reading variables or secret files: write this value in the file`,
      `${file}: deploy.image: manifests are made without reading variables or secret files: write this value in the file (or pass --image)`,
    ]);
    expect(() => readServiceShape(file, { image: 'registry.example.com/dyn:2' })).toThrow(
      /timeout: manifests/,
    );
    // A bad --image is the flag's problem, not the file's.
    const flagged = await manifests([
      file,
      '--target',
      'kubernetes',
      '--image',
      'Registry.example.com/Dyn:2',
    ]);
    expect(flagged.stderr).toContain('\n--image: expected an image reference');
    expect(flagged.stderr).not.toContain(`${file}: deploy.image`);
  });

  it('reports justfn.yaml problems as the runtime does, and a bad --target as a usage error', async () => {
    const file = writeService('name: Bad\nunknown: 1\n');
    const result = await manifests([file, '--target', 'knative']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}: name: expected a DNS label`);
    expect(result.stderr).toContain(`${file}: unknown: unknown key`);
    const usage = await manifests([file, '--target', 'nomad']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--target must be one of knative, kubernetes, lambda');
    const mistyped = await manifests([file, '--taget', 'knative']);
    expect(mistyped.code).toBe(2);
    expect(mistyped.stderr).toMatch(/^justfn: manifests: Unknown option '--taget'/);
    expect(mistyped.stderr).toContain('Usage:');
    expect(mistyped.stderr).not.toMatch(/\n\s+at /);
    const help = await manifests(['--help']);
    expect([help.code, help.stdout]).toEqual([
      0,
      expect.stringContaining('justfn manifests [dir] --target knative|kubernetes|lambda'),
    ]);
  });

  it('reads a substitution as the runtime reads it: a nested one is refused here too, with the same line', () => {
    const file = writeService(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: justfn.yaml's own ${...} syntax
      'name: a\nresources:\n  one: { kind: http, origin: "${A:-${B}}" }\ndeploy: { image: registry.example.com/a:1 }\n',
    );
    const runtimeLine = `${file}: resources.one.origin: "\${A:-\${B}": substitutions do not nest; use \${VAR}, \${VAR:-default} or \${file:PATH}, and $\${ for a literal \${`;
    expect(() => loadServiceConfig(file, { A: 'http://a' })).toThrow(runtimeLine);
    expect(() => readServiceShape(file)).toThrow(runtimeLine);
  });

  it('lists what the file reads, by name only, optional when every use has a default', () => {
    const shape = readServiceShape(writeService(services.users));
    expect(shape.variables).toEqual([
      { name: 'DATABASE_PASSWORD', optional: false },
      { name: 'BILLING_ORIGIN', optional: true },
      { name: 'AUTH_TIMEOUT', optional: true },
    ]);
    expect(shape.files).toEqual(['secrets/partner-token']);
    expect(shape.config).not.toHaveProperty('resources');
  });
});
