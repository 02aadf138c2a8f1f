import { afterEach, expect, test } from "bun:test";
import { type TestApp, variantsOfOneApp } from "../helpers/app";

const variant = variantsOfOneApp();

let app: TestApp | undefined;
afterEach(() => app?.close());

/** User-Agents as they are sent: crawlers, monitors, headless browsers and tools, then people's browsers. */
const BOTS = [
  "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
  "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
  "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
  "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
  "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
  "Twitterbot/1.0",
  "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
  "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
  "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
  "curl/8.5.0",
  "python-requests/2.32.3",
  "Go-http-client/1.1",
];
const BROWSERS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
];
const event = (agent: string, i: number) => ({ time: 1448370000 + i, event: "pageview", ip: `198.51.100.${i}`, headers: { "User-Agent": agent } });
const list = [...BOTS, ...BROWSERS].map(event);

test("--bots drop stores the browsers' events, not the bots', and says how many it dropped", async () => {
  app = variant(["--bots", "drop"]);
  expect((await app.request("/site/bulk", { body: { list } })).body).toEqual({ inserted: BROWSERS.length, bots: BOTS.length });
  expect((await app.request("/site/platforms")).body.list.map((row: { id: string }) => row.id).sort()).toEqual(["Android", "Linux", "Mac OS", "Windows", "iOS"]);
  expect((await app.request("/site/count")).body).toEqual({ total: BROWSERS.length, unique: BROWSERS.length });

  // One bot alone: nothing stored, and the answer still says so.
  expect((await app.request("/site", { body: event(BOTS[0]!, 99) })).body).toEqual({ inserted: 0, bots: 1 });
  expect((await app.request("/bulk", { body: { list: [{ ...event(BOTS[1]!, 98), website: "other" }] } })).body).toEqual({ inserted: 0, bots: 1 });
  expect((await app.request("/other/count")).status).toBe(404);
  // No User-Agent at all (a server relaying events without headers) is no bot.
  expect((await app.request("/site", { body: { event: "relayed", ip: "203.0.113.1" } })).body).toEqual({ inserted: 1 });

  const metrics = await (await app.fetch("/_metrics")).text();
  expect(metrics).toContain(`micro_analytics_events_dropped_bots_total ${BOTS.length + 2}\n`);
});

test("--bots keep (the default) stores every event and answers as ever", async () => {
  app = variant([]);
  expect((await app.request("/site/bulk", { body: { list } })).body).toEqual({ inserted: list.length });
});
