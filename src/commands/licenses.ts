/** Set by build.ts to the notices it made; absent when running from source. */
declare const EMBEDDED_THIRD_PARTY_NOTICES: string | undefined;

/**
 * The notices for everything this program contains that others wrote. The
 * binary carries the text build.ts made from bun.lock; from source the same
 * generator makes it afresh.
 */
export async function licenses(): Promise<string> {
  if (typeof EMBEDDED_THIRD_PARTY_NOTICES === "string") return EMBEDDED_THIRD_PARTY_NOTICES;
  const { bundledPackages, thirdPartyNotices } = await import("./third-party-notices");
  return thirdPartyNotices(await bundledPackages());
}

/** `micro-analytics --licenses`: the notices to stdout. A reader that stops early (`| head`, quitting a pager) is no error. */
export async function printLicenses(): Promise<void> {
  try {
    await Bun.write(Bun.stdout, await licenses());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPIPE") throw error;
  }
}
