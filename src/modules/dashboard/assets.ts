import type { DashboardAsset, DashboardAssets } from "../../dashboard/bundle";
import type { Encoding } from "./compress";

/** Put in place by build.ts in the compiled binary; absent when running from source. */
declare const DASHBOARD_ASSETS: DashboardAssets | undefined;

/** A file of the page, ready to send in each encoding a browser may ask for. */
export interface ServedFile {
  name: string;
  type: string;
  bodies: Record<Encoding, Uint8Array>;
}

export interface PageFiles {
  script: ServedFile;
  style: ServedFile;
}

let loading: Promise<PageFiles> | undefined;

/**
 * The page's script and style, bundled and compressed. In the binary that
 * was done by build.ts; from source it is done now, on first use, so a
 * service that nobody opens the page of pays nothing at start-up.
 */
export function pageFiles(): Promise<PageFiles> {
  loading ??= (async () => {
    const assets =
      typeof DASHBOARD_ASSETS === "undefined" ? await (await import("../../dashboard/bundle")).bundleDashboard() : DASHBOARD_ASSETS;
    return { script: served(assets.script), style: served(assets.style) };
  })();
  // A failed bundle is tried again on the next request rather than kept.
  loading.catch(() => (loading = undefined));
  return loading;
}

function served(asset: DashboardAsset): ServedFile {
  return {
    name: asset.name,
    type: asset.type,
    bodies: {
      identity: new TextEncoder().encode(asset.body),
      gzip: Buffer.from(asset.gzip, "base64"),
      br: Buffer.from(asset.br, "base64"),
    },
  };
}

/** The best encoding a request accepts: brotli, then gzip, else none. */
export function chooseEncoding(acceptEncoding: string | null): Encoding {
  const accepted = new Map<string, number>();
  for (const part of (acceptEncoding ?? "").split(",")) {
    const [name = "", ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    accepted.set(name, q === undefined ? 1 : Number(q));
  }
  const weight = (name: string) => accepted.get(name) ?? accepted.get("*") ?? 0;
  if (weight("br") > 0) return "br";
  if (weight("gzip") > 0) return "gzip";
  return "identity";
}

/** A page file as a response, in the encoding the request prefers. */
export function fileResponse(file: ServedFile, acceptEncoding: string | null, headers: Record<string, string>, status = 200): Response {
  const encoding = chooseEncoding(acceptEncoding);
  return new Response(file.bodies[encoding], {
    status,
    headers: {
      "content-type": file.type,
      vary: "Accept-Encoding",
      ...(encoding === "identity" ? {} : { "content-encoding": encoding }),
      ...headers,
    },
  });
}
