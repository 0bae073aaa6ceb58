// `npm run build`: compile the stylesheet and copy the scripts into the package's static
// folder, so the wheel carries them and nothing is fetched at run time.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// `--out DIR` builds elsewhere (tests/test_frontend.py compares that with what is committed).
const at = process.argv.indexOf("--out");
const out = at > 0 ? process.argv[at + 1] : join(root, "infoshare_workflow", "templates", "static");
const govuk = join(root, "node_modules", "govuk-frontend", "dist", "govuk");
mkdirSync(out, { recursive: true });

const css = sass.compile(join(root, "frontend", "app.scss"), {
  loadPaths: [join(root, "node_modules")],
  style: "compressed",
  quietDeps: true,
  silenceDeprecations: ["import"],
});
writeFileSync(join(out, "app.css"), css.css + "\n");
copyFileSync(join(govuk, "govuk-frontend.min.js"), join(out, "govuk-frontend.min.js"));
copyFileSync(join(root, "frontend", "app.js"), join(out, "app.js"));
copyFileSync(join(root, "frontend", "js-enabled.js"), join(out, "js-enabled.js"));
console.log(`built ${out}`);
