import type { PageFiles } from "./assets";

/** Where the page's own files are served from (see index.ts). */
export const ASSETS_PATH = "/_dashboard/assets";

/** A small bar chart, drawn inline so that the browser asks for no favicon. */
const ICON =
  "data:image/svg+xml," +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2563eb"/><path d="M4 12V8M8 12V4M12 12V7" stroke="#fff" stroke-width="2" stroke-linecap="round"/></svg>',
  );

export interface ShellOptions {
  /** The kinds of credentials the service takes: "basic", "bearer", both or none. */
  auth: string[];
  /** Whether this request carried the basic-auth credentials (then the page's requests carry them too). */
  signedIn: boolean;
}

/**
 * The page before its script runs: no data in it, only where to find the
 * script and how the service is guarded, so that the script knows whether to
 * ask for a token.
 */
export function renderShell(files: PageFiles, { auth, signedIn }: ShellOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>µAnalytics</title>
<link rel="icon" href="${ICON}">
<link rel="stylesheet" href="${ASSETS_PATH}/${files.style.name}">
<script type="module" src="${ASSETS_PATH}/${files.script.name}"></script>
</head>
<body data-auth="${auth.join(" ")}" data-signed-in="${signedIn}">
<div id="app"><noscript><p>This dashboard needs JavaScript. The same numbers are in the JSON API: see the README.</p></noscript></div>
</body>
</html>
`;
}

/** What the page may load and talk to: the service itself, nothing else. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");
