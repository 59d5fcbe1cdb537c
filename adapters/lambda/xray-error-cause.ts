import { fileURLToPath } from 'node:url';
import { masked } from '../../runtime/secrets.js';

/**
 * RAPID's bound on a cause (`MaxErrorCauseSizeBytes`, RIE `rapi/model/error_cause.go`: the largest X-Ray
 * document). It crops a larger one itself, so more is never worth sending.
 */
export const MAX_ERROR_CAUSE_BYTES = 64 * 1024;

/** A message is cropped down to this before any frame is dropped: the start says what went wrong. */
const MESSAGE_KEPT = 1024;

interface Frame {
  path: string;
  line?: number;
  label: string;
}

interface Exception {
  type: string | undefined;
  message: string | undefined;
  frames: Frame[];
}

/**
 * The `Lambda-Runtime-Function-XRay-Error-Cause` header for what a handler threw: the cause X-Ray
 * attaches to the function's segment, built as AWS's Node client builds it (`RICv3 src/XRayError.js`):
 * the working directory, one exception with the value's `name`, `message` and the frames of its
 * `stack`, and the paths those frames name. A value without them (a thrown string) gives an exception
 * with neither type, message nor frames. Unlike AWS's client: a frame's `file://` URL is its path and its
 * line is kept (AWS's gives the path `file` and no line for every ES-module frame), lines that are not
 * frames (a message's second line) are skipped, and a document over 64 KiB is cropped here — the
 * message, then the outermost frames — rather than sent whole for RAPID to drop the exception.
 * Everything outside printable ASCII is a JSON escape, so the value is valid header bytes and parses back
 * to what was thrown.
 *
 * @returns `undefined` for `undefined`, `null` or a value whose fields throw when read: AWS's client then
 * sends the header empty, which its HTTP library leaves out.
 * @example
 * toXRayErrorCause(new TypeError('no'), '/var/task');
 * // '{"working_directory":"/var/task","exceptions":[{"type":"TypeError","message":"no","stack":
 * //   [{"path":"/var/task/index.js","line":3,"label":"handler"}, …]}],"paths":["/var/task/index.js", …]}'
 */
export function toXRayErrorCause(thrown: unknown, workingDirectory: string): string | undefined {
  if (thrown === undefined || thrown === null) return undefined;
  let exception: Exception;
  try {
    const { name, message, stack } = thrown as { name?: unknown; message?: unknown; stack?: unknown };
    exception = {
      type: typeof name === 'string' ? name : undefined,
      message: typeof message === 'string' ? masked(message) : undefined,
      frames: typeof stack === 'string' ? parseStack(masked(stack)) : [],
    };
  } catch {
    return undefined;
  }
  for (;;) {
    const cause = encode(workingDirectory, exception);
    if (cause.length <= MAX_ERROR_CAUSE_BYTES) return cause;
    const { message, frames } = exception;
    if (message !== undefined && message.length > MESSAGE_KEPT) {
      exception.message = `${message.slice(0, Math.max(MESSAGE_KEPT, message.length >> 1) - 3)}...`;
    } else if (frames.length > 0) exception.frames = frames.slice(0, frames.length >> 1);
    else return undefined;
  }
}

function encode(workingDirectory: string, { type, message, frames }: Exception): string {
  const json = JSON.stringify({
    working_directory: workingDirectory,
    exceptions: [{ type, message, stack: frames }],
    paths: [...new Set(frames.map((frame) => frame.path))],
  });
  // JSON.stringify escapes the control characters; DEL and non-ASCII are escaped too, as a header value
  // carries bytes, and RAPID (Go) reads them as UTF-8 but node:http (the emulator) as Latin-1.
  return json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** V8's frames: `at label (location)` or `at location`, a location being `path:line:column`. */
function parseStack(stack: string): Frame[] {
  const frames: Frame[] = [];
  for (const text of stack.split('\n')) {
    const line = text.trim();
    if (!line.startsWith('at ')) continue;
    const rest = line.slice(3);
    const open = rest.endsWith(')') ? rest.indexOf(' (') : -1;
    const location = open === -1 ? rest : rest.slice(open + 2, -1);
    const label = open === -1 ? 'anonymous' : rest.slice(0, open);
    const at = /^(.*):(\d+):\d+$/.exec(location);
    frames.push(at ? { path: toPath(at[1]!), line: Number(at[2]), label } : { path: location, label });
  }
  return frames;
}

/** An ES module's frames name a `file://` URL. */
function toPath(location: string): string {
  if (!location.startsWith('file:')) return location;
  try {
    return fileURLToPath(location);
  } catch {
    return location;
  }
}
