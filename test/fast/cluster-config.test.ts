import { expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config/config";

const serve = (args: string[], env: Record<string, string> = {}) => {
  const command = loadConfig(args, env);
  if (command.name !== "serve") throw new Error(`expected serve, got ${command.name}`);
  return command.config;
};
const refusal = (args: string[]) => {
  try {
    loadConfig(args, {});
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error(`${args.join(" ")} was accepted`);
};

test("--router and --nodes take URLs, kept without a trailing slash; MA_NODES is a comma-separated list", () => {
  const config = serve(["--router", "http://10.0.0.9:8080/", "--node-name", "n1"], { MA_NODES: "http://10.0.0.1:7070, https://b.example/analytics/" });
  expect(config.cluster).toEqual({ router: "http://10.0.0.9:8080", nodes: ["http://10.0.0.1:7070", "https://b.example/analytics"], concurrency: 8 });
  expect(config.nodeName).toBe("n1");
  expect(serve([]).cluster).toEqual({ router: undefined, nodes: [], concurrency: 8 });
});

test.each([
  [["--router", "10.0.0.9:8080"], "--router"],
  [["--router", "ftp://10.0.0.9"], "--router"],
  [["--router", "http://user:pw@10.0.0.9"], "no credentials"],
  [["--nodes", "http://a:7070,,http://b:7070"], "--nodes"],
  [["--node-name", "has space"], "--node-name"],
  [["--node-name", "x".repeat(64)], "--node-name"],
  [["--router-concurrency", "0"], "--router-concurrency"],
])("%p is refused with a message naming %s", (args, named) => {
  expect(refusal(args)).toContain(named);
});

test("rebalance needs --router and --nodes, takes --dry-run or --finish, and those belong to it alone", () => {
  expect(refusal(["rebalance", "--nodes", "http://a:7070"])).toContain("--router");
  const plan = loadConfig(["rebalance", "--dry-run", "--router", "http://r:8080", "--nodes", "http://a:7070,http://b:7070"], {});
  expect(plan).toMatchObject({ name: "rebalance", dryRun: true, finish: false });
  expect(refusal(["rebalance", "--dry-run", "--finish", "--router", "http://r:8080", "--nodes", "http://a:7070"])).toContain("--dry-run and --finish");
  expect(refusal(["serve", "--dry-run"])).toContain("rebalance");
});
