/**
 * What changed in Cloudflare's ranges since the last answer seen: the scheduled
 * refresh keeps the last answer (GitHub's cache) and runs this before deploying.
 * When the etag changed it writes the added and removed ranges as Markdown (the job
 * summary, and the body of the optional issue) and as JSON (the optional webhook).
 *
 *   npm run ranges-report -- --previous answer.json --save answer.json \
 *       [--summary "$GITHUB_STEP_SUMMARY"] [--output "$GITHUB_OUTPUT"] [--report-dir dir] \
 *       [--ranges-file saved.json | --cloudflare-url URL]
 *
 * Exit 0 whether or not the ranges changed; 1 when Cloudflare's answer is rejected
 * (nothing is saved then, so the next run compares with the last good answer).
 */
import * as fs from "fs";
import * as path from "path";
import { CloudflareRanges } from "../components";
import { canonicalCidrList } from "../components/cidr";
import { escapeText } from "../components/text";
import { EXIT, parseCli, runCli, valueFlags } from "./cli";
import { loadRanges, readRangesFile, userPath } from "./ranges";

/** The difference between two answers. */
export interface RangesReport {
    /** True when there was a previous answer and its etag or its ranges differ. */
    changed: boolean;
    /** False when no previous answer was kept (first run, or the cache expired). */
    hadPrevious: boolean;
    previousEtag?: string;
    etag?: string;
    added: string[];
    removed: string[];
    /** The summary, Markdown; every value in it is a validated CIDR or a checked etag. */
    markdown: string;
}

// An etag is shown only when it looks like one; anything else is not echoed into Markdown.
const shownEtag = (etag: string | undefined) => (etag === undefined ? "(none)" : /^[0-9A-Za-z._-]{1,128}$/.test(etag) ? `\`${etag}\`` : "(not shown: unusual characters)");

/** Compares the previous answer (if any) with the current one; pure. */
export function rangesReport(previous: CloudflareRanges | undefined, current: CloudflareRanges): RangesReport {
    const all = (r: CloudflareRanges) => canonicalCidrList([...r.ipv4, ...r.ipv6]);
    const now = all(current);
    if (!previous) {
        return {
            changed: false,
            hadPrevious: false,
            etag: current.etag,
            added: [],
            removed: [],
            markdown: `### Cloudflare ranges\n\nNo earlier answer was kept (first run, or the cache expired): ${now.length} ranges, etag ${shownEtag(current.etag)}. The next run compares with this one.\n`,
        };
    }
    const before = all(previous);
    const added = now.filter((c) => !before.includes(c));
    const removed = before.filter((c) => !now.includes(c));
    const changed = previous.etag !== current.etag || added.length > 0 || removed.length > 0;
    const list = (title: string, items: string[]) => (items.length === 0 ? `**${title}:** none\n` : `**${title} (${items.length}):**\n\n${items.map((c) => `- \`${c}\``).join("\n")}\n`);
    const markdown = changed
        ? `### Cloudflare ranges changed\n\netag ${shownEtag(previous.etag)} -> ${shownEtag(current.etag)}. The firewalls below admit the new ranges on the Cloudflare ports after this run's deploy.\n\n${list("Added", added)}\n${list("Removed", removed)}`
        : `### Cloudflare ranges\n\nUnchanged since the last run (etag ${shownEtag(current.etag)}, ${now.length} ranges).\n`;
    return { changed, hadPrevious: true, previousEtag: previous.etag, etag: current.etag, added, removed, markdown };
}

/** A saved answer in Cloudflare's own format, so `readRangesFile` validates it like a live one. */
export function answerJson(r: CloudflareRanges): string {
    return `${JSON.stringify({ success: true, errors: [], messages: [], result: { ipv4_cidrs: r.ipv4, ipv6_cidrs: r.ipv6, ...(r.etag === undefined ? {} : { etag: r.etag }) } }, null, 2)}\n`;
}

const USAGE = "usage: npm run ranges-report -- --previous <file> --save <file> [--summary <file>] [--output <file>] [--report-dir <dir>] [--ranges-file <file> | --cloudflare-url <url>]";

async function main(): Promise<number> {
    const values = parseCli({ options: valueFlags("previous", "save", "summary", "output", "report-dir", "ranges-file", "cloudflare-url") }, USAGE, { required: ["previous", "save"] });
    const kept = values.previous!; // required, checked by parseCli
    const current = await loadRanges({ rangesFile: values["ranges-file"], cloudflareUrl: values["cloudflare-url"] });
    // A previous answer that is missing is the first run; one that is unreadable or
    // invalid is reported as such and replaced (it is our own cache, not an input).
    let previous: CloudflareRanges | undefined;
    if (fs.existsSync(userPath(kept))) {
        try {
            previous = readRangesFile(kept);
        } catch (e) {
            process.stderr.write(`${escapeText(`the kept answer is unusable and is replaced: ${(e as Error).message}`, { keepBackslashes: true })}\n`);
        }
    }
    const report = rangesReport(previous, current);
    process.stdout.write(report.markdown);
    if (values.summary) fs.appendFileSync(values.summary, `${report.markdown}\n`);
    if (values["report-dir"]) {
        const dir = userPath(values["report-dir"]);
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, "report.md"), report.markdown);
        const { markdown: _m, ...data } = report;
        fs.writeFileSync(path.join(dir, "report.json"), `${JSON.stringify(data, null, 2)}\n`);
    }
    if (values.output) {
        const etag = /^[0-9A-Za-z._-]{1,128}$/.test(current.etag ?? "") ? current.etag : "";
        fs.appendFileSync(values.output, `changed=${report.changed}\netag=${etag}\nadded=${report.added.length}\nremoved=${report.removed.length}\n`);
    }
    const save = userPath(values.save!);
    fs.mkdirSync(path.dirname(save), { recursive: true });
    fs.writeFileSync(save, answerJson(current));
    return EXIT.ok;
}

runCli(module, "ranges-report", main);
