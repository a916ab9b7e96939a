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
import { checkHetznerLimits } from "./hetzner-rules";
import { hostDeliveryResourceName } from "./host-firewall";
import { parseSingleAddress } from "./cidr";
import { COMPONENT_TYPES } from "./tokens";
import { AdmittedSet, admittedSet, judgeExposure, PolicyError, ValidatedPolicy, validatePolicy } from "./policy";

/** A whole program refused before anything was registered. */
export class DeploymentError extends PolicyError {
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

/**
 * Checks a whole program before its first resource: for every firewall (its DNS
 * names resolved) the policy and exposure on the admitted set with the real
 * `ranges`, the provider's limits (rules, effective rules, sources per rule,
 * attachments); across all of them, resource-name collisions (firewalls, tags,
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
    try {
        checkOneEdgePerZone(Object.entries(firewalls).flatMap(([name, fw]) => (fw.edge ? [{ owner: `firewalls.${name}.edge`, zoneId: fw.edge.zoneId }] : [])));
    } catch (e) {
        throw new DeploymentError((e as Error).message);
    }
    return checked;
}
