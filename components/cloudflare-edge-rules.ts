/**
 * The Cloudflare edge's half that needs no provider: its arguments and their
 * validation (records, blocks, Authenticated Origin Pulls). Config validation and
 * the CLIs use it without loading Pulumi (components/cloudflare-edge.ts re-exports it).
 */
import type * as pulumi from "@pulumi/pulumi";
import { X509Certificate } from "crypto";
import { Cidr, ipv6LongText, parseSingleAddress, toCidr, uniqueSorted, userCidr } from "./cidr";
import { PolicyError } from "./policy";
import { hostnameProblem, showText } from "./text";

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
    /**
     * Zone-level Authenticated Origin Pulls (mTLS from Cloudflare to the origin).
     * Default true: a client certificate of this zone's own is generated (a CA and a
     * client certificate signed by it), uploaded, and only then AOP is enabled; the
     * CA is exposed as `originPullCaPem` for the origin's `ssl_client_certificate`.
     * `{ generations }` rotates the generated client certificate without a window
     * (see `GeneratedOriginPullCertificates`). An object with `certificate` uploads
     * your own certificate and key instead. False leaves AOP unmanaged.
     */
    authenticatedOriginPulls?: boolean | GeneratedOriginPullCertificates | OwnOriginPullCertificate;
    /** The zone's SSL mode; default "strict" (Full strict: Cloudflare verifies the origin certificate). */
    sslMode?: "strict" | "full";
    /** Addresses or blocks Cloudflare blocks at the edge: single IPs, IPv4 /16 and /24, IPv6 /32, /48 and /64. */
    blockedSources?: string[];
}

/**
 * Generated client certificates, by generation. All generations are signed by the
 * zone's one CA, so the origin's trust (`originPullCaPem`) never changes. A
 * certificate is never renewed behind your back (Cloudflare deploys a new upload
 * only after a while, and deleting the old one at once leaves origins rejecting
 * Cloudflare): rotation is `[1]` -> `[1, 2]` (both uploaded; Cloudflare moves to
 * the newest once it is deployed) -> `[2]` once Cloudflare reports generation 2
 * `active`. The program refuses `[2]` before that (`checkOriginPullRotation` on
 * `fetchZoneOriginPullCertificates`); a program of your own should run the same
 * check before constructing the edge.
 */
export interface GeneratedOriginPullCertificates {
    /** One generation, or two (old, new) while rotating; positive, increasing. `true` means `[1]`. */
    generations: number[];
}

/** A client certificate of your own for Authenticated Origin Pulls. */
export interface OwnOriginPullCertificate {
    /** The client (leaf) certificate, PEM, that Cloudflare presents to the origin. */
    certificate: pulumi.Input<string>;
    /** Its private key, PEM; always handled as a secret. */
    privateKey: pulumi.Input<string>;
    /** The CA that signed it, PEM, exposed as `originPullCaPem` for the origin. */
    caCertificate?: pulumi.Input<string>;
}

/** A Cloudflare IP Access rule target (Cloudflare's own spelling: "ip_range", not "ipRange"). */
export interface AccessRuleTarget {
    target: "ip" | "ip6" | "ip_range";
    /** As sent to Cloudflare: IPv6 in the full long form, the form Cloudflare requires and returns. */
    value: string;
    /** The RFC 5952 text, for names and messages (stable resource names). */
    canonical: string;
}

/**
 * An IPv6 address in the full long form ("2001:0db8:0000:0000:0000:0000:0000:0001"):
 * eight groups of four lower-case hex digits. The provider refuses anything else for
 * an IPv6 access rule value (terraform-provider-cloudflare v5.22.0
 * internal/services/access_rule/ipv6_validator.go l.41-59), and Cloudflare returns
 * this form, so comparing in it gives no perpetual diff.
 * @internal Exported for the tests; not part of the package API.
 */
export function ipv6LongForm(address: string): string {
    return ipv6LongText(toCidr(address).bytes);
}

/** An access rule value as Cloudflare keeps it: IPv6 (address or block) in the long form, IPv4 as is. */
function accessRuleValue(c: Cidr): string {
    if (c.family === 4) return c.text.split("/")[0] + (c.prefix === 32 ? "" : `/${c.prefix}`);
    const long = ipv6LongText(c.bytes);
    return c.prefix === 128 ? long : `${long}/${c.prefix}`;
}

const IPV4_RANGES = [16, 24];
const IPV6_RANGES = [32, 48, 64];

/** Validates blocked sources into Access rule targets: canonical, deduplicated, sorted. @internal Exported for the tests; not part of the package API. */
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
        const canonical = c.prefix === full ? c.text.split("/")[0] : c.text;
        if (c.prefix === full) t = { target: c.family === 4 ? "ip" : "ip6", value: accessRuleValue(c), canonical };
        else if (allowed.includes(c.prefix)) t = { target: "ip_range", value: accessRuleValue(c), canonical };
        else {
            throw new PolicyError(`blockedSources[${i}]: "${s}" is a /${c.prefix}; Cloudflare IP Access rules take single addresses, /16 or /24 for IPv4 and /32, /48 or /64 for IPv6`);
        }
        return { ...c, ...t };
    });
    return uniqueSorted(parsed).map(({ target, value, canonical }) => ({ target, value, canonical }));
}

/** A Cloudflare zone id: 32 lower-case hex digits. */
const ZONE_ID = /^[0-9a-f]{32}$/;

/**
 * The canonical text of a record's address (RFC 5952 for IPv6), the form
 * Cloudflare returns, so an unchanged address never shows as a diff.
 */
export function canonicalRecordContent(value: string, family: 4 | 6, field: string): string {
    try {
        return parseSingleAddress(value, family).address;
    } catch (e) {
        throw new PolicyError(`${field}: ${(e as Error).message}`);
    }
}

/** The child resource name of a record: the hostname itself (unique in a zone, readable). */
export function recordResourceName(component: string, host: string, type: "A" | "AAAA"): string {
    return `${component}-${host}-${type.toLowerCase()}`;
}

/** The child resource name of a block: the value with ":" and "/" replaced (never ambiguous). */
export function blockResourceName(component: string, value: string): string {
    return `${component}-block-${value.replace(/:/g, "_").replace("/", "-")}`;
}

/** The generated client-certificate generations to keep uploaded: one, or (old, new) while rotating. */
export function originPullGenerations(aop: CloudflareOriginEdgeArgs["authenticatedOriginPulls"]): number[] {
    if (aop === undefined || aop === true) return [1];
    if (aop === false || !("generations" in aop)) return [];
    const g = aop.generations;
    const fix = "give [n] normally, and [n, n + 1] while rotating to a new certificate (see README, rotation)";
    if (!Array.isArray(g) || g.length < 1 || g.length > 2 || !g.every((n) => Number.isInteger(n) && n >= 1)) {
        throw new PolicyError(`authenticatedOriginPulls.generations: ${JSON.stringify(g)} is not one or two positive whole numbers; ${fix}`);
    }
    if (g.length === 2 && !(g[0] < g[1])) {
        throw new PolicyError(`authenticatedOriginPulls.generations: ${JSON.stringify(g)} must list the old generation first and the new one after it; ${fix}`);
    }
    return [...g];
}

/** One zone-level origin-pull certificate as Cloudflare lists it (`cloudflare.getAuthenticatedOriginPullsCertificates`). */
export interface ZoneOriginPullCertificate {
    /** The certificate, PEM. */
    certificate: string;
    /** Cloudflare's status: "initializing", "pending_deployment", "active", "pending_deletion", "deleted", ... */
    status: string;
}

/**
 * The generation of a client certificate this package generated for `component`, read
 * from its subject (O=cloudflare-origin-firewall, CN="<component> Cloudflare origin
 * pull", OU="generation N" from 2 on); undefined for any other certificate.
 * @internal Exported for the tests; not part of the package API.
 */
export function originPullGenerationOf(pem: string, component: string): number | undefined {
    let subject: string;
    try {
        subject = new X509Certificate(pem).subject;
    } catch {
        return undefined;
    }
    const fields = new Map(subject.split("\n").map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)] as const));
    if (fields.get("O") !== "cloudflare-origin-firewall" || fields.get("CN") !== `${component} Cloudflare origin pull`) return undefined;
    const ou = fields.get("OU");
    if (ou === undefined) return 1;
    const m = /^generation ([1-9][0-9]*)$/.exec(ou);
    return m ? Number(m[1]) : undefined;
}

/**
 * The rotation gate, run before anything is registered: a configuration that keeps one
 * generation deletes every other generation still uploaded, which is safe only when
 * Cloudflare already reports the kept one "active" (a new upload is only
 * "pending_deployment" for a while, and Cloudflare uses the most recent certificate:
 * deleting the old one then leaves origins rejecting Cloudflare). Throws with the fix.
 */
export function checkOriginPullRotation(component: string, generations: readonly number[], zone: readonly ZoneOriginPullCertificate[]): void {
    if (generations.length !== 1) return; // rotating: both stay uploaded
    const kept = generations[0];
    const ours = zone
        .filter((c) => c.status !== "deleted" && c.status !== "pending_deletion")
        .map((c) => ({ generation: originPullGenerationOf(c.certificate, component), status: c.status }))
        .filter((c): c is { generation: number; status: string } => c.generation !== undefined);
    const retiring = [...new Set(ours.filter((c) => c.generation !== kept).map((c) => c.generation))].sort((a, b) => a - b);
    if (retiring.length === 0) return;
    const status = ours.find((c) => c.generation === kept)?.status;
    if (status !== "active") {
        throw new PolicyError(
            `authenticatedOriginPulls.generations: [${kept}] would delete generation ${retiring.join(", ")} while generation ${kept} is ${status ? `"${status}"` : "not uploaded"} at Cloudflare, ` +
                `and origins would reject Cloudflare until it is deployed. Keep [${retiring[retiring.length - 1] < kept ? `${retiring[retiring.length - 1]}, ${kept}` : `${kept}, ${retiring[retiring.length - 1]}`}] and run again once generation ${kept} is "active"`,
        );
    }
}

/** One edge as the whole-program check sees it. */
export interface EdgeZoneClaim {
    /** Who declares it, for the message (e.g. "firewalls.web.edge"). */
    owner: string;
    /** Its zone id, when known before deployment. */
    zoneId: pulumi.Input<string>;
}

/**
 * One edge per zone across the whole program. Cloudflare keeps one zone-level
 * Authenticated Origin Pulls certificate in use per zone (the most recently
 * uploaded), and the zone's `ssl` setting is one value: two edges on one zone would
 * each upload a certificate and set `ssl`, and the origin behind the older
 * certificate would reject Cloudflare. Throws naming both owners.
 */
export function checkOneEdgePerZone(edges: readonly EdgeZoneClaim[]): void {
    const seen = new Map<string, string>();
    for (const e of edges) {
        if (typeof e.zoneId !== "string") continue; // an Output: checked by the engine's own ordering, not here
        const other = seen.get(e.zoneId);
        if (other) {
            throw new PolicyError(
                `${e.owner}.zoneId: zone ${e.zoneId} already has an edge (${other}); Cloudflare uses one origin-pull certificate per zone, so the origin behind the other edge would reject Cloudflare. ` +
                    "Put all hostnames of the zone into one edge's records (on one firewall), and leave edge out of the others",
            );
        }
        seen.set(e.zoneId, e.owner);
    }
}

/** A child resource an edge will register whose name depends on its arguments. */
export interface EdgeChildName {
    /** The provider resource type token. */
    type: string;
    name: string;
    /** The argument it comes from, for messages (e.g. "records.www.example.com.ipv4"). */
    what: string;
}

/**
 * The names of an edge's records and blocks (the children named after its
 * arguments), with the same naming functions the component uses, so a program
 * can check names across all its edges before registering anything.
 */
export function edgeChildNames(component: string, args: Pick<CloudflareOriginEdgeArgs, "records" | "blockedSources">): EdgeChildName[] {
    const out: EdgeChildName[] = [];
    for (const [host, rec] of Object.entries(args.records ?? {})) {
        if (rec?.ipv4 !== undefined) out.push({ type: "cloudflare:index/dnsRecord:DnsRecord", name: recordResourceName(component, host, "A"), what: `records.${host}.ipv4` });
        if (rec?.ipv6 !== undefined) out.push({ type: "cloudflare:index/dnsRecord:DnsRecord", name: recordResourceName(component, host, "AAAA"), what: `records.${host}.ipv6` });
    }
    for (const b of validateBlockedSources(args.blockedSources)) {
        out.push({ type: "cloudflare:index/accessRule:AccessRule", name: blockResourceName(component, b.canonical), what: `blockedSources ${b.canonical}` });
    }
    return out;
}

/** Validates the edge arguments (everything that can be checked before deployment). */
export function validateEdge(args: CloudflareOriginEdgeArgs, component = "edge"): AccessRuleTarget[] {
    if (args.zoneId === undefined || args.zoneId === "") throw new PolicyError(`zoneId: missing; give the Cloudflare zone id (dashboard > Overview > API)`);
    if (typeof args.zoneId === "string" && !ZONE_ID.test(args.zoneId)) {
        throw new PolicyError(`zoneId: ${JSON.stringify(args.zoneId)} is not a Cloudflare zone id; copy the 32 lower-case hex digits from the zone's Overview page (API section)`);
    }
    const names = new Map<string, string>();
    const claim = (resourceName: string, what: string) => {
        const other = names.get(resourceName);
        if (other) throw new PolicyError(`${what} and ${other} would both be named "${resourceName}"; remove one of them`);
        names.set(resourceName, what);
    };
    for (const [host, rec] of Object.entries(args.records ?? {})) {
        const problem = hostnameProblem(host, { wildcard: true });
        if (problem) throw new PolicyError(`records: ${showText(host)} ${problem}`);
        if (rec?.ipv4 === undefined && rec?.ipv6 === undefined) throw new PolicyError(`records.${host}: give ipv4, ipv6 or both`);
        if (typeof rec.ipv4 === "string") canonicalRecordContent(rec.ipv4, 4, `records.${host}.ipv4`);
        if (typeof rec.ipv6 === "string") canonicalRecordContent(rec.ipv6, 6, `records.${host}.ipv6`);
        if (rec.ipv4 !== undefined) claim(recordResourceName(component, host, "A"), `records.${host}.ipv4`);
        if (rec.ipv6 !== undefined) claim(recordResourceName(component, host, "AAAA"), `records.${host}.ipv6`);
    }
    if (args.sslMode !== undefined && args.sslMode !== "strict" && args.sslMode !== "full") {
        throw new PolicyError(`sslMode: ${JSON.stringify(args.sslMode)} is not allowed; use "strict" (recommended) or "full"`);
    }
    const aop = args.authenticatedOriginPulls;
    if (aop !== undefined && typeof aop === "object" && aop !== null && "generations" in aop) {
        originPullGenerations(aop);
    } else if (aop !== undefined && typeof aop !== "boolean") {
        if (typeof aop !== "object" || aop === null || aop.certificate === undefined || aop.privateKey === undefined) {
            throw new PolicyError(`authenticatedOriginPulls: give true (a certificate of your own is generated), { generations: [1, 2] } (rotating it), false, or { certificate, privateKey, caCertificate? }`);
        }
        for (const field of ["certificate", "caCertificate"] as const) {
            const v = aop[field];
            if (typeof v === "string" && !v.includes("-----BEGIN CERTIFICATE-----")) {
                throw new PolicyError(`authenticatedOriginPulls.${field}: not a PEM certificate; paste the text starting with -----BEGIN CERTIFICATE-----`);
            }
        }
        if (typeof aop.privateKey === "string" && !/-----BEGIN (EC |RSA )?PRIVATE KEY-----/.test(aop.privateKey)) {
            throw new PolicyError(`authenticatedOriginPulls.privateKey: not a PEM private key; paste the text starting with -----BEGIN PRIVATE KEY-----`);
        }
    }
    const blocked = validateBlockedSources(args.blockedSources);
    for (const b of blocked) claim(blockResourceName(component, b.canonical), `blockedSources ${b.canonical}`);
    return blocked;
}
