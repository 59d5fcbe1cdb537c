import { Pool } from 'undici';

/** One answer as the load generator saw it. */
export interface Answered {
  /** The client's sequence number for the request. */
  n: number;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface LoadOptions {
  origin: string;
  /** Requests to send, numbered `from`, `from + 1`, ... */
  from: number;
  count: number;
  /** Clients sending at once, each on its own keep-alive connection. */
  clients: number;
  /** The request for sequence number `n`. */
  request: (n: number) => { method: 'GET' | 'POST'; path: string; body?: string };
  /** Every answer, as it arrives (the load keeps nothing itself: 100,000 bodies add up). */
  onAnswer: (answer: Answered) => void;
  /** A request that got no HTTP answer at all. */
  onError: (n: number, error: Error) => void;
}

/**
 * `clients` concurrent clients sending `count` numbered requests over one undici Pool, each client
 * waiting for its answer before it sends the next: closed-loop load, as 50 real callers would make.
 */
export async function runLoad(options: LoadOptions, pool?: Pool): Promise<void> {
  const own = pool ?? new Pool(options.origin, { connections: options.clients, pipelining: 1 });
  let next = options.from;
  const end = options.from + options.count;
  const client = async () => {
    while (next < end) {
      const n = next++;
      const { method, path, body } = options.request(n);
      try {
        const response = await own.request({ method, path, ...(body !== undefined && { body }) });
        const text = await response.body.text();
        options.onAnswer({ n, status: response.statusCode, headers: response.headers, body: text });
      } catch (error) {
        options.onError(n, error as Error);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.clients }, client));
  } finally {
    if (!pool) await own.close();
  }
}

export interface OpenLoadOptions {
  origin: string;
  clients: number;
  /** Pause between one client's requests, in ms (0: back to back). */
  gapMs: number;
  request: (n: number) => { method: 'GET' | 'POST'; path: string };
  /** Every outcome, with the time it came: an answer, or the error that came instead. */
  onOutcome: (n: number, outcome: Answered | Error, at: number) => void;
  /** Asked before each request; the client stops once it says so. */
  stop: (client: number) => boolean;
}

/**
 * Load that runs until told to stop: `clients` callers in a closed loop, each request numbered, each
 * outcome (answer or error) reported with its time. Resolves once every client has stopped.
 */
export async function runOpenLoad(options: OpenLoadOptions): Promise<void> {
  const pool = new Pool(options.origin, { connections: options.clients, pipelining: 1 });
  let next = 0;
  const client = async (id: number) => {
    while (!options.stop(id)) {
      const n = next++;
      const { method, path } = options.request(n);
      try {
        const response = await pool.request({ method, path });
        const body = await response.body.text();
        options.onOutcome(n, { n, status: response.statusCode, headers: response.headers, body }, Date.now());
      } catch (error) {
        options.onOutcome(n, error as Error, Date.now());
      }
      if (options.gapMs > 0) await new Promise((resolve) => setTimeout(resolve, options.gapMs));
    }
  };
  try {
    await Promise.all(Array.from({ length: options.clients }, (_, id) => client(id)));
  } finally {
    await pool.destroy();
  }
}
