// `npm run bench`: prepares (bench dependencies, justfn's build), runs the suites, writes
// bench/results/latest.md and latest.json and prints the tables.
//
//   node bench/run.mjs [suite ...] [--quick] [--start-rounds N] [--load-rounds N] [--slices N] [--slice-ms N]
//                      [--warmup-ms N] [--idle-ms N] [--check]
//
// --check exits 1 when justfn misses a target; by default a finished run exits 0 whatever it measured.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureBenchDeps, ensureBuild, snapshotDist } from './lib/prereqs.mjs';
import { summarise, toMarkdown } from './lib/report.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(benchDir);

// Each suite is a module exporting `suite` ({ name, title, subject, baseline, metrics, comparisons, run }).
const SUITES = {
  lambda: () => import('./lambda.mjs'),
};

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    'start-rounds': { type: 'string' },
    'load-rounds': { type: 'string' },
    slices: { type: 'string' },
    'slice-ms': { type: 'string' },
    'warmup-ms': { type: 'string' },
    'idle-ms': { type: 'string' },
    check: { type: 'boolean', default: false },
  },
});

const number = (value, fallback) => (value === undefined ? fallback : Number(value));
const options = {
  startRounds: number(flags['start-rounds'], flags.quick ? 5 : 20),
  loadRounds: number(flags['load-rounds'], flags.quick ? 2 : 4),
  slices: number(flags.slices, flags.quick ? 2 : 3),
  sliceMs: number(flags['slice-ms'], flags.quick ? 500 : 1000),
  warmupMs: number(flags['warmup-ms'], flags.quick ? 500 : 1000),
  // V8 shrinks a grown heap only some seconds after the load stops (its memory reducer), so idle RSS is read
  // after a long idle spell; all runtimes idle at once, so this costs the wall time once per load round.
  idleMs: number(flags['idle-ms'], flags.quick ? 5000 : 20_000),
};

const log = (line) => process.stderr.write(`${line}\n`);

async function main() {
  const names = positionals.length > 0 ? positionals : Object.keys(SUITES);
  const unknown = names.filter((name) => !SUITES[name]);
  if (unknown.length > 0)
    throw new Error(`unknown suite ${unknown.join(', ')}; known: ${Object.keys(SUITES).join(', ')}`);
  if (os.platform() !== 'linux') throw new Error('the bench reads /proc: it runs on Linux only');

  ensureBenchDeps(benchDir, log);
  ensureBuild(root, log);
  const dist = snapshotDist(root);
  process.once('exit', dist.remove);
  const context = { ...options, justfnMain: dist.main };

  const machine = describeMachine();
  log(`machine: ${machine.cpu} × ${machine.cores}, Node ${machine.node}, load ${machine.loadavg}`);
  if (os.loadavg()[0] > 0.5) {
    log(
      'note: other processes are busy on this machine; figures will be noisier (see "other processes (% CPU)")',
    );
  }
  const summaries = [];
  for (const name of names) {
    const { suite } = await SUITES[name]();
    log(`\n# ${suite.title}`);
    summaries.push(summarise(suite, await suite.run(context, log)));
  }

  const markdown = [
    '# justfn benchmark results',
    '',
    `${machine.date} · justfn ${machine.commit} · Node ${machine.node} · ${machine.cpu} × ${machine.cores} cores · ` +
      `load average at start ${machine.loadavg}`,
    '',
    ...(flags.quick
      ? ['**Quick run** (`--quick`): fewer and shorter rounds, for trying things, not for quoting.', '']
      : []),
    ...summaries.map(toMarkdown),
  ].join('\n');
  const results = path.join(benchDir, 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(path.join(results, 'latest.md'), markdown);
  writeFileSync(
    path.join(results, 'latest.json'),
    `${JSON.stringify({ machine, options, summaries }, null, 2)}\n`,
  );
  process.stdout.write(`\n${markdown}\n`);
  log(`written: ${path.relative(process.cwd(), path.join(results, 'latest.md'))} and latest.json`);
  if (flags.check && !summaries.every((s) => s.pass)) process.exitCode = 1;
}

function describeMachine() {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync(
      'git',
      ['-C', root, 'status', '--porcelain', '--', 'runtime', 'adapters', 'bootstrap'],
      {
        encoding: 'utf8',
      },
    );
    if (dirty.trim()) commit += '+changes';
  } catch {}
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit,
    node: process.versions.node,
    cpu: os.cpus()[0]?.model ?? 'unknown CPU',
    cores: os.cpus().length,
    loadavg: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}

main().catch((error) => {
  log(`\nbench failed: ${error.message}`);
  process.exit(1);
});
