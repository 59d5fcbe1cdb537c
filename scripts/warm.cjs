'use strict';
// Build step: compiles a mode bundle, warms it with a few real invocations, writes its code cache.
// Usage: node scripts/warm.cjs <dist dir> <lambda|http|splits|flags>  (splits: config.cjs, the resource kinds, gRPC mode;
// flags: ../bootstrap/node-flags, the options the bootstrap starts this Node with)
const http = require('node:http');
const path = require('node:path');

const [dist, mode] = process.argv.slice(2);
const { writeCodeCache, writeNodeFlags, writeSplitCodeCaches } = require(path.join(dist, 'main.cjs'));

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
  } else {
    await writeCodeCache(path.join(dist, `${mode}.cjs`), (bundle) =>
      bundle.warmHttp ? bundle.warmHttp() : undefined,
    );
  }
  process.exit(0);
})();
