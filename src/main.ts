import { anonymize } from "./commands/anonymize";
import { backup } from "./commands/backup";
import { check } from "./commands/check";
import { erase } from "./commands/erase";
import { printLicenses } from "./commands/licenses";
import { migratePlatforms } from "./commands/migrate-platforms";
import { rebalance } from "./commands/rebalance";
import { ConfigError, loadConfig, type Command } from "./config/config";
import { serve } from "./serve";
import { StartupError } from "./services";
import { version } from "../package.json";

async function run(command: Command): Promise<void> {
  switch (command.name) {
    case "help":
      return console.log(command.text);
    case "version":
      return console.log(version);
    case "licenses":
      return printLicenses();
    case "serve":
      return serve(command.config);
    case "backup":
      process.exitCode = backup(command.config.root, command.destination);
      return;
    case "check":
      process.exitCode = check(command.config.root);
      return;
    case "migrate-platforms":
      process.exitCode = migratePlatforms(command.config.root);
      return;
    case "anonymize":
      process.exitCode = anonymize(command.config, command.dryRun);
      return;
    case "erase":
      process.exitCode = erase(command.config, command.address);
      return;
    case "rebalance":
      process.exitCode = await rebalance(command.config, command);
      return;
  }
}

/** A bad flag exits 2; a service that cannot start (a busy port, an unusable root) exits 1. */
try {
  await run(loadConfig(process.argv.slice(2), process.env));
} catch (error) {
  if (!(error instanceof ConfigError || error instanceof StartupError)) throw error;
  console.error(`micro-analytics: ${error.message}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
}
