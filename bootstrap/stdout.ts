/**
 * Where the runtime's log lines go: stdout, as Lambda and container runtimes collect them. Should the
 * reader go away (a closed pipe: the collector, or a parent process, gone), a write fails with EPIPE: the
 * lines are lost and the function serves on. Left to Node, the failed write is an 'error' nobody listens
 * to, so an uncaught exception, whose report is one more line that fails the same way: a loop at full CPU,
 * memory growing, that served nothing more (seen in Lambda mode once a test's parent had died).
 *
 * @example
 * const log = createLambdaLog({ format: 'Text', level: 'INFO', scope, stdout: stdoutWriter() });
 */
export function stdoutWriter(): (line: string) => void {
  process.stdout.on('error', () => {});
  return (line) => void process.stdout.write(line);
}
