/**
 * The components as every Pulumi language sees them (`pulumi package add`). Pulumi
 * infers the schema from these classes: one shape per field, enums instead of
 * literal unions, no `A | B` inputs, each class extending ComponentResource
 * directly with its outputs declared. Each wraps the library component of the same
 * name, which does all the work (validation, rendering, provider translation): this
 * file only maps one argument shape onto the other. TypeScript programs keep using
 * the library's own classes and their richer argument types.
 */
import * as pulumi from "@pulumi/pulumi";
import type { CloudflareRanges } from "../components/cloudflare";
import * as edge from "../components/cloudflare-edge";
import * as digitalocean from "../components/digitalocean";
import * as hetzner from "../components/hetzner";
import type { ExtraRule, OriginPolicyArgs, SshPolicy } from "../components/policy";
import { COMPONENT_TYPES } from "../components/tokens";

/** Protocol of a rule. */
export const RuleProtocol = { Tcp: "tcp", Udp: "udp", Icmp: "icmp" } as const;
/** Protocol of a rule. */
export type RuleProtocol = (typeof RuleProtocol)[keyof typeof RuleProtocol];

/** An additional inbound rule. */
export interface FirewallRule {
    /** What the rule is for; shown in the provider console. */
    description: string;
    /** Protocol; default tcp. */
    protocol?: RuleProtocol;
    /** Port ("9000") or range ("8000-8100"); required for tcp and udp, absent for icmp. */
    port?: string;
    /** Addresses or CIDR blocks admitted, or DNS names resolved at deploy time. */
    sources: string[];
}

/** Cloudflare's ranges handed in instead of fetched: canonical CIDR lists (validated exactly like a fetched answer). */
export interface CloudflareRangesInput {
    /** IPv4 ranges, e.g. "173.245.48.0/20". */
    ipv4: string[];
    /** IPv6 ranges, e.g. "2400:cb00::/32". */
    ipv6: string[];
    /** Cloudflare's digest of the data, if known. */
    etag?: string;
}

/** What only Cloudflare may reach. */
export interface CloudflareAccess {
    /** TCP ports admitted only from Cloudflare's ranges; default [443]. */
    ports?: number[];
    /** Ranges to use instead of fetching them at deploy time (offline or pinned deployments). */
    ranges?: pulumi.Input<CloudflareRangesInput>;
}

/** Arguments of HetznerOriginFirewall. */
export interface HetznerOriginFirewallArgs {
    /** SSH access; always rendered, so no configuration can lock you out. */
    ssh: SshPolicy;
    /** Ports reachable only from Cloudflare; default 443 with ranges fetched at deploy time. */
    cloudflare?: CloudflareAccess;
    /** Additional inbound rules. */
    rules?: FirewallRule[];
    /** Admit ICMP (ping) from anywhere; default false. */
    allowPing?: boolean;
    /** Servers to attach to (label selectors or server ids, not both); without it the firewall is created unattached. */
    applyTo?: hetzner.HetznerApplyTo;
    /** Base name of the firewall in Hetzner; default the component name (a generation suffix is added). */
    firewallName?: string;
    /** Hetzner labels on the firewall. */
    labels?: Record<string, string>;
}

/** Outbound traffic of a DigitalOcean firewall when no explicit rules are given. */
export const EgressMode = { AllowAll: "allow-all", DenyAll: "deny-all" } as const;
/** Outbound traffic of a DigitalOcean firewall when no explicit rules are given. */
export type EgressMode = (typeof EgressMode)[keyof typeof EgressMode];

/** One outbound rule. */
export interface EgressRule {
    /** Protocol; default tcp. */
    protocol?: RuleProtocol;
    /** Port or range ("1-65535" for all); required for tcp and udp, absent for icmp. */
    port?: string;
    /** Destination addresses or CIDR blocks. */
    destinations: string[];
}

/** Arguments of DigitalOceanOriginFirewall. */
export interface DigitalOceanOriginFirewallArgs {
    /** SSH access; always rendered, so no configuration can lock you out. */
    ssh: SshPolicy;
    /** Ports reachable only from Cloudflare; default 443 with ranges fetched at deploy time. */
    cloudflare?: CloudflareAccess;
    /** Additional inbound rules. */
    rules?: FirewallRule[];
    /** Admit ICMP (ping) from anywhere; default false. */
    allowPing?: boolean;
    /** Droplets to attach to (at most 10; use tags for more). */
    dropletIds?: pulumi.Input<number>[];
    /** Droplet tags to attach to (at most 5). */
    tags?: string[];
    /** Name of the firewall in DigitalOcean; default the component name. */
    firewallName?: string;
    /** Outbound traffic when egressRules is not given: allow-all (default) or deny-all (DigitalOcean then blocks all egress). */
    egress?: EgressMode;
    /** Explicit outbound rules instead of egress. */
    egressRules?: EgressRule[];
}

/** The zone's SSL mode. */
export const SslMode = { Strict: "strict", Full: "full" } as const;
/** The zone's SSL mode. */
export type SslMode = (typeof SslMode)[keyof typeof SslMode];

/** Arguments of CloudflareOriginEdge. */
export interface CloudflareOriginEdgeArgs {
    /** The Cloudflare zone id. */
    zoneId: pulumi.Input<string>;
    /** Hostname -> server addresses; each becomes a proxied A and/or AAAA record. */
    records?: Record<string, edge.EdgeRecord>;
    /**
     * Zone-level Authenticated Origin Pulls (mTLS from Cloudflare to the origin); default
     * true: a client certificate of the zone's own is generated, uploaded, and only then
     * AOP is enabled. False leaves AOP unmanaged.
     */
    authenticatedOriginPulls?: boolean;
    /** Your own client certificate for Authenticated Origin Pulls instead of a generated one. */
    originPullCertificate?: edge.OwnOriginPullCertificate;
    /** The zone's SSL mode; default strict (Cloudflare verifies the origin certificate). */
    sslMode?: SslMode;
    /** Addresses or blocks Cloudflare blocks at the edge: single IPs, IPv4 /16 and /24, IPv6 /32, /48 and /64. */
    blockedSources?: string[];
}

/**
 * The arguments the library reads as plain data. Other languages send a value with
 * dependencies or secrets as an Output; read as plain data it would be misread (an
 * attachment lost, a rule dropped), so it is refused, in our words.
 */
function plain<T extends object>(component: pulumi.Resource, args: T, fields: (keyof T)[]): T {
    for (const field of fields) {
        if (pulumi.Output.isInstance(args[field])) {
            throw new pulumi.ResourceError(
                `${String(field)}: must be known when the component is created (it depends on another resource or is a secret); pass plain values here and resource outputs only where the schema takes them (e.g. applyTo.serverIds)`,
                component,
                true,
            );
        }
    }
    return args;
}

function policyOf(args: HetznerOriginFirewallArgs | DigitalOceanOriginFirewallArgs): OriginPolicyArgs {
    const rules = args.rules?.map((r): ExtraRule => ({ description: r.description, protocol: r.protocol, port: r.port, sources: r.sources }));
    const cloudflare = args.cloudflare && { ports: args.cloudflare.ports, ranges: args.cloudflare.ranges as pulumi.Input<CloudflareRanges> | undefined };
    return { ssh: args.ssh, cloudflare, rules, allowPing: args.allowPing };
}

const POLICY_FIELDS = ["ssh", "cloudflare", "rules", "allowPing"] as const;

/**
 * One Hetzner Cloud firewall that admits SSH from trusted sources, the chosen ports
 * only from Cloudflare, the extra rules, and nothing else inbound.
 */
export class HetznerOriginFirewall extends pulumi.ComponentResource {
    /** Hetzner's id of the firewall. */
    public readonly firewallId: pulumi.Output<string>;
    /** The Cloudflare ranges applied, with Cloudflare's etag. */
    public readonly cloudflareRanges: pulumi.Output<CloudflareRanges>;
    /** Number of rules in the firewall. */
    public readonly ruleCount: pulumi.Output<number>;

    constructor(name: string, args: HetznerOriginFirewallArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.HetznerOriginFirewall.type, name, {}, opts);
        plain(this, args, [...POLICY_FIELDS, "applyTo", "firewallName", "labels"]);
        const inner = new hetzner.HetznerOriginFirewall(name, { ...policyOf(args), applyTo: args.applyTo, firewallName: args.firewallName, labels: args.labels }, { parent: this });
        this.firewallId = inner.firewallId;
        this.cloudflareRanges = inner.cloudflareRanges;
        this.ruleCount = inner.ruleCount;
        this.registerOutputs({ firewallId: this.firewallId, cloudflareRanges: this.cloudflareRanges, ruleCount: this.ruleCount });
    }
}

/**
 * One DigitalOcean cloud firewall that admits SSH from trusted sources, the chosen
 * ports only from Cloudflare, the extra rules, and nothing else inbound; egress explicit.
 */
export class DigitalOceanOriginFirewall extends pulumi.ComponentResource {
    /** DigitalOcean's id of the firewall. */
    public readonly firewallId: pulumi.Output<string>;
    /** The Cloudflare ranges applied, with Cloudflare's etag. */
    public readonly cloudflareRanges: pulumi.Output<CloudflareRanges>;
    /** Number of rules, inbound plus outbound. */
    public readonly ruleCount: pulumi.Output<number>;

    constructor(name: string, args: DigitalOceanOriginFirewallArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.DigitalOceanOriginFirewall.type, name, {}, opts);
        plain(this, args, [...POLICY_FIELDS, "tags", "firewallName", "egress", "egressRules"]);
        if (args.egress !== undefined && args.egressRules !== undefined) {
            throw new pulumi.ResourceError(`egress: ${JSON.stringify(args.egress)} given together with egressRules; give one: egressRules for explicit rules, or egress "allow-all" / "deny-all"`, this, true);
        }
        const egress = args.egressRules?.map((r): digitalocean.EgressRule => ({ protocol: r.protocol, port: r.port, destinations: r.destinations })) ?? args.egress;
        const inner = new digitalocean.DigitalOceanOriginFirewall(name, { ...policyOf(args), dropletIds: args.dropletIds, tags: args.tags, firewallName: args.firewallName, egress }, { parent: this });
        this.firewallId = inner.firewallId;
        this.cloudflareRanges = inner.cloudflareRanges;
        this.ruleCount = inner.ruleCount;
        this.registerOutputs({ firewallId: this.firewallId, cloudflareRanges: this.cloudflareRanges, ruleCount: this.ruleCount });
    }
}

/**
 * Proxied DNS, strict TLS, Authenticated Origin Pulls with a certificate of the
 * zone's own, and edge blocks for a zone whose origin sits behind an origin firewall.
 */
export class CloudflareOriginEdge extends pulumi.ComponentResource {
    /**
     * The CA certificate (PEM) that signed the client certificate: save it on the origin
     * as ssl_client_certificate and set ssl_verify_client on. Absent when AOP is
     * unmanaged or your own certificate came without caCertificate.
     */
    public readonly originPullCaPem?: pulumi.Output<string>;
    /** The record keys created, "hostname/A" and "hostname/AAAA". */
    public readonly records: string[];
    /** The values blocked at the edge. */
    public readonly blocked: string[];

    constructor(name: string, args: CloudflareOriginEdgeArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.CloudflareOriginEdge.type, name, {}, opts);
        plain(this, args, ["records", "authenticatedOriginPulls", "originPullCertificate", "sslMode", "blockedSources"]);
        if (args.authenticatedOriginPulls === false && args.originPullCertificate !== undefined) {
            throw new pulumi.ResourceError("originPullCertificate: given while authenticatedOriginPulls is false; remove one of them", this, true);
        }
        const aop = args.originPullCertificate ?? args.authenticatedOriginPulls;
        const inner = new edge.CloudflareOriginEdge(name, { zoneId: args.zoneId, records: args.records, authenticatedOriginPulls: aop, sslMode: args.sslMode, blockedSources: args.blockedSources }, { parent: this });
        this.originPullCaPem = inner.originPullCaPem;
        this.records = Object.keys(inner.records);
        this.blocked = Object.keys(inner.blocks);
        this.registerOutputs({ originPullCaPem: this.originPullCaPem, records: this.records, blocked: this.blocked });
    }
}
