import type { Subprocess } from "bun";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tempDir } from "./server";
import { waitFor } from "./wait";

/** A node as a router sees it: its --node-name and its address. */
export interface RouterNode {
  name: string;
  /** host:port */
  address: string;
}

export interface TestRouter {
  url: string;
  port: number;
  pid: number;
  /** Rewrites the configuration with these nodes and reloads it (SIGHUP), as an operator switches a router. */
  reload(nodes: RouterNode[]): Promise<void>;
  stop(): Promise<void>;
  /** nginx's error log. */
  log(): string;
}

const DEPLOY_NGINX = resolve(import.meta.dir, "../../deploy/nginx/micro-analytics.conf");
export const DEPLOY_HAPROXY = resolve(import.meta.dir, "../../deploy/haproxy/micro-analytics.cfg");

/** Whether nginx is installed (.ci/run installs it: apt-get install nginx-light). */
export function hasNginx(): boolean {
  return Bun.which("nginx") !== null || Bun.which("nginx", { PATH: "/usr/sbin:/usr/local/sbin" }) !== null;
}

function nginxBinary(): string {
  return Bun.which("nginx") ?? Bun.which("nginx", { PATH: "/usr/sbin:/usr/local/sbin" })!;
}

/** The HAProxy binary, when it is installed (apt-get install haproxy; .ci/run does). */
export function haproxyBinary(): string | null {
  return Bun.which("haproxy") ?? Bun.which("haproxy", { PATH: "/usr/sbin:/usr/local/sbin" });
}

/** A port that was free a moment ago, for a process that cannot be told to pick one (nginx). */
export function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

/**
 * The router configuration shipped in deploy/nginx/, for these nodes on this
 * port: the example servers of each upstream are replaced by `nodes`, and the
 * example per-node upstreams by one for each node. Everything else, every
 * setting the cluster depends on, is the shipped file's.
 */
export function nginxConfig(nodes: RouterNode[], port: number): string {
  const shipped = readFileSync(DEPLOY_NGINX, "utf8");
  const perNode = /^upstream node-\d+ \{\n(.*\n)*?\}\n/gm;
  const template = perNode.exec(shipped)![0];
  perNode.lastIndex = 0;
  let config = shipped.replace(perNode, "");
  config = config.replace(/^(upstream micro_analytics(?:_any)? \{\n(?:.*\n)*?)((?: {4}server 10\.0\.0\.\d+:7070.*\n)+)/gm, (_, head: string, servers: string) => {
    const line = servers.split("\n")[0]!;
    return head + nodes.map((node) => line.replace(/10\.0\.0\.\d+:7070/, node.address) + "\n").join("");
  });
  const upstreams = nodes.map((node) => template.replace(/node-\d+/, node.name).replace(/10\.0\.0\.\d+:7070/, node.address)).join("");
  config = config.replace(/^(# The upstream's name is the node's --node-name\.\n)/m, `$1${upstreams}`);
  return config.replace(/^(\s*)listen 8080;/m, `$1listen 127.0.0.1:${port};`);
}

/**
 * nginx with the shipped configuration, on 127.0.0.1, with its own prefix,
 * pid file, logs and temporary files in a temporary directory (no root
 * paths), stopped by its pid.
 */
export async function startRouter(nodes: RouterNode[], port = freePort()): Promise<TestRouter> {
  const dir = tempDir("ma-nginx-");
  // Started as root, nginx runs its workers as another user, which buffers large request bodies here.
  chmodSync(dir, 0o755);
  for (const sub of ["body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"]) {
    mkdirSync(join(dir, sub), { recursive: true });
    chmodSync(join(dir, sub), 0o777);
  }
  const write = (list: RouterNode[]) => {
    writeFileSync(join(dir, "micro-analytics.conf"), nginxConfig(list, port));
    writeFileSync(
      join(dir, "nginx.conf"),
      [
        `pid ${join(dir, "nginx.pid")};`,
        `error_log ${join(dir, "error.log")} warn;`,
        "worker_processes 1;",
        "events { worker_connections 1024; }",
        "http {",
        "  access_log off;",
        ...["body", "proxy", "fastcgi", "uwsgi", "scgi"].map((sub) => `  ${sub === "body" ? "client_body" : sub}_temp_path ${join(dir, sub)};`),
        `  include ${join(dir, "micro-analytics.conf")};`,
        "}",
        "",
      ].join("\n"),
    );
  };
  write(nodes);
  const proc: Subprocess = Bun.spawn([nginxBinary(), "-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], { stdout: "ignore", stderr: "pipe" });
  const url = `http://127.0.0.1:${port}`;
  const log = () => {
    try {
      return readFileSync(join(dir, "error.log"), "utf8");
    } catch {
      return "";
    }
  };
  await waitFor(`nginx to listen on ${url}`, async () => {
    if (proc.exitCode !== null) throw new Error(`nginx exited ${proc.exitCode}: ${await new Response(proc.stderr as ReadableStream).text()}${log()}`);
    return fetch(`${url}/_health`).then(
      () => true,
      () => false,
    );
  });

  return {
    url,
    port,
    pid: proc.pid,
    async reload(list) {
      write(list);
      proc.kill("SIGHUP");
      // The new configuration is in force once the per-node route of each node it lists answers from that node.
      await waitFor("nginx to take the new configuration", async () => {
        for (const node of list) {
          const answer = await fetch(`${url}/_node/${node.name}/`).catch(() => undefined);
          if (answer?.headers.get("x-node-name") !== node.name) return false;
        }
        return true;
      });
    },
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
    log,
  };
}

/** The shipped HAProxy configuration for these nodes on this port, made as nginxConfig makes nginx's. */
export function haproxyConfig(nodes: RouterNode[], port: number): string {
  const shipped = readFileSync(DEPLOY_HAPROXY, "utf8");
  const perNode = /^backend node-\d+\n(?: {4}.*\n)+/gm;
  const template = perNode.exec(shipped)![0];
  perNode.lastIndex = 0;
  let config = shipped.replace(perNode, "");
  config = config.replace(/((?: {4}server node-\d+ 10\.0\.0\.\d+:7070.*\n)+)/g, (servers: string) => {
    const line = servers.split("\n")[0]!;
    return nodes.map((node) => line.replace(/node-\d+/, node.name).replace(/10\.0\.0\.\d+:7070/, node.address) + "\n").join("");
  });
  config += nodes.map((node) => template.replaceAll(/node-\d+/g, node.name).replace(/10\.0\.0\.\d+:7070/, node.address)).join("");
  // A test's shell may allow fewer open files than the 2 × maxconn HAProxy wants.
  return config.replace(/^(\s*)bind :8080$/m, `$1bind 127.0.0.1:${port}`).replace(/^(\s*)maxconn \d+$/m, "$1maxconn 1000");
}

/** HAProxy in the foreground with the shipped configuration, on 127.0.0.1, stopped by its pid. */
export async function startHaproxy(nodes: RouterNode[], port = freePort()): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = tempDir("ma-haproxy-");
  const file = join(dir, "haproxy.cfg");
  writeFileSync(file, haproxyConfig(nodes, port));
  const proc = Bun.spawn([haproxyBinary()!, "-db", "-f", file], { stdout: "ignore", stderr: "pipe" });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`haproxy to listen on ${url}`, async () => {
    if (proc.exitCode !== null) throw new Error(`haproxy exited ${proc.exitCode}: ${await new Response(proc.stderr).text()}`);
    return fetch(`${url}/_health`).then(
      () => true,
      () => false,
    );
  });
  return {
    url,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

