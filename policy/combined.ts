/**
 * A server admits the union of every firewall applied to it, not only of one
 * firewall's rules. This stack policy groups the firewalls of a stack by what they
 * attach to, as far as the stack says so (a Hetzner label selector, normalised and
 * resolved against the stack's servers, or a server; a DigitalOcean tag or Droplet;
 * an AWS security group with its standalone rules, and the groups one instance,
 * interface or launch template holds together), and judges each group's union with
 * the same findings as the per-resource policies. Where the stack cannot tell
 * whether two selectors reach the same server, they are one group (fail closed).
 * Reported only where no single member is already reported on its own.
 */
import { AWS_INGRESS_RULE, AWS_SECURITY_GROUP, AWS_SECURITY_GROUP_RULE, DO_FIREWALL, HCLOUD_FIREWALL, HCLOUD_FIREWALL_ATTACHMENT, NeutralFirewall, neutralFirewall, PrefixListResolver } from "./firewalls";
import { broadSshFindings, cloudflareOnlyFindings, OPT_OUT_BROAD_SSH, OPT_OUT_CLOUDFLARE_ONLY, ReportViolation, resolveBroadSshConfig, resolveCloudflareOnlyConfig } from "./policies";
import type { CloudflareAnswer, CloudflareRanges } from "../components/cloudflare";
import { LabelSelector as Selector, readLabelSelector, selectorsCouldOverlap, selectorSelects } from "../components/hetzner-rules";

/** The part of @pulumi/policy's `PolicyResource` this policy reads. */
export interface StackResource {
    type: string;
    props: Record<string, any>;
    urn: string;
    name: string;
    /** The resources each property depends on (e.g. a rule's securityGroupId on its group). */
    propertyDependencies: Record<string, { urn: string }[]>;
}

/** The part of @pulumi/policy's `StackValidationArgs` this policy reads. */
export interface StackValidationArgs {
    resources: StackResource[];
    getConfig<T extends object>(): T;
}

/** The subset of @pulumi/policy's `StackValidationPolicy` this pack uses. */
export interface StackValidationPolicy {
    name: string;
    description: string;
    enforcementLevel: "advisory" | "mandatory";
    configSchema?: { properties: Record<string, object>; required?: string[] };
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => void;
}

/** Config of `combined-exposure`: the same settings as `broad-ssh` and `cloudflare-only-ports`; keep them in step. */
export interface CombinedExposureConfig {
    /** As broad-ssh.ports; default [22]. */
    sshPorts?: number[];
    /** As cloudflare-only-ports.ports; default [443]. */
    cloudflarePorts?: number[];
    /** As cloudflare-only-ports.ranges. */
    ranges?: CloudflareRanges | CloudflareAnswer;
    /** As cloudflare-only-ports.rangesFile. */
    rangesFile?: string;
    /** URNs left out of every union (for firewalls that cannot carry a label, e.g. DigitalOcean's). */
    exemptUrns?: string[];
}

/** One firewall (or rule resource) and the attachment keys it reaches. */
interface Member {
    resource: StackResource;
    firewall: NeutralFirewall;
    targets: string[];
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
const dependencyUrns = (r: StackResource, prop: string): string[] => (r.propertyDependencies[prop] ?? []).map((d) => d.urn);

export const HCLOUD_SERVER = "hcloud:index/server:Server";
const AWS_PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList";
const AWS_PREFIX_LIST_ENTRY = "aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry";

/**
 * A resource's prefix lists from the stack: the managed prefix lists its property
 * depends on, with their inline `entries` and standalone entries. Resolved only
 * when there are at least as many such lists as distinct ids in the property
 * (otherwise some id is not the stack's, e.g. an AWS-managed list).
 */
function prefixListResolver(r: StackResource, byUrn: Map<string, StackResource>, entries: Map<string, unknown[]>): PrefixListResolver {
    return (prop, ids) => {
        const lists = dependencyUrns(r, prop).filter((u) => byUrn.get(u)?.type === AWS_PREFIX_LIST);
        if (lists.length === 0 || new Set(ids).size > lists.length) return undefined;
        return lists.flatMap((u) => {
            const inline = byUrn.get(u)!.props.entries;
            return [...(Array.isArray(inline) ? inline.map((e: any) => e?.cidr) : []), ...(entries.get(u) ?? [])].map(String);
        });
    };
}
/** AWS resources that put security groups on one interface: each one's groups are judged together. */
const AWS_SG_HOLDERS: Record<string, string[]> = {
    "aws:ec2/instance:Instance": ["vpcSecurityGroupIds", "securityGroups"],
    "aws:ec2/networkInterface:NetworkInterface": ["securityGroups"],
    "aws:ec2/launchTemplate:LaunchTemplate": ["vpcSecurityGroupIds", "securityGroupNames", "networkInterfaces"],
};
const AWS_ENI_SG_ATTACHMENT = "aws:ec2/networkInterfaceSecurityGroupAttachment:NetworkInterfaceSecurityGroupAttachment";

function labelsOfServer(r: StackResource): Record<string, string> {
    const v = r.props.labels;
    if (typeof v !== "object" || v === null || Array.isArray(v)) return {};
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)]));
}

/**
 * What each firewall-like resource attaches to, keyed so that equal keys mean the
 * same servers. Hetzner selectors are normalised and resolved against the stack's
 * hcloud.Server labels; two selectors that could select one server but that no
 * server in the stack resolves share one key (fail closed). AWS security groups on
 * one instance, interface or launch template share that holder's key.
 */
export function membersOf(resources: readonly StackResource[]): Member[] {
    const members: Member[] = [];
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const servers = resources.filter((r) => r.type === HCLOUD_SERVER).map((r) => ({ urn: r.urn, labels: labelsOfServer(r) }));
    const selectorsOf = new Map<string, Selector[]>(); // hcloud firewall urn -> its selectors, inline and by FirewallAttachment
    const extraTargets = new Map<string, string[]>(); // hcloud firewall urn -> servers from FirewallAttachment resources
    for (const r of resources) {
        if (r.type !== HCLOUD_FIREWALL_ATTACHMENT) continue;
        for (const fw of dependencyUrns(r, "firewallId")) {
            selectorsOf.set(fw, [...(selectorsOf.get(fw) ?? []), ...strings(r.props.labelSelectors).map(readLabelSelector)]);
            extraTargets.set(fw, [...(extraTargets.get(fw) ?? []), ...dependencyUrns(r, "serverIds").map((u) => `hcloud-server:${u}`)]);
        }
    }
    const awsHolders = new Map<string, string[]>(); // security group urn -> holder keys
    const hold = (sg: string, holder: string) => awsHolders.set(sg, [...(awsHolders.get(sg) ?? []), `aws-interface:${holder}`]);
    for (const r of resources) {
        for (const prop of AWS_SG_HOLDERS[r.type] ?? []) for (const sg of dependencyUrns(r, prop)) hold(sg, r.urn);
        if (r.type === AWS_ENI_SG_ATTACHMENT) for (const sg of dependencyUrns(r, "securityGroupId")) for (const eni of dependencyUrns(r, "networkInterfaceId")) hold(sg, eni);
    }
    const listEntries = new Map<string, unknown[]>(); // managed prefix list urn -> standalone entries' cidrs
    for (const r of resources) {
        if (r.type !== AWS_PREFIX_LIST_ENTRY) continue;
        for (const pl of dependencyUrns(r, "prefixListId")) listEntries.set(pl, [...(listEntries.get(pl) ?? []), r.props.cidr]);
    }
    const hetznerSelectors = new Map<Member, Selector[]>();
    for (const r of resources) {
        const firewall = neutralFirewall(r.type, r.props, prefixListResolver(r, byUrn, listEntries));
        if (!firewall) continue;
        let targets: string[] = [];
        switch (r.type) {
            case HCLOUD_FIREWALL: {
                const blocks: any[] = Array.isArray(r.props.applyTos) ? r.props.applyTos : [];
                const selectors = [...blocks.flatMap((b) => (typeof b?.labelSelector === "string" && b.labelSelector !== "" ? [readLabelSelector(b.labelSelector)] : [])), ...(selectorsOf.get(r.urn) ?? [])];
                targets = [
                    ...selectors.map((s) => `hcloud-label:${s.canonical}`),
                    ...selectors.flatMap((s) => servers.filter((v) => s.requirements && selectorSelects(s.requirements, v.labels)).map((v) => `hcloud-server:${v.urn}`)),
                    ...blocks.flatMap((b) => (typeof b?.server === "number" && b.server !== 0 ? [`hcloud-server-id:${b.server}`] : [])),
                    ...dependencyUrns(r, "applyTos")
                        .filter((u) => byUrn.get(u)?.type === HCLOUD_SERVER)
                        .map((u) => `hcloud-server:${u}`),
                    ...(extraTargets.get(r.urn) ?? []),
                ];
                const member = { resource: r, firewall, targets };
                hetznerSelectors.set(member, selectors);
                members.push(member);
                continue;
            }
            case DO_FIREWALL:
                targets = [...strings(r.props.tags).map((t) => `do-tag:${t}`), ...dependencyUrns(r, "dropletIds").map((u) => `do-droplet:${u}`)];
                break;
            case AWS_SECURITY_GROUP:
                targets = [`aws-sg:${r.urn}`, ...(awsHolders.get(r.urn) ?? [])];
                break;
            case AWS_SECURITY_GROUP_RULE:
            case AWS_INGRESS_RULE:
                targets = dependencyUrns(r, "securityGroupId").flatMap((u) => [`aws-sg:${u}`, ...(awsHolders.get(u) ?? [])]);
                break;
        }
        members.push({ resource: r, firewall, targets });
    }
    joinUnresolvedSelectors(hetznerSelectors, servers);
    for (const m of members) m.targets = [...new Set(m.targets)];
    return members;
}

/**
 * Selectors that could select one server, where no hcloud.Server of the stack
 * shows which servers they select, are judged as one group: connected by "could
 * overlap", so a group may be wider than any one server (fail closed).
 */
function joinUnresolvedSelectors(hetznerSelectors: Map<Member, Selector[]>, servers: { urn: string; labels: Record<string, string> }[]): void {
    const all = new Map<string, Selector>();
    for (const list of hetznerSelectors.values()) for (const s of list) all.set(s.canonical, s);
    const resolved = (s: Selector) => s.requirements !== undefined && servers.some((v) => selectorSelects(s.requirements!, v.labels));
    const texts = [...all.keys()].sort();
    const parent = new Map(texts.map((t) => [t, t]));
    const root = (t: string): string => (parent.get(t) === t ? t : root(parent.get(t)!));
    for (let i = 0; i < texts.length; i++) {
        for (let j = i + 1; j < texts.length; j++) {
            const [a, b] = [all.get(texts[i])!, all.get(texts[j])!];
            if (resolved(a) && resolved(b)) continue; // the stack's servers say which servers each selects
            if (selectorsCouldOverlap(a, b)) parent.set(root(texts[j]), root(texts[i]));
        }
    }
    const components = new Map<string, string[]>();
    for (const t of texts) components.set(root(t), [...(components.get(root(t)) ?? []), t]);
    for (const group of components.values()) {
        if (group.length < 2) continue;
        const key =
            `Hetzner label selectors ${group.map((t) => JSON.stringify(t)).join(", ")} (they could select the same servers, and no hcloud.Server in the stack shows ` +
            "which servers they select, so they are judged as one group, fail closed; give the servers to the stack or use selectors that exclude each other)";
        for (const [m, list] of hetznerSelectors) if (list.some((s) => group.includes(s.canonical))) m.targets.push(key);
    }
}

/** The union of several firewalls as one, each rule named after its resource. */
function union(group: readonly Member[]): NeutralFirewall {
    return {
        rules: group.flatMap((m) => m.firewall.rules.map((rule) => ({ ...rule, description: `${m.resource.name} ${rule.description}` }))),
        labels: {},
        unreadable: group.flatMap((m) => m.firewall.unreadable),
        notes: group.flatMap((m) => (m.firewall.notes ?? []).map((n) => ({ ...n, description: `${m.resource.name} ${n.description}` }))),
    };
}

/**
 * Findings of one firewall that only the stack shows: those its AWS prefix lists
 * add (resolved from the stack, or everywhere), which the per-resource policies,
 * seeing one resource, leave to this policy.
 */
export function stackOnlyFindings(members: readonly Member[], judge: (fw: NeutralFirewall) => string[], exempt: (m: Member) => boolean): { urn: string; message: string }[] {
    return members.flatMap((m) => {
        const alone = neutralFirewall(m.resource.type, m.resource.props);
        if (exempt(m) || !alone || (alone.deferred ?? []).length === 0) return [];
        const known = new Set(judge(alone).map(findingKey));
        return judge(m.firewall)
            .filter((message) => !known.has(findingKey(message)))
            .map((message) => ({ urn: m.resource.urn, message }));
    });
}

/** First words of a finding: "tcp 22", identifying the (protocol, port) it is about. */
const findingKey = (finding: string) => finding.split(" ").slice(0, 2).join(" ");

/** Findings of each group that none of its members has on its own; `exempt` drops members that opted out. */
export function combinedFindings(members: readonly Member[], judge: (fw: NeutralFirewall) => string[], exempt: (m: Member) => boolean): { target: string; urns: string[]; message: string }[] {
    const groups = new Map<string, Member[]>();
    for (const m of members) {
        if (exempt(m)) continue;
        for (const t of m.targets) groups.set(t, [...(groups.get(t) ?? []), m]);
    }
    const out: { target: string; urns: string[]; message: string }[] = [];
    const reported = new Set<string>();
    for (const [target, group] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (group.length < 2) continue;
        const alone = new Set(group.flatMap((m) => judge(m.firewall).map(findingKey)));
        const urns = group.map((m) => m.resource.urn).sort();
        for (const message of judge(union(group))) {
            const key = `${urns.join(",")}|${findingKey(message)}`;
            if (alone.has(findingKey(message)) || reported.has(key)) continue;
            reported.add(key);
            out.push({ target, urns, message });
        }
    }
    return out;
}

const optedOut = (key: string, exempt: Set<string>) => (m: Member) => m.firewall.labels[key] === "true" || exempt.has(m.resource.urn);
const portsSchema = (fallback: number[]) => ({ type: "array", items: { type: "integer", minimum: 1, maximum: 65535 }, default: fallback });

/** SSH or a Cloudflare-only port exposed by the union of firewalls on the same servers: mandatory. */
export const combinedExposure: StackValidationPolicy = {
    name: "combined-exposure",
    description:
        "Firewalls applied to the same servers (Hetzner label selectors that select the same server, or could and the stack cannot tell; the same server, DigitalOcean tag or Droplet; AWS security groups on one instance or interface) are judged together: their union must pass broad-ssh and cloudflare-only-ports.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { sshPorts: portsSchema([22]), cloudflarePorts: portsSchema([443]), ranges: { type: "object" }, rangesFile: { type: "string" }, exemptUrns: { type: "array", items: { type: "string" }, default: [] } } },
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
        const config = args.getConfig<CombinedExposureConfig>();
        const ssh = resolveBroadSshConfig({ ports: config.sshPorts, exemptUrns: config.exemptUrns });
        const cf = resolveCloudflareOnlyConfig({ ports: config.cloudflarePorts, ranges: config.ranges, rangesFile: config.rangesFile });
        const members = membersOf(args.resources);
        const say = (f: { target: string; urns: string[]; message: string }) => report(`${f.target} is reached by ${f.urns.length} firewalls together (${f.urns.join(", ")}): ${f.message}`, f.urns[0]);
        const judges: [(fw: NeutralFirewall) => string[], (m: Member) => boolean][] = [
            [(fw) => broadSshFindings(fw, ssh.ports), optedOut(OPT_OUT_BROAD_SSH, ssh.exemptUrns)],
            [(fw) => cloudflareOnlyFindings(fw, cf.ports, cf.ranges), optedOut(OPT_OUT_CLOUDFLARE_ONLY, ssh.exemptUrns)],
        ];
        for (const [judge, exempt] of judges) {
            for (const f of stackOnlyFindings(members, judge, exempt)) report(`${f.urn} on its own, with its prefix lists: ${f.message}`, f.urn);
            combinedFindings(members, judge, exempt).forEach(say);
        }
    },
};
