/**
 * The provider-neutral firewall policy: what may reach the server, validated and
 * rendered to a list of inbound rules. Pure: no Pulumi resources, no I/O. Provider
 * files only translate `PolicyRule`s into their own resource inputs.
 */
import type * as pulumi from "@pulumi/pulumi";
import { Cidr, cidrContains, CidrError, coverage, describeCoverage, isBroad, toCidr, uniqueSorted, userCidr } from "./cidr";
import type { CloudflareAnswer, CloudflareRanges } from "./cloudflare";
import { isHostnameSource } from "./names";
import { descriptionProblem, MAX_DESCRIPTION_BYTES, showText } from "./text";

/** Who may reach SSH. */
export interface SshPolicy {
    /**
     * Trusted addresses or CIDR blocks (IPv4 and IPv6), or DNS names resolved at
     * deploy time (see `resolvePolicyNames`). Must not be empty.
     */
    sources: string[];
    /** SSH port; default 22. */
    port?: number;
    /**
     * Required for any rule that reaches the SSH port from a broad source set (at
     * least an IPv4 /8 or an IPv6 /16 together, e.g. 0.0.0.0/0); then a warning is logged.
     */
    allowFromAnywhere?: boolean;
}

/** What only Cloudflare may reach. */
export interface CloudflarePolicy {
    /** TCP ports admitted only from Cloudflare's ranges; default [443]. */
    ports?: number[];
    /**
     * Ranges to use instead of fetching them: `{ ipv4, ipv6, etag? }`, or a saved
     * Cloudflare answer (the JSON of /client/v4/ips) for offline and unit-tested
     * programs. Validated exactly like a fetched answer; plain data is checked when
     * the component is constructed.
     */
    ranges?: pulumi.Input<CloudflareRanges | CloudflareAnswer>;
}

/** An additional inbound rule. */
export interface ExtraRule {
    /** What the rule is for; shown in the provider console. */
    description: string;
    /** Protocol; default "tcp". */
    protocol?: "tcp" | "udp" | "icmp";
    /** Port (9000) or range ("8000-8100"); required for tcp and udp, absent for icmp. */
    port?: number | string;
    /** Addresses or CIDR blocks admitted, or DNS names resolved at deploy time. */
    sources: string[];
}

/** The policy arguments shared by every provider component. */
export interface OriginPolicyArgs {
    /** SSH access; always rendered, so no configuration can lock you out. */
    ssh: SshPolicy;
    /** Ports reachable only from Cloudflare; default 443 with ranges fetched at deploy time. */
    cloudflare?: CloudflarePolicy;
    /** Additional inbound rules. */
    rules?: ExtraRule[];
    /** Admit ICMP (ping) from anywhere; default false. */
    allowPing?: boolean;
}

export type Protocol = "tcp" | "udp" | "icmp";

/** One inbound rule in provider-neutral form. */
export interface PolicyRule {
    /**
     * Printable text, non-empty, at most `MAX_DESCRIPTION_BYTES` (128) bytes of UTF-8
     * before any " (part i of n)" suffix (see components/text.ts).
     */
    description: string;
    protocol: Protocol;
    /** "22" or "8000-8100"; undefined for icmp. */
    port?: string;
    /** Canonical, sorted, deduplicated CIDRs. */
    sources: string[];
}

/** A policy that passed validation; Cloudflare ranges are applied by `renderPolicy`. */
export interface ValidatedPolicy {
    ssh: { port: number; sources: string[] };
    cloudflarePorts: number[];
    rules: PolicyRule[];
    allowPing: boolean;
    /** Things worth a warning in the deployment log (e.g. SSH open to the world). */
    warnings: string[];
}

/** Invalid policy input; the message names the field, the value and the fix. */
export class PolicyError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PolicyError";
    }
}

export const DEFAULT_SSH_PORT = 22;
export const DEFAULT_CLOUDFLARE_PORTS: readonly number[] = [443];
/**
 * Longest description accepted from the user, in bytes of UTF-8 (the nftables
 * comment limit; see components/text.ts).
 */
export const MAX_DESCRIPTION = MAX_DESCRIPTION_BYTES;
export const WORLD = ["0.0.0.0/0", "::/0"] as const;

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

/** Checks a port number; `field` names it in the error. */
export function validatePort(value: unknown, field: string): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
        throw new PolicyError(`${field}: ${show(value)} is not a port; use a whole number from 1 to 65535`);
    }
    return value;
}

/** Checks a port or port range ("8000-8100") and returns its canonical text. */
export function validatePortSpec(value: unknown, field: string): string {
    if (typeof value === "number") return String(validatePort(value, field));
    const m = typeof value === "string" ? /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(value) : null;
    if (!m) {
        throw new PolicyError(`${field}: ${show(value)} is not a port or range; use e.g. 9000, "9000" or "8000-8100"`);
    }
    const low = validatePort(Number(m[1]), field);
    if (m[2] === undefined) return String(low);
    const high = validatePort(Number(m[2]), field);
    if (low > high) throw new PolicyError(`${field}: "${value}" runs backwards; write the lower port first ("${high}-${low}")`);
    return low === high ? String(low) : `${low}-${high}`;
}

/** Inclusive numeric bounds of a canonical port spec. */
export function portBounds(port: string): [number, number] {
    const [low, high] = port.split("-").map(Number);
    return [low, high ?? low];
}

/**
 * Canonicalises, deduplicates and sorts a source list, naming `field[i]` in any
 * error. Returns the parsed blocks.
 */
export function validateSources(value: unknown, field: string, names: NamesMode = "error"): Cidr[] {
    if (!Array.isArray(value) || value.length === 0) {
        throw new PolicyError(`${field}: ${show(value)} must be a non-empty list of addresses or CIDR blocks, e.g. ["203.0.113.7"]`);
    }
    const parsed = value.flatMap((entry, i) => {
        try {
            if (typeof entry !== "string") throw new CidrError(`${show(entry)} is not a string; write addresses as "203.0.113.7"`);
            if (isHostnameSource(entry)) {
                if (names === "defer") return []; // checked again once resolved
                throw new CidrError(`"${entry}" is a DNS name; resolve it first with resolvePolicyNames() (the program does this at deploy time)`);
            }
            return [userCidr(entry)];
        } catch (e) {
            throw new PolicyError(`${field}[${i}]: ${(e as Error).message}`);
        }
    });
    return uniqueSorted(parsed);
}

const DESCRIPTION_HINT = 'every rule needs a description saying what it admits, e.g. "Grafana from the office"';

/** Checks a rule description (printable, at most 128 bytes; components/text.ts) and returns it trimmed. */
export function validateDescription(value: unknown, field: string): string {
    if (value === undefined || value === null) throw new PolicyError(`${field}: missing; ${DESCRIPTION_HINT}`);
    if (typeof value !== "string") throw new PolicyError(`${field}: ${show(value)} is not text; ${DESCRIPTION_HINT}`);
    const problem = descriptionProblem(value);
    if (problem) throw new PolicyError(`${field}: ${showText(value)} ${problem}`);
    return value.trim();
}

/**
 * Checks the protocol (default "tcp") and port of a rule at `at`: tcp and udp
 * need a port or range, icmp takes none.
 */
export function validateTraffic(rule: { protocol?: string; port?: number | string }, at: string): { protocol: Protocol; port?: string } {
    const protocol = (rule.protocol ?? "tcp") as Protocol;
    if (!["tcp", "udp", "icmp"].includes(protocol)) {
        throw new PolicyError(`${at}.protocol: ${show(protocol)} is not supported; use "tcp", "udp" or "icmp"`);
    }
    if (protocol === "icmp") {
        if (rule.port !== undefined) throw new PolicyError(`${at}.port: ${show(rule.port)} given for icmp, which has no ports; remove it`);
        return { protocol };
    }
    if (rule.port === undefined) {
        throw new PolicyError(`${at}.port: missing; ${protocol} rules need a port such as 9000 or a range such as "8000-8100"`);
    }
    return { protocol, port: validatePortSpec(rule.port, `${at}.port`) };
}

/** True when the canonical port spec `spec` includes `port`. */
export function portInSpec(port: number, spec: string | undefined): boolean {
    if (spec === undefined) return false;
    const [low, high] = portBounds(spec);
    return low <= port && port <= high;
}

/** What the exposure rules need to know about the policy around one rule. */
export interface ExposureContext {
    sshPort: number;
    cloudflarePorts: readonly number[];
    allowFromAnywhere: boolean;
}

/** One rule as the exposure check sees it. */
export interface ExposedRule {
    /** The field to name in an error, e.g. "rules[2].sources". */
    at: string;
    /** The rule in words, for messages. */
    what: string;
    protocol: Protocol;
    port?: string;
    sources: readonly Cidr[];
}

/**
 * The one place that decides whether a rule exposes too much. Exposure is a
 * question of coverage, not of spelling: the sources are merged and counted
 * together, so two /1s or 256 /16s are as broad as /0, on any protocol.
 * - A port only Cloudflare may reach (tcp or udp, alone or inside a range), from
 *   a broad set: an error.
 * - The SSH port from a broad set: an error unless `ssh.allowFromAnywhere`, then a warning.
 * - Anything else from a broad set: a warning.
 */
export function checkExposure(rule: ExposedRule, ctx: ExposureContext, warnings: string[]): void {
    const cov = coverage(rule.sources);
    if (!isBroad(cov)) return;
    const amount = describeCoverage(cov);
    const cf = ctx.cloudflarePorts.find((p) => portInSpec(p, rule.port));
    if (cf !== undefined) {
        throw new PolicyError(
            `${rule.at}: ${rule.what} would admit ${amount} to port ${cf}, which only Cloudflare may reach (on any protocol: udp ${cf} is a direct QUIC path); ` +
                `list a few specific trusted addresses, or remove ${cf} from cloudflare.ports`,
        );
    }
    if (portInSpec(ctx.sshPort, rule.port)) {
        if (!ctx.allowFromAnywhere) {
            throw new PolicyError(
                `${rule.at}: ${rule.what} would admit ${amount} to the SSH port ${ctx.sshPort}; list trusted addresses instead, or set ssh.allowFromAnywhere: true if that is really intended`,
            );
        }
        warnings.push(`${rule.what} admits ${amount} to the SSH port ${ctx.sshPort}, because ssh.allowFromAnywhere is true`);
        return;
    }
    warnings.push(`${rule.what} admits ${amount}`);
}

/**
 * How DNS names among the sources are treated: "error" (they must have been
 * resolved) or "defer" (config validation before resolution: names are accepted
 * and judged, broad or not, once resolved).
 */
export type NamesMode = "error" | "defer";

/**
 * Validates policy arguments (everything but the Cloudflare ranges themselves)
 * and returns them in canonical form. Throws `PolicyError` on bad input.
 */
export function validatePolicy(args: OriginPolicyArgs, names: NamesMode = "error"): ValidatedPolicy {
    if (typeof args !== "object" || args === null) throw new PolicyError("args: expected an object with at least `ssh`");
    const warnings: string[] = [];
    if (typeof args.ssh !== "object" || args.ssh === null) {
        throw new PolicyError(`ssh: ${show(args.ssh)} is missing; give ssh.sources, the addresses allowed to reach SSH, so you cannot be locked out`);
    }
    const sshPort = args.ssh.port === undefined ? DEFAULT_SSH_PORT : validatePort(args.ssh.port, "ssh.port");
    const sshSources = validateSources(args.ssh.sources, "ssh.sources", names);
    const cfPortsRaw = args.cloudflare?.ports ?? DEFAULT_CLOUDFLARE_PORTS;
    if (!Array.isArray(cfPortsRaw) || cfPortsRaw.length === 0) {
        throw new PolicyError(`cloudflare.ports: ${show(cfPortsRaw)} must be a non-empty list of ports; omit it for the default [443]`);
    }
    const cloudflarePorts = [...new Set(cfPortsRaw.map((p, i) => validatePort(p, `cloudflare.ports[${i}]`)))].sort((a, b) => a - b);
    if (cloudflarePorts.includes(sshPort)) {
        throw new PolicyError(`cloudflare.ports: ${sshPort} is also the SSH port; Cloudflare does not carry SSH, remove it from one of them`);
    }

    const exposure = { sshPort, cloudflarePorts, allowFromAnywhere: args.ssh.allowFromAnywhere === true };
    checkExposure({ at: "ssh.sources", what: `SSH (tcp ${sshPort})`, protocol: "tcp", port: String(sshPort), sources: sshSources }, exposure, warnings);

    const extra = args.rules ?? [];
    if (!Array.isArray(extra)) throw new PolicyError(`rules: ${show(extra)} must be a list of rules`);
    const rules = extra.map((rule, i): PolicyRule => {
        const at = `rules[${i}]`;
        if (typeof rule !== "object" || rule === null) throw new PolicyError(`${at}: ${show(rule)} must be an object with description, port and sources`);
        const description = validateDescription(rule.description, `${at}.description`);
        const { protocol, port } = validateTraffic(rule, at);
        const sources = validateSources(rule.sources, `${at}.sources`, names);
        checkExposure({ at: `${at}.sources`, what: `${at} ("${description}", ${protocol}${port ? ` ${port}` : ""})`, protocol, port, sources }, exposure, warnings);
        return { description, protocol, port, sources: sources.map((c) => c.text) };
    });

    if (args.allowPing !== undefined && typeof args.allowPing !== "boolean") {
        throw new PolicyError(`allowPing: ${show(args.allowPing)} must be true or false`);
    }
    return {
        ssh: { port: sshPort, sources: sshSources.map((c) => c.text) },
        cloudflarePorts,
        rules,
        allowPing: args.allowPing === true,
        warnings,
    };
}

function describePort(port: number): string {
    const names: Record<number, string> = { 80: "HTTP", 443: "HTTPS" };
    return names[port] ? `${names[port]} (${port})` : `TCP ${port}`;
}

/**
 * Every range admitted on the Cloudflare ports: IPv4, IPv6 and, when they were
 * asked for and validated, JD Cloud's; canonical and sorted.
 */
export function cloudflareSourcesOf(ranges: CloudflareRanges): string[] {
    if (!ranges.jdcloud || ranges.jdcloud.length === 0) return [...ranges.ipv4, ...ranges.ipv6]; // already sorted, IPv4 first
    return uniqueSorted([...ranges.ipv4, ...ranges.ipv6, ...ranges.jdcloud].map(toCidr)).map((c) => c.text);
}

/**
 * Renders a validated policy and validated Cloudflare ranges into inbound rules:
 * SSH first, then each Cloudflare port, the extra rules in their given order, and
 * ICMP last. The same input always gives the same output.
 */
export function renderPolicy(policy: ValidatedPolicy, ranges: CloudflareRanges): PolicyRule[] {
    const cloudflareSources = cloudflareSourcesOf(ranges);
    return [
        { description: `SSH (${policy.ssh.port}) from trusted sources`, protocol: "tcp", port: String(policy.ssh.port), sources: policy.ssh.sources },
        ...policy.cloudflarePorts.map(
            (p): PolicyRule => ({ description: `${describePort(p)} from Cloudflare only`, protocol: "tcp", port: String(p), sources: cloudflareSources }),
        ),
        ...policy.rules,
        ...(policy.allowPing ? [{ description: "ICMP (ping) from anywhere", protocol: "icmp", sources: [...WORLD] } as PolicyRule] : []),
    ];
}

/**
 * Splits rules whose source list is longer than `maxSources` into consecutive
 * rules of at most that many sources each, in order, with "(part i of n)" added
 * to the description. Deterministic, so redeploys produce no diff.
 */
export function splitRules(rules: PolicyRule[], maxSources: number): PolicyRule[] {
    return rules.flatMap((rule) => {
        if (rule.sources.length <= maxSources) return [rule];
        const parts = Math.ceil(rule.sources.length / maxSources);
        return Array.from({ length: parts }, (_, i) => ({
            ...rule,
            description: `${rule.description} (part ${i + 1} of ${parts})`,
            sources: rule.sources.slice(i * maxSources, (i + 1) * maxSources),
        }));
    });
}

/** Throws when a rendered firewall has more rules than the provider allows. */
export function checkRuleCount(count: number, max: number, provider: string, hint: string): void {
    if (count > max) {
        throw new PolicyError(`${provider}: this policy renders ${count} rules, more than the ${max} a ${provider} firewall allows; ${hint}`);
    }
}

/**
 * The one place that answers "does the policy let this address reach this port?":
 * the rendered rules (the same ones every provider and the host firewall get) that
 * admit `address` on `protocol`/`port`. Empty when none does. Used by the audit and
 * the lockout guard.
 */
export function rulesAdmitting(rules: readonly PolicyRule[], protocol: Protocol, port: number | undefined, address: Cidr): PolicyRule[] {
    return rulesOnPort(rules, protocol, port).filter((r) => r.sources.some((s) => cidrContainsText(s, address)));
}

/** The rendered rules that cover `protocol`/`port`, whoever they admit. */
export function rulesOnPort(rules: readonly PolicyRule[], protocol: Protocol, port: number | undefined): PolicyRule[] {
    return rules.filter((r) => r.protocol === protocol && (protocol === "icmp" || (port !== undefined && portInSpec(port, r.port))));
}

function cidrContainsText(block: string, address: Cidr): boolean {
    return cidrContains(toCidr(block), address);
}
