/**
 * The deploying (or scanning) machine's public address, as Cloudflare's trace
 * endpoint reports it (`ip=` in https://www.cloudflare.com/cdn-cgi/trace), fetched
 * with the same care as the ranges: a deadline, no proxy, no redirect off-host, and
 * strict parsing of the answer. Used by the lockout guard and the audit.
 */
import { CidrError, parseSingleAddress } from "./cidr";
import { endpointUrlProblem, EndpointRule, isLoopbackHost } from "./cloudflare";

const DEFAULT_TRACE_URL = "https://www.cloudflare.com/cdn-cgi/trace";
const TRACE_ENDPOINT: EndpointRule = {
    hosts: ["www.cloudflare.com", "cloudflare.com", "one.one.one.one", "1.1.1.1", "[2606:4700:4700::1111]"],
    what: "Cloudflare's trace endpoint",
    example: DEFAULT_TRACE_URL,
};
const MAX_BODY = 16 * 1024;

/** A doubtful trace answer; never treated as "no address" silently. */
class PublicAddressError extends Error {
    constructor(url: string, problem: string) {
        super(`could not learn this machine's public address from ${url}: ${problem}`);
        this.name = "PublicAddressError";
    }
}

/** Options of `fetchPublicAddress`. */
export interface PublicAddressOptions {
    /** Trace endpoint; Cloudflare's by default. Plain http only for loopback (tests). */
    url?: string;
    /** Ask over this address family (the answer must be of it). */
    family?: 4 | 6;
    /** Whole-call deadline in milliseconds; default 10000. */
    deadlineMs?: number;
}

/** Parses a trace body: `key=value` lines, exactly one `ip=` with one address. @internal Exported for the tests; not part of the package API. */
export function parseTrace(body: string, url = DEFAULT_TRACE_URL): string {
    const lines = body
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
    if (lines.length === 0 || lines.some((l) => !/^[a-z_]+=.*$/.test(l))) {
        throw new PublicAddressError(url, `the answer is not a trace (starts with ${JSON.stringify(body.trim().slice(0, 40))})`);
    }
    const ips = lines.filter((l) => l.startsWith("ip=")).map((l) => l.slice(3));
    if (ips.length !== 1) throw new PublicAddressError(url, `expected one ip= line, found ${ips.length}`);
    try {
        return parseSingleAddress(ips[0]).address;
    } catch (e) {
        throw new PublicAddressError(url, `ip=${ips[0]}: ${(e as CidrError).message}`);
    }
}

/** Why a trace URL is refused (see `endpointUrlProblem`), or undefined. */
export function traceUrlProblem(url: string): string | undefined {
    return endpointUrlProblem(url, TRACE_ENDPOINT);
}

/** True when the trace URL is a loopback host (tests): one request, no address family forced. */
export function isLoopbackUrl(url: string): boolean {
    return isLoopbackHost(new URL(url));
}

/** Fetches this machine's public address (of `family`, when given). */
export async function fetchPublicAddress(options: PublicAddressOptions = {}): Promise<string> {
    const url = options.url ?? DEFAULT_TRACE_URL;
    const problem = traceUrlProblem(url);
    if (problem) throw new PublicAddressError(url, problem);
    const loopback = isLoopbackUrl(url);
    const deadlineMs = options.deadlineMs ?? 10_000;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), deadlineMs);
    try {
        // Loaded here, not at the top: the tools given an address never pay for axios.
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
        const axios: typeof import("axios").default = require("axios").default;
        const response = await axios.get<string>(url, {
            timeout: deadlineMs,
            signal: abort.signal,
            maxRedirects: 0, // a redirect is refused, not followed
            maxContentLength: MAX_BODY,
            responseType: "text",
            transformResponse: [(d: unknown) => d],
            proxy: false,
            validateStatus: (s) => s === 200,
            ...(options.family && !loopback ? { family: options.family } : {}),
        });
        const address = parseTrace(String(response.data), url);
        const family = parseSingleAddress(address).family;
        if (options.family && family !== options.family) throw new PublicAddressError(url, `asked over IPv${options.family}, answered with the IPv${family} address ${address}`);
        return address;
    } catch (e) {
        if (e instanceof PublicAddressError) throw e;
        const err = e as { code?: string; response?: { status: number }; message?: string };
        if (abort.signal.aborted || err.code === "ECONNABORTED" || err.code === "ERR_CANCELED") throw new PublicAddressError(url, `no answer within ${deadlineMs} ms`);
        if (err.response) throw new PublicAddressError(url, `HTTP ${err.response.status}${err.response.status >= 300 && err.response.status < 400 ? " (redirects are not followed)" : ""}`);
        throw new PublicAddressError(url, `${err.code ?? ""} ${err.message ?? String(e)}`.trim());
    } finally {
        clearTimeout(timer);
    }
}
