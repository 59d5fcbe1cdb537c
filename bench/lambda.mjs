// Lambda suite: justfn's Lambda mode against AWS's Node runtime interface client (aws-lambda-ric@3) and a
// bare node:http loop (the floor), all serving the same function from the same mock Runtime API.
//
// Two kinds of interleaved rounds:
// - start rounds, one fresh process at a time: spawn → first GET /next; the first event is handed out at once
//   (as on a cold start, where the event is already waiting) and its response timed; RSS is read right after.
// - load rounds: all runtimes are started, each warmed up, then served in turn in short slices (events back
//   to back: invocations/s, and the runtime's own CPU per invocation from /proc/<pid>/stat); between its
//   slices a runtime waits on an unanswered /next. At the end, after an idle spell, each one's RSS is read.
//   Short alternating slices matter here: this machine's speed drifts by 2× or more within minutes, so a
//   ratio is only trusted between figures taken seconds apart.

import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { launchLambda } from './lib/lambda-launch.mjs';
import { cpuOf, createQuietGate, machineBusyMicros, ownCpuMicros, pinToOneCpu, rssMiB } from './lib/proc.mjs';
import { interleave, rotated } from './lib/rounds.mjs';

const here = (relative) => fileURLToPath(new URL(relative, import.meta.url));
const FUNCTION_DIR = here('./fixtures/function');
const EXPECTED_RESULT = '{"statusCode":200,"body":"ok"}';

/**
 * Each gets the handler string as its argument, cwd = the function's directory. justfn is started through a
 * private copy of its bootstrap script (or `node dist/main.cjs` with --entry node; see lib/prereqs.mjs);
 * the others as `node <script>`: the RIC's own bin, and the node:http loop.
 */
const runtimesFor = (justfn) => {
  const node = (name, script) => ({ name, command: process.execPath, args: [script, 'index.handler'] });
  const [command, args] = justfn(['index.handler']);
  return [
    { name: 'justfn', command, args },
    node('aws-lambda-ric', here('./node_modules/aws-lambda-ric/bin/index.mjs')),
    node('node:http loop', here('./fixtures/node-http-loop.cjs')),
  ];
};

export const suite = {
  name: 'lambda',
  title: 'Lambda mode: Runtime API loop',
  subject: 'justfn',
  baseline: 'aws-lambda-ric',
  metrics: [
    { key: 'start', label: 'spawn → 1st /next, one CPU (ms)', decimals: 1 },
    { key: 'firstInvoke', label: '1st invocation, one CPU (ms)', decimals: 2 },
    { key: 'startBoth', label: 'spawn → 1st /next, two CPUs (ms)', decimals: 1 },
    { key: 'firstInvokeBoth', label: '1st invocation, two CPUs (ms)', decimals: 2 },
    { key: 'rate', label: 'invocations/s', decimals: 0 },
    { key: 'cpu', label: 'CPU/inv (µs)', decimals: 1 },
    { key: 'rss', label: 'idle RSS (MiB)', decimals: 1 },
    { key: 'rssLoaded', label: 'RSS right after load (MiB)', decimals: 1 },
    { key: 'rssFirst', label: 'RSS after 1st inv (MiB)', decimals: 1 },
    { key: 'mockCpu', label: 'mock CPU/inv (µs)', decimals: 1 },
    { key: 'otherCpu', label: 'other processes (% CPU)', decimals: 0 },
  ],
  // The targets of issue 2's performance section, as ratios (or a difference) within one round.
  comparisons: [
    { metric: 'start', kind: 'ratio', label: 'start ×', target: { op: '<=', value: 0.9 } },
    { metric: 'firstInvoke', kind: 'ratio', label: '1st invoke ×', target: { op: '<=', value: 1 } },
    { metric: 'rate', kind: 'ratio', label: 'rate ×', target: { op: '>=', value: 1.4 } },
    { metric: 'cpu', kind: 'ratio', label: 'CPU/inv ×', target: { op: '<=', value: 0.7 } },
    { metric: 'rss', kind: 'delta', label: 'memory Δ MiB', target: { op: '<=', value: 5 } },
    { metric: 'startBoth', kind: 'ratio', label: 'start × (two CPUs)' },
    { metric: 'firstInvokeBoth', kind: 'ratio', label: '1st invoke × (two CPUs)' },
    { metric: 'rssLoaded', kind: 'delta', label: 'memory Δ MiB right after load' },
  ],

  /**
   * @param {{ startRounds: number, loadRounds: number, slices: number, warmupMs: number, sliceMs: number,
   *   idleMs: number, justfn: (args: string[]) => [string, string[]] }} options
   * @param {(line: string) => void} log
   */
  async run(options, log) {
    const RUNTIMES = runtimesFor(options.justfn);
    const names = RUNTIMES.map((r) => r.name);
    const byName = Object.fromEntries(RUNTIMES.map((r) => [r.name, r]));

    // One unmeasured start of each, so that round 1 does not pay for a cold page cache.
    for (const runtime of RUNTIMES) await measureStart(runtime);

    // Start rounds twice: on both CPUs, then on one. A Lambda function of up to 1,769 MB has at most one
    // vCPU's worth of time, which its threads share (justfn compiles undici's parser on V8's background
    // threads while it starts; the RIC has no such work): the one-CPU figures carry the verdicts.
    const quiet = createQuietGate();
    const startRounds = (cpus) => {
      log(
        `start rounds (${options.startRounds}, ${cpus}): spawn → 1st /next ms / 1st invocation ms / RSS MiB`,
      );
      return interleave(options.startRounds, names, (name) => measureStart(byName[name]), log, quiet);
    };
    const startBoth = await startRounds('unpinned');
    const start = {};
    for (const name of names) {
      const { start: spawnToNext, firstInvoke, rssFirst } = startBoth[name];
      start[name] = { startBoth: spawnToNext, firstInvokeBoth: firstInvoke, rssFirst };
    }

    // Under load, the mock and the runtime it serves share one CPU. On this virtual machine a wake-up that
    // crosses vCPUs costs from a few µs to a few hundred, depending on the host's state: a raw ping-pong over
    // loopback ran at 22–24k invocations/s on one CPU throughout, and at 4–24k across two. On one CPU the
    // rates and CPU figures measure the runtimes, not the hypervisor; and a Lambda function of up to
    // 1,769 MB has at most one vCPU anyway.
    const unpin = pinToOneCpu();
    const load = Object.fromEntries(
      names.map((name) => [name, { rate: [], cpu: [], mockCpu: [], otherCpu: [], rss: [], rssLoaded: [] }]),
    );
    let ceiling;
    try {
      const startOne = await startRounds('on one CPU');
      for (const name of names) {
        Object.assign(start[name], { start: startOne[name].start, firstInvoke: startOne[name].firstInvoke });
      }
      ceiling = await measureMockCeiling(options);
      log(
        `mock ceiling: ${ceiling.rate.toFixed(0)} invocations/s, mock CPU ${ceiling.mockCpu.toFixed(1)} µs/inv`,
      );
      log(
        `load rounds (${options.loadRounds} × ${options.slices} slices of ${options.sliceMs} ms, on one CPU): ` +
          'inv/s / CPU µs/inv / mock µs/inv / other processes % CPU',
      );
      for (let round = 0; round < options.loadRounds; round++) {
        const figures = await loadRound(RUNTIMES, round, { ...options, quiet }, log);
        for (const name of names) {
          for (const [metric, values] of Object.entries(figures[name])) load[name][metric].push(...values);
        }
      }
    } finally {
      unpin();
    }

    const samples = Object.fromEntries(names.map((name) => [name, { ...start[name], ...load[name] }]));
    const sustained = (options.slices * options.sliceMs) / 1000;
    return {
      runtimes: names,
      rounds: {
        start: options.startRounds,
        load: options.loadRounds,
        slices: options.loadRounds * options.slices,
      },
      samples,
      notes: [
        `Start: ${options.startRounds} interleaved rounds (the order a balanced Latin square: each runtime in each place, after each other, alike), one fresh process each, ` +
          'the first event handed out as soon as /next arrives (the clock read just before it is written); ' +
          `then ${options.startRounds} more with the driver and the runtime on one CPU, whose figures carry the verdicts: ` +
          "a Lambda function of up to 1,769 MB has at most one vCPU's worth of time for all its threads.",
        `Load: ${options.loadRounds} rounds, the driver (mock) and the runtimes pinned to one CPU; each spawns all three, warms each up for ${options.warmupMs} ms, then ` +
          `serves them in turn, ${options.sliceMs} ms at a time, ${options.slices} times (${sustained} s each per round); ` +
          `rate and CPU ratios pair the slices of one turn (${options.loadRounds * options.slices} pairs); ` +
          `idle RSS is read after ${options.idleMs / 1000} s without an event (${options.loadRounds} pairs), ` +
          "by which time V8's memory reducer may or may not have shrunk a heap grown under load; " +
          'RSS right after load is read as the last slice ends, the state Lambda freezes a process in.',
        "mock CPU/inv differs by runtime with how each writes a request: the RIC (curl) sends a POST's head and " +
          'body in two segments, which costs the mock, on the same CPU, one more read per invocation.',
        'Figures are medians; ratio columns are medians of the per-round (per-turn) ratios, never ratios of lone figures.',
        "mock CPU/inv is the bench driver's own CPU per invocation (the mock runs in it); other processes is the " +
          'share of the whole machine that anything else used during the load slices (the machine is shared).',
        `Mock Runtime API ceiling (a raw-socket client, same mock, before the rounds): ${ceiling.rate.toFixed(0)} ` +
          `invocations/s at ${ceiling.mockCpu.toFixed(1)} µs of mock CPU per invocation.`,
        `Shared machine: ${quiet.summary()}.`,
      ],
    };
  },
};

/** Spawns one runtime against its own mock; see launchLambda. */
const launch = (runtime) =>
  launchLambda({ ...runtime, taskRoot: FUNCTION_DIR, handler: 'index.handler', expect: EXPECTED_RESULT });

async function measureStart(runtime) {
  const { api, child, stop } = await launch(runtime);
  const rssFirst = rssMiB(child.pid);
  await stop();
  await sleep(50);
  return {
    start: api.firstNextAt - child.spawnedAt,
    firstInvoke: api.firstResponseAt - api.firstEventAt,
    rssFirst,
  };
}

/**
 * Serves one live runtime for `ms` and returns its rate, its CPU and the mock's CPU per invocation, and the
 * share of the machine that other processes took meanwhile (colleagues' builds and tests share it).
 */
async function serveFor(live, ms) {
  const { api, child } = live;
  const snapshot = () => ({
    at: performance.now(),
    cpu: cpuOf(live),
    n: api.responses,
    own: ownCpuMicros(),
    busy: machineBusyMicros(),
  });
  const before = snapshot();
  api.serve();
  await sleep(ms);
  api.hold();
  const after = snapshot();
  if (api.errors.length > 0) throw new Error(`${live.name} posted ${api.errors[0]}`);
  if (child.hasExited()) throw new Error(`${live.name} exited while serving:\n${child.output()}`);
  const count = after.n - before.n;
  const wallMicros = (after.at - before.at) * 1000;
  const other = after.busy - before.busy - (after.cpu - before.cpu) - (after.own - before.own);
  return {
    rate: (count * 1e6) / wallMicros,
    cpu: (after.cpu - before.cpu) / count,
    mockCpu: (after.own - before.own) / count,
    otherCpu: Math.max(0, (100 * other) / (wallMicros * cpus().length)),
  };
}

/**
 * One load round: all runtimes alive at once (the idle ones wait on an unanswered /next and use no CPU),
 * served in turn in short slices, so that a ratio compares figures taken seconds apart, not minutes.
 */
async function loadRound(runtimes, round, { slices, warmupMs, sliceMs, idleMs, quiet }, log) {
  const live = [];
  const figures = Object.fromEntries(
    runtimes.map((r) => [r.name, { rate: [], cpu: [], mockCpu: [], otherCpu: [], rss: [], rssLoaded: [] }]),
  );
  try {
    for (const runtime of runtimes) live.push(await launch(runtime));
    for (const one of live) await serveFor(one, warmupMs);
    for (let slice = 0; slice < slices; slice++) {
      const turn = round * slices + slice;
      const parts = [];
      for (const one of rotated(live, turn)) {
        await quiet.wait();
        const f = await serveFor(one, sliceMs);
        for (const [metric, value] of Object.entries(f)) figures[one.name][metric].push(value);
        parts.push(
          `${one.name} ${f.rate.toFixed(0)}/${f.cpu.toFixed(1)}/${f.mockCpu.toFixed(1)}/${f.otherCpu.toFixed(0)}%`,
        );
      }
      log(`  round ${round + 1} turn ${slice + 1}: ${parts.join(' | ')}`);
    }
    // What Lambda freezes: the process as its last invocation left it (no idle collection runs there).
    for (const one of live) figures[one.name].rssLoaded.push(rssMiB(one.child.pid));
    await sleep(idleMs);
    for (const one of live) figures[one.name].rss.push(rssMiB(one.child.pid));
    log(
      `  round ${round + 1} idle RSS MiB: ${live.map((one) => `${one.name} ${figures[one.name].rss[0].toFixed(1)}`).join(' | ')}`,
    );
    return figures;
  } finally {
    for (const one of live) await one.stop();
  }
}

/** How fast the mock can go: a client that writes the protocol's bytes by hand (fixtures/raw-net-loop.cjs). */
async function measureMockCeiling({ warmupMs, sliceMs }) {
  const raw = await launch({
    name: 'raw net client',
    command: process.execPath,
    args: [here('./fixtures/raw-net-loop.cjs')],
  });
  try {
    await serveFor(raw, warmupMs);
    return await serveFor(raw, sliceMs);
  } finally {
    await raw.stop();
  }
}
