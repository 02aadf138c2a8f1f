// The package entry loads every locale dynamically, which a compiled binary
// cannot resolve; load the core and the English names only.
import countries from "i18n-iso-countries/index.js";
import english from "i18n-iso-countries/langs/en.json";

countries.registerLocale(english);

/** The English name of a lower-case ISO 3166-1 alpha-2 code; "" when unknown. */
export function countryName(code: string): string {
  return (code && countries.getName(code.toUpperCase(), "en")) || "";
}
