/**
 * The Cloudflare side of an origin lockdown. Cloudflare's ranges are shared by
 * every Cloudflare customer, so an allowlist alone lets anyone point their own
 * zone at your origin; Authenticated Origin Pulls (mTLS from Cloudflare), proxied
 * DNS and strict TLS close that gap. Blocked sources are the edge counterpart of
 * `iptables -s <ip> -j DROP`.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { X509Certificate } from "crypto";
import * as ipaddr from "ipaddr.js";
import { Cidr, parseSingleAddress, uniqueSorted, userCidr } from "./cidr";
import { onResource } from "./origin";
import { PolicyError } from "./policy";
import { COMPONENT_TYPES, withPreviousType } from "./tokens";
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
 */
export function ipv6LongForm(address: string): string {
    const b = ipaddr.IPv6.parse(address).toByteArray();
    return Array.from({ length: 8 }, (_, i) => ((b[2 * i] << 8) | b[2 * i + 1]).toString(16).padStart(4, "0")).join(":");
}

/** An access rule value as Cloudflare keeps it: IPv6 (address or block) in the long form, IPv4 as is. */
export function accessRuleValue(c: Cidr): string {
    if (c.family === 4) return c.text.split("/")[0] + (c.prefix === 32 ? "" : `/${c.prefix}`);
    const long = ipv6LongForm(c.text.split("/")[0]);
    return c.prefix === 128 ? long : `${long}/${c.prefix}`;
}

const IPV4_RANGES = [16, 24];
const IPV6_RANGES = [32, 48, 64];

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
        const canonical = c.prefix === full ? c.text.split("/")[0] : c.text;
        if (c.prefix === full) t = { target: c.family === 4 ? "ip" : "ip6", value: accessRuleValue(c), canonical };
        else if (allowed.includes(c.prefix)) t = { target: "ip_range", value: accessRuleValue(c), canonical };
        else {
            throw new PolicyError(
                `blockedSources[${i}]: "${s}" is a /${c.prefix}; Cloudflare IP Access rules take single addresses, /16 or /24 for IPv4 and /32, /48 or /64 for IPv6`,
            );
        }
        return { ...c, ...t };
    });
    return uniqueSorted(parsed).map(({ target, value, canonical }) => ({ target, value, canonical }));
}

/** A Cloudflare zone id: 32 lower-case hex digits. */
export const ZONE_ID = /^[0-9a-f]{32}$/;

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

/**
 * The zone's origin-pull certificates as Cloudflare reports them now (read-only;
 * needs the Cloudflare token). Fails closed: an answer without a list of
 * certificates is an error, never "no certificates".
 */
export async function fetchZoneOriginPullCertificates(zoneId: string): Promise<ZoneOriginPullCertificate[]> {
    const answer = await cloudflare.getAuthenticatedOriginPullsCertificates({ zoneId });
    const results: unknown = (answer as { results?: unknown }).results;
    if (!Array.isArray(results) || !results.every((r) => r && typeof r.certificate === "string" && typeof r.status === "string")) {
        throw new PolicyError(`zone ${zoneId}: Cloudflare's list of origin-pull certificates could not be read, so a rotation cannot be judged safe; nothing was changed. Check the Cloudflare token (Zone SSL and Certificates: Read)`);
    }
    return results.map((r: ZoneOriginPullCertificate) => ({ certificate: r.certificate, status: r.status }));
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

/** Validates the edge arguments (everything that can be checked before deployment). */
export function validateEdge(args: CloudflareOriginEdgeArgs, component = "edge"): AccessRuleTarget[] {
    if (args.zoneId === undefined || args.zoneId === "") throw new PolicyError(`zoneId: missing; give the Cloudflare zone id (dashboard > Overview > API)`);
    if (typeof args.zoneId === "string" && !ZONE_ID.test(args.zoneId)) {
        throw new PolicyError(
            `zoneId: ${JSON.stringify(args.zoneId)} is not a Cloudflare zone id; copy the 32 lower-case hex digits from the zone's Overview page (API section)`,
        );
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
            throw new PolicyError(
                `authenticatedOriginPulls: give true (a certificate of your own is generated), { generations: [1, 2] } (rotating it), false, or { certificate, privateKey, caCertificate? }`,
            );
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

/** Ten years for the CA, two for each client certificate generation; a warning 60 days before one expires. */
const CA_VALIDITY_HOURS = 87600;
const CLIENT_VALIDITY_HOURS = 17520;
const ROTATE_WARNING_MS = 60 * 24 * 3600 * 1000;

/** Generation 1 keeps the names it always had (no replacement on upgrade); later ones are suffixed. */
function generationSuffix(generation: number): string {
    return generation === 1 ? "" : `-g${generation}`;
}

/**
 * Proxied DNS, strict TLS, Authenticated Origin Pulls with a certificate of the
 * zone's own, and edge blocks for a zone whose origin sits behind an origin firewall.
 */
export class CloudflareOriginEdge extends pulumi.ComponentResource {
    /** Proxied A/AAAA records, keyed "hostname/A" and "hostname/AAAA". */
    public readonly records: Record<string, cloudflare.DnsRecord> = {};
    /** The uploaded zone-level client certificate Cloudflare is to use (the newest generation), when AOP is managed. */
    public readonly originPullCertificate?: cloudflare.AuthenticatedOriginPullsCertificate;
    /** Generated certificates by generation (one, or two while rotating). */
    public readonly originPullCertificates: Record<number, cloudflare.AuthenticatedOriginPullsCertificate> = {};
    /** Cloudflare's status of each generation's upload ("pending_deployment", "active", ...), as of the last refresh. */
    public readonly originPullCertificateStatus: Record<number, pulumi.Output<string>> = {};
    /** Zone-wide Authenticated Origin Pulls, when managed; enabled only after the upload. */
    public readonly authenticatedOriginPulls?: cloudflare.AuthenticatedOriginPullsSettings;
    /**
     * The CA certificate (PEM) that signed the client certificate: save it on the
     * origin as `ssl_client_certificate` and set `ssl_verify_client on`. Undefined
     * when AOP is unmanaged or your own certificate came without `caCertificate`.
     */
    public readonly originPullCaPem?: pulumi.Output<string>;
    /** The zone's SSL mode setting. */
    public readonly sslMode: cloudflare.ZoneSetting;
    /** Block rules, keyed by the blocked value. */
    public readonly blocks: Record<string, cloudflare.AccessRule> = {};

    constructor(name: string, args: CloudflareOriginEdgeArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.CloudflareOriginEdge.type, name, {}, withPreviousType(opts, COMPONENT_TYPES.CloudflareOriginEdge.previous));
        const blocked = onResource(this, () => validateEdge(args, name));
        const parent = { parent: this };
        for (const host of Object.keys(args.records ?? {}).sort()) {
            const rec = args.records![host];
            for (const [type, family, content] of [["A", 4, rec.ipv4], ["AAAA", 6, rec.ipv6]] as const) {
                if (content === undefined) continue;
                const canonical = pulumi.output(content).apply((c) => onResource(this, () => canonicalRecordContent(c, family, `records.${host}.${type === "A" ? "ipv4" : "ipv6"}`)));
                // ttl 1 is "automatic", the only value a proxied record keeps.
                this.records[`${host}/${type}`] = new cloudflare.DnsRecord(
                    recordResourceName(name, host, type),
                    { zoneId: args.zoneId, name: host, type, content: canonical, proxied: true, ttl: 1, comment: "managed by cloudflare-origin-firewall" },
                    parent,
                );
            }
        }
        const aop = args.authenticatedOriginPulls ?? true;
        if (aop === false) {
            pulumi.log.warn(
                `${name}: Authenticated Origin Pulls is unmanaged here. If this edge managed it before, zone-level AOP is still on at Cloudflare ` +
                    "(the provider's delete does not turn it off) and Cloudflare still presents the last uploaded certificate; turn it off in the dashboard (SSL/TLS > Origin Server) if that is what you want",
                this,
            );
        } else {
            const generations = originPullGenerations(aop);
            let uploads: cloudflare.AuthenticatedOriginPullsCertificate[];
            if (generations.length > 0) {
                // One CA for every generation, so the origin's trust never changes on rotation.
                const ca = this.generateCa(name);
                this.originPullCaPem = ca.certPem;
                uploads = generations.map((g) => {
                    const own = this.generateClientCertificate(name, g, ca);
                    const cert = this.upload(`${name}-aop-cert${generationSuffix(g)}`, args.zoneId, own);
                    this.originPullCertificates[g] = cert;
                    this.originPullCertificateStatus[g] = cert.status;
                    return cert;
                });
                if (generations.length === 2) {
                    const [old, next] = generations;
                    uploads[1].status.apply((status) =>
                        pulumi.log.warn(
                            status === "active"
                                ? `${name}: origin-pull certificate generation ${next} is active; finish the rotation: set authenticatedOriginPulls.generations to [${next}] (generation ${old} is then deleted)`
                                : `${name}: rotating the origin-pull certificate: generation ${next} is "${status ?? "being uploaded"}", generation ${old} stays uploaded; ` +
                                      `run again later (with a refresh), and set generations to [${next}] only once generation ${next} is "active"`,
                            this,
                        ),
                    );
                }
            } else {
                const own = aop as OwnOriginPullCertificate;
                this.originPullCaPem = own.caCertificate === undefined ? undefined : pulumi.output(own.caCertificate);
                uploads = [this.upload(`${name}-aop-cert`, args.zoneId, own)];
            }
            this.originPullCertificate = uploads[uploads.length - 1];
            // Enabled only once the zone's own certificate(s) are uploaded, so AOP never
            // runs on Cloudflare's shared certificate (which any zone can present).
            this.authenticatedOriginPulls = new cloudflare.AuthenticatedOriginPullsSettings(
                `${name}-aop`,
                { zoneId: args.zoneId, enabled: true },
                { parent: this, dependsOn: uploads },
            );
        }
        this.sslMode = new cloudflare.ZoneSetting(`${name}-ssl`, { zoneId: args.zoneId, settingId: "ssl", value: args.sslMode ?? "strict" }, parent);
        for (const b of blocked) {
            this.blocks[b.canonical] = new cloudflare.AccessRule(
                blockResourceName(name, b.canonical),
                { zoneId: args.zoneId, mode: "block", configuration: { target: b.target, value: b.value }, notes: `blocked by cloudflare-origin-firewall (${b.canonical})` },
                parent,
            );
        }
        this.registerOutputs({
            records: Object.keys(this.records),
            blocked: blocked.map((b) => b.canonical),
            originPullCaPem: this.originPullCaPem,
            originPullCertificateStatus: this.originPullCertificateStatus,
        });
    }

    private upload(resourceName: string, zoneId: pulumi.Input<string>, own: OwnOriginPullCertificate): cloudflare.AuthenticatedOriginPullsCertificate {
        return new cloudflare.AuthenticatedOriginPullsCertificate(resourceName, { zoneId, certificate: own.certificate, privateKey: pulumi.secret(own.privateKey) }, { parent: this });
    }

    /** The zone's own CA, shared by every generation of client certificate; its key stays secret in state. */
    private generateCa(name: string): { certPem: pulumi.Output<string>; privateKeyPem: pulumi.Output<string> } {
        const parent = { parent: this };
        const caKey = new tls.PrivateKey(`${name}-aop-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, parent);
        const ca = new tls.SelfSignedCert(
            `${name}-aop-ca`,
            {
                privateKeyPem: caKey.privateKeyPem,
                isCaCertificate: true,
                subject: { commonName: `${name} origin-pull CA`, organization: "cloudflare-origin-firewall" },
                allowedUses: ["cert_signing", "crl_signing"],
                validityPeriodHours: CA_VALIDITY_HOURS,
            },
            parent,
        );
        return { certPem: ca.certPem, privateKeyPem: caKey.privateKeyPem };
    }

    /**
     * One generation's client certificate, signed by the zone's CA. Never renewed
     * early (earlyRenewalHours 0): a renewal would replace the upload in one step,
     * the window this package avoids; a new generation is the way to rotate.
     */
    private generateClientCertificate(name: string, generation: number, ca: { certPem: pulumi.Output<string>; privateKeyPem: pulumi.Output<string> }): Required<OwnOriginPullCertificate> {
        const parent = { parent: this };
        const suffix = generationSuffix(generation);
        const clientKey = new tls.PrivateKey(`${name}-aop-client-key${suffix}`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, parent);
        const csr = new tls.CertRequest(
            `${name}-aop-client-csr${suffix}`,
            { privateKeyPem: clientKey.privateKeyPem, subject: { commonName: `${name} Cloudflare origin pull`, organization: "cloudflare-origin-firewall", ...(generation > 1 ? { organizationalUnit: `generation ${generation}` } : {}) } },
            parent,
        );
        const client = new tls.LocallySignedCert(
            `${name}-aop-client${suffix}`,
            {
                certRequestPem: csr.certRequestPem,
                caPrivateKeyPem: ca.privateKeyPem,
                caCertPem: ca.certPem,
                allowedUses: ["client_auth", "digital_signature", "key_agreement"],
                validityPeriodHours: CLIENT_VALIDITY_HOURS,
                earlyRenewalHours: 0,
            },
            parent,
        );
        client.validityEndTime.apply((end) => {
            const left = end ? Date.parse(end) - Date.now() : NaN;
            if (left < ROTATE_WARNING_MS) {
                pulumi.log.warn(`${name}: origin-pull client certificate generation ${generation} expires ${end}; rotate now: set authenticatedOriginPulls.generations to [${generation}, ${generation + 1}] (README, rotation)`, this);
            }
        });
        return { certificate: client.certPem, privateKey: clientKey.privateKeyPem, caCertificate: ca.certPem };
    }
}
