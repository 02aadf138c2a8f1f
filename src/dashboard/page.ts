/**
 * The frame every view draws into: the header, the main region, the signed-in
 * state, navigation through the URL, and the states a failed request leads to.
 */
import { ApiError, token } from "./api";
import { h, replace } from "./dom";
import { failure, signInWithBrowser, tokenForm, unknownWebsite, unreachable, type AuthConfig } from "./states";
import { DASHBOARD_PATH, websiteOf } from "./view";

/** How often the page tries again while the service does not answer. */
const RETRY_MS = 3000;

export class Page {
  readonly auth: AuthConfig;
  private readonly mainElement: HTMLElement;
  private readonly announcer: HTMLElement;
  private retry: number | undefined;
  private teardown: (() => void) | undefined;

  constructor(
    root: HTMLElement,
    auth: AuthConfig,
    private readonly route: () => void,
  ) {
    this.auth = auth;
    this.mainElement = h("main", { id: "main", tabindex: "-1", "data-status": "loading" });
    this.announcer = h("p", { class: "visually-hidden", role: "status", "aria-live": "polite" });
    const signOut = auth.kinds.includes("bearer")
      ? h("button", { type: "button", class: "link sign-out", hidden: !token.get(), onclick: () => (token.clear(), this.route()) }, "Sign out")
      : undefined;
    replace(
      root,
      h("a", { class: "skip", href: "#main" }, "Skip to the numbers"),
      h("header", { class: "site" }, h("a", { class: "brand", href: DASHBOARD_PATH }, "µAnalytics"), signOut),
      this.mainElement,
      this.announcer,
    );
  }

  /** Whether the page must ask for a token before any request can succeed. */
  needsToken(): boolean {
    const { kinds, signedIn } = this.auth;
    return kinds.includes("bearer") && !token.get() && !(kinds.includes("basic") && signedIn);
  }

  /** Clears the main region for a new view; `onLeave` runs when the next view takes over. */
  main(kind: string, onLeave?: () => void): HTMLElement {
    this.teardown?.();
    this.teardown = onLeave;
    clearTimeout(this.retry);
    this.mainElement.dataset.view = kind;
    this.busy();
    this.mainElement.replaceChildren();
    const signOut = document.querySelector<HTMLElement>(".sign-out");
    if (signOut) signOut.hidden = !token.get();
    return this.mainElement;
  }

  go(url: string, replaceEntry = false): void {
    if (replaceEntry) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    this.route();
  }

  busy(): void {
    this.mainElement.dataset.status = "loading";
    this.mainElement.setAttribute("aria-busy", "true");
  }

  /** Every panel is filled: said to screen readers, and marked for tests and the benchmark. */
  ready(announcement?: string): void {
    this.mainElement.dataset.status = "ready";
    this.mainElement.setAttribute("aria-busy", "false");
    if (announcement) this.announcer.textContent = announcement;
    performance.mark("dashboard:ready");
  }

  /** Replaces the view with what a failed request calls for. */
  fail(error: ApiError, retry: () => void): void {
    const main = this.main("state");
    let state: HTMLElement;
    switch (error.kind) {
      case "credentials":
        if (this.auth.kinds.includes("bearer")) {
          const refused = token.get() !== null ? error.message : undefined;
          token.clear();
          state = this.tokenState(refused);
        } else state = signInWithBrowser(true);
        break;
      case "unknown-website":
        state = unknownWebsite(websiteOf(location.pathname) ?? "", this.auth);
        break;
      case "unreachable":
        state = unreachable(retry);
        this.retry = setTimeout(retry, RETRY_MS);
        break;
      case "answer":
        state = failure(error.message, retry);
        break;
    }
    replace(main, state);
    main.dataset.status = `error:${error.kind}`;
    main.setAttribute("aria-busy", "false");
    this.announcer.textContent = state.querySelector("h2")?.textContent ?? "";
  }

  /** The sign-in state when no request could succeed yet. */
  signIn(): void {
    const main = this.main("sign-in");
    replace(main, this.auth.kinds.includes("bearer") ? this.tokenState(undefined) : signInWithBrowser(false));
    main.dataset.status = "sign-in";
    main.setAttribute("aria-busy", "false");
    main.querySelector<HTMLInputElement>("input")?.focus();
  }

  /** `refused`: why the service refused the last token, if it did. */
  private tokenState(refused: string | undefined): HTMLElement {
    return tokenForm(refused, (value) => {
      token.set(value);
      this.route();
    });
  }
}
