/**
 * loadConfig's own checks: values the flag parser would otherwise answer with
 * its own riddle, and credentials that only make sense together.
 */
import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../src/config/config";

/** The message loadConfig refuses these arguments with. */
function refusal(args: string[], env: Record<string, string> = {}): string {
  try {
    loadConfig(args, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error(`${args.join(" ")} was accepted`);
}

function serveConfig(args: string[], env: Record<string, string> = {}) {
  const command = loadConfig(args, env);
  if (command.name !== "serve") throw new Error(`expected serve, got ${command.name}`);
  return command.config;
}

describe("negative numbers for numeric flags", () => {
  const cases: [string[], string, string][] = [
    [["--port", "-5"], "--port", "from 0 to 65535"],
    [["-p", "-5"], "--port", "from 0 to 65535"],
    [["--connections", "-1"], "--connections", "of at least 1"],
    [["-c", "-1"], "--connections", "of at least 1"],
    [["--idle-timeout", "-30"], "--idle-timeout", "of at least 1"],
    [["--cache-size", "-1"], "--cache-size", "of at least 1"],
    [["--keepalive-timeout", "-1"], "--keepalive-timeout", "from 1 to 255"],
  ];
  for (const [args, flag, range] of cases) {
    test(`${args.join(" ")}: our message, naming ${flag} and what it takes`, () => {
      const message = refusal(args);
      expect(message).toContain(flag);
      expect(message).toContain(`"${args[1]}" is not a whole number ${range}`);
      expect(message).not.toContain("ambiguous");
    });
  }

  test("a value that only starts like a number is still the flag's value, and refused by our check", () => {
    expect(refusal(["--port", "-5x"])).toContain('"-5x" is not a whole number');
  });

  test("a dash-led value of a text flag is left to the flag parser", () => {
    // `-x` may be a flag: only negative numbers are attached to the flag before them.
    expect(() => loadConfig(["--user", "-x"], {})).toThrow(ConfigError);
  });
});

describe("connection timeouts", () => {
  test("default to 30 s between requests and 60 s for a download nobody reads", () => {
    expect(serveConfig([]).timeouts).toEqual({ keepaliveSeconds: 30, sendSeconds: 60 });
  });

  test("are set by flag or environment", () => {
    expect(serveConfig(["--keepalive-timeout", "5", "--send-timeout", "7"]).timeouts).toEqual({ keepaliveSeconds: 5, sendSeconds: 7 });
    expect(serveConfig([], { MA_KEEPALIVE_TIMEOUT: "9", MA_SEND_TIMEOUT: "11" }).timeouts).toEqual({ keepaliveSeconds: 9, sendSeconds: 11 });
  });

  test("0 (never) and more than Bun's 255 are refused, naming the flag", () => {
    for (const [flag, value] of [["--keepalive-timeout", "0"], ["--keepalive-timeout", "256"], ["--send-timeout", "0"], ["--send-timeout", "300"]]) {
      const message = refusal([flag!, value!]);
      expect(message).toContain(flag!);
      expect(message).toContain("from 1 to 255");
    }
  });
});

describe("credentials that only make sense together", () => {
  test("a password without a user is refused: it would leave every route open", () => {
    expect(refusal(["--password", "p"])).toContain("--password");
    expect(refusal([], { MA_PASSWORD: "p" })).toContain("--user");
  });

  test("an ingest token alone is refused: nothing would open the reads", () => {
    const message = refusal(["--ingest-token", "w"]);
    expect(message).toContain("--ingest-token");
    expect(message).toContain("--token");
  });

  test("an ingest token and open ingest together are refused", () => {
    expect(refusal(["--token", "t", "--ingest-token", "w", "--ingest-auth", "none"])).toContain("--ingest-auth");
  });

  test("--ingest-auth takes required or none", () => {
    expect(refusal(["--ingest-auth", "open"])).toContain("required, none");
    expect(serveConfig(["--token", "t", "--ingest-auth", "none"]).ingestAuth).toBe("none");
    expect(serveConfig([]).ingestAuth).toBe("required");
  });

  test("the ingest token comes from the flag or MA_INGEST_TOKEN", () => {
    expect(serveConfig(["--token", "t", "--ingest-token", "w"]).ingestToken).toBe("w");
    expect(serveConfig(["--user", "u"], { MA_INGEST_TOKEN: "w" }).ingestToken).toBe("w");
  });
});
