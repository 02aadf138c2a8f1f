import { join } from "node:path";

/** The project's own directory, when run from source (the only way build.ts and the notices generator run). */
export const PROJECT_DIR = join(import.meta.dir, "..");

/**
 * What the binary is made of, and how it is bundled: build.ts compiles with
 * these settings, and the third-party notices are made from a bundle with the
 * same ones, so that they name exactly the packages the binary contains.
 */
export const BUNDLE = {
  // Worker entry points are bundled beside the main one (see Bun's executables guide and src/workers.ts).
  entrypoints: ["src/main.ts", "src/store/checkpoint-worker.ts", "src/store/copy-worker.ts", "src/modules/query/worker.ts", "src/modules/erasure/worker.ts"].map((path) => join(PROJECT_DIR, path)),
  target: "bun",
  // Elysia reads its handlers' source to learn which parts of a request they use;
  // renamed identifiers hide that (a plugin then sees no query), so names stay.
  minify: { whitespace: true, syntax: true, identifiers: false },
  // With top-level await, bytecode (in build.ts) needs ESM.
  format: "esm",
  define: { "process.env.NODE_ENV": JSON.stringify("production") },
} satisfies Bun.BuildConfig;
