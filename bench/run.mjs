// `npm run bench`: prepares (bench dependencies, justfn's build), runs the suites, writes
// bench/results/latest.md and latest.json and prints the tables.
//
//   node bench/run.mjs [suite ...] [--suite NAME ...] [--quick] [--entry bootstrap|node] [--start-rounds N]
//                      [--load-rounds N] [--slices N] [--slice-ms N] [--warmup-ms N] [--idle-ms N] [--check]
//
// --check exits 1 when justfn misses a target; by default a finished run exits 0 whatever it measured.
// --entry: how justfn is started, through its bootstrap script as Lambda and containers do (the default) or
// as `node dist/main.cjs`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureBenchDeps, ensureBuild, justfnCommand, snapshotRuntime } from './lib/prereqs.mjs';
import { summarise, toMarkdown } from './lib/report.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(benchDir);

// Each suite is a module exporting `suite` ({ name, title, subject, baseline, metrics, comparisons, run,
// defaults? }); run() returns one result, or `{ parts: [{ spec, result }] }` for a suite with several tables.
const SUITES = {
  lambda: () => import('./lambda.mjs'),
  http: () => import('./http.mjs'),
  resources: () => import('./resources.mjs'),
  grpc: () => import('./grpc.mjs'),
};

const USAGE = `npm run bench [-- options]: justfn side by side with its peers; writes bench/results/latest.md

  node bench/run.mjs [suite ...] [--suite NAME ...] [--quick] [--entry bootstrap|node] [--start-rounds N]
                     [--load-rounds N] [--slices N] [--slice-ms N] [--warmup-ms N] [--idle-ms N] [--check]

  suites: ${Object.keys(SUITES).join(', ')} (all by default)
  --quick     fewer and shorter rounds, to try the bench out (its figures are not worth quoting)
  --entry     start justfn through its bootstrap script (default) or as node dist/main.cjs
  --check     exit 1 when justfn misses a target (by default a finished run exits 0)
  the others  override the rounds and durations of every suite
`;

let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: benchOptions() });
} catch (error) {
  process.stderr.write(`bench: ${error.message}\n\n${USAGE}`);
  process.exit(2);
}
if (parsed.values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const { values: flags, positionals } = parsed;

function benchOptions() {
  return {
    help: { type: 'boolean', short: 'h', default: false },
    suite: { type: 'string', multiple: true },
    quick: { type: 'boolean', default: false },
    entry: { type: 'string', default: 'bootstrap' },
    'start-rounds': { type: 'string' },
    'load-rounds': { type: 'string' },
    slices: { type: 'string' },
    'slice-ms': { type: 'string' },
    'warmup-ms': { type: 'string' },
    'idle-ms': { type: 'string' },
    check: { type: 'boolean', default: false },
  };
}

// Round counts and durations: the defaults below, then a suite's own `defaults` (its rounds cost more or
// less than the Lambda suite's), then the command line, which wins for every suite.
const BASE = {
  full: { startRounds: 20, loadRounds: 4, slices: 3, sliceMs: 1000, warmupMs: 1000, idleMs: 20_000 },
  // V8 shrinks a grown heap only some seconds after the load stops (its memory reducer), so idle RSS is read
  // after a long idle spell; all runtimes idle at once, so this costs the wall time once per load round.
  quick: { startRounds: 5, loadRounds: 2, slices: 2, sliceMs: 500, warmupMs: 500, idleMs: 5000 },
};
const FLAGS = {
  startRounds: 'start-rounds',
  loadRounds: 'load-rounds',
  slices: 'slices',
  sliceMs: 'slice-ms',
  warmupMs: 'warmup-ms',
  idleMs: 'idle-ms',
};
const mode = flags.quick ? 'quick' : 'full';

function optionsFor(suite) {
  const options = { ...BASE[mode], ...suite.defaults?.[mode] };
  for (const [key, flag] of Object.entries(FLAGS)) {
    if (flags[flag] !== undefined) options[key] = Number(flags[flag]);
  }
  return options;
}

const log = (line) => process.stderr.write(`${line}\n`);

async function main() {
  const chosen = [...positionals, ...(flags.suite ?? [])];
  const names = chosen.length > 0 ? chosen : Object.keys(SUITES);
  const unknown = names.filter((name) => !SUITES[name]);
  if (unknown.length > 0)
    throw new Error(`unknown suite ${unknown.join(', ')}; known: ${Object.keys(SUITES).join(', ')}`);
  if (os.platform() !== 'linux') throw new Error('the bench reads /proc: it runs on Linux only');

  ensureBenchDeps(benchDir, log);
  ensureBuild(root, log);
  const snapshot = snapshotRuntime(root);
  process.once('exit', snapshot.remove);
  const justfn = justfnCommand(snapshot, flags.entry);

  const machine = describeMachine();
  log(`machine: ${machine.cpu} × ${machine.cores}, Node ${machine.node}, load ${machine.loadavg}`);
  if (os.loadavg()[0] > 0.5) {
    log(
      'note: other processes are busy on this machine; figures will be noisier (see "other processes (% CPU)")',
    );
  }
  const startedAt = performance.now();
  const run = { ...machine, quick: flags.quick, entry: flags.entry };
  const summaries = [];
  for (const name of names) {
    const { suite } = await SUITES[name]();
    const options = optionsFor(suite);
    log(`\n# ${suite.title}`);
    const out = await suite.run({ ...options, justfn, entry: flags.entry }, log);
    for (const { spec, result } of out.parts ?? [{ spec: suite, result: out }]) {
      summaries.push({ ...summarise(spec, result), run, options });
    }
  }
  log(`suites took ${((performance.now() - startedAt) / 1000).toFixed(0)} s`);

  // A run of some suites keeps the other suites' latest sections (each says when it was measured), so that
  // latest.md always has one table per suite.
  const results = path.join(benchDir, 'results');
  const kept = readPrevious(path.join(results, 'latest.json')).filter(
    (s) => !names.includes(s.suite.split('/')[0]),
  );
  const order = Object.keys(SUITES);
  const all = [...kept, ...summaries].sort(
    (a, b) => order.indexOf(a.suite.split('/')[0]) - order.indexOf(b.suite.split('/')[0]),
  );
  const markdown = ['# justfn benchmark results', '', ...all.map(section)].join('\n');
  mkdirSync(results, { recursive: true });
  writeFileSync(path.join(results, 'latest.md'), markdown);
  writeFileSync(path.join(results, 'latest.json'), `${JSON.stringify({ summaries: all }, null, 2)}\n`);
  process.stdout.write(`\n${['# justfn benchmark results', '', ...summaries.map(section)].join('\n')}\n`);
  log(`written: ${path.relative(process.cwd(), path.join(results, 'latest.md'))} and latest.json`);
  if (flags.check && !summaries.every((s) => s.pass)) process.exitCode = 1;
}

/** One suite's section: its table, headed by the run it comes from. */
function section(summary) {
  const { run } = summary;
  const entry = run.entry === 'node' ? '`node dist/main.cjs`' : 'its bootstrap script';
  const [title, ...rest] = toMarkdown(summary).split('\n');
  return [
    title,
    '',
    `Run of ${run.date} · justfn ${run.commit} (started through ${entry}) · Node ${run.node} · ` +
      `${run.cpu} × ${run.cores} cores · load average at start ${run.loadavg}`,
    ...(run.quick
      ? ['', '**Quick run** (`--quick`): fewer and shorter rounds, for trying things, not for quoting.']
      : []),
    ...rest,
  ].join('\n');
}

function readPrevious(file) {
  try {
    const previous = JSON.parse(readFileSync(file, 'utf8'));
    // Files from before sections carried their run have no `run`: they are not kept.
    return (previous.summaries ?? []).filter((s) => s.run);
  } catch {
    return [];
  }
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
