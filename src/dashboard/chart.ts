/**
 * The time series: a uPlot line chart of events and visitors, and the same
 * numbers as a table for screen readers and for anyone who wants the digits.
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { h, replace } from "./dom";
import { bucketLabel, count } from "./format";
import type { Interval } from "./time";

export interface Series {
  interval: Interval;
  tz: string;
  starts: number[];
  totals: number[];
  uniques: number[];
}

const HEIGHT = 260;

export class TimeChart {
  readonly element: HTMLElement;
  private readonly plotBox: HTMLElement;
  private readonly table: HTMLTableElement;
  private plot: uPlot | undefined;
  private series: Series | undefined;
  private readonly resize = new ResizeObserver(() => this.fit());
  private readonly scheme = matchMedia("(prefers-color-scheme: dark)");
  private readonly redraw = () => this.draw();

  constructor() {
    this.plotBox = h("div", { class: "plot", role: "img", "aria-label": "Chart of events and visitors" });
    this.table = h("table", { class: "numbers" });
    this.element = h(
      "div",
      { class: "chart" },
      this.plotBox,
      h("details", {}, h("summary", {}, "The chart's numbers as a table"), h("div", { class: "table-scroll" }, this.table)),
    );
    this.resize.observe(this.plotBox);
    this.scheme.addEventListener("change", this.redraw);
  }

  show(series: Series): void {
    this.series = series;
    const totalEvents = series.totals.reduce((a, b) => a + b, 0);
    this.plotBox.setAttribute(
      "aria-label",
      `Chart of events and visitors by ${series.interval}, ${series.starts.length} ${series.interval}s, ${count(totalEvents)} events in all; the table below has each number.`,
    );
    replace(
      this.table,
      h("caption", {}, `Events and visitors by ${series.interval}`),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, capitalize(series.interval)), h("th", { scope: "col" }, "Events"), h("th", { scope: "col" }, "Visitors"))),
      h(
        "tbody",
        {},
        ...series.starts.map((start, i) =>
          h(
            "tr",
            { "data-start": start },
            h("th", { scope: "row" }, bucketLabel(start, series.interval, series.tz)),
            h("td", {}, count(series.totals[i]!)),
            h("td", {}, count(series.uniques[i]!)),
          ),
        ),
      ),
    );
    this.draw();
  }

  destroy(): void {
    this.resize.disconnect();
    this.scheme.removeEventListener("change", this.redraw);
    this.plot?.destroy();
  }

  /** uPlot draws on a canvas: its colours come from the page's CSS, read again when the scheme changes. */
  private draw(): void {
    const series = this.series;
    if (!series) return;
    this.plot?.destroy();
    const css = getComputedStyle(this.element);
    const color = (name: string) => css.getPropertyValue(name).trim();
    const axis = { stroke: color("--muted"), grid: { stroke: color("--grid"), width: 1 }, ticks: { stroke: color("--grid"), width: 1 } };
    const { tz } = series;
    this.plot = new uPlot(
      {
        width: Math.max(this.plotBox.clientWidth, 200),
        height: HEIGHT,
        tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), tz),
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        series: [
          { label: capitalize(series.interval), value: (_u, seconds) => (seconds == null ? "—" : bucketLabel(seconds, series.interval, tz)) },
          { label: "Events", stroke: color("--events"), fill: color("--events-fill"), width: 2, value: (_u, v) => (v == null ? "—" : count(v)) },
          { label: "Visitors", stroke: color("--visitors"), width: 2, value: (_u, v) => (v == null ? "—" : count(v)) },
        ],
        axes: [axis, { ...axis, size: 60, values: (_u, values) => values.map((v) => (Number.isInteger(v) ? count(v) : "")) }],
        cursor: { drag: { x: false, y: false } },
      },
      [series.starts, series.totals, series.uniques],
      this.plotBox,
    );
  }

  private fit(): void {
    if (this.plot && this.plotBox.clientWidth > 0 && this.plotBox.clientWidth !== this.plot.width) {
      this.plot.setSize({ width: this.plotBox.clientWidth, height: HEIGHT });
    }
  }
}

const capitalize = (text: string) => text[0]!.toUpperCase() + text.slice(1);
