import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Gate {
  url: string;
  /** Resolves once a request has reached the gate: the handler that fetched it is running. */
  reached: Promise<void>;
  /** Answers the requests held, and every later one at once. */
  open(): void;
  close(): Promise<void>;
}

/**
 * A URL whose requests are answered only once the test calls `open()`: a fixture handler that fetches it
 * runs until the test says so, instead of for a guessed time.
 */
export async function openGate(): Promise<Gate> {
  const held: http.ServerResponse[] = [];
  let opened = false;
  let arrived = () => {};
  const reached = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const server = http.createServer((_request, response) => {
    arrived();
    if (opened) response.end();
    else held.push(response);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    reached,
    open() {
      opened = true;
      for (const response of held.splice(0)) response.end();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
