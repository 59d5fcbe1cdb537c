import { Transform, type TransformCallback } from 'node:stream';

const BLOCK = 512;

/**
 * What the tar header says about the entry {@link TarEntryStream} found.
 *
 * @example
 * const found: TarEntry = { name: 'package/bin/node', size: 120_000_000, mode: 0o755 };
 */
export interface TarEntry {
  name: string;
  size: number;
  mode: number;
}

/**
 * Reads an (ungzipped) tar stream and passes on only the bytes of the entry named `name`, emitting
 * `'entry'` with its header first. Enough tar for npm's package tarballs (ustar headers, with the
 * `prefix` field for long paths; pax and GNU long-name records are skipped, not read). Ends with an error
 * when the archive ends without the entry.
 *
 * @example
 * createReadStream('node.tgz').pipe(createGunzip()).pipe(new TarEntryStream('package/bin/node')).pipe(out);
 */
export class TarEntryStream extends Transform {
  readonly #name: string;
  #header = Buffer.alloc(0);
  /** Bytes of the current entry still to come, then its padding to the next block. */
  #left = 0;
  #padding = 0;
  #inside = false;
  #found = false;
  #ended = false;

  constructor(name: string) {
    super();
    this.#name = name;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let at = 0;
    while (at < chunk.length && !this.#ended) {
      if (this.#left > 0) {
        const take = Math.min(this.#left, chunk.length - at);
        if (this.#inside) this.push(chunk.subarray(at, at + take));
        this.#left -= take;
        at += take;
        if (this.#left === 0 && this.#inside) this.#ended = true;
      } else if (this.#padding > 0) {
        const skip = Math.min(this.#padding, chunk.length - at);
        this.#padding -= skip;
        at += skip;
      } else {
        const need = BLOCK - this.#header.length;
        this.#header = Buffer.concat([this.#header, chunk.subarray(at, at + need)]);
        at += Math.min(need, chunk.length - at);
        if (this.#header.length === BLOCK) this.#readHeader();
      }
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    callback(this.#found ? null : new Error(`${this.#name} is not in the archive`));
  }

  #readHeader(): void {
    const header = this.#header;
    this.#header = Buffer.alloc(0);
    if (header.every((byte) => byte === 0)) return;
    const size = octal(header, 124, 12);
    this.#left = size;
    this.#padding = (BLOCK - (size % BLOCK)) % BLOCK;
    const prefix = text(header, 345, 155);
    const name = prefix === '' ? text(header, 0, 100) : `${prefix}/${text(header, 0, 100)}`;
    const type = String.fromCharCode(header[156] ?? 0);
    if ((type === '0' || type === '\0') && name === this.#name) {
      this.#found = true;
      this.#inside = true;
      this.emit('entry', { name, size, mode: octal(header, 100, 8) } satisfies TarEntry);
      if (size === 0) this.#ended = true;
    }
  }
}

function text(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

function octal(block: Buffer, offset: number, length: number): number {
  return Number.parseInt(text(block, offset, length).trim() || '0', 8);
}
