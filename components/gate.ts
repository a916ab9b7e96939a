/**
 * One gate before the first resource: everything that can be judged about a whole
 * program (this project's stack config format) once Cloudflare's answer is in and
 * the DNS names are resolved, checked together, pure. The program runs it before
 * it registers anything; any failure is one error naming the firewall, the limit
 * and the count, and nothing is registered.
 */
import { CloudflareRanges } from "./cloudflare";
import { checkOneEdgePerZone, edgeChildNames } from "./cloudflare-edge-rules";
import { FirewallConfig } from "./config";
import { checkDigitalOceanLimits, digitalOceanTagResourceName, validateDigitalOceanPlacement, validateEgress } from "./digitalocean-rules";
import { checkHetznerLimits, LabelSelector, readLabelSelector, selectorsCouldOverlap } from "./hetzner-rules";
import { hostDeliveryResourceName } from "./host-firewall";
import { parseSingleAddress } from "./cidr";
import { COMPONENT_TYPES } from "./tokens";
import { AdmittedSet, admittedEntries, admittedSet, judgeExposure, PolicyError, PolicyRule, ruleField, ValidatedPolicy, validatePolicy } from "./policy";

/** A whole program refused before anything was registered. */
class DeploymentError extends PolicyError {
    constructor(message: string) {
        super(message);
        this.name = "DeploymentError";
    }
}

/** What the gate established for one firewall: what every later step reads. */
export interface CheckedFirewall {
    policy: ValidatedPolicy;
    /** The admitted set with the real Cloudflare ranges. */
    admitted: AdmittedSet;
}

/** The key a delivery host is compared by: the canonical address, or the lower-case name. */
function hostKey(host: string): string {
    try {
        return parseSingleAddress(host).address;
    } catch {
        return host.toLowerCase().replace(/\.$/, "");
    }
}

/** What a firewall attaches to, as far as the program can tell before deployment. */
interface Attachment {
    provider: FirewallConfig["provider"];
    selectors: LabelSelector[];
    /** Hetzner server ids or DigitalOcean Droplet ids. */
    ids: number[];
    /** DigitalOcean tags, lower case (tags ignore case). */
    tags: string[];
}

function attachmentOf(fw: FirewallConfig): Attachment {
    if (fw.provider === "hetzner") {
        return { provider: fw.provider, selectors: (fw.applyTo?.labelSelectors ?? []).map(readLabelSelector), ids: (fw.applyTo?.serverIds ?? []).filter((x): x is number => typeof x === "number"), tags: [] };
    }
    return { provider: fw.provider, selectors: [], ids: fw.dropletIds ?? [], tags: (fw.tags ?? []).map((t) => t.toLowerCase()) };
}

function describeAttachment(a: Attachment): string {
    const parts = [...a.selectors.map((s) => `label selector ${JSON.stringify(s.canonical)}`), ...a.tags.map((t) => `tag ${JSON.stringify(t)}`), ...a.ids.map((id) => `${a.provider === "hetzner" ? "server" : "Droplet"} ${id}`)];
    return parts.length > 0 ? parts.join(", ") : "nothing";
}

/**
 * Whether two firewalls could be applied to one server; when the program cannot
 * tell, yes (fail closed). Hetzner: the same server id, selectors that one server's
 * labels could satisfy together, or a selector and a server id (that server's
 * labels are unknown). DigitalOcean: the same Droplet, or any tag with any tag or
 * Droplet (a Droplet carries any number of tags).
 */
function mayShareServers(a: Attachment, b: Attachment): boolean {
    if (a.provider !== b.provider) return false;
    if (a.ids.some((id) => b.ids.includes(id))) return true;
    if (a.provider === "hetzner") {
        if ((a.selectors.length > 0 && b.ids.length > 0) || (b.selectors.length > 0 && a.ids.length > 0)) return true;
        return a.selectors.some((x) => b.selectors.some((y) => selectorsCouldOverlap(x, y)));
    }
    return (a.tags.length > 0 && b.tags.length + b.ids.length > 0) || (b.tags.length > 0 && a.ids.length > 0);
}

/**
 * A server admits the union of every firewall applied to it. Firewalls that may
 * share a server are grouped (connected by `mayShareServers`) and each group's
 * merged rules are judged with `judgeExposure`, as one firewall's are, on every SSH
 * port of the group; `ssh.allowFromAnywhere` holds for a port only when every
 * firewall with that SSH port sets it.
 */
function checkSharedServers(firewalls: Readonly<Record<string, FirewallConfig>>, checked: ReadonlyMap<string, CheckedFirewall>): void {
    const names = Object.keys(firewalls);
    const attachments = new Map(names.map((n) => [n, attachmentOf(firewalls[n])]));
    const parent = new Map(names.map((n) => [n, n]));
    const root = (n: string): string => (parent.get(n) === n ? n : root(parent.get(n)!));
    names.forEach((a, i) => names.slice(i + 1).forEach((b) => mayShareServers(attachments.get(a)!, attachments.get(b)!) && parent.set(root(b), root(a))));
    const groups = new Map<string, string[]>();
    for (const n of names) groups.set(root(n), [...(groups.get(root(n)) ?? []), n]);
    for (const group of groups.values()) {
        if (group.length < 2) continue;
        // Each rule named after its firewall; Cloudflare's and ping keep their kind (not judged as exposure).
        const rules = group.flatMap((n) =>
            checked.get(n)!.admitted.rules.map((rule): PolicyRule => (rule.kind === "cloudflare" || rule.kind === "ping" ? rule : { ...rule, kind: "foreign", index: 0, description: `firewalls.${n}.${ruleField(rule)}` })),
        );
        const policies = group.map((n) => checked.get(n)!.policy);
        const sshPorts = [...new Set(policies.map((p) => p.ssh.port))].sort((a, b) => a - b);
        const cloudflarePorts = [...new Set(policies.flatMap((p) => p.cloudflarePorts))].sort((a, b) => a - b);
        const entries = admittedEntries(rules, [...sshPorts, ...cloudflarePorts]);
        for (const sshPort of sshPorts) {
            const allowFromAnywhere = policies.every((p) => p.ssh.port !== sshPort || p.ssh.allowFromAnywhere);
            const { errors } = judgeExposure({ sshPort, cloudflarePorts, allowFromAnywhere, withCloudflareRanges: true, rules, entries });
            if (errors.length > 0) {
                const who = group.map((n) => `firewalls.${n} (${describeAttachment(attachments.get(n)!)})`).join(", ");
                throw new DeploymentError(`${who} may be applied to the same servers, and a server admits the union of its firewalls (judged together where the program cannot tell them apart, fail closed): ${errors[0]}`);
            }
        }
    }
}

/**
 * Checks a whole program before its first resource: for every firewall (its DNS
 * names resolved) the policy and exposure on the admitted set with the real
 * `ranges`, the provider's limits (rules, effective rules, sources per rule,
 * attachments); across all of them, the union of the firewalls that may share a
 * server (judged as one), resource-name collisions (firewalls, tags,
 * edge records and blocks, host deliveries), duplicate SSH delivery hosts and two
 * edges on one zone. Throws `DeploymentError` on the first failure.
 */
export function checkDeployment(firewalls: Readonly<Record<string, FirewallConfig>>, ranges: CloudflareRanges): Map<string, CheckedFirewall> {
    const checked = new Map<string, CheckedFirewall>();
    const named = new Map<string, string>(); // "type name" -> who claims it
    const claim = (type: string, name: string, who: string) => {
        const other = named.get(`${type} ${name}`);
        if (other) throw new DeploymentError(`${who} and ${other} would both register a ${type} named "${name}"; rename one of the firewalls or change one of the two`);
        named.set(`${type} ${name}`, who);
    };
    const delivered = new Map<string, string>();

    for (const [name, fw] of Object.entries(firewalls)) {
        const at = `firewalls.${name}`;
        let policy: ValidatedPolicy;
        let admitted: AdmittedSet;
        try {
            policy = validatePolicy(fw);
            admitted = admittedSet(policy, ranges);
            // Judged again on the real answer: what reaches each port, Cloudflare's ranges included.
            const { errors } = judgeExposure(admitted);
            if (errors.length > 0) throw new PolicyError(errors[0]);
        } catch (e) {
            throw new DeploymentError(`${at}.${(e as Error).message} (after resolving DNS names)`);
        }
        try {
            if (fw.provider === "hetzner") checkHetznerLimits(admitted.rules);
            else {
                validateDigitalOceanPlacement(fw, fw.firewallName ?? name);
                checkDigitalOceanLimits(admitted.rules, validateEgress(fw.egress));
            }
        } catch (e) {
            throw new DeploymentError(`${at}: ${(e as Error).message} (with Cloudflare's ranges as fetched now and DNS names resolved)`);
        }
        checked.set(name, { policy, admitted });

        // The names this firewall's resources will be registered under.
        if (fw.provider === "digitalocean") {
            for (const tag of validateDigitalOceanPlacement(fw, fw.firewallName ?? name) ?? []) claim("digitalocean:index/tag:Tag", digitalOceanTagResourceName(name, tag), `${at}.tags ${tag}`);
        }
        if (fw.edge) {
            for (const child of edgeChildNames(`${name}-edge`, fw.edge)) claim(child.type, child.name, `${at}.edge.${child.what}`);
        }
        (fw.hostFirewall?.overSsh?.hosts ?? []).forEach((host, i) => {
            const who = `${at}.hostFirewall.overSsh.hosts[${i}]`;
            const key = hostKey(host);
            const other = delivered.get(key);
            if (other) {
                throw new DeploymentError(
                    `${who}: ${host} already receives the host ruleset of ${other}; each delivery replaces the host's whole table, so the last one would win. ` +
                        "Deliver each host from one firewall only (put the rules for that host into one policy)",
                );
            }
            delivered.set(key, who);
            claim(COMPONENT_TYPES.HostFirewallOverSsh.type, hostDeliveryResourceName(name, host), who);
        });
    }
    checkSharedServers(firewalls, checked);
    try {
        checkOneEdgePerZone(Object.entries(firewalls).flatMap(([name, fw]) => (fw.edge ? [{ owner: `firewalls.${name}.edge`, zoneId: fw.edge.zoneId }] : [])));
    } catch (e) {
        throw new DeploymentError((e as Error).message);
    }
    return checked;
}
