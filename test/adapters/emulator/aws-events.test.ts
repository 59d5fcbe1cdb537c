import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator } from '../../helpers/emulator.js';
import { testdata } from '../../helpers/process.js';

const samples = path.join(testdata, 'aws-lambda-events');
const files = readdirSync(samples).filter((f) => f.endsWith('.json'));

let emulator: Awaited<ReturnType<typeof startTestEmulator>>;
beforeAll(async () => {
  emulator = await startTestEmulator('kinds/index.echo');
});
afterAll(() => emulator.close());

const parses = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

describe('every AWS sample event reaches the handler as sent', () => {
  it.each(files.filter((f) => parses(readFileSync(path.join(samples, f), 'utf8'))))('%s', async (file) => {
    const sample = readFileSync(path.join(samples, file), 'utf8');
    const reply = await emulator.invoke(sample);
    expect(reply.status).toBe(200);
    // What a Node handler can see of JSON is what JSON.parse makes of it: the echo is that, byte for byte.
    expect(reply.text).toBe(JSON.stringify(JSON.parse(sample)));
  });

  it.each(files.filter((f) => !parses(readFileSync(path.join(samples, f), 'utf8'))))(
    '%s is not JSON: refused as the Invoke API does',
    async (file) => {
      const reply = await emulator.invoke(readFileSync(path.join(samples, file)));
      expect(reply.status).toBe(400);
      expect(JSON.parse(reply.text)).toMatchObject({ errorType: 'InvalidRequestContentException' });
    },
  );
});
