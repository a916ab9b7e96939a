/**
 * Reads the firewalls of any program (their registered inputs, as the engine hands
 * them to a policy pack) into the library's provider-neutral rules, so the pack
 * judges them with the components' own functions. Fail closed: anything we cannot
 * read counts as admitting more, never less.
 */
import { parseCidr } from "../components/cidr";
import type { PolicyRule } from "../components/policy";

/** A firewall in neutral form: its inbound rules and what the pack needs besides. */
export interface NeutralFirewall {
    /** Inbound tcp and udp rules; sources canonical. Other protocols have no ports to judge. */
    rules: PolicyRule[];
    /** Labels (Hetzner) or tags (AWS): where an opt-out is read from. */
    labels: Record<string, string>;
    /** Source entries that could not be read; each was counted as everywhere in its family, or both. */
    unreadable: string[];
    /** AWS prefix list ids read without the stack: not counted here; the stack policy resolves them or counts them as everywhere. */
    deferred?: string[];
    /** Sources that are references, and how they were counted, by the rule they are in (for the violation message). */
    notes?: { description: string; text: string }[];
}

/**
 * Resolves AWS prefix list ids from the stack: `prop` is the property that holds
 * them, `ids` every id in it. Returns the CIDRs they stand for, or undefined when
 * the stack cannot tell (they are then everywhere).
 */
export type PrefixListResolver = (prop: string, ids: string[]) => string[] | undefined;

/** What a reader collects besides rules. */
interface ReadState {
    unreadable: string[];
    deferred: string[];
    notes: { description: string; text: string }[];
    resolve?: PrefixListResolver;
}

const newState = (resolve?: PrefixListResolver): ReadState => ({ unreadable: [], deferred: [], notes: [], resolve });
const finish = (rules: PolicyRule[], labels: Record<string, string>, st: ReadState): NeutralFirewall => ({ rules, labels, unreadable: st.unreadable, deferred: st.deferred, notes: st.notes });

/**
 * AWS prefix list sources. Without the stack they are deferred to the stack policy;
 * with it, the entries of the stack's managed prefix lists the property depends on
 * (every list of the property for every rule in it: more, never less), or, when
 * the stack cannot resolve them, everywhere (fail closed, as for any source we
 * cannot read).
 */
function prefixListSources(description: string, ids: string[], prop: string, allIds: string[], st: ReadState): string[] {
    if (ids.length === 0) return [];
    const shown = ids.map((id) => JSON.stringify(id)).join(", ");
    if (!st.resolve) {
        st.deferred.push(...ids);
        return [];
    }
    const cidrs = st.resolve(prop, allIds);
    if (cidrs === undefined) {
        st.notes.push({ description, text: `prefix list(s) ${shown} were counted as everywhere (no aws:ec2/managedPrefixList of the stack resolves them)` });
        return [EVERYWHERE[4], EVERYWHERE[6]];
    }
    st.notes.push({ description, text: `prefix list(s) ${shown} were read as the entries of the stack's managed prefix lists` });
    return readSources(cidrs, st.unreadable);
}

export const HCLOUD_FIREWALL = "hcloud:index/firewall:Firewall";
export const HCLOUD_FIREWALL_ATTACHMENT = "hcloud:index/firewallAttachment:FirewallAttachment";
export const DO_FIREWALL = "digitalocean:index/firewall:Firewall";
export const AWS_SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
export const AWS_SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
export const AWS_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";

/** The resource types whose inbound rules the pack judges. */
export const FIREWALL_TYPES: readonly string[] = [HCLOUD_FIREWALL, DO_FIREWALL, AWS_SECURITY_GROUP, AWS_SECURITY_GROUP_RULE, AWS_INGRESS_RULE];

const ALL_PORTS = "1-65535";
const EVERYWHERE = { 4: "0.0.0.0/0", 6: "::/0" } as const;

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/** Canonical sources; an entry that is not an address or block is counted as everywhere (both families when the family is unclear). */
function readSources(entries: unknown[], unreadable: string[]): string[] {
    return entries.flatMap((entry) => {
        try {
            // Read as the provider reads it: host bits cleared and an IPv4-mapped block as
            // its IPv4 block (Go's net.ParseCIDR + IPNet.String(), as hcloud sends it on).
            return [parseCidr(String(entry), "provider-read").text];
        } catch {
            unreadable.push(String(entry));
            const text = String(entry);
            if (/^[\d.]+(\/\d+)?$/.test(text)) return [EVERYWHERE[4]];
            if (/^[0-9a-f:]+(\/\d+)?$/i.test(text) && text.includes(":")) return [EVERYWHERE[6]];
            return [EVERYWHERE[4], EVERYWHERE[6]];
        }
    });
}

/**
 * A port field as the library's port spec ("22" or "8000-8100"). Anything that
 * means every port ("any" at Hetzner, "all" or "0" at DigitalOcean, missing on tcp
 * or udp) or that we cannot read is every port.
 */
function readPortSpec(port: unknown): string {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(String(port ?? "").trim());
    if (!m) return ALL_PORTS;
    const low = Math.max(1, Number(m[1]));
    const high = Math.min(65535, Number(m[2] ?? m[1]));
    if (Number(m[1]) === 0 && m[2] === undefined) return ALL_PORTS; // DigitalOcean's "0" is every port
    if (low > high) return ALL_PORTS;
    return low === high ? String(low) : `${low}-${high}`;
}

/** tcp/udp only: the other protocols have no ports, so no port policy applies to them. */
function portProtocols(protocol: unknown): ("tcp" | "udp")[] {
    const p = String(protocol ?? "").toLowerCase();
    if (p === "tcp" || p === "6") return ["tcp"];
    if (p === "udp" || p === "17") return ["udp"];
    if (p === "-1" || p === "all") return ["tcp", "udp"]; // AWS: every protocol, every port
    return [];
}

function labelsOf(v: unknown): Record<string, string> {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return {};
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)]));
}

/** A rule read from a firewall this package did not render: its kind says so ("foreign"), never its text. */
function rule(description: string, protocols: ("tcp" | "udp")[], port: string, sources: string[], index = 0): PolicyRule[] {
    return sources.length === 0 ? [] : protocols.map((protocol) => ({ kind: "foreign", index, description, protocol, port, sources }));
}

/** `hcloud.Firewall`: `rules[]` with `direction: "in"`, `port` ("22", "80-85", "any"), `sourceIps`. */
export function fromHetzner(props: Record<string, any>): NeutralFirewall {
    const st = newState();
    const unreadable = st.unreadable;
    const rules = list(props.rules).flatMap((r: any, i) => {
        if (String(r?.direction ?? "in") !== "in") return [];
        return rule(`rules[${i}]`, portProtocols(r.protocol), readPortSpec(r.port), readSources(list(r.sourceIps), unreadable), i);
    });
    return finish(rules, labelsOf(props.labels), st);
}

/**
 * `digitalocean.Firewall`: `inboundRules[]` with `portRange` and `sourceAddresses`.
 * `sourceLoadBalancerUids` count as everywhere: a load balancer forwards whatever
 * reaches it. Source tags and Droplets are specific Droplets, not judged.
 */
export function fromDigitalOcean(props: Record<string, any>): NeutralFirewall {
    const st = newState();
    const rules = list(props.inboundRules).flatMap((r: any, i) => {
        const balancers = list(r?.sourceLoadBalancerUids).map(String);
        if (balancers.length > 0) {
            st.notes.push({ description: `inboundRules[${i}]`, text: `load balancer(s) ${balancers.map((b) => JSON.stringify(b)).join(", ")} were counted as everywhere (a load balancer forwards whatever reaches it)` });
        }
        const sources = [...readSources(list(r?.sourceAddresses), st.unreadable), ...(balancers.length > 0 ? [EVERYWHERE[4], EVERYWHERE[6]] : [])];
        return rule(`inboundRules[${i}]`, portProtocols(r?.protocol), readPortSpec(r?.portRange), sources, i);
    });
    // A DigitalOcean firewall carries no labels; its `tags` select Droplets, so they are no opt-out.
    return finish(rules, {}, st);
}

/** AWS `fromPort`/`toPort` (protocol -1 means every port). */
function awsPorts(r: any, protocols: ("tcp" | "udp")[]): string {
    if (String(r?.protocol ?? r?.ipProtocol) === "-1" || String(r?.protocol ?? r?.ipProtocol).toLowerCase() === "all" || protocols.length === 0) return ALL_PORTS;
    const from = Number(r?.fromPort);
    const to = Number(r?.toPort ?? r?.fromPort);
    if (!Number.isInteger(from) || !Number.isInteger(to)) return ALL_PORTS;
    return readPortSpec(`${Math.max(from, 0)}-${Math.max(to, 0)}`);
}

/** `aws.ec2.SecurityGroup`: inline `ingress[]` with `cidrBlocks`, `ipv6CidrBlocks` and `prefixListIds`. */
export function fromAwsSecurityGroup(props: Record<string, any>, resolve?: PrefixListResolver): NeutralFirewall {
    const st = newState(resolve);
    const allIds = list(props.ingress).flatMap((r: any) => list(r?.prefixListIds).map(String));
    const rules = list(props.ingress).flatMap((r: any, i) => {
        const protocols = portProtocols(r?.protocol);
        const sources = [...readSources([...list(r?.cidrBlocks), ...list(r?.ipv6CidrBlocks)], st.unreadable), ...prefixListSources(`ingress[${i}]`, list(r?.prefixListIds).map(String), "ingress", allIds, st)];
        return rule(`ingress[${i}]`, protocols, awsPorts(r, protocols), sources, i);
    });
    return finish(rules, labelsOf(props.tags), st);
}

/** `aws.ec2.SecurityGroupRule` (`type: "ingress"`) and `aws.vpc.SecurityGroupIngressRule` (`cidrIpv4`/`cidrIpv6`, `ipProtocol`). */
export function fromAwsRule(type: string, props: Record<string, any>, resolve?: PrefixListResolver): NeutralFirewall {
    const st = newState(resolve);
    if (type === AWS_SECURITY_GROUP_RULE && String(props.type) !== "ingress") return finish([], {}, st);
    const protocol = type === AWS_INGRESS_RULE ? props.ipProtocol : props.protocol;
    const protocols = portProtocols(protocol);
    const addresses = type === AWS_INGRESS_RULE ? [...list(props.cidrIpv4), ...list(props.cidrIpv6)] : [...list(props.cidrBlocks), ...list(props.ipv6CidrBlocks)];
    const prop = type === AWS_INGRESS_RULE ? "prefixListId" : "prefixListIds";
    const ids = list(props[prop]).map(String);
    const sources = [...readSources(addresses, st.unreadable), ...prefixListSources("rule", ids, prop, ids, st)];
    const rules = rule("rule", protocols, awsPorts({ ...props, protocol }, protocols), sources);
    return finish(rules, labelsOf(props.tags), st);
}

/**
 * The neutral form of any firewall type the pack judges, or undefined for other
 * resources. `resolve` (the stack policy's) resolves AWS prefix lists; without it
 * they are left in `deferred`.
 */
export function neutralFirewall(type: string, props: Record<string, any>, resolve?: PrefixListResolver): NeutralFirewall | undefined {
    switch (type) {
        case HCLOUD_FIREWALL:
            return fromHetzner(props);
        case DO_FIREWALL:
            return fromDigitalOcean(props);
        case AWS_SECURITY_GROUP:
            return fromAwsSecurityGroup(props, resolve);
        case AWS_SECURITY_GROUP_RULE:
        case AWS_INGRESS_RULE:
            return fromAwsRule(type, props, resolve);
        default:
            return undefined;
    }
}
