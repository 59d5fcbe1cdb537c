import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

// What scripts/warm.cjs does for Lambda mode, as a script for another Node binary: the layer's own Node
// must write the caches (V8 refuses one made by another version) and decide its options, and scripts/ is
// not in the npm package.
const DRIVER = `
const http = require('node:http');
const path = require('node:path');
const [dist, bootstrapDir, loadedFrom] = process.argv.slice(1);
let n = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (!req.url.endsWith('/invocation/next')) return res.writeHead(202).end('{"status":"OK"}');
    res.writeHead(200, {
      'content-type': 'application/json',
      'lambda-runtime-aws-request-id': 'warm-' + ++n,
      'lambda-runtime-deadline-ms': String(Date.now() + 60000),
      'lambda-runtime-invoked-function-arn': 'arn:aws:lambda:us-east-1:000000000000:function:warm',
      'lambda-runtime-trace-id': 'Root=1-00000000-000000000000000000000000',
    });
    res.end(JSON.stringify({ warm: n }));
  });
});
server.listen(0, '127.0.0.1', async () => {
  const { writeCodeCache, writeNodeFlags, writeSplitCodeCaches } = require(path.join(dist, 'main.cjs'));
  const address = '127.0.0.1:' + server.address().port;
  await writeCodeCache(path.join(dist, 'lambda.cjs'), (bundle) => bundle.warmLambda(address), path.join(loadedFrom, 'lambda.cjs'));
  await writeSplitCodeCaches(dist, loadedFrom);
  writeNodeFlags(bootstrapDir);
  process.exit(0);
});
`;

/**
 * Writes, with the given Node binary, what only that Node can: `lambda.cjs.cache` beside `lambda.cjs` in
 * `dist`, after a few warm invocations against a throwaway Runtime API (the cache then holds what a first
 * invocation runs, compiled by exactly the V8 that will read it); the split bundles' caches
 * (`config.cjs.cache`, the resource kinds'), which a function with a `justfn.yaml` reads before its first
 * `/next`; and `node-flags` in `bootstrapDir`, the options the bootstrap starts that Node with. The
 * caches name the bundles as `loadedFrom` will hold them (stack traces show that path). Resolves with the
 * binary's version (`v22.23.3`).
 *
 * @example
 * await writeForLayerNode('/tmp/layer/bin/node', '/tmp/layer/justfn/dist', '/tmp/layer', { PATH: '/usr/bin:/bin' }, '/opt/justfn/dist');
 */
export async function writeForLayerNode(
  node: string,
  dist: string,
  bootstrapDir: string,
  env: Record<string, string>,
  loadedFrom: string,
): Promise<string> {
  const { stdout } = await run(node, ['--version'], { env });
  // A clean environment: flags in NODE_OPTIONS would make V8 refuse the cache in a process without them.
  await run(node, ['-e', DRIVER, dist, bootstrapDir, loadedFrom], { env, timeout: 60_000 });
  return stdout.trim();
}
