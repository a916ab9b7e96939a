// Where the processes the tests start find their code: .jest-build/, laid out like
// dist/ (one level below the project, so the tools find the stacks and host/ the same
// way) and kept up to date from the sources by jest's global setup (see transpile.ts).
// Not dist/ itself: a test that packs the package rebuilds dist/ while others run.
import * as path from "path";

export const ROOT = path.join(__dirname, "..", "..");

/** The compiled file of a source file given relative to the project root ("scripts/plan.ts"). */
export function compiled(source: string): string {
    return path.join(ROOT, ".jest-build", source.replace(/\.ts$/, ".js"));
}
