/**
 * Where the command-line tools get Cloudflare's ranges: a saved answer
 * (--ranges-file), validated exactly as a live one with errors that name the
 * file, or a live fetch that says when it starts and each time it retries.
 */
import * as fs from "fs";
import * as path from "path";
import { CloudflareRanges, CloudflareRangesError, fetchCloudflareRanges, validateCloudflareAnswer } from "../components/cloudflare";
import { escapeText } from "../components/text";

/** Options shared by plan, nftables and audit. */
export interface RangesOptions {
    rangesFile?: string;
    cloudflareUrl?: string;
    timeoutMs?: number;
    deadlineMs?: number;
    /** Progress lines (fetch start, retries) go here; default stderr. */
    log?: (line: string) => void;
}

/** Resolves a path given on the command line (npm run changes the working directory). */
export function userPath(file: string): string {
    return path.resolve(process.env.INIT_CWD ?? process.cwd(), file);
}

/** Reads and validates a saved Cloudflare answer; every error names the file. */
export function readRangesFile(file: string): CloudflareRanges {
    const full = userPath(file);
    let stat: fs.Stats;
    try {
        stat = fs.statSync(full);
    } catch {
        throw new Error(`--ranges-file: ${file} does not exist`);
    }
    if (stat.isDirectory()) throw new Error(`--ranges-file: ${file} is a directory; give the saved JSON answer of https://api.cloudflare.com/client/v4/ips`);
    let text: string;
    try {
        text = fs.readFileSync(full, "utf8");
    } catch (e) {
        throw new Error(`--ranges-file: ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    let body: unknown;
    try {
        body = JSON.parse(text);
    } catch {
        throw new CloudflareRangesError(file, `the file is not JSON (starts with ${JSON.stringify(text.trim().slice(0, 60).replace(/\s+/g, " "))})`);
    }
    return validateCloudflareAnswer(body, file);
}

/** The ranges for a command: from the file, or fetched live (with progress lines). */
export async function loadRanges(options: RangesOptions): Promise<CloudflareRanges> {
    if (options.rangesFile) return readRangesFile(options.rangesFile);
    const log = options.log ?? ((line: string) => process.stderr.write(`${escapeText(line, { keepBackslashes: true })}\n`));
    const url = options.cloudflareUrl ?? "https://api.cloudflare.com/client/v4/ips";
    log(`fetching Cloudflare's ranges from ${url} ...`);
    return fetchCloudflareRanges({
        url,
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.deadlineMs ? { deadlineMs: options.deadlineMs } : {}),
        onRetry: (attempt: number, reason: string) => log(`  retry ${attempt} after ${reason}`),
    });
}
