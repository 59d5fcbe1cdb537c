import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/process.js';
import { envPairs, execForm, type Instruction, parseDockerfile, runParts } from './dockerfile.js';

const dockerfile = parseDockerfile(readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8'));
const last = Math.max(...dockerfile.map((i) => i.stage));
const final = dockerfile.filter((i) => i.stage === last);
const only = (instructions: Instruction[], keyword: string) =>
  instructions.filter((i) => i.keyword === keyword);
// The final stage's RUN that installs justfn: the one with the build stage's package mounted.
const install = runParts(only(final, 'RUN').find((i) => i.args.includes('--mount='))!.args);

describe('Dockerfile: the base image contract', () => {
  it('builds in one stage and runs from a second, on an official Node 22 slim image', () => {
    const froms = only(dockerfile, 'FROM');
    expect(froms).toHaveLength(2);
    expect(froms[0]!.args).toMatch(/\bAS build$/);
    expect(froms[1]!.args).toMatch(/^node:22(\.\d+)*(-[a-z]+)?-slim$/);
  });

  it('runs the bootstrap with index.handler by default, from /var/task, with Lambda and Knative variables', () => {
    expect(execForm(only(final, 'ENTRYPOINT').at(-1)!.args)).toEqual(['/opt/justfn/bootstrap/bootstrap']);
    expect(execForm(only(final, 'CMD').at(-1)!.args)).toEqual(['index.handler']);
    expect(only(final, 'WORKDIR').at(-1)!.args).toBe('/var/task');
    const env = Object.assign({}, ...only(final, 'ENV').map((i) => envPairs(i.args)));
    expect(env).toMatchObject({ LAMBDA_TASK_ROOT: '/var/task', PORT: '8080' });
    expect(only(final, 'EXPOSE').map((i) => i.args)).toEqual(['8080']);
  });

  it('runs as a numeric non-root user, set after every step that needs root', () => {
    const user = only(final, 'USER').at(-1)!;
    const [uid, gid] = user.args.split(':');
    expect(Number(uid)).toBeGreaterThan(0);
    expect(Number(gid ?? uid)).toBeGreaterThan(0);
    const runs = final.filter((i) => i.keyword === 'RUN');
    expect(final.indexOf(user)).toBeGreaterThan(final.indexOf(runs.at(-1)!));
  });

  it("installs tini, the bootstrap's init as PID 1, from Debian, leaving no package lists behind", () => {
    const system = only(final, 'RUN').find((i) => i.args.startsWith('apt-get'))!;
    expect(system.args).toMatch(
      /apt-get install -y --no-install-recommends tini\s+&& rm -rf \/var\/lib\/apt\/lists\/\*$/,
    );
    expect(final.indexOf(system)).toBeLessThan(final.indexOf(only(final, 'USER').at(-1)!));
  });

  it('ships no node_modules and no build tools: the final stage takes only the packed runtime', () => {
    expect(only(final, 'COPY')).toEqual([]);
    const { mounts, command } = install;
    expect(mounts.map((m) => m.from ?? 'context')).toEqual(['build', 'context']);
    expect(command).not.toMatch(/npm (ci|install)|node_modules/);
    expect(command).toMatch(/rm -rf [^;]*"\$dest\/dist\/cli\.cjs"/);
  });

  it("writes the code caches and node-flags in the final stage, with that image's own Node", () => {
    expect(install.command).toMatch(
      /rm -f "\$dest\/dist\/"\*\.cache;.*node \/tmp\/warm\.cjs "\$dest\/dist" lambda;.*http[^;]*;.*splits;.*grpc[^;]*;.*flags;/,
    );
    const build = dockerfile.filter((i) => i.stage === 0 && i.keyword === 'RUN').map((i) => i.args);
    expect(build.join('\n')).toMatch(/npm ci --ignore-scripts/);
    expect(build.join('\n')).toMatch(/npm pack --ignore-scripts/);
  });
});

describe('examples/*/Dockerfile: a function image is FROM justfn, COPY, CMD', () => {
  const examples = readdirSync(path.join(repoRoot, 'examples')).filter((name) =>
    existsSync(path.join(repoRoot, 'examples', name, 'Dockerfile')),
  );

  it('has one for the smallest example at least', () => {
    expect(examples).toContain('hello');
  });

  it.each(examples)('examples/%s', (name) => {
    const instructions = parseDockerfile(
      readFileSync(path.join(repoRoot, 'examples', name, 'Dockerfile'), 'utf8'),
    );
    const keywords = instructions.map((i) => i.keyword).join(' ');
    expect(keywords).toMatch(/^FROM( COPY)+ CMD$/);
    expect(instructions[0]!.args).toBe('justfn');
    // Every source of every COPY exists, and together they hold justfn.yaml and the handler's module.
    const sources = instructions
      .filter((i) => i.keyword === 'COPY')
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
      .map((source) => source.replace(/\/$/, ''));
    for (const source of sources)
      expect(existsSync(path.join(repoRoot, 'examples', name, source))).toBe(true);
    const handler = execForm(instructions.at(-1)!.args)?.[0] ?? '';
    const module = handler.slice(0, handler.lastIndexOf('.'));
    expect(
      sources.some(
        (s) => s === '.' || module === s || module.startsWith(`${s}/`) || s.startsWith(`${module}.`),
      ),
    ).toBe(true);
    expect(sources.some((s) => s === '.' || s === 'justfn.yaml')).toBe(true);
  });
});
