/**
 * Cloudflare's published IP ranges, fetched at deploy time and validated so
 * strictly that no doubtful answer can reach a firewall (fail closed): one bad
 * entry rejects the whole answer, because dropping it would silently change the
 * allowlist.
 */
import type { AxiosError, AxiosInstance, AxiosResponse } from "axios";
import type * as AxiosRetry from "axios-retry";
import { Cidr, CidrError, coverage, Coverage, describeCoverage, parseCidr, specialRangeOf, uniqueSorted } from "./cidr";
import { escapeText } from "./text";

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
    /**
     * Adds `?networks=jdcloud` and fills `jdcloud`. The JD Cloud ranges are then
     * admitted on the Cloudflare ports too (Cloudflare's China network), after the
     * same checks; they count towards the answer limits.
     */
    includeJdCloud?: boolean;
    /** Called before each retry with the attempt number and why (for progress output). */
    onRetry?: (attempt: number, reason: string) => void;
    /**
     * Raises the answer limits (see `DEFAULT_ANSWER_LIMITS`). Only for a genuine
     * growth of Cloudflare's network: the limits are what keeps a bad answer from
     * opening the Cloudflare ports to much of the internet.
     */
    answerLimits?: Partial<AnswerLimits>;
}

/** What a Cloudflare answer may contain at most. Config is trusted; the answer is not. */
export interface AnswerLimits {
    /** Broadest IPv4 prefix of one entry; default 12 (today's broadest is a /13). */
    minPrefixV4: number;
    /** Broadest IPv6 prefix of one entry; default 28 (today's broadest is a /29). */
    minPrefixV6: number;
    /** IPv4 addresses covered in total; default 2^23 (today about 1.5 million). */
    maxAddressesV4: bigint;
    /** IPv6 addresses covered in total; default a /26 worth (2^102). */
    maxAddressesV6: bigint;
}

/** The limits applied unless `answerLimits` raises them. */
const DEFAULT_ANSWER_LIMITS: Readonly<AnswerLimits> = Object.freeze({
    minPrefixV4: 12,
    minPrefixV6: 28,
    maxAddressesV4: 1n << 23n,
    maxAddressesV6: 1n << 102n,
});

const DEFAULT_CLOUDFLARE_IPS_URL = "https://api.cloudflare.com/client/v4/ips";
/** Answers larger than this are refused unread. */
const MAX_BODY_BYTES = 1024 * 1024;
/** More entries than this in one list is not a plausible answer. */
const MAX_ENTRIES = 200;
const MAX_RETRY_AFTER_MS = 30_000;
const MAX_REDIRECTS = 3;
/** The redirect statuses that are followed (same host only). */
const REDIRECTS = [301, 302, 303, 307, 308];
const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** True for a loopback host (tests, the offline plan): the only place plain http is allowed. */
export function isLoopbackHost(url: URL): boolean {
    return LOOPBACK_HOSTS.test(url.hostname);
}
/** The only non-loopback host ranges may come from. */
const CLOUDFLARE_API_HOST = "api.cloudflare.com";

/** A rejected Cloudflare answer; the message names the source and the fault. */
export class CloudflareRangesError extends Error {
    constructor(source: string, problem: string) {
        // Only a live answer can get better by itself; a file or handed-in ranges need fixing.
        const next = /^https?:/.test(source) ? "fix the source or retry later" : `fix ${source}`;
        super(`Cloudflare IP ranges from ${source} rejected: ${problem}. Nothing was changed; ${next}.`);
        this.name = "CloudflareRangesError";
    }
}

function checkList(source: string, field: string, value: unknown, family: 4 | 6 | "any", limits: AnswerLimits): Cidr[] {
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
        const min = c.family === 4 ? limits.minPrefixV4 : limits.minPrefixV6;
        if (c.prefix < min) {
            throw new CloudflareRangesError(source, `${where}: "${entry}" is broader than /${min}, too broad to be a Cloudflare range (${LIMIT_HINT})`);
        }
        const special = specialRangeOf(c);
        if (special) throw new CloudflareRangesError(source, `${where}: "${entry}" overlaps the ${special}`);
        return c;
    });
    return uniqueSorted(parsed);
}

const LIMIT_HINT = "if Cloudflare's network genuinely grew, the package's answerLimits must be raised";

function checkTotals(source: string, cidrs: Cidr[], limits: AnswerLimits): void {
    const cov: Coverage = coverage(cidrs);
    const over = (family: string, got: bigint, max: bigint) =>
        new CloudflareRangesError(
            source,
            `the answer covers ${describeCoverage(family === "IPv4" ? { v4: got, v6: 0n } : { v4: 0n, v6: got })} in total, ` +
                `${Number((got * 100n) / max) / 100}x the ${family} limit of ${describeCoverage(family === "IPv4" ? { v4: max, v6: 0n } : { v4: 0n, v6: max })}; ` +
                `that would open the Cloudflare ports to much of the internet (${LIMIT_HINT})`,
        );
    if (cov.v4 > limits.maxAddressesV4) throw over("IPv4", cov.v4, limits.maxAddressesV4);
    if (cov.v6 > limits.maxAddressesV6) throw over("IPv6", cov.v6, limits.maxAddressesV6);
}

/**
 * Validates a Cloudflare `/ips` answer (the JSON body, or a `CloudflareRanges`
 * object handed in by a caller) and returns canonical ranges. Throws
 * `CloudflareRangesError` naming `source` on anything doubtful.
 */
export function validateCloudflareAnswer(body: unknown, source: string, includeJdCloud = false, answerLimits: Partial<AnswerLimits> = {}): CloudflareRanges {
    const limits = { ...DEFAULT_ANSWER_LIMITS, ...answerLimits };
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
        throw new CloudflareRangesError(source, "the body is not a JSON object");
    }
    const b = body as Record<string, unknown>;
    checkEnvelope(source, "", b.success, b.errors);
    const result = b.result;
    if (typeof result !== "object" || result === null || Array.isArray(result)) {
        throw new CloudflareRangesError(source, "result is missing or not an object");
    }
    const r = result as Record<string, unknown>;
    const ranges = validateLists(
        { ipv4: r.ipv4_cidrs, ipv6: r.ipv6_cidrs, jdcloud: includeJdCloud ? r.jdcloud_cidrs : undefined },
        { ipv4: "result.ipv4_cidrs", ipv6: "result.ipv6_cidrs", jdcloud: "result.jdcloud_cidrs" },
        source,
        includeJdCloud,
        limits,
    );
    if (r.etag !== undefined) {
        if (typeof r.etag !== "string") throw new CloudflareRangesError(source, "result.etag is not a string");
        ranges.etag = r.etag;
    }
    return ranges;
}

/**
 * The envelope of an answer: `success` must be true and `errors`, when present, an
 * empty list. An answer that says both "success" and "errors" is in doubt, so it is
 * refused (fail closed).
 */
function checkEnvelope(source: string, prefix: string, success: unknown, errors: unknown): void {
    const listed = Array.isArray(errors) && errors.length > 0 ? `; errors: ${escapeText(JSON.stringify(errors).slice(0, 300))}` : "";
    if (success !== true) throw new CloudflareRangesError(source, `${prefix}success is ${escapeText(String(JSON.stringify(success)))}, not true${listed}`);
    if (errors !== undefined && errors !== null && !(Array.isArray(errors) && errors.length === 0)) {
        throw new CloudflareRangesError(source, Array.isArray(errors) ? `${prefix}success is true but ${prefix}errors lists ${errors.length} error(s)${listed}` : `${prefix}errors is not a list`);
    }
}

/** Checks the lists themselves (entries, then totals); `names` are the fields to quote. */
function validateLists(lists: { ipv4: unknown; ipv6: unknown; jdcloud?: unknown }, names: { ipv4: string; ipv6: string; jdcloud: string }, source: string, includeJdCloud: boolean, limits: AnswerLimits): CloudflareRanges {
    const ipv4 = checkList(source, names.ipv4, lists.ipv4, 4, limits);
    const ipv6 = checkList(source, names.ipv6, lists.ipv6, 6, limits);
    const jdcloud = includeJdCloud ? checkList(source, names.jdcloud, lists.jdcloud, "any", limits) : [];
    checkTotals(source, [...ipv4, ...ipv6, ...jdcloud], limits);
    const ranges: CloudflareRanges = { ipv4: ipv4.map((c) => c.text), ipv6: ipv6.map((c) => c.text) };
    if (includeJdCloud) ranges.jdcloud = jdcloud.map((c) => c.text);
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
    // Errors name the caller's own fields (cloudflare.ranges.ipv4[15]), not the API's.
    const result = validateLists(ranges, { ipv4: `${source}.ipv4`, ipv6: `${source}.ipv6`, jdcloud: `${source}.jdcloud` }, source, ranges.jdcloud !== undefined, DEFAULT_ANSWER_LIMITS);
    if (ranges.etag !== undefined) {
        if (typeof ranges.etag !== "string") throw new CloudflareRangesError(source, `${source}.etag is not a string`);
        result.etag = ranges.etag;
    }
    for (const list of [result.ipv4, result.ipv6, result.jdcloud]) if (list) Object.freeze(list);
    Object.freeze(result);
    if (validatedByContent.size >= MAX_REMEMBERED) validatedByContent.delete(validatedByContent.keys().next().value!);
    validatedByContent.set(key, result);
    return result;
}

/** A Cloudflare endpoint this package fetches from: which hosts serve it, and how to name it in errors. */
export interface EndpointRule {
    /** Host names (URL `hostname` form, IPv6 in brackets) that serve it over https on the default port. */
    hosts: readonly string[];
    /** What it is, for errors: "Cloudflare's API". */
    what: string;
    /** The default URL, quoted in errors. */
    example: string;
}

/**
 * The one check of a URL we fetch from (the ranges, the trace): https on one of
 * the endpoint's hosts and the default port, or a loopback host over http or
 * https (tests and the offline plan); never credentials in the URL. Returns the
 * reason to refuse, or undefined. Used by the fetches and the stack config.
 */
export function endpointUrlProblem(raw: string, endpoint: EndpointRule): string | undefined {
    let url: URL;
    try {
        url = new URL(raw);
    } catch {
        return "the URL is not valid";
    }
    if (url.username || url.password) return "the URL carries credentials; none are needed";
    if (isLoopbackHost(url)) return url.protocol === "https:" || url.protocol === "http:" ? undefined : `${url.protocol} is refused`;
    if (url.protocol !== "https:") return `${url.protocol} is refused; use ${endpoint.example} (plain http is allowed only for loopback hosts)`;
    if (!endpoint.hosts.includes(url.hostname) || url.port !== "") {
        return `${url.host} is not ${endpoint.what}; only ${endpoint.example} is used (or a loopback host for tests and the offline plan)`;
    }
    return undefined;
}

const RANGES_ENDPOINT: EndpointRule = { hosts: [CLOUDFLARE_API_HOST], what: "Cloudflare's API", example: `https://${CLOUDFLARE_API_HOST}/client/v4/ips` };

/** Where ranges may come from (see `endpointUrlProblem`): the reason to refuse `raw`, or undefined. */
export function cloudflareUrlProblem(raw: string): string | undefined {
    return endpointUrlProblem(raw, RANGES_ENDPOINT);
}

/** A saved answer of https://api.cloudflare.com/client/v4/ips, as JSON. */
export interface CloudflareAnswer {
    success: boolean;
    result: { ipv4_cidrs: string[]; ipv6_cidrs: string[]; etag?: string; jdcloud_cidrs?: string[] };
    errors?: unknown[];
    messages?: unknown[];
}

/**
 * Validates ranges a caller hands in: `{ ipv4, ipv6, etag? }` or a saved Cloudflare
 * answer (the JSON of /client/v4/ips, e.g. `require("./cloudflare-ips.json")`, for
 * offline and unit-tested programs). Errors name the caller's fields.
 */
export function validateHandedInRanges(ranges: CloudflareRanges | CloudflareAnswer, source = "cloudflare.ranges"): CloudflareRanges {
    if (typeof ranges === "object" && ranges !== null && "result" in ranges) {
        const r = (ranges as CloudflareAnswer).result ?? ({} as CloudflareAnswer["result"]);
        checkEnvelope(source, `${source}.`, (ranges as CloudflareAnswer).success, (ranges as CloudflareAnswer).errors);
        const lists = validateLists(
            { ipv4: r.ipv4_cidrs, ipv6: r.ipv6_cidrs, jdcloud: r.jdcloud_cidrs },
            { ipv4: `${source}.result.ipv4_cidrs`, ipv6: `${source}.result.ipv6_cidrs`, jdcloud: `${source}.result.jdcloud_cidrs` },
            source,
            r.jdcloud_cidrs !== undefined,
            DEFAULT_ANSWER_LIMITS,
        );
        return Object.freeze({ ...lists, ...(typeof r.etag === "string" ? { etag: r.etag } : {}) });
    }
    return validateCloudflareRanges(ranges as CloudflareRanges, source);
}

function checkUrl(raw: string): URL {
    const problem = cloudflareUrlProblem(raw);
    if (problem) throw new CloudflareRangesError(raw, problem);
    return new URL(raw);
}

function retryAfterMs(error: AxiosError): number | undefined {
    const header = error.response?.headers?.["retry-after"];
    if (typeof header !== "string") return undefined;
    const seconds = Number(header);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
    return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : undefined;
}

function isRetryable(error: AxiosError): boolean {
    if (error.code === "ERR_CANCELED") return false; // the deadline passed
    const status = error.response?.status;
    if (status !== undefined) return status === 429 || status >= 500;
    if (error.code === "ECONNABORTED" || error.code === "ETIMEDOUT") return true; // attempt timed out
    // An oversized body is refused, not retried.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (see makeClient)
    return error.code !== "ERR_BAD_RESPONSE" && (require("axios-retry") as typeof AxiosRetry).isNetworkError(error);
}

function makeClient(timeoutMs: number, retries: number, deadline: number, onRetry?: (attempt: number, reason: string) => void): AxiosInstance {
    // Loaded here, not at the top: the tools that read a saved answer never pay for axios.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
    const axios: typeof import("axios").default = require("axios").default;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
    const axiosRetry = (require("axios-retry") as typeof AxiosRetry).default;
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
        onRetry: (count, error) => onRetry?.(count, error.response ? `HTTP ${error.response.status}` : (error.code ?? error.message)),
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
    if (e.code === "ERR_CANCELED") return `no valid answer within the ${deadlineMs} ms deadline`;
    if (e.response) return `HTTP ${e.response.status} ${e.response.statusText ?? ""}`.trim() + " after retries";
    if (e.code === "ECONNABORTED" || e.code === "ETIMEDOUT") return `each attempt timed out after ${timeoutMs} ms`;
    if (/maxContentLength/.test(e.message ?? "")) return `the body is larger than ${MAX_BODY_BYTES} bytes`;
    return `request failed: ${e.code ?? ""} ${e.message ?? String(error)}`.trim();
}

async function fetchOnce(options: Options): Promise<CloudflareRanges> {
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
    const client = makeClient(options.timeoutMs, options.retries, deadline, options.onRetry);
    const attempt = async (): Promise<CloudflareRanges> => {
        let target = url;
        let response: AxiosResponse<string>;
        for (let hop = 0; ; hop++) {
            response = await client.get<string>(target.toString(), { signal: abort.signal });
            if (response.status === 200) break;
            // Only a real redirect is followed; 304 (nothing was asked conditionally),
            // 300, 305 and any other 2xx or 3xx are not an answer.
            if (!REDIRECTS.includes(response.status)) throw new CloudflareRangesError(source, `HTTP ${response.status} is neither an answer (200) nor a redirect`);
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
        return validateCloudflareAnswer(body, source, options.includeJdCloud, options.answerLimits);
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

type Options = Required<Omit<FetchCloudflareRangesOptions, "onRetry">> & Pick<FetchCloudflareRangesOptions, "onRetry">;

function withDefaults(options: FetchCloudflareRangesOptions = {}): Options {
    return {
        url: options.url ?? DEFAULT_CLOUDFLARE_IPS_URL,
        timeoutMs: options.timeoutMs ?? 10_000,
        retries: options.retries ?? 3,
        deadlineMs: options.deadlineMs ?? 60_000,
        includeJdCloud: options.includeJdCloud ?? false,
        answerLimits: options.answerLimits ?? {},
        onRetry: options.onRetry,
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
    // The progress callback is not part of what is asked for.
    const key = JSON.stringify({ ...full, onRetry: undefined }, (_, v) => (typeof v === "bigint" ? v.toString() : v));
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
