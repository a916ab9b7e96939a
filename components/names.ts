/**
 * DNS names as sources (a dynamic-DNS name for a home connection): resolved at
 * deploy time to all their A and AAAA records, canonical, deduplicated and sorted,
 * so an unchanged address gives no diff and a changed one is followed at the next
 * run. Fail closed: NXDOMAIN, SERVFAIL, a timeout or no records is an error naming
 * the name; a name is never dropped, and stale data is never used.
 */
import { promises as dns } from "dns";
import { canonicalCidrList, parseSingleAddress, userCidr } from "./cidr";
import type { OriginPolicyArgs } from "./policy";

/** A DNS name: dot-separated labels ending in a label that starts with a letter (so never an address). */
const NAME = /^(?=.{1,253}\.?$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?\.?$/i;

/** True when a source entry is a DNS name rather than an address or block. */
export function isHostnameSource(value: unknown): value is string {
    return typeof value === "string" && NAME.test(value) && !value.includes(":");
}

/** A name that could not be resolved; nothing is deployed. */
export class NameResolutionError extends Error {
    constructor(name: string, problem: string) {
        super(`the source name "${name}" could not be resolved: ${problem}. Nothing was changed; fix the name or its DNS, or list the address itself`);
        this.name = "NameResolutionError";
    }
}

/** How names are resolved. */
export interface ResolveOptions {
    /** Resolvers to ask ("203.0.113.53", "127.0.0.1:5353", "[2001:db8::53]:53"); default the system's. */
    dnsServers?: string[];
    /** Time limit per name in milliseconds; default 5000. */
    timeoutMs?: number;
}

/** One name and what it resolved to. */
export interface NameResolution {
    name: string;
    /** Canonical /32 and /128 blocks, sorted. */
    addresses: string[];
}

const REASONS: Record<string, string> = {
    ENOTFOUND: "the name does not exist (NXDOMAIN)",
    ESERVFAIL: "the resolver failed (SERVFAIL)",
    ECONNREFUSED: "the resolver refused the connection",
    EREFUSED: "the resolver refused the query",
};

/** Checks `dnsServers` entries: an IP address, optionally with a port. */
export function validateDnsServers(servers: unknown, field = "dnsServers"): string[] {
    if (!Array.isArray(servers) || servers.length === 0) throw new Error(`${field}: ${JSON.stringify(servers)} must be a non-empty list of resolver addresses`);
    return servers.map((s, i) => {
        const m = typeof s === "string" ? /^(?:\[([0-9a-fA-F:]+)\]|([0-9.]+))(?::(\d{1,5}))?$|^([0-9a-fA-F:]+)$/.exec(s) : null;
        const host = m && (m[1] ?? m[2] ?? m[4]);
        const port = m?.[3] === undefined ? 53 : Number(m[3]);
        let ok = Boolean(host) && port >= 1 && port <= 65535;
        try {
            if (ok) parseSingleAddress(host!);
        } catch {
            ok = false;
        }
        if (!ok) throw new Error(`${field}[${i}]: ${JSON.stringify(s)} is not a resolver address; use "203.0.113.53", "127.0.0.1:5353" or "[2001:db8::53]:53"`);
        return s as string;
    });
}

/** Resolves one name to all its A and AAAA records, or throws `NameResolutionError`. @internal Exported for the tests; not part of the package API. */
export async function resolveName(name: string, options: ResolveOptions = {}): Promise<string[]> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const resolver = new dns.Resolver({ timeout: timeoutMs, tries: 1 });
    if (options.dnsServers) resolver.setServers(options.dnsServers);
    const family = async (query: Promise<string[]>): Promise<string[]> => {
        try {
            return await query;
        } catch (e) {
            const code = (e as NodeJS.ErrnoException).code ?? "";
            if (code === "ENODATA") return []; // no records of this type; the other family may have some
            if (code === "ETIMEOUT" || code === "ECANCELLED") throw new NameResolutionError(name, `no answer within ${timeoutMs} ms`);
            throw new NameResolutionError(name, REASONS[code] ?? `${code || (e as Error).message}`);
        }
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
            resolver.cancel();
            reject(new NameResolutionError(name, `no answer within ${timeoutMs} ms`));
        }, timeoutMs + 250);
    });
    try {
        const [v4, v6] = await Promise.race([Promise.all([family(resolver.resolve4(name)), family(resolver.resolve6(name))]), deadline]);
        if (v4.length + v6.length === 0) throw new NameResolutionError(name, "it has no A or AAAA records");
        try {
            // What a name resolves to is held to the same rules as a written source.
            return canonicalCidrList([...v4, ...v6].map((a) => userCidr(a).text));
        } catch (e) {
            throw new NameResolutionError(name, `it resolved to ${(e as Error).message}`);
        }
    } finally {
        clearTimeout(timer);
    }
}

/**
 * Replaces every DNS name in `ssh.sources` and `rules[].sources` by the addresses
 * it resolves to now. Returns the new arguments and, for the plan, each name with
 * its addresses. Any failure rejects: no name is ever dropped.
 */
export async function resolvePolicyNames<T extends OriginPolicyArgs>(args: T, options: ResolveOptions = {}): Promise<{ args: T; names: NameResolution[] }> {
    const lists = [args.ssh?.sources ?? [], ...(args.rules ?? []).map((r) => r.sources ?? [])];
    const unique = [
        ...new Set(
            lists
                .flat()
                .filter(isHostnameSource)
                .map((n) => n.toLowerCase().replace(/\.$/, "")),
        ),
    ].sort();
    const resolved = new Map<string, string[]>();
    await Promise.all(unique.map(async (n) => resolved.set(n, await resolveName(n, options))));
    const expand = (sources: string[]) => sources.flatMap((s) => (isHostnameSource(s) ? resolved.get(s.toLowerCase().replace(/\.$/, ""))! : [s]));
    const out = {
        ...args,
        ssh: args.ssh && { ...args.ssh, sources: expand(args.ssh.sources ?? []) },
        ...(args.rules ? { rules: args.rules.map((r) => ({ ...r, sources: expand(r.sources ?? []) })) } : {}),
    } as T;
    return { args: out, names: unique.map((name) => ({ name, addresses: resolved.get(name)! })) };
}
