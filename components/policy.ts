/**
 * The provider-neutral firewall policy: what may reach the server, validated and
 * rendered to a list of inbound rules. Pure: no Pulumi resources, no I/O. Provider
 * files only translate `PolicyRule`s into their own resource inputs.
 */
import type * as pulumi from "@pulumi/pulumi";
import { Cidr, cidrContains, CidrError, coverage, describeCoverage, ipv4TransitionProblem, isBroad, mergeCidrs, toCidr, uniqueSorted, userCidr } from "./cidr";
import type { CloudflareAnswer, CloudflareRanges } from "./cloudflare";
import { isHostnameSource } from "./names";
import { descriptionProblem, showText } from "./text";

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

/**
 * What put a rule there, set by the policy itself: the SSH rule, a Cloudflare
 * port, one of the extra `rules`, `allowPing`, (DigitalOcean) an egress rule, or
 * "foreign": a rule read from a firewall this package did not render (the policy pack).
 * Meaning travels here, never in the description, which is only ever a comment.
 */
export type RuleKind = "ssh" | "cloudflare" | "extra" | "ping" | "egress" | "foreign";

/** One inbound rule in provider-neutral form. */
export interface PolicyRule {
    /** What put the rule there (see `RuleKind`). */
    kind: RuleKind;
    /** Position among the rules of its kind: `rules[index]` for "extra", `cloudflarePorts[index]` for "cloudflare", `egress[index]`; 0 otherwise. */
    index: number;
    /**
     * Printable text, non-empty, at most `MAX_DESCRIPTION_BYTES` (128) bytes of UTF-8
     * before any " (part i of n)" suffix (see components/text.ts). Only ever a comment.
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
    ssh: { port: number; sources: string[]; allowFromAnywhere: boolean };
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
function validatePortSpec(value: unknown, field: string): string {
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
function portBounds(port: string): [number, number] {
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
            const c = userCidr(entry);
            const transition = ipv4TransitionProblem(c);
            if (transition) throw new CidrError(`"${entry}" ${transition}`);
            return [c];
        } catch (e) {
            throw new PolicyError(`${field}[${i}]: ${(e as Error).message}`);
        }
    });
    return uniqueSorted(parsed);
}

const DESCRIPTION_HINT = 'every rule needs a description saying what it admits, e.g. "Grafana from the office"';

/** Checks a rule description (printable, at most 128 bytes; components/text.ts) and returns it trimmed. */
function validateDescription(value: unknown, field: string): string {
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

/** True when the canonical port spec `spec` includes `port`. @internal Exported for the tests; not part of the package API. */
export function portInSpec(port: number, spec: string | undefined): boolean {
    if (spec === undefined) return false;
    const [low, high] = portBounds(spec);
    return low <= port && port <= high;
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

    const extra = args.rules ?? [];
    if (!Array.isArray(extra)) throw new PolicyError(`rules: ${show(extra)} must be a list of rules`);
    const rules = extra.map((rule, i): PolicyRule => {
        const at = `rules[${i}]`;
        if (typeof rule !== "object" || rule === null) throw new PolicyError(`${at}: ${show(rule)} must be an object with description, port and sources`);
        const description = validateDescription(rule.description, `${at}.description`);
        const { protocol, port } = validateTraffic(rule, at);
        const sources = validateSources(rule.sources, `${at}.sources`, names);
        return { kind: "extra", index: i, description, protocol, ...(port === undefined ? {} : { port }), sources: sources.map((c) => c.text) };
    });

    if (args.allowPing !== undefined && typeof args.allowPing !== "boolean") {
        throw new PolicyError(`allowPing: ${show(args.allowPing)} must be true or false`);
    }
    if (args.ssh.allowFromAnywhere !== undefined && typeof args.ssh.allowFromAnywhere !== "boolean") {
        throw new PolicyError(`ssh.allowFromAnywhere: ${show(args.ssh.allowFromAnywhere)} must be true or false`);
    }
    const policy: ValidatedPolicy = {
        ssh: { port: sshPort, sources: sshSources.map((c) => c.text), allowFromAnywhere: args.ssh.allowFromAnywhere === true },
        cloudflarePorts,
        rules,
        allowPing: args.allowPing === true,
        warnings: [],
    };
    // Exposure is judged on what each (protocol, port) admits from all rules together.
    const { errors, warnings } = judgeExposure(admittedSet(policy));
    if (errors.length > 0) throw new PolicyError(errors[0]);
    policy.warnings.push(...warnings);
    return policy;
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
 * ICMP last. Each rule carries its kind. The same input always gives the same output.
 */
export function renderPolicy(policy: ValidatedPolicy, ranges: CloudflareRanges): PolicyRule[] {
    return renderRules(policy, cloudflareSourcesOf(ranges));
}

function renderRules(policy: ValidatedPolicy, cloudflareSources: string[]): PolicyRule[] {
    return [
        { kind: "ssh", index: 0, description: `SSH (${policy.ssh.port}) from trusted sources`, protocol: "tcp", port: String(policy.ssh.port), sources: policy.ssh.sources },
        ...policy.cloudflarePorts.map((p, index): PolicyRule => ({ kind: "cloudflare", index, description: `${describePort(p)} from Cloudflare only`, protocol: "tcp", port: String(p), sources: cloudflareSources })),
        ...policy.rules,
        ...(policy.allowPing ? [{ kind: "ping", index: 0, description: "ICMP (ping) from anywhere", protocol: "icmp", sources: [...WORLD] } as PolicyRule] : []),
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

// ------------------------------------------------------------------ the admitted set

/** One rule's share of what an admitted (protocol, port interval) lets in. */
export interface Contribution {
    /** The rendered rule, with its kind. */
    rule: PolicyRule;
    /** Its sources, parsed. */
    sources: readonly Cidr[];
}

/** What one protocol and port interval admits: every rule reaching it, and their union. */
export interface AdmittedEntry {
    protocol: Protocol;
    /** Inclusive port interval; undefined for icmp. No rule starts or ends strictly inside it. */
    ports?: readonly [number, number];
    /** The rules that reach every port of the interval, in policy order. */
    contributions: readonly Contribution[];
    /** The union of their sources: merged (no block inside another), sorted. */
    sources: readonly Cidr[];
}

/**
 * The unit of judgement: for every (protocol, port) the server admits, the merged
 * set of sources that reach it, whichever rules put them there. Exposure checks,
 * the lockout guard, the audit, the plan summary and the host ruleset all read
 * this one object (see `admittedSet`).
 */
export interface AdmittedSet {
    sshPort: number;
    cloudflarePorts: readonly number[];
    allowFromAnywhere: boolean;
    /**
     * False when computed without the Cloudflare ranges (policy validation): the
     * Cloudflare rules then contribute no sources.
     */
    withCloudflareRanges: boolean;
    /** The rendered rules it was computed from: exactly what every provider and the host get. */
    rules: readonly PolicyRule[];
    /** Disjoint entries, sorted by protocol (tcp, udp, icmp) and port; only those that admit something. */
    entries: readonly AdmittedEntry[];
}

const PROTOCOLS: readonly Protocol[] = ["tcp", "udp", "icmp"];

/**
 * Computes the admitted set of a validated policy: the ports of each protocol are
 * split into disjoint intervals at the breakpoints of every rule's port spec (and
 * at the SSH and Cloudflare ports, so each is judged alone), and each interval
 * gets the union of the sources of the rules covering it. Without `ranges` the
 * Cloudflare rules contribute nothing (used to validate a policy before the
 * ranges are known; Cloudflare's sources are never judged as exposure).
 */
export function admittedSet(policy: ValidatedPolicy, ranges?: CloudflareRanges): AdmittedSet {
    const rules = renderRules(policy, ranges ? cloudflareSourcesOf(ranges) : []);
    return {
        sshPort: policy.ssh.port,
        cloudflarePorts: policy.cloudflarePorts,
        allowFromAnywhere: policy.ssh.allowFromAnywhere,
        withCloudflareRanges: ranges !== undefined,
        rules,
        entries: admittedEntries(rules, [policy.ssh.port, ...policy.cloudflarePorts]),
    };
}

/**
 * The entries of an admitted set for any list of rules (also rules read from a
 * firewall we did not render, as the policy pack does): tcp and udp ports split at
 * every rule's breakpoints and at each port of `alone` (each judged on its own),
 * each interval with the union of the sources of the rules covering it.
 */
export function admittedEntries(rules: readonly PolicyRule[], alone: readonly number[] = []): AdmittedEntry[] {
    const parsed = rules.map((rule) => ({ rule, sources: rule.sources.map(toCidr), bounds: rule.port === undefined ? undefined : portBounds(rule.port) }));
    const entries: AdmittedEntry[] = [];
    const entry = (protocol: Protocol, ports: readonly [number, number] | undefined, contributions: Contribution[]) => {
        const nonEmpty = contributions.filter((c) => c.sources.length > 0);
        if (nonEmpty.length > 0) entries.push({ protocol, ...(ports ? { ports } : {}), contributions: nonEmpty, sources: mergeCidrs(nonEmpty.flatMap((c) => c.sources)) });
    };
    for (const protocol of PROTOCOLS) {
        const mine = parsed.filter((p) => p.rule.protocol === protocol);
        if (protocol === "icmp") {
            entry(
                "icmp",
                undefined,
                mine.map(({ rule, sources }) => ({ rule, sources })),
            );
            continue;
        }
        const cuts = new Set<number>(alone.flatMap((p) => [p, p + 1]));
        for (const { bounds } of mine) cuts.add(bounds![0]).add(bounds![1] + 1);
        const points = [...cuts].filter((p) => p >= 1 && p <= 65536).sort((a, b) => a - b);
        for (let i = 0; i + 1 < points.length; i++) {
            const [low, high] = [points[i], points[i + 1] - 1];
            entry(
                protocol,
                [low, high],
                mine.filter((p) => p.bounds![0] <= low && high <= p.bounds![1]).map(({ rule, sources }) => ({ rule, sources })),
            );
        }
    }
    return entries;
}

/** The entry that holds `protocol`/`port` (icmp: no port), or undefined when nothing is admitted there. */
export function admittedAt(set: Pick<AdmittedSet, "entries">, protocol: Protocol, port?: number): AdmittedEntry | undefined {
    return set.entries.find((e) => e.protocol === protocol && (protocol === "icmp" || (port !== undefined && e.ports![0] <= port && port <= e.ports![1])));
}

/**
 * The contributions through which `address` reaches `protocol`/`port`: empty when
 * the policy does not admit it there. Used by the lockout guard and the audit.
 */
export function admittingContributions(set: Pick<AdmittedSet, "entries">, protocol: Protocol, port: number | undefined, address: Cidr): Contribution[] {
    const e = admittedAt(set, protocol, port);
    return e ? e.contributions.filter((c) => c.sources.some((s) => cidrContains(s, address))) : [];
}

/** One entry of the admitted set in plain data, for outputs and the plan. */
export interface AdmittedSummary {
    protocol: Protocol;
    /** "443", "8000-8100"; "-" for icmp. */
    ports: string;
    /** The rules that reach it, in words. */
    from: string[];
    /** What it admits, all rules together: merged, canonical, sorted. */
    sources: string[];
    /** The same in numbers, e.g. "1 IPv4 address (a /32 worth, <0.01% of IPv4)". */
    amount: string;
}

/** The admitted set as plain data: one line per (protocol, port interval). */
export function summarizeAdmitted(set: Pick<AdmittedSet, "entries">): AdmittedSummary[] {
    return set.entries.map((e) => ({
        protocol: e.protocol,
        ports: e.ports ? formatPorts(e.ports) : "-",
        from: e.contributions.map((c) => ruleInWords(c.rule)),
        sources: e.sources.map((c) => c.text),
        amount: describeCoverage(coverage(e.sources)),
    }));
}

/** "443", "8000-8100". */
export function formatPorts(ports: readonly [number, number]): string {
    return ports[0] === ports[1] ? String(ports[0]) : `${ports[0]}-${ports[1]}`;
}

/** The config field a rule's sources come from, for messages. */
export function ruleField(rule: PolicyRule): string {
    switch (rule.kind) {
        case "ssh":
            return "ssh.sources";
        case "cloudflare":
            return "cloudflare.ranges";
        case "ping":
            return "allowPing";
        case "egress":
            return `egress[${rule.index}].destinations`;
        case "foreign":
            return rule.description;
        default:
            return `rules[${rule.index}].sources`;
    }
}

/** A rule in words, for messages: `SSH (tcp 22)`, `rules[2] ("office", tcp 440-450)`. */
function ruleInWords(rule: PolicyRule): string {
    const traffic = `${rule.protocol}${rule.port === undefined ? "" : ` ${rule.port}`}`;
    switch (rule.kind) {
        case "ssh":
            return `SSH (${traffic})`;
        case "cloudflare":
            return `Cloudflare's ranges (${traffic})`;
        case "ping":
            return "allowPing (icmp from anywhere)";
        case "egress":
            return `egress[${rule.index}] (${traffic})`;
        case "foreign":
            return `${rule.description} (${traffic})`;
        default:
            return `rules[${rule.index}] (${JSON.stringify(rule.description)}, ${traffic})`;
    }
}

/** Contributors named one by one in a message; the rest are summed up. */
const NAMED_CONTRIBUTORS = 16;

/** Who admits a set: one rule, or the union of several, each with its share. */
function union(contributions: readonly Contribution[]): { at: string; what: string; admit: string } {
    if (contributions.length === 1) return { at: ruleField(contributions[0].rule), what: ruleInWords(contributions[0].rule), admit: "admits" };
    const named = contributions.slice(0, NAMED_CONTRIBUTORS);
    const rest = contributions.slice(NAMED_CONTRIBUTORS);
    const parts = named.map((c) => `${ruleInWords(c.rule)} with ${describeCoverage(coverage(c.sources))}`);
    if (rest.length > 0) parts.push(`${rest.length} more rules with ${describeCoverage(coverage(rest.flatMap((c) => c.sources)))}`);
    return {
        at: named.map((c) => ruleField(c.rule)).join(" + ") + (rest.length > 0 ? ` + ${rest.length} more` : ""),
        what: `together, ${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`,
        admit: "admit",
    };
}

/** What the exposure rules concluded: errors (the first is thrown) and warnings. */
export interface ExposureFindings {
    errors: string[];
    warnings: string[];
}

/**
 * The one place that decides whether the policy exposes too much, on the admitted
 * set: coverage of the union of every rule reaching a (protocol, port), not the
 * spelling of any one rule. Two /9s in two rules are a /8.
 * - A port only Cloudflare may reach, from a broad non-Cloudflare union over tcp and udp together
 *   (HTTPS and QUIC reach the same origin): an error.
 * - The SSH port from a broad union: an error unless `ssh.allowFromAnywhere`, then a warning.
 * - Anything else from a broad union: a warning (`allowPing` is its own opt-in and not warned about).
 */
export function judgeExposure(set: AdmittedSet): ExposureFindings {
    const cfErrors: string[] = [];
    const sshErrors: string[] = [];
    const warnings: string[] = [];
    const holds = (e: AdmittedEntry, port: number) => e.ports !== undefined && e.ports[0] <= port && port <= e.ports[1];
    const judgedOf = (es: readonly AdmittedEntry[]) => es.flatMap((e) => e.contributions).filter((c) => c.rule.kind !== "cloudflare" && c.rule.kind !== "ping");
    // A Cloudflare port is one origin over TCP and QUIC (udp): judged on the union of both.
    for (const cf of set.cloudflarePorts) {
        const judged = judgedOf(set.entries.filter((e) => holds(e, cf)));
        const cov = coverage(judged.flatMap((c) => c.sources));
        if (!isBroad(cov)) continue;
        const { at, what } = union(judged);
        cfErrors.push(
            `${at}: ${what} would admit ${describeCoverage(cov)} to port ${cf}, which only Cloudflare may reach (on any protocol: udp ${cf} is a direct QUIC path); ` + `list a few specific trusted addresses, or remove ${cf} from cloudflare.ports`,
        );
    }
    for (const e of set.entries) {
        const has = (port: number) => holds(e, port);
        if (set.cloudflarePorts.some(has)) continue; // judged above
        const judged = judgedOf([e]);
        const cov = coverage(judged.flatMap((c) => c.sources));
        if (!isBroad(cov)) continue;
        const amount = describeCoverage(cov);
        const { at, what, admit } = union(judged);
        if (has(set.sshPort)) {
            if (set.allowFromAnywhere) warnings.push(`${what} ${admit} ${amount} to the SSH port ${set.sshPort}, because ssh.allowFromAnywhere is true`);
            else {
                sshErrors.push(`${at}: ${what} would admit ${amount} to the SSH port ${set.sshPort}${e.protocol === "tcp" ? "" : ` (${e.protocol})`}; list trusted addresses instead, or set ssh.allowFromAnywhere: true if that is really intended`);
            }
        } else {
            const where = judged.length === 1 ? "" : ` on ${e.protocol}${e.ports ? ` ${formatPorts(e.ports)}` : ""}`;
            warnings.push(`${what} ${admit} ${amount}${where}`);
        }
    }
    return { errors: [...cfErrors, ...sshErrors], warnings: [...new Set(warnings)] };
}
