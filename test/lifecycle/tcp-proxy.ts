import { once } from 'node:events';
import net from 'node:net';

/**
 * A TCP proxy between a runtime and a server, which can forget its connections the way a frozen Lambda
 * finds them after a thaw: the server side is closed (the database drops the connection), while the
 * client side stays open and swallows whatever is written to it — no FIN, no RST, no answer ("any TCP
 * connections are broken but not necessarily notified", brianc/node-postgres#2243). New connections
 * are proxied as before.
 *
 * @example
 * const proxy = await startTcpProxy(db.port);
 * proxy.blackhole();
 */
export async function startTcpProxy(targetPort: number) {
  const live = new Set<{ client: net.Socket; upstream: net.Socket }>();
  const silenced = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted += 1;
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    live.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const forget = () => {
      live.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', forget).on('close', forget);
    upstream.on('error', forget).on('close', forget);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;

  return {
    port,
    /** Connections accepted so far. */
    accepted: () => accepted,
    /** Every open connection goes silent: the server side closes, the client side hears nothing more. */
    blackhole() {
      for (const pair of live) {
        live.delete(pair);
        const { client, upstream } = pair;
        client.removeAllListeners('close').removeAllListeners('error');
        upstream.removeAllListeners('close').removeAllListeners('error');
        client.unpipe(upstream);
        upstream.unpipe(client);
        upstream.on('error', () => {}).destroy();
        // Read and drop: a writer whose bytes vanish, as behind a middlebox that forgot the flow.
        client.on('data', () => {});
        client.on('error', () => {});
        // The runtime may give up on it: then it is gone for good.
        client.on('end', () => client.destroy());
        silenced.add(client);
      }
    },
    close: async () => {
      for (const { client, upstream } of live) {
        client.destroy();
        upstream.destroy();
      }
      for (const client of silenced) client.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
