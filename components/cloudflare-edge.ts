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
import { Cidr, parseSingleAddress, uniqueSorted, userCidr } from "./cidr";
import { onResource } from "./origin";
import { PolicyError } from "./policy";
import { COMPONENT_TYPES, withPreviousType } from "./tokens";

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
     * An object uploads your own certificate and key instead. False leaves AOP unmanaged.
     */
    authenticatedOriginPulls?: boolean | OwnOriginPullCertificate;
    /** The zone's SSL mode; default "strict" (Full strict: Cloudflare verifies the origin certificate). */
    sslMode?: "strict" | "full";
    /** Addresses or blocks Cloudflare blocks at the edge: single IPs, IPv4 /16 and /24, IPv6 /32, /48 and /64. */
    blockedSources?: string[];
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
        else if (allowed.includes(c.prefix)) t = { target: "ip_range", value: c.text };
        else {
            throw new PolicyError(
                `blockedSources[${i}]: "${s}" is a /${c.prefix}; Cloudflare IP Access rules take single addresses, /16 or /24 for IPv4 and /32, /48 or /64 for IPv6`,
            );
        }
        return { ...c, ...t };
    });
    return uniqueSorted(parsed).map(({ target, value }) => ({ target, value }));
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
        if (!HOSTNAME.test(host)) throw new PolicyError(`records: "${host}" is not a hostname; use lower-case names such as "app.example.com"`);
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
    if (aop !== undefined && typeof aop !== "boolean") {
        if (typeof aop !== "object" || aop === null || aop.certificate === undefined || aop.privateKey === undefined) {
            throw new PolicyError(`authenticatedOriginPulls: give true (a certificate of your own is generated), false, or { certificate, privateKey, caCertificate? }`);
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
    for (const b of blocked) claim(blockResourceName(component, b.value), `blockedSources ${b.value}`);
    return blocked;
}

/** Ten years for the CA, two for the client certificate, renewed a month early. */
const CA_VALIDITY_HOURS = 87600;
const CLIENT_VALIDITY_HOURS = 17520;
const EARLY_RENEWAL_HOURS = 720;

/**
 * Proxied DNS, strict TLS, Authenticated Origin Pulls with a certificate of the
 * zone's own, and edge blocks for a zone whose origin sits behind an origin firewall.
 */
export class CloudflareOriginEdge extends pulumi.ComponentResource {
    /** Proxied A/AAAA records, keyed "hostname/A" and "hostname/AAAA". */
    public readonly records: Record<string, cloudflare.DnsRecord> = {};
    /** The uploaded zone-level client certificate, when AOP is managed. */
    public readonly originPullCertificate?: cloudflare.AuthenticatedOriginPullsCertificate;
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
        if (aop !== false) {
            const own = aop === true ? this.generateClientCertificate(name) : aop;
            this.originPullCaPem = own.caCertificate === undefined ? undefined : pulumi.output(own.caCertificate);
            this.originPullCertificate = new cloudflare.AuthenticatedOriginPullsCertificate(
                `${name}-aop-cert`,
                { zoneId: args.zoneId, certificate: own.certificate, privateKey: pulumi.secret(own.privateKey) },
                parent,
            );
            // Enabled only once the zone's own certificate is uploaded, so AOP never
            // runs on Cloudflare's shared certificate (which any zone can present).
            this.authenticatedOriginPulls = new cloudflare.AuthenticatedOriginPullsSettings(
                `${name}-aop`,
                { zoneId: args.zoneId, enabled: true },
                { parent: this, dependsOn: [this.originPullCertificate] },
            );
        }
        this.sslMode = new cloudflare.ZoneSetting(`${name}-ssl`, { zoneId: args.zoneId, settingId: "ssl", value: args.sslMode ?? "strict" }, parent);
        for (const b of blocked) {
            this.blocks[b.value] = new cloudflare.AccessRule(
                blockResourceName(name, b.value),
                { zoneId: args.zoneId, mode: "block", configuration: { target: b.target, value: b.value }, notes: `blocked by cloudflare-origin-firewall (${b.value})` },
                parent,
            );
        }
        this.registerOutputs({ records: Object.keys(this.records), blocked: blocked.map((b) => b.value), originPullCaPem: this.originPullCaPem });
    }

    /** A CA of this zone's own and a client certificate signed by it; keys stay secret in state. */
    private generateClientCertificate(name: string): Required<OwnOriginPullCertificate> {
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
        const clientKey = new tls.PrivateKey(`${name}-aop-client-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, parent);
        const csr = new tls.CertRequest(
            `${name}-aop-client-csr`,
            { privateKeyPem: clientKey.privateKeyPem, subject: { commonName: `${name} Cloudflare origin pull`, organization: "cloudflare-origin-firewall" } },
            parent,
        );
        const client = new tls.LocallySignedCert(
            `${name}-aop-client`,
            {
                certRequestPem: csr.certRequestPem,
                caPrivateKeyPem: caKey.privateKeyPem,
                caCertPem: ca.certPem,
                allowedUses: ["client_auth", "digital_signature", "key_agreement"],
                validityPeriodHours: CLIENT_VALIDITY_HOURS,
                earlyRenewalHours: EARLY_RENEWAL_HOURS,
            },
            parent,
        );
        return { certificate: client.certPem, privateKey: clientKey.privateKeyPem, caCertificate: ca.certPem };
    }
}
