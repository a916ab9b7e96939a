// Issue 21: when Cloudflare's etag changes, the scheduled refresh says what was added
// and what was removed (job summary, issue body, webhook JSON).
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { answerJson, rangesReport } from "../scripts/ranges-report";
import { SAMPLE_RANGES } from "./helpers/fixtures";
import { compiled } from "./helpers/compiled";

const NEXT = {
    ipv4: [...SAMPLE_RANGES.ipv4.filter((c) => c !== "131.0.72.0/22"), "45.85.118.0/23"],
    ipv6: [...SAMPLE_RANGES.ipv6, "2a09:bac0::/29"],
    etag: "0123456789abcdef0123456789abcdef",
};

describe("rangesReport", () => {
    test("an etag change lists the added and removed ranges, canonical and sorted", () => {
        const r = rangesReport(SAMPLE_RANGES, NEXT);
        expect(r).toMatchObject({ changed: true, hadPrevious: true, added: ["45.85.118.0/23", "2a09:bac0::/29"], removed: ["131.0.72.0/22"] });
        expect(r.markdown).toContain("### Cloudflare ranges changed");
        expect(r.markdown).toContain("etag `38f79d050aa027e3be3865e495dcc9bc` -> `0123456789abcdef0123456789abcdef`");
        expect(r.markdown).toContain("**Added (2):**\n\n- `45.85.118.0/23`\n- `2a09:bac0::/29`\n");
        expect(r.markdown).toContain("**Removed (1):**\n\n- `131.0.72.0/22`\n");
    });

    test("the same ranges in another order or spelling are unchanged", () => {
        const same = { ...SAMPLE_RANGES, ipv4: [...SAMPLE_RANGES.ipv4].reverse(), ipv6: SAMPLE_RANGES.ipv6.map((c) => c.toUpperCase()) };
        expect(rangesReport(SAMPLE_RANGES, same)).toMatchObject({ changed: false, added: [], removed: [] });
    });

    test("no previous answer is said plainly, and is not a change", () => {
        const r = rangesReport(undefined, SAMPLE_RANGES);
        expect(r).toMatchObject({ changed: false, hadPrevious: false });
        expect(r.markdown).toContain("No earlier answer was kept");
    });

    test("an etag that is not plain text is never echoed into the Markdown", () => {
        const r = rangesReport(SAMPLE_RANGES, { ...NEXT, etag: "x` <img src=y>" });
        expect(r.markdown).toContain("(not shown: unusual characters)");
        expect(r.markdown).not.toContain("<img");
    });
});

describe("npm run ranges-report", () => {
    test("compares with the kept answer, appends the summary, sets the step outputs, writes the hook files and keeps the new answer", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cof-ranges-report-"));
        try {
            const kept = path.join(dir, "answer.json");
            const now = path.join(dir, "now.json");
            fs.writeFileSync(kept, answerJson(SAMPLE_RANGES));
            fs.writeFileSync(now, answerJson(NEXT));
            const summary = path.join(dir, "summary.md");
            const output = path.join(dir, "output.txt");
            const run = () =>
                promisify(execFile)(process.execPath, [compiled("scripts/ranges-report.ts"), "--previous", kept, "--save", kept, "--ranges-file", now, "--summary", summary, "--output", output, "--report-dir", path.join(dir, "report")], {
                    cwd: path.join(__dirname, ".."),
                });
            await run();
            expect(fs.readFileSync(summary, "utf8")).toContain("**Removed (1):**");
            expect(fs.readFileSync(output, "utf8")).toBe("changed=true\netag=0123456789abcdef0123456789abcdef\nadded=2\nremoved=1\n");
            expect(JSON.parse(fs.readFileSync(path.join(dir, "report", "report.json"), "utf8"))).toMatchObject({ changed: true, added: ["45.85.118.0/23", "2a09:bac0::/29"] });
            expect(JSON.parse(fs.readFileSync(kept, "utf8")).result.etag).toBe(NEXT.etag);
            // The next run compares with the kept answer: nothing changed.
            await run();
            expect(fs.readFileSync(output, "utf8").split("\n").slice(4, 5)).toEqual(["changed=false"]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
