/** `/_dashboard`: every website the service holds, searchable, each a link to its dashboard. */
import { ApiError, getJson } from "./api";
import { h, replace } from "./dom";
import { bytes, count, moment } from "./format";
import type { Page } from "./page";
import { noWebsitesYet } from "./states";
import { DASHBOARD_PATH, viewerTimeZone } from "./view";

export interface WebsiteEntry {
  website: string;
  firstTime: string | null;
  lastTime: string | null;
  events: number;
  bytes: number;
}

/** Rows shown at once: the list may hold ten thousand websites; the search narrows it. */
const SHOWN = 100;

const WEBSITE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** The websites whose name holds `query` (any case), in the list's order. */
export function matching(list: WebsiteEntry[], query: string): WebsiteEntry[] {
  const needle = query.trim().toLowerCase();
  return needle === "" ? list : list.filter((entry) => entry.website.toLowerCase().includes(needle));
}

export async function showPicker(page: Page): Promise<void> {
  document.title = "Websites · µAnalytics";
  const tz = viewerTimeZone();
  const status = h("p", { class: "count", role: "status" }, "Loading the websites…");
  const body = h("tbody");
  const search = h("input", {
    id: "search",
    type: "search",
    name: "q",
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": "search-hint",
    value: new URLSearchParams(location.search).get("q") ?? "",
  });
  const main = page.main("picker");
  replace(
    main,
    h("h1", {}, "Websites"),
    h(
      "form",
      { class: "search", role: "search", onsubmit: (event: Event) => (event.preventDefault(), open()) },
      h("label", { for: "search" }, "Search websites"),
      search,
      h("p", { id: "search-hint", class: "hint" }, "Press Enter to open the only match, or a website typed in full."),
    ),
    status,
    h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        { class: "websites" },
        h("caption", { class: "visually-hidden" }, "Websites"),
        h(
          "thead",
          {},
          h("tr", {}, ...["Website", "Events", "Last event", "On disk"].map((label) => h("th", { scope: "col" }, label))),
        ),
        body,
      ),
    ),
  );

  let list: WebsiteEntry[];
  try {
    list = (await getJson<{ list: WebsiteEntry[] }>("/_websites", undefined)).list;
  } catch (error) {
    if (error instanceof ApiError) return page.fail(error, () => showPicker(page));
    throw error;
  }
  if (list.length === 0) {
    replace(main, h("h1", {}, "Websites"), noWebsitesYet(page.auth));
    return page.ready();
  }

  const render = () => {
    const found = matching(list, search.value);
    const url = new URL(location.href);
    if (search.value === "") url.searchParams.delete("q");
    else url.searchParams.set("q", search.value);
    history.replaceState(history.state, "", url);
    status.textContent =
      found.length === list.length
        ? `${count(list.length)} websites`
        : `${count(found.length)} of ${count(list.length)} websites match` + (found.length > SHOWN ? `; the first ${SHOWN} are shown` : "");
    replace(
      body,
      ...found.slice(0, SHOWN).map((entry) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, h("a", { href: `${DASHBOARD_PATH}/${encodeURIComponent(entry.website)}` }, entry.website)),
          h("td", {}, count(entry.events)),
          h("td", {}, entry.lastTime ? moment(Date.parse(entry.lastTime) / 1000, tz) : "—"),
          h("td", {}, bytes(entry.bytes)),
        ),
      ),
    );
  };
  const open = () => {
    const found = matching(list, search.value);
    const typed = search.value.trim();
    const target = found.length === 1 ? found[0]!.website : WEBSITE_NAME.test(typed) ? typed : undefined;
    if (target) page.go(`${DASHBOARD_PATH}/${encodeURIComponent(target)}`);
  };
  search.addEventListener("input", render);
  render();
  page.ready();
}
