// HTTP suite: justfn's HTTP mode against the Node function frameworks users would otherwise pick
// (@google-cloud/functions-framework, faas-js-runtime), bare fastify (what justfn's HTTP mode is built on) and
// bare node:http (the floor); for CloudEvents, against faas-js-runtime and a bare node:http server calling the
// CloudEvents SDK's HTTP.toEvent (the floor for a validated event). Each serves its native hello.
//
// Two kinds of interleaved rounds, as in the Lambda suite:
// - start rounds, one fresh process at a time, unpinned: spawn → first 200 to `GET /`, RSS right then;
// - load rounds: every server started on the server core, the driver (autocannon) on the other, each driven
//   in turn in short slices at 50 connections (hello GETs, then binary-mode CloudEvent POSTs), so that a
//   ratio compares figures taken seconds apart; requests/s and the server's own CPU per request. At the end,
//   after an idle spell, each server's RSS.

import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { drive, firstAnswer } from './lib/http-load.mjs';
import { freePort } from './lib/ports.mjs';
import { cpuOf, createQuietGate, machineBusyMicros, ownCpuMicros, pinDriverTo, rssMiB } from './lib/proc.mjs';
import { interleave, rotated } from './lib/rounds.mjs';
import { spawnClean } from './lib/spawn.mjs';

const here = (relative) => fileURLToPath(new URL(relative, import.meta.url));
const FIXTURES = here('./fixtures/http');
const CONNECTIONS = 50;

const HELLO = { method: 'GET', path: '/' };
// Binary content mode (CloudEvents HTTP binding §3.1): the attributes in ce-* headers, the data as the body.
const CLOUDEVENT = {
  method: 'POST',
  path: '/',
  headers: {
    'ce-specversion': '1.0',
    'ce-id': 'b2f5c0de-0000-4000-8000-000000000001',
    'ce-type': 'dev.justfn.bench.hello',
    'ce-source': '/bench/autocannon',
    'ce-time': '2026-01-01T00:00:00Z',
    'content-type': 'application/json',
  },
  body: '{"name":"bench"}',
};

/**
 * Every server gets PORT (faas-js-runtime: FUNC_PORT) and a clean environment. `hello` / `cloudevent`: the
 * workloads it serves. justfn is started through its bootstrap script (or `node dist/main.cjs`), in HTTP mode
 * because AWS_LAMBDA_RUNTIME_API is unset; the others as `node <script>`, the frameworks through their own bin.
 */
function runtimesFor(justfn, metricsPort) {
  const node = (script, ...args) => [process.execPath, [script, ...args]];
  const [command, args] = justfn(['index.handler']);
  return [
    {
      name: 'justfn',
      command,
      args,
      cwd: `${FIXTURES}/justfn`,
      // Metrics stay on, as users run it: prom-client counts every request (on a port of its own).
      env: async (port) => ({
        PORT: String(port),
        LAMBDA_TASK_ROOT: `${FIXTURES}/justfn`,
        JUSTFN_METRICS_PORT: String(await metricsPort()),
      }),
      hello: true,
      cloudevent: true,
    },
    {
      name: 'bare fastify',
      ...spread(node(`${FIXTURES}/fastify.cjs`)),
      hello: true,
    },
    {
      name: 'functions-framework',
      ...spread(
        node(
          here('./node_modules/@google-cloud/functions-framework/build/src/main.js'),
          '--target=hello',
          '--signature-type=http',
          `--source=${FIXTURES}/functions-framework`,
        ),
      ),
      hello: true,
    },
    {
      name: 'faas-js-runtime',
      ...spread(
        node(here('./node_modules/faas-js-runtime/bin/cli.js'), `${FIXTURES}/faas-js-runtime/index.js`),
      ),
      env: async (port) => ({ FUNC_PORT: String(port) }),
      hello: true,
      cloudevent: true,
    },
    { name: 'bare node:http', ...spread(node(`${FIXTURES}/node-http.cjs`)), hello: true },
    {
      name: 'node:http + HTTP.toEvent',
      ...spread(node(`${FIXTURES}/node-http-cloudevents.cjs`)),
      cloudevent: true,
    },
  ];
}

const spread = ([command, args]) => ({ command, args, cwd: FIXTURES });

export const suite = {
  name: 'http',
  title: 'HTTP mode: hello and CloudEvents over HTTP/1.1',
  subject: 'justfn',
  baseline: 'bare fastify',
  // Five servers per round and two workloads: fewer start rounds and load rounds than the Lambda suite, longer
  // slices (autocannon opens its 50 connections at the start of each).
  defaults: {
    full: { startRounds: 10, loadRounds: 2, slices: 3, sliceMs: 2500, warmupMs: 1000, idleMs: 20_000 },
    quick: { startRounds: 3, loadRounds: 1, slices: 2, sliceMs: 1000, warmupMs: 500, idleMs: 3000 },
  },
  metrics: [
    { key: 'start', label: 'spawn → 1st 200 (ms)', decimals: 1 },
    { key: 'rate', label: 'hello req/s', decimals: 0 },
    { key: 'cpu', label: 'hello CPU/req (µs)', decimals: 1 },
    { key: 'ceRate', label: 'CloudEvent req/s', decimals: 0 },
    { key: 'ceCpu', label: 'CloudEvent CPU/req (µs)', decimals: 1 },
    { key: 'burstCpu', label: 'hello CPU/req, 1st s after idle (µs)', decimals: 1 },
    { key: 'rss', label: 'idle RSS (MiB)', decimals: 1 },
    { key: 'rssFirst', label: 'RSS at 1st 200 (MiB)', decimals: 1 },
    { key: 'loadCpu', label: 'autocannon CPU (%)', decimals: 0 },
    { key: 'otherCpu', label: 'other processes (% CPU)', decimals: 0 },
  ],
  // Issue 3's performance section, as ratios (or a difference) within one round.
  comparisons: [
    { metric: 'start', kind: 'ratio', label: 'start × fastify', target: { op: '<=', value: 0.5 } },
    { metric: 'rate', kind: 'ratio', label: 'hello × fastify', target: { op: '>=', value: 0.85 } },
    {
      metric: 'rate',
      kind: 'ratio',
      label: 'hello × faas-js',
      baseline: 'faas-js-runtime',
      target: { op: '>=', value: 1.7 },
    },
    {
      metric: 'ceRate',
      kind: 'ratio',
      label: 'CloudEvent × faas-js',
      baseline: 'faas-js-runtime',
      target: { op: '>=', value: 2.5 },
    },
    { metric: 'rss', kind: 'delta', label: 'idle memory Δ fastify MiB', target: { op: '<=', value: 8 } },
    { metric: 'cpu', kind: 'ratio', label: 'hello CPU/req × fastify' },
    { metric: 'burstCpu', kind: 'ratio', label: 'after idle CPU/req × fastify' },
    { metric: 'rssFirst', kind: 'delta', label: 'memory at 1st 200 Δ fastify MiB' },
  ],

  /**
   * @param {{ startRounds: number, loadRounds: number, slices: number, warmupMs: number, sliceMs: number,
   *   idleMs: number, justfn: (args: string[]) => [string, string[]] }} options
   * @param {(line: string) => void} log
   */
  async run(options, log) {
    const RUNTIMES = runtimesFor(options.justfn, freePort);
    const names = RUNTIMES.map((r) => r.name);
    const byName = Object.fromEntries(RUNTIMES.map((r) => [r.name, r]));
    const starters = RUNTIMES.filter((r) => r.hello).map((r) => r.name);

    // One unmeasured start of each, so that round 1 does not pay for a cold page cache.
    for (const name of starters) await measureStart(byName[name]);

    log(`start rounds (${options.startRounds}): spawn → 1st 200 ms / RSS MiB`);
    const quiet = createQuietGate();
    const start = await interleave(
      options.startRounds,
      starters,
      (name) => measureStart(byName[name]),
      log,
      quiet,
    );

    // Load: the servers on the last core, autocannon (in this process) on the first. Autocannon at 50
    // connections needs a core of its own: on the server's core it would take about as much CPU as the
    // fastest servers and halve what they are measured at. On this virtual machine a wake-up that crosses
    // vCPUs is slow at times (see the Lambda suite), but with 50 connections in flight the server is never
    // waiting on one request: both sides batch, and the crossing is paid per batch, not per request.
    const cores = cpus().length;
    const [loadCpu, serverCpu] = [0, cores - 1];
    const ceiling = await measureCeiling(serverCpu, loadCpu, options);
    log(
      `load generator ceiling (autocannon against a raw canned-response server): ${ceiling.rate.toFixed(0)} req/s, ` +
        `autocannon at ${ceiling.loadCpu.toFixed(0)}% of its core`,
    );
    log(
      `load rounds (${options.loadRounds} × ${options.slices} slices of ${options.sliceMs} ms, ${CONNECTIONS} connections): ` +
        'req/s / server CPU µs/req / autocannon % / other processes %',
    );
    const load = Object.fromEntries(names.map((name) => [name, {}]));
    const unpin = pinDriverTo(loadCpu);
    try {
      for (let round = 0; round < options.loadRounds; round++) {
        const figures = await loadRound(RUNTIMES, round, { ...options, quiet, serverCpu }, log);
        for (const name of names) {
          for (const [metric, values] of Object.entries(figures[name])) {
            load[name][metric] ??= [];
            load[name][metric].push(...values);
          }
        }
      }
    } finally {
      unpin();
    }

    const samples = Object.fromEntries(names.map((name) => [name, { ...start[name], ...load[name] }]));
    const turns = options.loadRounds * options.slices;
    return {
      runtimes: names,
      rounds: { start: options.startRounds, load: options.loadRounds, slices: turns },
      samples,
      notes: [
        `Start: ${options.startRounds} interleaved rounds (the order a balanced Latin square: each runtime in each place, after each other, alike), one fresh process each, ` +
          'unpinned; spawn → the first 200 to `GET /` (a refused connection is retried after 1 ms).',
        `Load: ${options.loadRounds} rounds; each starts every server on CPU ${serverCpu} (taskset) with autocannon ` +
          `in the bench driver on CPU ${loadCpu}, then drives them in turn, each time ${options.warmupMs} ms of warm-up ` +
          `then ${options.sliceMs} ms measured, at ${CONNECTIONS} keep-alive connections, ${options.slices} times per ` +
          `workload (hello GETs, then binary-mode CloudEvent POSTs); rate ratios pair the slices of one turn ` +
          `(${turns} pairs). Any non-2xx answer or socket error fails the run. CPU/req is the server's ` +
          'utime + stime (all threads) over the slice ÷ requests; "1st s after idle" is the same over the ' +
          'warm-up, which follows 10–30 s without a request.',
        `Idle RSS is read after ${options.idleMs / 1000} s without a request, at the end of each load round ` +
          `(${options.loadRounds} pairs).`,
        `Load generator ceiling (autocannon against a raw \`net\` server answering a canned response, same cores, ` +
          `before the rounds): ${ceiling.rate.toFixed(0)} req/s with autocannon at ${ceiling.loadCpu.toFixed(0)}% of its ` +
          'core. A server whose rate comes near it is measured against the generator, not alone; CPU/req is ' +
          'not affected.',
        'justfn: `bootstrap index.handler` in HTTP mode (no AWS_LAMBDA_RUNTIME_API), default options, metrics on ' +
          '(JUSTFN_METRICS_PORT on a free port), the handler answering `{ statusCode: 200, body: "hello" }` as an ' +
          'API Gateway 2.0 result and returning nothing for a CloudEvent (202). Peers: their native hello, see ' +
          '`bench/fixtures/http/`.',
        `Shared machine: ${quiet.summary()}; ${retries} slices were measured again because other processes took ` +
          `more than ${RETRY_OTHER_CPU}% of the machine during them (at most twice each; the last attempt counts).`,
      ],
    };
  },
};

/** Starts one server on a free port, waits for its first answer to `request`, and checks it. */
async function launch(runtime, { cpu, request = runtime.hello ? HELLO : CLOUDEVENT } = {}) {
  const port = await freePort();
  const env = runtime.env ? await runtime.env(port) : { PORT: String(port) };
  const child = spawnClean(runtime.command, runtime.args, { cwd: runtime.cwd, env, cpu });
  const stop = () => child.kill();
  try {
    const answer = await firstAnswer(port, request, child);
    const ok = request === HELLO ? answer.status === 200 && answer.body === 'hello' : answer.status < 300;
    if (!ok) throw new Error(`answered ${answer.status} ${JSON.stringify(answer.body.slice(0, 200))}`);
    return { name: runtime.name, runtime, port, child, stop, answeredAt: answer.at };
  } catch (error) {
    const output = child.output().trim();
    await stop();
    throw new Error(`${runtime.name}: ${error.message}${output ? `\n--- its output ---\n${output}` : ''}`);
  }
}

async function measureStart(runtime) {
  const live = await launch(runtime);
  const rssFirst = rssMiB(live.child.pid);
  await live.stop();
  await sleep(50);
  return { start: live.answeredAt - live.child.spawnedAt, rssFirst };
}

/**
 * Drives one live server with `request` for `ms`: its rate, its CPU per request, the driver's (autocannon's)
 * share of its core, and the share of the machine other processes took meanwhile.
 */
async function driveFor(live, request, ms) {
  const snapshot = () => ({
    at: performance.now(),
    cpu: cpuOf(live),
    own: ownCpuMicros(),
    busy: machineBusyMicros(),
  });
  const before = snapshot();
  const result = await drive(live.port, request, { ms, connections: CONNECTIONS });
  const after = snapshot();
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${live.name}: ${result.non2xx} non-2xx answers, ${result.errors} socket errors`);
  }
  if (live.child.hasExited()) throw new Error(`${live.name} exited while serving:\n${live.child.output()}`);
  const wallMicros = (after.at - before.at) * 1000;
  const server = after.cpu - before.cpu;
  const own = after.own - before.own;
  return {
    rate: (result.ok * 1e6) / wallMicros,
    cpu: server / result.ok,
    loadCpu: (100 * own) / wallMicros,
    otherCpu: Math.max(0, (100 * (after.busy - before.busy - server - own)) / (wallMicros * cpus().length)),
  };
}

/**
 * Runs `measure` (a warm-up and a measured slice) after the quiet gate, and again, up to twice more, when
 * other processes took more than RETRY_OTHER_CPU % of the machine during the measured slice: the gate only
 * sees the machine before a slice, and a colleague's test run starting during one takes the server's core
 * from it for part of the slice (seen: single turns whose rate ratio halved). The last attempt is kept.
 */
async function retried(quiet, measure) {
  for (let attempt = 1; ; attempt++) {
    await quiet.wait();
    const result = await measure();
    if (result.f.otherCpu <= RETRY_OTHER_CPU || attempt === 3) return result;
    retries += 1;
  }
}
const RETRY_OTHER_CPU = 10;
let retries = 0;

const WORKLOADS = [
  { key: 'hello', request: HELLO, rate: 'rate', cpu: 'cpu' },
  { key: 'cloudevent', request: CLOUDEVENT, rate: 'ceRate', cpu: 'ceCpu' },
];

/**
 * One load round: every server alive at once on the server core (the ones not being driven are idle), each
 * workload driven in turn in short slices, so that a ratio compares figures taken seconds apart.
 */
async function loadRound(runtimes, round, { slices, warmupMs, sliceMs, idleMs, quiet, serverCpu }, log) {
  const live = [];
  const figures = Object.fromEntries(runtimes.map((r) => [r.name, { rss: [] }]));
  const push = (name, metric, value) => {
    figures[name][metric] ??= [];
    figures[name][metric].push(value);
  };
  try {
    for (const runtime of runtimes) live.push(await launch(runtime, { cpu: serverCpu }));
    for (let slice = 0; slice < slices; slice++) {
      const turn = round * slices + slice;
      for (const workload of WORKLOADS) {
        const parts = [];
        for (const one of rotated(
          live.filter((l) => l.runtime[workload.key]),
          turn,
        )) {
          // Each measured slice follows an unmeasured warm-up of the same server: between its slices a server
          // idles while the others are driven (10–30 s here), and a server whose first second after an idle
          // spell is slow (justfn's is: see docs/benchmarks.md) would otherwise be measured on that second.
          // This measures the steady rate, as an autocannon run after a warm-up does; the warm-up's own CPU per
          // request is kept too ("after idle"), since bursts after a quiet spell are what scale-to-zero serves.
          const { warm, f } = await retried(quiet, async () => ({
            warm: await driveFor(one, workload.request, warmupMs),
            f: await driveFor(one, workload.request, sliceMs),
          }));
          if (workload.key === 'hello') push(one.name, 'burstCpu', warm.cpu);
          push(one.name, workload.rate, f.rate);
          push(one.name, workload.cpu, f.cpu);
          push(one.name, 'loadCpu', f.loadCpu);
          push(one.name, 'otherCpu', f.otherCpu);
          parts.push(
            `${one.name} ${f.rate.toFixed(0)}/${f.cpu.toFixed(1)}/${f.loadCpu.toFixed(0)}%/${f.otherCpu.toFixed(0)}%`,
          );
        }
        log(`  round ${round + 1} turn ${slice + 1} ${workload.key}: ${parts.join(' | ')}`);
      }
    }
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

/** How fast autocannon can go here: against fixtures/http/raw-http.cjs, on the same cores as the rounds. */
async function measureCeiling(serverCpu, loadCpu, { warmupMs, sliceMs }) {
  const raw = await launch(
    {
      name: 'raw canned-response server',
      ...spread([process.execPath, [`${FIXTURES}/raw-http.cjs`]]),
      hello: true,
    },
    { cpu: serverCpu },
  );
  const unpin = pinDriverTo(loadCpu);
  try {
    // The best of three slices: the ceiling is what the generator can do, not what the machine let it do once.
    await driveFor(raw, HELLO, warmupMs);
    const slices = [];
    for (let i = 0; i < 3; i++) slices.push(await driveFor(raw, HELLO, sliceMs));
    return slices.reduce((best, slice) => (slice.rate > best.rate ? slice : best));
  } finally {
    unpin();
    await raw.stop();
  }
}
