/**
 * The Cloudflare side of an origin lockdown. Cloudflare's ranges are shared by
 * every Cloudflare customer, so an allowlist alone lets anyone point their own
 * zone at your origin; Authenticated Origin Pulls (mTLS from Cloudflare), proxied
 * DNS and strict TLS close that gap. Blocked sources are the edge counterpart of
 * `iptables -s <ip> -j DROP`.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { Cidr, parseCidr, uniqueSorted, userCidr } from "./cidr";
import { onResource } from "./origin";
import { PolicyError } from "./policy";

/** Addresses a hostname points at (through Cloudflare's proxy). */
export interface EdgeRecord {
    /** Server IPv4 address: an A record. */
    ipv4?: pulumi.Input<string>;
    /** Server IPv6 address: an AAAA record. */
    ipv6?: pulumi.Input<string>;
}

/** Arguments of `CloudflareOriginEdge`. */
export interface CloudflareOriginEdgeArgs {
    /** The Cloudflare zone id. */
    zoneId: pulumi.Input<string>;
    /** Hostname -> server addresses; each becomes a proxied A and/or AAAA record. */
    records?: Record<string, EdgeRecord>;
    /** Zone-wide Authenticated Origin Pulls; default true. False leaves the setting unmanaged. */
    authenticatedOriginPulls?: boolean;
    /** The zone's SSL mode; default "strict" (Full strict: Cloudflare verifies the origin certificate). */
    sslMode?: "strict" | "full";
    /** Addresses or blocks Cloudflare blocks at the edge: single IPs, IPv4 /16 and /24, IPv6 /32, /48 and /64. */
    blockedSources?: string[];
}

/** A Cloudflare IP Access rule target. */
export interface AccessRuleTarget {
    target: "ip" | "ip6" | "ipRange";
    value: string;
}

const IPV4_RANGES = [16, 24];
const IPV6_RANGES = [32, 48, 64];
const HOSTNAME = /^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Validates blocked sources into Access rule targets: canonical, deduplicated, sorted. */
export function validateBlockedSources(sources: unknown): AccessRuleTarget[] {
    if (sources === undefined) return [];
    if (!Array.isArray(sources)) throw new PolicyError(`blockedSources: ${JSON.stringify(sources)} must be a list of addresses or CIDR blocks`);
    const parsed = sources.map((s, i) => {
        let c: Cidr;
        try {
            c = userCidr(s);
        } catch (e) {
            throw new PolicyError(`blockedSources[${i}]: ${(e as Error).message}`);
        }
        const full = c.family === 4 ? 32 : 128;
        const allowed = c.family === 4 ? IPV4_RANGES : IPV6_RANGES;
        let t: AccessRuleTarget;
        if (c.prefix === full) t = { target: c.family === 4 ? "ip" : "ip6", value: c.text.split("/")[0] };
        else if (allowed.includes(c.prefix)) t = { target: "ipRange", value: c.text };
        else {
            throw new PolicyError(
                `blockedSources[${i}]: "${s}" is a /${c.prefix}; Cloudflare IP Access rules take single addresses, /16 or /24 for IPv4 and /32, /48 or /64 for IPv6`,
            );
        }
        return { ...c, ...t };
    });
    return uniqueSorted(parsed).map(({ target, value }) => ({ target, value }));
}

function checkAddress(value: pulumi.Input<string> | undefined, family: 4 | 6, field: string): void {
    if (typeof value !== "string") return; // Outputs are checked by Cloudflare at apply time
    let ok = false;
    try {
        const c = parseCidr(value);
        ok = c.family === family && c.prefix === (family === 4 ? 32 : 128) && !value.includes("/");
    } catch {
        ok = false;
    }
    if (!ok) throw new PolicyError(`${field}: ${JSON.stringify(value)} is not a single IPv${family} address, e.g. "${family === 4 ? "203.0.113.7" : "2001:db8::7"}"`);
}

/** Validates the edge arguments (everything that can be checked before deployment). */
export function validateEdge(args: CloudflareOriginEdgeArgs): AccessRuleTarget[] {
    if (args.zoneId === undefined || args.zoneId === "") throw new PolicyError(`zoneId: missing; give the Cloudflare zone id (dashboard > Overview > API)`);
    for (const [host, rec] of Object.entries(args.records ?? {})) {
        if (!HOSTNAME.test(host)) throw new PolicyError(`records: "${host}" is not a hostname; use lower-case names such as "app.example.com"`);
        if (rec?.ipv4 === undefined && rec?.ipv6 === undefined) throw new PolicyError(`records.${host}: give ipv4, ipv6 or both`);
        checkAddress(rec.ipv4, 4, `records.${host}.ipv4`);
        checkAddress(rec.ipv6, 6, `records.${host}.ipv6`);
    }
    if (args.sslMode !== undefined && args.sslMode !== "strict" && args.sslMode !== "full") {
        throw new PolicyError(`sslMode: ${JSON.stringify(args.sslMode)} is not allowed; use "strict" (recommended) or "full"`);
    }
    return validateBlockedSources(args.blockedSources);
}

const slug = (s: string) => s.replace(/[^a-zA-Z0-9]+/g, "-").replace(/^-|-$/g, "");

/**
 * Proxied DNS, strict TLS, Authenticated Origin Pulls and edge blocks for a zone
 * whose origin sits behind an origin firewall.
 */
export class CloudflareOriginEdge extends pulumi.ComponentResource {
    /** Proxied A/AAAA records, keyed "hostname/A" and "hostname/AAAA". */
    public readonly records: Record<string, cloudflare.DnsRecord> = {};
    /** Zone-wide Authenticated Origin Pulls, when managed. */
    public readonly authenticatedOriginPulls?: cloudflare.AuthenticatedOriginPullsSettings;
    /** The zone's SSL mode setting. */
    public readonly sslMode: cloudflare.ZoneSetting;
    /** Block rules, keyed by the blocked value. */
    public readonly blocks: Record<string, cloudflare.AccessRule> = {};

    constructor(name: string, args: CloudflareOriginEdgeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cloudflare-origin-firewall:cloudflare:OriginEdge", name, {}, opts);
        const blocked = onResource(this, () => validateEdge(args));
        const parent = { parent: this };
        for (const host of Object.keys(args.records ?? {}).sort()) {
            const rec = args.records![host];
            for (const [type, content] of [["A", rec.ipv4], ["AAAA", rec.ipv6]] as const) {
                if (content === undefined) continue;
                // ttl 1 is "automatic", the only value a proxied record keeps.
                this.records[`${host}/${type}`] = new cloudflare.DnsRecord(
                    `${name}-${slug(host)}-${type.toLowerCase()}`,
                    { zoneId: args.zoneId, name: host, type, content, proxied: true, ttl: 1, comment: "managed by cloudflare-origin-firewall" },
                    parent,
                );
            }
        }
        if (args.authenticatedOriginPulls !== false) {
            this.authenticatedOriginPulls = new cloudflare.AuthenticatedOriginPullsSettings(`${name}-aop`, { zoneId: args.zoneId, enabled: true }, parent);
        }
        this.sslMode = new cloudflare.ZoneSetting(`${name}-ssl`, { zoneId: args.zoneId, settingId: "ssl", value: args.sslMode ?? "strict" }, parent);
        for (const b of blocked) {
            this.blocks[b.value] = new cloudflare.AccessRule(
                `${name}-block-${slug(b.value)}`,
                { zoneId: args.zoneId, mode: "block", configuration: { target: b.target, value: b.value }, notes: `blocked by cloudflare-origin-firewall (${b.value})` },
                parent,
            );
        }
        this.registerOutputs({ records: Object.keys(this.records), blocked: blocked.map((b) => b.value) });
    }
}
