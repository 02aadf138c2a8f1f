import { brotliCompressSync, constants, gzipSync } from "node:zlib";

export type Encoding = "br" | "gzip" | "identity";

/** A text in each encoding a browser may ask for, compressed as hard as each goes: it is done once. */
export function compress(text: string): Record<Encoding, Uint8Array> {
  const identity = new TextEncoder().encode(text);
  return {
    identity,
    gzip: gzipSync(identity, { level: 9 }),
    br: brotliCompressSync(identity, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: identity.byteLength },
    }),
  };
}
