import { Elysia } from "elysia";
import { AppError } from "../../errors";
import { hasBasicCredentials, type Credentials } from "../../http/auth";
import { assertWebsiteName } from "../../store/website";
import { fileResponse, pageFiles, type PageFiles, type ServedFile } from "./assets";
import { compress } from "./compress";
import { ASSETS_PATH, CONTENT_SECURITY_POLICY, renderShell } from "./shell";

const PAGE_HEADERS = {
  "cache-control": "no-cache",
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};
const FILE_HEADERS = {
  "cache-control": "public, max-age=31536000, immutable",
  "x-content-type-options": "nosniff",
};

/**
 * `GET /_dashboard` (the website picker) and `GET /_dashboard/<website>`: one
 * page, whose script reads the same API a program reads, with the same
 * credentials. Mounted before auth, because what these routes serve holds no
 * data: the page's shell, script and style. With basic auth on, the shell
 * comes with a 401 and a Basic challenge until the browser sends the user and
 * password, so the browser's own prompt asks for them and then sends them with
 * every request of the page; the shell is the body of that 401 too, so a
 * person who cancels the prompt sees the page say what it needs (and, when a
 * token is configured, a form for it). With a token alone, the shell is open
 * and the page asks for the token.
 */
export function dashboardRoutes(credentials: Credentials) {
  const basic = credentials.user !== "";
  const auth = [basic && "basic", credentials.token !== "" && "bearer"].filter((kind) => kind !== false);
  const shells = new Map<boolean, ServedFile>();
  const shell = (files: PageFiles, signedIn: boolean): ServedFile => {
    let file = shells.get(signedIn);
    if (!file) {
      file = { name: "index.html", type: "text/html;charset=utf-8", bodies: compress(renderShell(files, { auth, signedIn })) };
      shells.set(signedIn, file);
    }
    return file;
  };

  const page = async (request: Request, set: { status?: number | string }) => {
    const files = await pageFiles();
    const signedIn = basic && hasBasicCredentials(request.headers.get("authorization"), credentials);
    const refused = basic && !signedIn;
    set.status = refused ? 401 : 200;
    return fileResponse(
      shell(files, signedIn),
      request.headers.get("accept-encoding"),
      refused ? { ...PAGE_HEADERS, "www-authenticate": 'Basic realm="micro-analytics"' } : PAGE_HEADERS,
      refused ? 401 : 200,
    );
  };

  return new Elysia({ name: "dashboard" })
    .get("/_dashboard", ({ request, set }) => page(request, set))
    .get("/_dashboard/:website", ({ params, request, set }) => {
      assertWebsiteName(params.website);
      return page(request, set);
    })
    .get(`${ASSETS_PATH}/:file`, async ({ params, request }) => {
      const files = await pageFiles();
      const file = [files.script, files.style].find((f) => f.name === params.file);
      if (!file) throw new AppError("NotFound", `There is no file ${params.file} in the dashboard; reload the page.`);
      return fileResponse(file, request.headers.get("accept-encoding"), FILE_HEADERS);
    });
}
