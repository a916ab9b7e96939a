/**
 * The pack's policies, pure (no engine, no gRPC): each one reads a firewall of any
 * program into the library's neutral rules (./firewalls) and judges the sources
 * that reach a port by union, with the components' own coverage functions. A port
 * admits what every rule reaching it admits together: two /1s are the world.
 */
import * as fs from "fs";
import * as path from "path";
import { Cidr, cidrContains, coverage, describeCoverage, isBroad, mergeCidrs, toCidr } from "../components/cidr";
import { CloudflareAnswer, CloudflareRanges, validateHandedInRanges } from "../components/cloudflare";
import { admittedAt, admittedEntries, cloudflareSourcesOf, DEFAULT_CLOUDFLARE_PORTS, DEFAULT_SSH_PORT, PolicyError, PolicyRule, validatePort } from "../components/policy";
import { DO_FIREWALL, HCLOUD_FIREWALL, HCLOUD_FIREWALL_ATTACHMENT, NeutralFirewall, neutralFirewall } from "./firewalls";

/**
 * The part of @pulumi/policy's `ResourceValidationArgs` the policies read. Declared
 * here so the library's typecheck and tests need no @pulumi/policy; index.ts hands
 * the policies to `PolicyPack`, which checks them against the real interface.
 */
export interface ResourceValidationArgs {
    type: string;
    props: Record<string, any>;
    urn: string;
    name: string;
    getConfig<T extends object>(): T;
}
/** @pulumi/policy's `ReportViolation`. */
export type ReportViolation = (message: string, urn?: string) => void;
/** The subset of @pulumi/policy's `ResourceValidationPolicy` this pack uses. */
export interface ResourceValidationPolicy {
    name: string;
    description: string;
    enforcementLevel: "advisory" | "mandatory";
    configSchema?: { properties: Record<string, object>; required?: string[] };
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => void;
}

/** Label (Hetzner) or tag (AWS) that opts one firewall out of `broad-ssh`; the value must be "true". */
export const OPT_OUT_BROAD_SSH = "cloudflare-origin-firewall/allow-broad-ssh";
/** Label (Hetzner) or tag (AWS) that opts one firewall out of `cloudflare-only-ports` (a server not behind Cloudflare). */
export const OPT_OUT_CLOUDFLARE_ONLY = "cloudflare-origin-firewall/not-behind-cloudflare";
/** The saved Cloudflare answer used when the pack is given no ranges. */
export const DEFAULT_RANGES_FILE = path.join(__dirname, "..", "samples", "cloudflare-ips-2026-11.json");

const PROTOCOLS = ["tcp", "udp"] as const;

/** The sources that reach `protocol`/`port`, merged, and the rules that put them there. */
export interface Admitted {
    sources: Cidr[];
    rules: PolicyRule[];
}

/**
 * The admitted set of one (protocol, port): the merged sources of every rule that
 * reaches it, ranges included, read from the library's admitted set
 * (components/policy.ts `admittedEntries`).
 */
export function admittedOn(rules: readonly PolicyRule[], protocol: "tcp" | "udp", port: number): Admitted {
    const entry = admittedAt({ entries: admittedEntries(rules, [port]) }, protocol, port);
    return { sources: entry ? [...entry.sources] : [], rules: entry ? entry.contributions.map((c) => c.rule) : [] };
}

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

function readPorts(raw: unknown, field: string, fallback: readonly number[]): number[] {
    if (raw === undefined) return [...fallback];
    if (!Array.isArray(raw)) throw new PolicyError(`${field}: ${show(raw)} must be a list of ports, e.g. [22]`);
    return [...new Set(raw.map((p, i) => validatePort(p, `${field}[${i}]`)))].sort((a, b) => a - b);
}

function readExempt(raw: unknown, field: string): Set<string> {
    if (raw === undefined) return new Set();
    if (!Array.isArray(raw) || raw.some((u) => typeof u !== "string" || !u.startsWith("urn:pulumi:"))) {
        throw new PolicyError(`${field}: ${show(raw)} must be a list of resource URNs ("urn:pulumi:stack::project::type::name")`);
    }
    return new Set(raw as string[]);
}

/** Config of `broad-ssh`. */
export interface BroadSshConfig {
    /** Ports that must never be reachable from a broad set; default [22]. */
    ports?: number[];
    /** URNs exempted (for resources that cannot carry a label, e.g. DigitalOcean firewalls). */
    exemptUrns?: string[];
}

/** Config of `cloudflare-only-ports`. */
export interface CloudflareOnlyConfig {
    /** Ports only Cloudflare may reach, on tcp and udp; default [443]. */
    ports?: number[];
    /** Cloudflare's ranges: `{ ipv4, ipv6 }` or a saved answer of /client/v4/ips. */
    ranges?: CloudflareRanges | CloudflareAnswer;
    /** A file holding a saved answer (relative to the pack); default the bundled samples/cloudflare-ips-2026-11.json. */
    rangesFile?: string;
    /** URNs exempted. */
    exemptUrns?: string[];
}

/** Validated `broad-ssh` config; an error names the field and the fix. */
export function resolveBroadSshConfig(raw: BroadSshConfig = {}): { ports: number[]; exemptUrns: Set<string> } {
    return { ports: readPorts(raw.ports, "broad-ssh.ports", [DEFAULT_SSH_PORT]), exemptUrns: readExempt(raw.exemptUrns, "broad-ssh.exemptUrns") };
}

const rangesFromFile = new Map<string, CloudflareRanges>();

/** Validated `cloudflare-only-ports` config: the ranges pass the library's own answer checks, or nothing is judged. */
export function resolveCloudflareOnlyConfig(raw: CloudflareOnlyConfig = {}): { ports: number[]; ranges: CloudflareRanges; exemptUrns: Set<string> } {
    const ports = readPorts(raw.ports, "cloudflare-only-ports.ports", DEFAULT_CLOUDFLARE_PORTS);
    if (raw.ranges !== undefined && raw.rangesFile !== undefined) {
        throw new PolicyError("cloudflare-only-ports: give ranges or rangesFile, not both");
    }
    let ranges: CloudflareRanges;
    if (raw.ranges !== undefined) {
        ranges = validateHandedInRanges(raw.ranges, "cloudflare-only-ports.ranges");
    } else {
        const file = path.resolve(__dirname, raw.rangesFile ?? DEFAULT_RANGES_FILE);
        const known = rangesFromFile.get(file);
        if (known) {
            ranges = known;
        } else {
            let body: unknown;
            try {
                body = JSON.parse(fs.readFileSync(file, "utf8"));
            } catch (e) {
                throw new PolicyError(`cloudflare-only-ports.rangesFile: ${file} could not be read as JSON (${(e as Error).message}); give a saved answer of https://api.cloudflare.com/client/v4/ips`);
            }
            ranges = validateHandedInRanges(body as CloudflareAnswer, file);
            rangesFromFile.set(file, ranges);
        }
    }
    return { ports, ranges, exemptUrns: readExempt(raw.exemptUrns, "cloudflare-only-ports.exemptUrns") };
}

function rulesText(rules: PolicyRule[]): string {
    return rules.map((r) => `${r.description} (${r.protocol} ${r.port})`).join(", ");
}

/** What was counted as everywhere (or resolved) and why; reference notes only of the rules that reach the port. */
function unreadableNote(fw: NeutralFirewall, rules: readonly PolicyRule[]): string {
    const reaching = new Set(rules.map((r) => r.description));
    const notes = [
        ...(fw.unreadable.length === 0 ? [] : [`unreadable sources ${fw.unreadable.map(show).join(", ")} were counted as everywhere`]),
        ...new Set((fw.notes ?? []).filter((n) => reaching.has(n.description)).map((n) => `${n.description}: ${n.text}`)),
    ];
    return notes.map((n) => `; ${n}`).join("");
}

/** Every (protocol, port) among `ports` that the firewall opens to a broad set (≥ IPv4 /8 or IPv6 /16 together). */
export function broadSshFindings(fw: NeutralFirewall, ports: readonly number[]): string[] {
    return ports.flatMap((port) =>
        PROTOCOLS.flatMap((protocol) => {
            const admitted = admittedOn(fw.rules, protocol, port);
            const cov = coverage(admitted.sources);
            if (!isBroad(cov)) return [];
            return [
                `${protocol} ${port} is reachable from ${describeCoverage(cov)}, by the union of ${rulesText(admitted.rules)}${unreadableNote(fw, admitted.rules)}. ` +
                    `Admit only specific trusted addresses; if this is really intended, label or tag the firewall ${OPT_OUT_BROAD_SSH}=true (or list its URN in broad-ssh.exemptUrns)`,
            ];
        }),
    );
}

/** Every (protocol, port) among `ports` that admits any address outside Cloudflare's ranges. */
export function cloudflareOnlyFindings(fw: NeutralFirewall, ports: readonly number[], ranges: CloudflareRanges): string[] {
    const cloudflare = mergeCidrs(cloudflareSourcesOf(ranges).map(toCidr));
    return ports.flatMap((port) =>
        PROTOCOLS.flatMap((protocol) => {
            const admitted = admittedOn(fw.rules, protocol, port);
            const outside = admitted.sources.filter((s) => !cloudflare.some((c) => cidrContains(c, s)));
            if (outside.length === 0) return [];
            const examples =
                outside
                    .slice(0, 3)
                    .map((c) => c.text)
                    .join(", ") + (outside.length > 3 ? `, … (${outside.length} blocks)` : "");
            return [
                `${protocol} ${port} admits ${describeCoverage(coverage(outside))} outside Cloudflare's ranges (${examples}), by ${rulesText(admitted.rules)}${unreadableNote(fw, admitted.rules)}. ` +
                    `Only Cloudflare may reach this port (udp too: a direct QUIC path); admit Cloudflare's ranges only, or label or tag the firewall ${OPT_OUT_CLOUDFLARE_ONLY}=true if the server is not behind Cloudflare`,
            ];
        }),
    );
}

/** DigitalOcean blocks all egress of a firewall without outbound rules; say so unless that is spelled out. */
export function digitalOceanEgressFindings(props: Record<string, any>): string[] {
    const outbound = props.outboundRules;
    if (Array.isArray(outbound) && outbound.length > 0) return [];
    return [
        "this DigitalOcean firewall has no outbound rules, so DigitalOcean blocks all egress of its Droplets (updates, DNS, APIs); " +
            'add outboundRules (e.g. tcp and udp "1-65535" and icmp to 0.0.0.0/0 and ::/0) or, if no egress is intended, keep it and accept this advisory',
    ];
}

/** A Hetzner firewall attached both by label selector and by server: Hetzner then refuses changes to those servers. */
export function hetznerAttachmentFindings(type: string, props: Record<string, any>): string[] {
    let selectors = 0;
    let servers = 0;
    if (type === HCLOUD_FIREWALL) {
        for (const block of Array.isArray(props.applyTos) ? props.applyTos : []) {
            if (block?.labelSelector !== undefined && block.labelSelector !== "") selectors++;
            if (block?.server !== undefined && block.server !== 0) servers++;
        }
    } else if (type === HCLOUD_FIREWALL_ATTACHMENT) {
        selectors = Array.isArray(props.labelSelectors) ? props.labelSelectors.length : 0;
        servers = Array.isArray(props.serverIds) ? props.serverIds.length : 0;
    }
    if (selectors === 0 || servers === 0) return [];
    return [
        `this Hetzner firewall is attached by ${selectors} label selector(s) and ${servers} server(s); a server reached both ways is "managed by label selector" ` +
            "and Hetzner refuses later changes to it (firewall_managed_by_label_selector). Label the servers and attach by selector only",
    ];
}

function optedOut(args: ResourceValidationArgs, fw: NeutralFirewall, key: string, exempt: Set<string>): boolean {
    return fw.labels[key] === "true" || exempt.has(args.urn);
}

const portsSchema = (fallback: readonly number[]) => ({
    type: "array" as const,
    items: { type: "integer" as const, minimum: 1, maximum: 65535 },
    default: [...fallback],
});
const urnsSchema = { type: "array" as const, items: { type: "string" as const }, default: [] };

/** SSH (or the configured ports) reachable from a broad set, by union: mandatory. */
export const broadSsh: ResourceValidationPolicy = {
    name: "broad-ssh",
    description: `SSH (or the configured ports) must not be reachable from a broad set (an IPv4 /8 or IPv6 /16 worth, by the union of all rules reaching it), unless the firewall carries ${OPT_OUT_BROAD_SSH}=true.`,
    enforcementLevel: "mandatory",
    configSchema: { properties: { ports: portsSchema([DEFAULT_SSH_PORT]), exemptUrns: urnsSchema } },
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        const fw = neutralFirewall(args.type, args.props);
        if (!fw) return;
        const config = resolveBroadSshConfig(args.getConfig<BroadSshConfig>());
        if (optedOut(args, fw, OPT_OUT_BROAD_SSH, config.exemptUrns)) return;
        for (const message of broadSshFindings(fw, config.ports)) report(message);
    },
};

/** A Cloudflare-only port reachable from outside Cloudflare's ranges: mandatory. */
export const cloudflareOnlyPorts: ResourceValidationPolicy = {
    name: "cloudflare-only-ports",
    description: `The configured Cloudflare-only ports (default 443, tcp and udp) must admit nothing outside Cloudflare's ranges, unless the firewall carries ${OPT_OUT_CLOUDFLARE_ONLY}=true.`,
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            ports: portsSchema(DEFAULT_CLOUDFLARE_PORTS),
            ranges: { type: "object" },
            rangesFile: { type: "string" },
            exemptUrns: urnsSchema,
        },
    },
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        const fw = neutralFirewall(args.type, args.props);
        if (!fw) return;
        const config = resolveCloudflareOnlyConfig(args.getConfig<CloudflareOnlyConfig>());
        if (optedOut(args, fw, OPT_OUT_CLOUDFLARE_ONLY, config.exemptUrns)) return;
        for (const message of cloudflareOnlyFindings(fw, config.ports, config.ranges)) report(message);
    },
};

/** DigitalOcean firewall without outbound rules: advisory. */
export const digitalOceanExplicitEgress: ResourceValidationPolicy = {
    name: "digitalocean-explicit-egress",
    description: "A DigitalOcean firewall should list its outbound rules: with none, DigitalOcean blocks all egress.",
    enforcementLevel: "advisory",
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        if (args.type !== DO_FIREWALL) return;
        for (const message of digitalOceanEgressFindings(args.props)) report(message);
    },
};

/** Hetzner firewall attached both by label and by server: advisory. */
export const hetznerSingleAttachment: ResourceValidationPolicy = {
    name: "hetzner-single-attachment",
    description: "A Hetzner firewall should be attached by label selectors or by servers, not both.",
    enforcementLevel: "advisory",
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        for (const message of hetznerAttachmentFindings(args.type, args.props)) report(message);
    },
};

/** Every policy of the pack, in the order the engine runs them. */
export const policies: ResourceValidationPolicy[] = [broadSsh, cloudflareOnlyPorts, digitalOceanExplicitEgress, hetznerSingleAttachment];
