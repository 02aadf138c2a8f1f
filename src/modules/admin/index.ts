import { Elysia } from "elysia";
import { AppError } from "../../errors";
import type { Store } from "../../store/store";
import { assertWebsiteName } from "../../store/website";

export function adminRoutes(store: Store) {
  return new Elysia({ name: "admin" }).delete("/:website", ({ params: { website } }) => {
    assertWebsiteName(website);
    if (!store.deleteWebsite(website)) {
      throw new AppError("InvalidDatabaseName", `There is no website named "${website}".`);
    }
    return { deleted: website };
  });
}
