import { Elysia } from "elysia";

/** The header that names the node which answered: how tests and tools learn, through the router, who owns a website. */
export const NODE_HEADER = "x-node-name";

/**
 * Names this node on every answer, errors included: set before anything
 * else runs, Elysia merges it into whatever response the request ends with.
 */
export function nodeHeader(name: string) {
  return new Elysia({ name: "node-header" }).onRequest(({ set }) => {
    set.headers[NODE_HEADER] = name;
  });
}
