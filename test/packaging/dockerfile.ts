/**
 * Just enough of the Dockerfile format to check justfn's: instructions with their stage, line
 * continuations joined, comments dropped, `ARG` defaults substituted into `FROM`, and `RUN --mount` flags
 * taken apart. Not a general parser (no heredocs, no escape directive).
 */

export interface Instruction {
  keyword: string;
  args: string;
  /** Index of the stage (`FROM`) it belongs to; -1 before the first `FROM`. */
  stage: number;
}

export interface Mount {
  type: string;
  from?: string;
  source: string;
  target: string;
}

export function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(pending + line);
    pending = '';
  }
  const args = new Map<string, string>();
  let stage = -1;
  return logical.map((line) => {
    const match = /^(\S+)\s*([\s\S]*)$/.exec(line);
    const keyword = (match?.[1] ?? '').toUpperCase();
    let rest = match?.[2] ?? '';
    if (keyword === 'ARG' && stage === -1) {
      const [name, value = ''] = rest.split('=');
      if (name) args.set(name, value);
    }
    if (keyword === 'FROM') {
      stage += 1;
      rest = rest.replace(/\$\{(\w+)\}|\$(\w+)/g, (_all, a: string, b: string) => args.get(a ?? b) ?? '');
    }
    return { keyword, args: rest, stage };
  });
}

/** `["a", "b"]` (exec form) as an array; anything else is not exec form. */
export function execForm(args: string): string[] | undefined {
  try {
    const parsed = JSON.parse(args) as unknown;
    return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** `ENV A=1 B=2` as a record (unquoted values only, which is all justfn's Dockerfile uses). */
export function envPairs(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of args.split(/\s+/).filter(Boolean)) {
    const [key, ...value] = pair.split('=');
    if (key) out[key] = value.join('=');
  }
  return out;
}

/** A `RUN`'s `--mount=...` flags and the shell command after them. */
export function runParts(args: string): { mounts: Mount[]; command: string } {
  const mounts: Mount[] = [];
  let rest = args.trim();
  for (let flag = /^--mount=(\S+)\s+/.exec(rest); flag; flag = /^--mount=(\S+)\s+/.exec(rest)) {
    const fields = Object.fromEntries(flag[1]!.split(',').map((kv) => kv.split('=') as [string, string]));
    mounts.push({
      type: fields.type ?? 'bind',
      from: fields.from,
      source: fields.source ?? '/',
      target: fields.target ?? '',
    });
    rest = rest.slice(flag[0].length);
  }
  return { mounts, command: rest };
}
