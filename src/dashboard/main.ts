/** The dashboard's entry point: reads how the service is guarded, then shows the view the URL names. */
import "./styles.css";
import { Page } from "./page";
import { showPicker } from "./picker";
import { showReport } from "./report";
import { readView, viewUrl, websiteOf } from "./view";

const root = document.getElementById("app")!;
const auth = {
  kinds: (document.body.dataset.auth ?? "").split(" ").filter(Boolean),
  signedIn: document.body.dataset.signedIn === "true",
};

function route(): void {
  if (page.needsToken() || (auth.kinds.length > 0 && !auth.kinds.includes("bearer") && !auth.signedIn)) return page.signIn();
  const website = websiteOf(location.pathname);
  if (website === undefined) return void showPicker(page);
  const view = readView(website, new URLSearchParams(location.search));
  // The URL always holds the whole view (the range, the zone), so that a copy of it shows the same.
  const canonical = viewUrl(view);
  if (canonical !== location.pathname + location.search) history.replaceState(null, "", canonical);
  showReport(page, view);
}

const page = new Page(root, auth, route);
addEventListener("popstate", route);
route();
