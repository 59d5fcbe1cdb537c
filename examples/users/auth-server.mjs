// A stand-in for the auth service, for local runs and tests: auth.v1.Auth over plaintext gRPC with a
// fixed table of tokens. (A later justfn example replaces it with a justfn function in gRPC mode.)
//
//   node examples/users/auth-server.mjs [port]     serves on 127.0.0.1:[port] (default 50051)
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const proto = fileURLToPath(new URL('protos/auth.proto', import.meta.url));

/** The tokens the stand-in knows: alice may read and write users, bob may only read them. */
export const demoTokens = {
  'alice-token': { subject: 'alice', scopes: ['users:read', 'users:write'] },
  'bob-token': { subject: 'bob', scopes: ['users:read'] },
};

/**
 * Serves auth.v1.Auth on `host:port` (port 0: a free one).
 *
 * @param {{ port?: number, host?: string, tokens?: Record<string, { subject: string, scopes: string[] }> }} [options]
 * @returns {Promise<{ port: number, target: string, calls: () => number, close: () => Promise<void> }>}
 * @example
 * const auth = await startAuthServer({ port: 0 });
 * process.env.AUTH_TARGET = auth.target;
 */
export async function startAuthServer({ port = 50051, host = '127.0.0.1', tokens = demoTokens } = {}) {
  const definition = loadSync(proto, { keepCase: true, defaults: true });
  const { service } = grpc.loadPackageDefinition(definition).auth.v1.Auth;
  const server = new grpc.Server();
  let calls = 0;
  server.addService(service, {
    Verify: (call, callback) => {
      calls += 1;
      const known = tokens[call.request.token];
      callback(null, known ? { valid: true, ...known } : { valid: false, subject: '', scopes: [] });
    },
  });
  const bound = await new Promise((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    ),
  );
  return {
    port: bound,
    target: `${host}:${bound}`,
    calls: () => calls,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const auth = await startAuthServer({ port: Number(process.argv[2] ?? 50051) });
  console.log(`auth.v1.Auth on ${auth.target}; tokens: ${Object.keys(demoTokens).join(', ')}`);
  process.once('SIGINT', () => auth.close().then(() => process.exit(0)));
  process.once('SIGTERM', () => auth.close().then(() => process.exit(0)));
}
