import { isbot } from "isbot";
import { memoize } from "./memo";

/** Whether a User-Agent is a known bot, crawler or monitor; "" (none sent) is not. */
export type BotCheck = (userAgent: string) => boolean;

/**
 * isbot's list, as the npm package keeps it up to date, rather than one of
 * our own. Its pattern is long; a site sees few distinct agents, so answers
 * are cached as platforms are (see platform.ts).
 */
export function createBotCheck(bounds = { entries: 10_000, chars: 4_000_000 }): BotCheck {
  const check = memoize((userAgent) => isbot(userAgent), bounds);
  return (userAgent) => userAgent !== "" && check(userAgent);
}
