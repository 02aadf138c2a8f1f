import { describe, expect, test } from "bun:test";
import { AppError } from "../../../../src/errors";
import { parseBulkBody, parseMultiBulkBody, parseSingleBody, type EventRules } from "../../../../src/modules/ingest/model";

const NOBODY = { ip: "", userAgent: "", referer: "" };
const RULES: EventRules = { now: 1_448_366_400, oldest: 0, maxFieldLength: 100, maxHeaders: 3, maxBulkItems: 5, requester: NOBODY };

/** The code and message of the AppError that `parse` throws. */
function refusal(parse: () => unknown): { code: string; message: string } {
  try {
    parse();
  } catch (error) {
    if (error instanceof AppError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("accepted");
}

describe("one event", () => {
  test("every field is optional: absent text is empty, an absent time is the request's", () => {
    expect(parseSingleBody({}, RULES)).toEqual({
      time: RULES.now,
      event: "",
      path: "",
      ip: "",
      platform: "",
      refererDomain: "",
      countryCode: "",
      userAgent: "",
      referer: "",
    });
  });

  test("keeps the text fields as sent, and reads the time in any accepted form", () => {
    const event = {
      time: "2015-11-24T14:00:00+02:00",
      event: "download",
      path: "/a",
      ip: "10.0.0.1",
      platform: "Linux",
      refererDomain: "x.example",
      countryCode: "FR",
    };
    expect(parseSingleBody(event, RULES)).toMatchObject({ ...event, time: 1_448_366_400 });
  });

  test("takes User-Agent and Referer (or Referrer) from headers in any case, and checks every header", () => {
    expect(parseSingleBody({ headers: { "uSeR-aGeNt": "UA", REFERRER: "https://r.example/" } }, RULES)).toMatchObject({
      userAgent: "UA",
      referer: "https://r.example/",
    });
    expect(parseSingleBody({ headers: { referer: "https://a.example/", "Referrer-Policy": "no-referrer" } }, RULES)).toMatchObject({
      referer: "https://a.example/",
    });
    expect(refusal(() => parseSingleBody({ headers: { "X-Other": 5 } }, RULES))).toEqual({
      code: "InvalidEvent",
      message: expect.stringContaining("headers.X-Other"),
    });
  });

  test.each([
    ["a body that is not an object", [], "body"],
    ["a number for a text field", { path: 5 }, "path"],
    ["an object for a text field", { platform: { name: "Linux" } }, "platform"],
    ["headers that are not an object", { headers: "User-Agent: x" }, "headers"],
    ["an array of headers", { headers: ["User-Agent", "x"] }, "headers"],
    ["a NUL in a field", { event: "a\u0000b" }, "event"],
    ["a NUL in a header", { headers: { "User-Agent": "a\u0000" } }, "headers.User-Agent"],
  ])("refuses %s with InvalidEvent naming it", (_what, body, field) => {
    const { code, message } = refusal(() => parseSingleBody(body, RULES));
    expect(code).toBe("InvalidEvent");
    expect(message).toStartWith(`${field}: `);
  });

  test("an event without ip is the requester's: its address, and the headers the event does not give", () => {
    const rules = { ...RULES, requester: { ip: "203.0.113.9", userAgent: "Browser UA", referer: "https://r.example/" } };
    expect(parseSingleBody({}, rules)).toMatchObject({ ip: "203.0.113.9", userAgent: "Browser UA", referer: "https://r.example/" });
    expect(parseSingleBody({ headers: { "User-Agent": "Own UA" } }, rules)).toMatchObject({ userAgent: "Own UA", referer: "https://r.example/" });
    // An event with an ip is relayed for someone else, whose headers are not the relay's.
    expect(parseSingleBody({ ip: "10.0.0.1" }, rules)).toMatchObject({ ip: "10.0.0.1", userAgent: "", referer: "" });
  });

  test("refuses a bad time with InvalidTimeFormat", () => {
    expect(refusal(() => parseSingleBody({ time: "soon" }, RULES)).code).toBe("InvalidTimeFormat");
  });

  test("holds fields and headers to --max-field-length and --max-headers, naming the flag, exactly at the limit accepted", () => {
    expect(parseSingleBody({ event: "e".repeat(100), headers: { a: "1", b: "2", "User-Agent": "u".repeat(100) } }, RULES).event).toHaveLength(100);
    expect(refusal(() => parseSingleBody({ event: "e".repeat(101) }, RULES))).toEqual({
      code: "LimitExceeded",
      message: expect.stringContaining("--max-field-length"),
    });
    expect(refusal(() => parseSingleBody({ headers: { "User-Agent": "u".repeat(101) } }, RULES)).message).toContain("--max-field-length");
    expect(refusal(() => parseSingleBody({ headers: { a: "1", b: "2", c: "3", d: "4" } }, RULES))).toEqual({
      code: "LimitExceeded",
      message: expect.stringContaining("--max-headers"),
    });
  });

  test("refuses a time before what the service keeps (--retention-months), and takes the first second kept", () => {
    const rules = { ...RULES, oldest: 1_446_336_000 };
    expect(parseSingleBody({ time: 1_446_336_000 }, rules).time).toBe(1_446_336_000);
    expect(refusal(() => parseSingleBody({ time: 1_446_335_999 }, rules))).toEqual({
      code: "InvalidEvent",
      message: expect.stringMatching(/^time: .*--retention-months/),
    });
  });
});

describe("bulk bodies", () => {
  test("parse every item, in order", () => {
    expect(parseBulkBody({ list: [{ path: "/a" }, { path: "/b" }] }, RULES).map((event) => event.path)).toEqual(["/a", "/b"]);
    expect(parseBulkBody({ list: [] }, RULES)).toEqual([]);
  });

  test("name the index and the field of the first bad item", () => {
    expect(refusal(() => parseBulkBody({ list: [{}, {}, { ip: 42 }] }, RULES))).toEqual({
      code: "InvalidEvent",
      message: expect.stringMatching(/^list\[2\]\.ip: /),
    });
    expect(refusal(() => parseBulkBody({ list: [{}, null] }, RULES)).message).toStartWith("list[1]: ");
    expect(refusal(() => parseBulkBody({ list: [{ time: "x" }] }, RULES)).message).toStartWith("list[0].time: ");
  });

  test.each([
    ["not an object", [{}]],
    ["a list that is not an array", { list: { 0: {} } }],
    ["no list", { path: "/a" }],
  ])("refuse a body that is %s", (_what, body) => {
    expect(refusal(() => parseBulkBody(body, RULES)).code).toBe("InvalidEvent");
    expect(refusal(() => parseMultiBulkBody(body, RULES)).code).toBe("InvalidEvent");
  });

  test("hold a list to --max-bulk-items, exactly at the limit accepted", () => {
    expect(parseBulkBody({ list: Array.from({ length: 5 }, () => ({})) }, RULES)).toHaveLength(5);
    expect(refusal(() => parseBulkBody({ list: Array.from({ length: 6 }, () => ({})) }, RULES))).toEqual({
      code: "LimitExceeded",
      message: expect.stringContaining("--max-bulk-items"),
    });
  });

  test("POST /bulk items each name a valid website, which is not part of the event", () => {
    const [event] = parseMultiBulkBody({ list: [{ website: "a.example", path: "/x" }] }, RULES);
    expect(event).toMatchObject({ website: "a.example", path: "/x" });
    expect(refusal(() => parseMultiBulkBody({ list: [{ website: "a.example" }, {}] }, RULES))).toEqual({
      code: "InvalidEvent",
      message: expect.stringMatching(/^list\[1\]\.website: /),
    });
    for (const website of ["../escape", "a/b", "", 7, null, ".hidden", "x".repeat(201)]) {
      expect({ website, ...refusal(() => parseMultiBulkBody({ list: [{ website }] }, RULES)) }).toEqual({
        website,
        code: "InvalidWebsiteName",
        message: expect.stringMatching(/^list\[0\]\.website: /),
      });
    }
  });
});
