import { request } from 'undici';
import { type EmulatorOptions, startEmulator } from '../../adapters/emulator/emulator.js';
import { cleanEnv, handlers, runtimeCommand } from './process.js';

export interface InvokeReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  trailers: Record<string, string | string[] | undefined>;
}

/**
 * `justfn emulate` as the tests use it: the real emulator and the real runtime bundle as its child, the
 * child's output kept for assertions.
 */
export async function startTestEmulator(handler: string, options: Partial<EmulatorOptions> = {}) {
  let output = '';
  const reports: string[] = [];
  const emulator = await startEmulator({
    handler,
    taskRoot: handlers,
    command: runtimeCommand,
    port: 0,
    output: {
      stdout: (chunk) => {
        output += chunk.toString('utf8');
      },
      stderr: (chunk) => {
        output += chunk.toString('utf8');
      },
    },
    report: (line) => reports.push(line),
    ...options,
    env: cleanEnv(options.env),
  });
  return {
    emulator,
    output: () => output,
    /** Resolves once the runtime printed `pattern` (its lines can trail the invoke answer). */
    async waitForOutput(pattern: RegExp, timeoutMs = 5_000): Promise<void> {
      const until = Date.now() + timeoutMs;
      while (!pattern.test(output)) {
        if (Date.now() > until) throw new Error(`no ${pattern} in output:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    reports,
    async invoke(body: string | Buffer, headers: Record<string, string> = {}): Promise<InvokeReply> {
      const response = await request(emulator.invokeUrl, { method: 'POST', body, headers });
      const text = await response.body.text();
      return { status: response.statusCode, headers: response.headers, text, trailers: response.trailers };
    },
    close: () => emulator.close(),
  };
}
