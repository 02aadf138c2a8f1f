import { AppError } from "../errors";

const WEBSITE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/**
 * A website name becomes a directory under the root, so it is checked before
 * any file is touched: no separators, no leading dot, nothing that can climb out.
 */
export function isWebsiteName(name: unknown): name is string {
  return typeof name === "string" && WEBSITE_NAME.test(name);
}

export function assertWebsiteName(name: unknown, where = "website"): asserts name is string {
  if (!isWebsiteName(name)) {
    throw new AppError(
      "InvalidWebsiteName",
      `${where}: ${JSON.stringify(name)} is not a valid website name; use 1 to 200 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit.`,
    );
  }
}
