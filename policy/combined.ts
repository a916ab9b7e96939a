/**
 * A server admits the union of every firewall applied to it, not only of one
 * firewall's rules. This stack policy groups the firewalls of a stack by what they
 * attach to, as far as the stack says so (the same Hetzner label selector or
 * server, the same DigitalOcean tag or Droplet, the same AWS security group for
 * its inline and standalone rules), and judges each group's union with the same
 * findings as the per-resource policies. Reported only where no single member is
 * already reported on its own.
 */
import {
    AWS_INGRESS_RULE,
    AWS_SECURITY_GROUP,
    AWS_SECURITY_GROUP_RULE,
    DO_FIREWALL,
    HCLOUD_FIREWALL,
    HCLOUD_FIREWALL_ATTACHMENT,
    NeutralFirewall,
    neutralFirewall,
} from "./firewalls";
import {
    broadSshFindings,
    cloudflareOnlyFindings,
    OPT_OUT_BROAD_SSH,
    OPT_OUT_CLOUDFLARE_ONLY,
    ReportViolation,
    resolveBroadSshConfig,
    resolveCloudflareOnlyConfig,
} from "./policies";
import type { CloudflareAnswer, CloudflareRanges } from "../components/cloudflare";

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

/** What each firewall-like resource attaches to, keyed so that equal keys mean the same servers. */
export function membersOf(resources: readonly StackResource[]): Member[] {
    const members: Member[] = [];
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const extraTargets = new Map<string, string[]>(); // hcloud firewall urn -> targets from FirewallAttachment resources
    for (const r of resources) {
        if (r.type !== HCLOUD_FIREWALL_ATTACHMENT) continue;
        for (const fw of dependencyUrns(r, "firewallId")) {
            const targets = [...strings(r.props.labelSelectors).map((s) => `hcloud-label:${s}`), ...dependencyUrns(r, "serverIds").map((u) => `hcloud-server:${u}`)];
            extraTargets.set(fw, [...(extraTargets.get(fw) ?? []), ...targets]);
        }
    }
    for (const r of resources) {
        const firewall = neutralFirewall(r.type, r.props);
        if (!firewall) continue;
        let targets: string[] = [];
        switch (r.type) {
            case HCLOUD_FIREWALL: {
                const blocks: any[] = Array.isArray(r.props.applyTos) ? r.props.applyTos : [];
                targets = [
                    ...blocks.flatMap((b) => (typeof b?.labelSelector === "string" && b.labelSelector !== "" ? [`hcloud-label:${b.labelSelector}`] : [])),
                    ...blocks.flatMap((b) => (typeof b?.server === "number" && b.server !== 0 ? [`hcloud-server-id:${b.server}`] : [])),
                    ...dependencyUrns(r, "applyTos").filter((u) => byUrn.get(u)?.type === "hcloud:index/server:Server").map((u) => `hcloud-server:${u}`),
                    ...(extraTargets.get(r.urn) ?? []),
                ];
                break;
            }
            case DO_FIREWALL:
                targets = [...strings(r.props.tags).map((t) => `do-tag:${t}`), ...dependencyUrns(r, "dropletIds").map((u) => `do-droplet:${u}`)];
                break;
            case AWS_SECURITY_GROUP:
                targets = [`aws-sg:${r.urn}`];
                break;
            case AWS_SECURITY_GROUP_RULE:
            case AWS_INGRESS_RULE:
                targets = dependencyUrns(r, "securityGroupId").map((u) => `aws-sg:${u}`);
                break;
        }
        members.push({ resource: r, firewall, targets: [...new Set(targets)] });
    }
    return members;
}

/** The union of several firewalls as one, each rule named after its resource. */
function union(group: readonly Member[]): NeutralFirewall {
    return {
        rules: group.flatMap((m) => m.firewall.rules.map((rule) => ({ ...rule, description: `${m.resource.name} ${rule.description}` }))),
        labels: {},
        unreadable: group.flatMap((m) => m.firewall.unreadable),
    };
}

/** First words of a finding: "tcp 22", identifying the (protocol, port) it is about. */
const findingKey = (finding: string) => finding.split(" ").slice(0, 2).join(" ");

/** Findings of each group that none of its members has on its own; `exempt` drops members that opted out. */
export function combinedFindings(
    members: readonly Member[],
    judge: (fw: NeutralFirewall) => string[],
    exempt: (m: Member) => boolean,
): { target: string; urns: string[]; message: string }[] {
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
        "Firewalls applied to the same servers (same Hetzner label selector or server, DigitalOcean tag or Droplet, AWS security group) are judged together: their union must pass broad-ssh and cloudflare-only-ports.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { sshPorts: portsSchema([22]), cloudflarePorts: portsSchema([443]), ranges: { type: "object" }, rangesFile: { type: "string" }, exemptUrns: { type: "array", items: { type: "string" }, default: [] } } },
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
        const config = args.getConfig<CombinedExposureConfig>();
        const ssh = resolveBroadSshConfig({ ports: config.sshPorts, exemptUrns: config.exemptUrns });
        const cf = resolveCloudflareOnlyConfig({ ports: config.cloudflarePorts, ranges: config.ranges, rangesFile: config.rangesFile });
        const members = membersOf(args.resources);
        const say = (f: { target: string; urns: string[]; message: string }) =>
            report(`${f.target} is reached by ${f.urns.length} firewalls together (${f.urns.join(", ")}): ${f.message}`, f.urns[0]);
        combinedFindings(members, (fw) => broadSshFindings(fw, ssh.ports), optedOut(OPT_OUT_BROAD_SSH, ssh.exemptUrns)).forEach(say);
        combinedFindings(members, (fw) => cloudflareOnlyFindings(fw, cf.ports, cf.ranges), optedOut(OPT_OUT_CLOUDFLARE_ONLY, ssh.exemptUrns)).forEach(say);
    },
};
