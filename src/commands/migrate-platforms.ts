import { Database } from "bun:sqlite";
import { isDirectory, listShards } from "../store/layout";
import { lockRoot } from "../store/lock";
import { removeSummary } from "../store/summary";

/**
 * The original service named platforms from its own list; ua-parser-js names
 * the same systems differently. Renaming the old names keeps a migrated
 * website's platform breakdown from splitting one platform in two. "Linux"
 * and "Android" are the same in both; "Samsung" and "Curl" have no single
 * counterpart (Samsung devices report Android or Tizen, curl no system) and
 * are left as they are.
 */
export const LEGACY_PLATFORMS: Readonly<Record<string, string>> = {
  "Microsoft Windows": "Windows",
  "Microsoft Windows Phone": "Windows Phone",
  "Apple Mac": "Mac OS",
  iPhone: "iOS",
  iPad: "iOS",
  iPod: "iOS",
  Wii: "Nintendo",
  Playstation: "PlayStation",
  Blackberry: "BlackBerry",
};

/**
 * `micro-analytics migrate-platforms`: renames legacy platform names in every
 * shard under `root`, one transaction per shard. Run it with the service
 * stopped (it takes the root's lock); running it twice changes nothing more.
 */
export function migratePlatforms(root: string): number {
  if (!isDirectory(root)) {
    console.error(`micro-analytics migrate-platforms: there is no database directory at ${root}.`);
    return 2;
  }
  if (!lockRoot(root)) {
    console.error(`micro-analytics migrate-platforms: ${root} is in use by a running service; stop it first.`);
    return 1;
  }
  let renamed = 0;
  let failures = 0;
  const shards = listShards(root);
  for (const shard of shards) {
    try {
      const db = new Database(shard.path, { readwrite: true, create: false });
      try {
        const rename = db.prepare("UPDATE visits SET platform = ? WHERE platform = ?");
        db.transaction(() => {
          let changes = 0;
          for (const [legacy, current] of Object.entries(LEGACY_PLATFORMS)) changes += rename.run(current, legacy).changes;
          // Answers cached from this shard must not be served again (see shardVersion).
          if (changes > 0) db.run("PRAGMA user_version = " + (rewrites(db) + 1));
          renamed += changes;
        })();
        rename.finalize();
        // The month's summary counted the old names.
        removeSummary(shard.path);
      } finally {
        db.close();
      }
    } catch (error) {
      failures++;
      console.error(`micro-analytics migrate-platforms: ${shard.website}/${shard.month}: ${(error as Error).message}`);
    }
  }
  console.log(`renamed ${renamed} legacy platform names in ${shards.length - failures} of ${shards.length} shards under ${root}`);
  return failures === 0 ? 0 : 1;
}

function rewrites(db: Database): number {
  return (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
}
