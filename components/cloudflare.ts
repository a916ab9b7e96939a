/**
 * Cloudflare's published IP ranges, fetched at deploy time and validated so
 * strictly that no doubtful answer can reach a firewall (fail closed): one bad
 * entry rejects the whole answer, because dropping it would silently change the
 * allowlist.
 */
import axios, { AxiosError, AxiosInstance, AxiosResponse } from "axios";
import axiosRetry, { isNetworkError } from "axios-retry";
import { Cidr, CidrError, parseCidr, specialRangeOf, uniqueSorted } from "./cidr";

export { canonicalCidr } from "./cidr";

/** Cloudflare's ranges in canonical form: network addresses, sorted, deduplicated. */
export interface CloudflareRanges {
    /** IPv4 ranges, e.g. "173.245.48.0/20". */
    ipv4: string[];
    /** IPv6 ranges, e.g. "2400:cb00::/32". */
    ipv6: string[];
    /** Cloudflare's digest of the data; changes when the ranges change. */
    etag?: string;
    /** JD Cloud ranges (both families), only when asked for with `includeJdCloud`. */
    jdcloud?: string[];
}

/** Options of `fetchCloudflareRanges`. */
export interface FetchCloudflareRangesOptions {
    /** Endpoint; default https://api.cloudflare.com/client/v4/ips. Plain http only for loopback hosts. */
    url?: string;
    /** Time limit of one attempt in milliseconds; default 10000. */
    timeoutMs?: number;
    /** Retries after the first attempt on network errors, timeouts, 429 and 5xx; default 3. */
    retries?: number;
    /** Time limit of the whole call, retries included, in milliseconds; default 60000. */
    deadlineMs?: number;
    /** Adds `?networks=jdcloud` and fills `jdcloud`. */
    includeJdCloud?: boolean;
}

export const DEFAULT_CLOUDFLARE_IPS_URL = "https://api.cloudflare.com/client/v4/ips";
/** Answers larger than this are refused unread. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** More entries than this in one list is not a plausible answer. */
export const MAX_ENTRIES = 200;
/** Broadest prefix accepted per family: Cloudflare's broadest today are a /13 and a /29. */
export const MIN_PREFIX = { 4: 8, 6: 16 } as const;
const MAX_RETRY_AFTER_MS = 30_000;
const MAX_REDIRECTS = 3;
const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** A rejected Cloudflare answer; the message names the source and the fault. */
export class CloudflareRangesError extends Error {
    constructor(source: string, problem: string) {
        super(`Cloudflare IP ranges from ${source} rejected: ${problem}. Nothing was changed; fix the source or retry later.`);
        this.name = "CloudflareRangesError";
    }
}

function checkList(source: string, field: string, value: unknown, family: 4 | 6 | "any"): string[] {
    if (value === undefined || value === null) throw new CloudflareRangesError(source, `${field} is missing`);
    if (!Array.isArray(value)) throw new CloudflareRangesError(source, `${field} is not an array`);
    if (value.length === 0) throw new CloudflareRangesError(source, `${field} is empty`);
    if (value.length > MAX_ENTRIES) {
        throw new CloudflareRangesError(source, `${field} has ${value.length} entries, more than the ${MAX_ENTRIES} a real answer could have`);
    }
    const parsed = value.map((entry, i): Cidr => {
        const where = `${field}[${i}]`;
        if (typeof entry !== "string") throw new CloudflareRangesError(source, `${where} is not a string: ${JSON.stringify(entry)}`);
        let c: ReturnType<typeof parseCidr>;
        try {
            c = parseCidr(entry);
        } catch (e) {
            throw new CloudflareRangesError(source, `${where}: ${(e as CidrError).message}`);
        }
        if (family !== "any" && c.family !== family) {
            throw new CloudflareRangesError(source, `${where}: "${entry}" is an IPv${c.family} range in the IPv${family} list`);
        }
        if (c.hostBitsSet) {
            throw new CloudflareRangesError(source, `${where}: "${entry}" has host bits set (network would be ${c.networkText})`);
        }
        if (c.prefix < MIN_PREFIX[c.family]) {
            throw new CloudflareRangesError(
                source,
                `${where}: "${entry}" is broader than /${MIN_PREFIX[c.family]}, too broad to be a Cloudflare range`,
            );
        }
        const special = specialRangeOf(c);
        if (special) throw new CloudflareRangesError(source, `${where}: "${entry}" overlaps the ${special}`);
        return c;
    });
    return uniqueSorted(parsed).map((c) => c.text);
}

/**
 * Validates a Cloudflare `/ips` answer (the JSON body, or a `CloudflareRanges`
 * object handed in by a caller) and returns canonical ranges. Throws
 * `CloudflareRangesError` naming `source` on anything doubtful.
 */
export function validateCloudflareAnswer(body: unknown, source: string, includeJdCloud = false): CloudflareRanges {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
        throw new CloudflareRangesError(source, "the body is not a JSON object");
    }
    const b = body as Record<string, unknown>;
    if (b.success !== true) {
        const errors = Array.isArray(b.errors) && b.errors.length ? `; errors: ${JSON.stringify(b.errors).slice(0, 300)}` : "";
        throw new CloudflareRangesError(source, `success is ${JSON.stringify(b.success)}, not true${errors}`);
    }
    const result = b.result;
    if (typeof result !== "object" || result === null || Array.isArray(result)) {
        throw new CloudflareRangesError(source, "result is missing or not an object");
    }
    const r = result as Record<string, unknown>;
    const ranges: CloudflareRanges = {
        ipv4: checkList(source, "result.ipv4_cidrs", r.ipv4_cidrs, 4),
        ipv6: checkList(source, "result.ipv6_cidrs", r.ipv6_cidrs, 6),
    };
    if (r.etag !== undefined) {
        if (typeof r.etag !== "string") throw new CloudflareRangesError(source, "result.etag is not a string");
        ranges.etag = r.etag;
    }
    if (includeJdCloud) ranges.jdcloud = checkList(source, "result.jdcloud_cidrs", r.jdcloud_cidrs, "any");
    return ranges;
}

// Validated ranges by content: many firewalls handed the same ranges validate once.
const validatedByContent = new Map<string, CloudflareRanges>();
const MAX_REMEMBERED = 16;

/**
 * Validates ranges handed in by a caller (from a file, another source or an
 * Output) exactly as a fetched answer is validated. The result is frozen.
 */
export function validateCloudflareRanges(ranges: CloudflareRanges, source = "cloudflare.ranges"): CloudflareRanges {
    if (typeof ranges !== "object" || ranges === null) {
        throw new CloudflareRangesError(source, "expected an object { ipv4: string[], ipv6: string[], etag?: string }");
    }
    const key = JSON.stringify([ranges.ipv4, ranges.ipv6, ranges.etag, ranges.jdcloud]);
    const known = validatedByContent.get(key);
    if (known) return known;
    const result = validateCloudflareAnswer(
        {
            success: true,
            result: { ipv4_cidrs: ranges.ipv4, ipv6_cidrs: ranges.ipv6, etag: ranges.etag, jdcloud_cidrs: ranges.jdcloud },
        },
        source,
        ranges.jdcloud !== undefined,
    );
    for (const list of [result.ipv4, result.ipv6, result.jdcloud]) if (list) Object.freeze(list);
    Object.freeze(result);
    if (validatedByContent.size >= MAX_REMEMBERED) validatedByContent.delete(validatedByContent.keys().next().value!);
    validatedByContent.set(key, result);
    return result;
}

function checkUrl(raw: string): URL {
    let url: URL;
    try {
        url = new URL(raw);
    } catch {
        throw new CloudflareRangesError(raw, "the URL is not valid");
    }
    if (url.protocol === "https:") return url;
    if (url.protocol === "http:" && LOOPBACK_HOSTS.test(url.hostname)) return url;
    throw new CloudflareRangesError(raw, `${url.protocol} is refused; use https (plain http is allowed only for loopback hosts)`);
}

function retryAfterMs(error: AxiosError): number | undefined {
    const header = error.response?.headers?.["retry-after"];
    if (typeof header !== "string") return undefined;
    const seconds = Number(header);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
    return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : undefined;
}

function isRetryable(error: AxiosError): boolean {
    if (error.code === AxiosError.ERR_CANCELED) return false; // the deadline passed
    const status = error.response?.status;
    if (status !== undefined) return status === 429 || status >= 500;
    if (error.code === "ECONNABORTED" || error.code === "ETIMEDOUT") return true; // attempt timed out
    // An oversized body is refused, not retried.
    return error.code !== AxiosError.ERR_BAD_RESPONSE && isNetworkError(error);
}

function makeClient(timeoutMs: number, retries: number, deadline: number): AxiosInstance {
    const client = axios.create({
        timeout: timeoutMs,
        maxRedirects: 0, // redirects are checked by hand: only the same host is followed
        maxContentLength: MAX_BODY_BYTES,
        responseType: "text",
        transformResponse: [(data: unknown) => data],
        validateStatus: (s) => s >= 200 && s < 400,
        headers: { Accept: "application/json" },
        // A proxy taken from the environment would be a hidden way to alter the answer.
        proxy: false,
    });
    axiosRetry(client, {
        retries,
        shouldResetTimeout: true,
        retryCondition: isRetryable,
        retryDelay: (count, error) => {
            const wait = retryAfterMs(error) ?? axiosRetry.exponentialDelay(count, error, 200);
            return Math.max(0, Math.min(wait, deadline - Date.now()));
        },
    });
    return client;
}

function describeFailure(error: unknown, deadlineMs: number, timeoutMs: number): string {
    if (error instanceof CloudflareRangesError) return error.message;
    const e = error as AxiosError;
    if (e.code === AxiosError.ERR_CANCELED) return `no valid answer within the ${deadlineMs} ms deadline`;
    if (e.response) return `HTTP ${e.response.status} ${e.response.statusText ?? ""}`.trim() + " after retries";
    if (e.code === "ECONNABORTED" || e.code === "ETIMEDOUT") return `each attempt timed out after ${timeoutMs} ms`;
    if (/maxContentLength/.test(e.message ?? "")) return `the body is larger than ${MAX_BODY_BYTES} bytes`;
    return `request failed: ${e.code ?? ""} ${e.message ?? String(error)}`.trim();
}

async function fetchOnce(options: Required<FetchCloudflareRangesOptions>): Promise<CloudflareRanges> {
    const url = checkUrl(options.url);
    if (options.includeJdCloud) url.searchParams.set("networks", "jdcloud");
    const source = url.toString();
    const deadline = Date.now() + options.deadlineMs;
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
            abort.abort();
            reject(new CloudflareRangesError(source, `no valid answer within the ${options.deadlineMs} ms deadline`));
        }, options.deadlineMs);
    });
    const client = makeClient(options.timeoutMs, options.retries, deadline);
    const attempt = async (): Promise<CloudflareRanges> => {
        let target = url;
        let response: AxiosResponse<string>;
        for (let hop = 0; ; hop++) {
            response = await client.get<string>(target.toString(), { signal: abort.signal });
            if (response.status < 300) break;
            const location = response.headers["location"];
            if (typeof location !== "string") throw new CloudflareRangesError(source, `HTTP ${response.status} without a Location`);
            const next = new URL(location, target);
            if (next.host !== url.host || next.protocol !== url.protocol) {
                throw new CloudflareRangesError(source, `redirected to a different host (${next.protocol}//${next.host})`);
            }
            if (hop >= MAX_REDIRECTS) throw new CloudflareRangesError(source, `more than ${MAX_REDIRECTS} redirects`);
            target = next;
        }
        let body: unknown;
        try {
            body = JSON.parse(response.data);
        } catch {
            const start = String(response.data).trim().slice(0, 60).replace(/\s+/g, " ");
            throw new CloudflareRangesError(source, `the body is not JSON (starts with ${JSON.stringify(start)})`);
        }
        return validateCloudflareAnswer(body, source, options.includeJdCloud);
    };
    try {
        return await Promise.race([attempt(), expired]);
    } catch (e) {
        if (e instanceof CloudflareRangesError) throw e;
        throw new CloudflareRangesError(source, describeFailure(e, options.deadlineMs, options.timeoutMs));
    } finally {
        clearTimeout(timer);
        abort.abort();
    }
}

const memo = new Map<string, Promise<CloudflareRanges>>();

function withDefaults(options: FetchCloudflareRangesOptions = {}): Required<FetchCloudflareRangesOptions> {
    return {
        url: options.url ?? DEFAULT_CLOUDFLARE_IPS_URL,
        timeoutMs: options.timeoutMs ?? 10_000,
        retries: options.retries ?? 3,
        deadlineMs: options.deadlineMs ?? 60_000,
        includeJdCloud: options.includeJdCloud ?? false,
    };
}

/**
 * Fetches and validates Cloudflare's IP ranges. Memoised per options, so one
 * program run makes one request however many firewalls use it; a failure is
 * forgotten so that a later call tries again. Rejects with a
 * `CloudflareRangesError` on any doubt about the answer.
 */
export function fetchCloudflareRanges(options?: FetchCloudflareRangesOptions): Promise<CloudflareRanges> {
    const full = withDefaults(options);
    const key = JSON.stringify(full);
    let pending = memo.get(key);
    if (!pending) {
        pending = fetchOnce(full);
        memo.set(key, pending);
        pending.catch(() => memo.delete(key));
    }
    return pending;
}

/** Forgets memoised answers (for long-lived processes and tests). */
export function clearCloudflareRangesCache(): void {
    memo.clear();
}
