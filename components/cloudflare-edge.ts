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
import { blockResourceName, canonicalRecordContent, CloudflareOriginEdgeArgs, originPullGenerations, OwnOriginPullCertificate, recordResourceName, validateEdge, ZoneOriginPullCertificate } from "./cloudflare-edge-rules";
import { PolicyError } from "./policy";
import { onResource } from "./origin";
import { COMPONENT_TYPES, withPreviousType } from "./tokens";

export * from "./cloudflare-edge-rules";

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
            for (const [type, family, content] of [
                ["A", 4, rec.ipv4],
                ["AAAA", 6, rec.ipv6],
            ] as const) {
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
            this.authenticatedOriginPulls = new cloudflare.AuthenticatedOriginPullsSettings(`${name}-aop`, { zoneId: args.zoneId, enabled: true }, { parent: this, dependsOn: uploads });
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
