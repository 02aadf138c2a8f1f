/**
 * Bundles the dashboard's browser code (src/dashboard/main.ts, its CSS and
 * uPlot) with Bun's bundler, in memory. build.ts embeds the result in the
 * binary through `define`; run from source, the service calls this itself on
 * the first request for the page.
 */
import { join } from "node:path";
import { compress } from "../modules/dashboard/compress";

export interface DashboardAsset {
  /** The file's name, its content hash included, so that it can be cached for good. */
  name: string;
  type: string;
  body: string;
  /** The body compressed, in base64: brotli at its best takes a quarter of a second, better spent at build time. */
  gzip: string;
  br: string;
}

export interface DashboardAssets {
  script: DashboardAsset;
  style: DashboardAsset;
}

/** How the page is bundled; the third-party notices read the same to name what it holds. */
export const DASHBOARD_BUNDLE = {
  entrypoints: [join(import.meta.dir, "main.ts")],
  target: "browser",
  // The browser code has no Elysia in it: names may be shortened.
  minify: true,
  naming: { entry: "[name]-[hash].[ext]", asset: "[name]-[hash].[ext]" },
  define: { "process.env.NODE_ENV": JSON.stringify("production") },
} satisfies Bun.BuildConfig;

export async function bundleDashboard(): Promise<DashboardAssets> {
  const result = await Bun.build(DASHBOARD_BUNDLE);
  if (!result.success) throw new AggregateError(result.logs, "the dashboard's sources do not bundle");

  const asset = async (extension: string): Promise<DashboardAsset> => {
    const output = result.outputs.find((o) => o.path.endsWith(extension));
    if (!output) throw new Error(`the dashboard bundle has no ${extension} file`);
    const body = await output.text();
    const { gzip, br } = compress(body);
    return {
      name: output.path.replace(/^.*\//, "").replace(/^main-/, "dashboard-"),
      type: output.type,
      body,
      gzip: Buffer.from(gzip).toString("base64"),
      br: Buffer.from(br).toString("base64"),
    };
  };
  return { script: await asset(".js"), style: await asset(".css") };
}

/** build.ts's `define` entry that embeds the bundle (read by src/modules/dashboard/assets.ts). */
export async function dashboardDefine(): Promise<Record<string, string>> {
  return { DASHBOARD_ASSETS: JSON.stringify(await bundleDashboard()) };
}
