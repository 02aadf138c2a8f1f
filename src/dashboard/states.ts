/** What the page says when it has no numbers to show, each with what a person can do about it. */
import { h } from "./dom";

export interface AuthConfig {
  /** The kinds of credentials the service takes ("basic", "bearer"); none: the service is open. */
  kinds: string[];
  /** The browser sent the basic-auth user and password with the page. */
  signedIn: boolean;
}

/** The one command that sends a first event, with the credentials the service takes. */
export function firstEventCommand(website: string, auth: AuthConfig): string {
  const credentials = auth.kinds.includes("basic") ? " -u 'USER:PASSWORD'" : auth.kinds.includes("bearer") ? " -H 'authorization: Bearer TOKEN'" : "";
  return `curl -X POST '${location.origin}/${website}'${credentials} -H 'content-type: application/json' -d '{"event":"pageview","path":"/"}'`;
}

function message(title: string, ...body: (Node | string)[]): HTMLElement {
  return h("section", { class: "state", "aria-labelledby": "state-title" }, h("h2", { id: "state-title", tabindex: "-1" }, title), ...body);
}

const command = (text: string) => h("pre", { class: "command" }, h("code", {}, text));

export function noDataYet(website: string, auth: AuthConfig): HTMLElement {
  return message(
    "No data yet",
    h("p", {}, `${website} has no events yet. Send a first one from a terminal, then reload this page:`),
    command(firstEventCommand(website, auth)),
  );
}

export function noWebsitesYet(auth: AuthConfig): HTMLElement {
  return message(
    "No data yet",
    h("p", {}, "No website has sent an event to this service yet. A website is created by its first event; send one from a terminal:"),
    command(firstEventCommand("example.com", auth)),
    h("p", {}, "Then reload this page."),
  );
}

export function unknownWebsite(website: string, auth: AuthConfig): HTMLElement {
  return message(
    "Unknown website",
    h("p", {}, `This service has no website named “${website}”. Check the spelling, or `, h("a", { href: "/_dashboard" }, "pick one from the list"), "."),
    h("p", {}, "A website is created by its first event:"),
    command(firstEventCommand(website, auth)),
  );
}

export function unreachable(retry: () => void): HTMLElement {
  return message(
    "The service does not answer",
    h("p", {}, `Nothing answered at ${location.origin}. The service may be restarting or stopped; the page tries again every few seconds.`),
    h("button", { type: "button", onclick: retry }, "Try again now"),
  );
}

export function failure(text: string, retry: () => void): HTMLElement {
  return message("The service could not answer", h("p", {}, text), h("button", { type: "button", onclick: retry }, "Try again"));
}

/** Basic auth: the browser asks, on loading the page; there is nothing the page itself can send. */
export function signInWithBrowser(refused: boolean): HTMLElement {
  return message(
    refused ? "Wrong user name or password" : "Sign-in needed",
    h(
      "p",
      {},
      refused
        ? "The service refused the user name and password this browser sent. "
        : "This service needs a user name and password, and the browser did not send them. ",
      "Reload the page and give them when the browser asks.",
    ),
    h("button", { type: "button", onclick: () => location.reload() }, "Reload"),
  );
}

/** Bearer auth: a token typed once, kept in this tab's session storage only. */
export function tokenForm(refused: string | undefined, submit: (token: string) => void): HTMLElement {
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "current-password", required: true, spellcheck: "false" });
  return message(
    refused !== undefined ? "Wrong token" : "Sign-in needed",
    h("p", {}, refused !== undefined ? `The service refused that token: ${refused}` : "This service needs an access token (its --token) to show its numbers."),
    h(
      "form",
      {
        class: "token-form",
        onsubmit: (event: Event) => {
          event.preventDefault();
          if (input.value.trim() !== "") submit(input.value.trim());
        },
      },
      h("label", { for: "token" }, "Access token"),
      input,
      h("button", { type: "submit" }, "Sign in"),
    ),
    h("p", { class: "hint" }, "The token stays in this tab until it is closed, and is sent only to this service, in a header."),
  );
}
