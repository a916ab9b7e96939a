// Where the processes the tests start find their code: dist/, kept up to date from
// the sources by jest's global setup (see transpile.ts).
import * as path from "path";

export const ROOT = path.join(__dirname, "..", "..");

/** The compiled file of a source file given relative to the project root ("scripts/plan.ts"). */
export function compiled(source: string): string {
    return path.join(ROOT, "dist", source.replace(/\.ts$/, ".js"));
}
