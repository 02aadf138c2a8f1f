/**
 * `/_dashboard/<website>`: totals against the previous period, the time
 * series, and the five breakdowns, for the range, interval and filters in
 * the URL. Each panel asks the API on its own and fills as its answer comes.
 */
import { ApiError, authHeaders, getJson, token } from "./api";
import { TimeChart } from "./chart";
import { h, replace } from "./dom";
import { change, count } from "./format";
import type { Page } from "./page";
import { noDataYet } from "./states";
import { bucketStarts, intervalFor, intervalsFor, isoSeconds, localDate, type Interval } from "./time";
import {
  FILTERS,
  PRESETS,
  previousRange,
  rangeLabel,
  resolveRange,
  viewUrl,
  type Filter,
  type FilterName,
  type Preset,
  type Range,
  type View,
} from "./view";

interface Breakdown {
  id: string;
  label: string;
  total: number;
  unique: number;
}
interface Bucket {
  start: string;
  end: string;
  total: number;
  unique: number;
}
interface Count {
  total: number;
  unique: number;
}

/** The breakdown panels: the API route, and the filter a click on a row sets. */
const PANELS: { route: string; title: string; column: string; filter: FilterName }[] = [
  { route: "paths", title: "Top pages", column: "Page", filter: "path" },
  { route: "domains", title: "Referrers", column: "Referrer domain", filter: "refererDomain" },
  { route: "countries", title: "Countries", column: "Country", filter: "countryCode" },
  { route: "platforms", title: "Platforms", column: "Platform", filter: "platform" },
  { route: "events", title: "Events", column: "Event", filter: "event" },
];

/** Rows a table shows before "Show more"; and the most it shows at all. */
const TOP = 10;
const MOST = 500;
const LIVE_MS = 3000;

function apiParams(range: Range, filters: Filter[], extra: Record<string, string> = {}): URLSearchParams {
  const params = new URLSearchParams();
  if (range.start !== undefined) params.set("start", isoSeconds(range.start));
  if (range.end !== undefined) params.set("end", isoSeconds(range.end));
  for (const filter of filters) params.append(filter.name, filter.value);
  for (const [name, value] of Object.entries(extra)) params.set(name, value);
  return params;
}

const rowLabel = (panel: (typeof PANELS)[number], row: Breakdown) =>
  panel.filter === "countryCode" ? row.label || (row.id ? row.id.toUpperCase() : "Unknown") : row.id || "(none)";

let current: Report | undefined;

/** Shows a website's dashboard, reusing the one on screen when only the view changed (focus stays where it was). */
export function showReport(page: Page, view: View): void {
  if (current?.website === view.website && current.alive) current.update(view);
  else current = new Report(page, view);
}

class Report {
  readonly website: string;
  alive = true;
  private view: View;
  private controller: AbortController | undefined;
  private live: number | undefined;
  private loading = false;
  /** Names of filtered values, learned from the tables (a country's English name). */
  private readonly labels = new Map<string, string>();
  private readonly expanded = new Set<string>();
  private readonly chart = new TimeChart();
  private readonly el;

  constructor(
    private readonly page: Page,
    view: View,
  ) {
    this.website = view.website;
    this.view = view;
    const main = page.main("report", () => this.destroy());
    this.el = this.build(main);
    this.update(view);
  }

  update(view: View): void {
    this.view = view;
    document.title = `${view.website} · ${rangeLabel(view.range)} · µAnalytics`;
    this.syncControls();
    clearInterval(this.live);
    if (view.live) {
      this.live = setInterval(() => {
        if (!document.hidden && !this.loading) void this.load(true);
      }, LIVE_MS);
    }
    void this.load(false);
  }

  destroy(): void {
    this.alive = false;
    this.controller?.abort();
    clearInterval(this.live);
    this.chart.destroy();
  }

  private go(change: Partial<View>): void {
    this.page.go(viewUrl({ ...this.view, ...change }));
  }

  private build(main: HTMLElement) {
    const range = h(
      "select",
      { id: "range", name: "range" },
      ...Object.entries(PRESETS).map(([value, label]) => h("option", { value }, label)),
      h("option", { value: "custom" }, "Custom range…"),
    );
    const from = h("input", { id: "from", type: "date", name: "from", required: true });
    const to = h("input", { id: "to", type: "date", name: "to", required: true });
    const custom = h(
      "form",
      { class: "custom", hidden: true, onsubmit: (event: Event) => (event.preventDefault(), this.applyCustom()) },
      h("label", { for: "from" }, "From"),
      from,
      h("label", { for: "to" }, "To"),
      to,
      h("button", { type: "submit" }, "Apply"),
    );
    const interval = h("select", { id: "interval", name: "interval" });
    const live = h("button", { type: "button", id: "live", class: "toggle", "aria-pressed": "false" }, "Live");
    const csv = h("a", { class: "export", id: "export-csv" }, "CSV");
    const ndjson = h("a", { class: "export", id: "export-ndjson" }, "NDJSON");
    const chips = h("ul", { class: "chips", "aria-label": "Filters" });
    const zone = h("p", { class: "zone" });
    const kpi = (id: string, title: string) => {
      const value = h("p", { class: "value" }, "…");
      const delta = h("p", { class: "delta" });
      const section = h("section", { class: "kpi panel", id, "aria-labelledby": `${id}-title` }, h("h2", { id: `${id}-title` }, title), value, delta);
      return { section, value, delta };
    };
    const events = kpi("kpi-events", "Events");
    const visitors = kpi("kpi-visitors", "Unique visitors");
    const problem = () => h("p", { class: "panel-error", role: "alert", hidden: true });
    const kpis = h("div", { class: "kpis", id: "panel-count" }, events.section, visitors.section, problem());
    const chartPanel = h(
      "section",
      { class: "panel chart-panel", id: "panel-time", "aria-labelledby": "chart-title" },
      h("h2", { id: "chart-title" }, "Events and visitors"),
      problem(),
      this.chart.element,
    );
    const tables = PANELS.map((panel) => {
      const body = h("div", { class: "breakdown" });
      const section = h(
        "section",
        { class: "panel table-panel", id: `panel-${panel.route}`, "aria-labelledby": `title-${panel.route}` },
        h("h2", { id: `title-${panel.route}` }, panel.title),
        problem(),
        body,
      );
      return { panel, section, body };
    });

    range.addEventListener("change", () => {
      if (range.value === "custom") {
        custom.hidden = false;
        from.focus();
      } else this.go({ range: { preset: range.value as Preset }, interval: undefined });
    });
    interval.addEventListener("change", () => this.go({ interval: interval.value as Interval }));
    live.addEventListener("click", () => this.go({ live: !this.view.live }));
    for (const link of [csv, ndjson]) link.addEventListener("click", (event) => this.download(event, link));

    replace(
      main,
      h(
        "div",
        { class: "title" },
        h("h1", {}, this.website),
        h("nav", { class: "exports", "aria-label": "Download the events" }, "Download: ", csv, " ", ndjson),
      ),
      h(
        "div",
        { class: "controls" },
        h("div", { class: "control" }, h("label", { for: "range" }, "Range"), range),
        custom,
        h("div", { class: "control" }, h("label", { for: "interval" }, "Interval"), interval),
        live,
      ),
      zone,
      chips,
      kpis,
      chartPanel,
      h("div", { class: "tables" }, ...tables.map((t) => t.section)),
    );
    return { range, custom, from, to, interval, live, csv, ndjson, chips, zone, events, visitors, kpis, chartPanel, tables };
  }

  private applyCustom(): void {
    const { from, to } = this.el;
    if (!from.value || !to.value) return;
    const [start, end] = from.value <= to.value ? [from.value, to.value] : [to.value, from.value];
    this.go({ range: { from: start, to: end }, interval: undefined });
  }

  private syncControls(): void {
    const { view, el } = this;
    const now = Math.floor(Date.now() / 1000);
    const range = resolveRange(view.range, now, view.tz);
    el.range.value = "preset" in view.range ? view.range.preset : "custom";
    el.custom.hidden = "preset" in view.range;
    if ("preset" in view.range) {
      el.from.value = range.start !== undefined ? localDate(range.start, view.tz) : "";
      el.to.value = localDate(range.end ?? now, view.tz);
    } else {
      el.from.value = view.range.from;
      el.to.value = view.range.to;
    }
    el.live.setAttribute("aria-pressed", String(view.live));
    el.zone.textContent = `Times in ${view.tz}.`;

    const exportParams = apiParams(range, view.filters);
    const name = `${view.website}-${range.start !== undefined ? localDate(range.start, view.tz) : "all"}`;
    for (const [link, format] of [
      [el.csv, "csv"],
      [el.ndjson, "ndjson"],
    ] as const) {
      const params = new URLSearchParams(exportParams);
      params.set("format", format);
      link.href = `/${encodeURIComponent(view.website)}?${params}`;
      link.download = `${name}.${format}`;
    }

    this.syncChips();
  }

  /** The filters as chips, named by what the tables taught (a country's English name). */
  private syncChips(): void {
    const { view, el } = this;
    const chipFocused = el.chips.contains(document.activeElement);
    replace(
      el.chips,
      ...view.filters.map((filter) => {
        const label = `${FILTERS[filter.name]}: ${this.labels.get(`${filter.name}\n${filter.value}`) ?? (filter.value || "(none)")}`;
        return h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "chip",
              "aria-label": `Remove the filter ${label}`,
              onclick: () => this.go({ filters: view.filters.filter((f) => f !== filter) }),
            },
            label,
            h("span", { "aria-hidden": "true" }, " ×"),
          ),
        );
      }),
      view.filters.length > 1 && h("li", {}, h("button", { type: "button", class: "link", onclick: () => this.go({ filters: [] }) }, "Clear all filters")),
    );
    // A removed chip takes the focus with it: it goes to the next chip, or to the range.
    if (chipFocused) (el.chips.querySelector("button") ?? el.range).focus();
  }

  private setIntervals(span: number | undefined, chosen: Interval): void {
    const options = span === undefined ? ["day", "week", "month", "year"] : intervalsFor(span);
    if (!options.includes(chosen)) options.push(chosen);
    replace(this.el.interval, ...options.map((i) => h("option", { value: i }, i[0]!.toUpperCase() + i.slice(1))));
    this.el.interval.value = chosen;
  }

  private async load(quiet: boolean): Promise<void> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const { signal } = controller;
    const view = this.view;
    const now = Math.floor(Date.now() / 1000);
    const range = resolveRange(view.range, now, view.tz);
    const base = `/${encodeURIComponent(view.website)}`;
    this.loading = true;
    if (!quiet) {
      this.page.busy();
      for (const section of this.sections()) section.setAttribute("aria-busy", "true");
    }

    // Each panel names the API query behind it, so that its numbers can be checked against the API.
    const get = <T>(route: string, params: URLSearchParams, section: HTMLElement, attribute = "source"): Promise<T> => {
      const path = `${base}${route}`;
      section.dataset[attribute] = `${path}?${params}`;
      // An answer that comes after a newer view took over is not drawn.
      return getJson<T>(path, params, signal).then((answer) => (signal.throwIfAborted(), answer));
    };
    // A panel whose answer is refused shows why; the states that concern the
    // whole page (credentials, an unknown website, no service) replace it.
    const panel = async (section: HTMLElement, work: () => Promise<void>) => {
      const problem = section.querySelector<HTMLElement>(".panel-error")!;
      try {
        await work();
        problem.hidden = true;
      } catch (error) {
        if (signal.aborted || !(error instanceof ApiError) || error.kind !== "answer") throw error;
        problem.textContent = error.message;
        problem.hidden = false;
      } finally {
        if (!signal.aborted) section.setAttribute("aria-busy", "false");
      }
    };

    let totals: Count | undefined;
    try {
      await Promise.all([
        panel(this.el.kpis, async () => {
          const previous = previousRange(range);
          const [now, before] = await Promise.all([
            get<Count>("/count", apiParams(range, view.filters), this.el.kpis),
            previous && get<Count>("/count", apiParams(previous, view.filters), this.el.kpis, "previousSource"),
          ]);
          if (!previous) delete this.el.kpis.dataset.previousSource;
          totals = now;
          this.showTotals(now, before);
        }),
        panel(this.el.chartPanel, () => this.loadSeries(view, range, now, get)),
        ...this.el.tables.map(({ panel: p, section, body }) =>
          panel(section, async () => {
            // One row past those shown tells whether there are more; visitors are then counted for those rows alone.
            const limit = String((this.expanded.has(p.route) ? MOST : TOP) + 1);
            const answer = await get<{ list: Breakdown[] }>(`/${p.route}`, apiParams(range, view.filters, { unique: "true", limit }), section);
            this.showBreakdown(p, body, answer.list);
          }),
        ),
      ]);
      if (totals?.total === 0 && !(await this.hasEvents(base, signal))) {
        replace(this.page.main("state"), noDataYet(view.website, this.page.auth));
        this.page.ready("No data yet");
        return;
      }
      this.syncChips();
      this.page.ready(`${rangeLabel(view.range)}: ${count(totals?.total ?? 0)} events, ${count(totals?.unique ?? 0)} unique visitors.`);
    } catch (error) {
      if (signal.aborted) return;
      controller.abort();
      if (error instanceof ApiError) this.page.fail(error, () => this.page.go(location.href, true));
      else throw error;
    } finally {
      if (this.controller === controller) this.loading = false;
    }
  }

  private sections(): HTMLElement[] {
    return [this.el.kpis, this.el.chartPanel, ...this.el.tables.map((t) => t.section)];
  }

  /** Whether the website holds any event at all, filters and range aside. */
  private async hasEvents(base: string, signal: AbortSignal): Promise<boolean> {
    return (await getJson<Count>(`${base}/count`, undefined, signal)).total > 0;
  }

  private showTotals(now: Count, before: Count | undefined): void {
    for (const [kpi, key] of [
      [this.el.events, "total"],
      [this.el.visitors, "unique"],
    ] as const) {
      kpi.value.textContent = count(now[key]);
      if (!before) {
        replace(kpi.delta, "over all time");
        continue;
      }
      const delta = change(now[key], before[key]);
      const trend = now[key] > before[key] ? "up" : now[key] < before[key] ? "down" : "flat";
      replace(
        kpi.delta,
        delta ? h("span", { class: `trend ${trend}` }, delta) : "",
        delta ? " vs " : "",
        h("span", { class: "previous" }, count(before[key])),
        " in the previous period",
      );
    }
  }

  private async loadSeries(
    view: View,
    range: Range,
    now: number,
    get: <T>(route: string, params: URLSearchParams, section: HTMLElement) => Promise<T>,
  ): Promise<void> {
    const section = this.el.chartPanel;
    const series = (interval: Interval) =>
      get<{ list: Bucket[] }>("/time", apiParams(range, view.filters, { interval, tz: view.tz, unique: "true" }), section).then((a) => a.list);

    let interval = view.interval;
    let buckets: Bucket[] | undefined;
    let span = range.start !== undefined ? (range.end ?? now) - range.start + 1 : undefined;
    if (!interval && span !== undefined) interval = intervalFor(span);
    if (!interval) {
      // All time: how long it is shows in the monthly series, which then may do.
      buckets = await series("month");
      span = buckets.length > 0 ? Date.parse(buckets.at(-1)!.end) / 1000 - Date.parse(buckets[0]!.start) / 1000 : 0;
      interval = intervalFor(span);
      if (interval !== "month") buckets = undefined;
    }
    buckets ??= await series(interval);
    this.setIntervals(span, interval);

    const byStart = new Map(buckets.map((b) => [Date.parse(b.start) / 1000, b]));
    const first = range.start ?? (buckets.length > 0 ? Date.parse(buckets[0]!.start) / 1000 : now);
    const last = Math.max(range.end ?? now, buckets.length > 0 ? Date.parse(buckets.at(-1)!.start) / 1000 : 0);
    // Buckets without events are not in the answer; the chart shows them as zero.
    const starts = [...new Set([...bucketStarts(interval, first, last, view.tz), ...byStart.keys()])].sort((a, b) => a - b);
    this.chart.show({
      interval,
      tz: view.tz,
      starts,
      totals: starts.map((s) => byStart.get(s)?.total ?? 0),
      uniques: starts.map((s) => byStart.get(s)?.unique ?? 0),
    });
  }

  private showBreakdown(panel: (typeof PANELS)[number], body: HTMLElement, rows: Breakdown[]): void {
    for (const row of rows) this.labels.set(`${panel.filter}\n${row.id}`, rowLabel(panel, row));
    if (rows.length === 0) {
      replace(body, h("p", { class: "empty" }, "No events in this range."));
      return;
    }
    // A click on a row redraws the table under the keyboard's focus: it stays on that row, or on the table's first.
    const focused = body.contains(document.activeElement) ? document.activeElement?.closest("tr")?.dataset.id : undefined;
    const expanded = this.expanded.has(panel.route);
    const shown = rows.slice(0, expanded ? MOST : TOP);
    const top = rows[0]!.total;
    const active = this.view.filters.filter((f) => f.name === panel.filter).map((f) => f.value);
    replace(
      body,
      h(
        "table",
        {},
        h("caption", { class: "visually-hidden" }, `${panel.title}, by events`),
        h(
          "thead",
          {},
          h("tr", {}, h("th", { scope: "col" }, panel.column), h("th", { scope: "col" }, "Events"), h("th", { scope: "col" }, "Visitors")),
        ),
        h(
          "tbody",
          {},
          ...shown.map((row) => {
            const label = rowLabel(panel, row);
            const button = h(
              "button",
              {
                type: "button",
                class: `row-filter${row.id === "" ? " none" : ""}`,
                "aria-label": `Filter by ${panel.column.toLowerCase()}: ${label}`,
                "aria-pressed": active.includes(row.id) ? "true" : undefined,
                title: label,
                onclick: () => this.go({ filters: [...this.view.filters.filter((f) => f.name !== panel.filter), { name: panel.filter, value: row.id }] }),
              },
              label,
            );
            const name = h("th", { scope: "row" }, button);
            name.style.setProperty("--share", String(top > 0 ? row.total / top : 0));
            return h("tr", { "data-id": row.id }, name, h("td", {}, count(row.total)), h("td", {}, count(row.unique)));
          }),
        ),
      ),
      rows.length > TOP &&
        h(
          "button",
          {
            type: "button",
            class: "link more",
            "aria-expanded": String(expanded),
            onclick: () => {
              if (expanded) {
                this.expanded.delete(panel.route);
                this.showBreakdown(panel, body, rows);
              } else {
                // The rows past the top ones were not asked for yet.
                this.expanded.add(panel.route);
                void this.load(true);
              }
            },
          },
          expanded ? `Show the top ${TOP}` : "Show more",
        ),
      expanded && rows.length > MOST && h("p", { class: "hint" }, "More are in the download."),
    );
    if (focused !== undefined) {
      const again = [...body.querySelectorAll<HTMLElement>("tbody tr")].find((tr) => tr.dataset.id === focused) ?? body.querySelector("tbody tr");
      again?.querySelector("button")?.focus();
    }
  }

  /** With a token, a link cannot carry it: the file is fetched with the header, then saved. */
  private async download(event: Event, link: HTMLAnchorElement): Promise<void> {
    if (!token.get()) return;
    event.preventDefault();
    const response = await fetch(link.href, { headers: authHeaders() });
    if (!response.ok) return this.page.fail(new ApiError(response.status === 401 ? "credentials" : "answer", `The download failed (${response.status}).`), () => {});
    const url = URL.createObjectURL(await response.blob());
    const save = h("a", { href: url, download: link.download });
    save.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}
