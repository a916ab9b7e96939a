/**
 * DigitalOcean's half that needs no provider: limits, name and tag rules, egress,
 * and the translation of the neutral policy into DigitalOcean rules. Config
 * validation and the CLIs use it without loading Pulumi (components/digitalocean.ts
 * re-exports it).
 */
import type * as pulumi from "@pulumi/pulumi";
import { checkRuleCount, OriginPolicyArgs, PolicyError, PolicyRule, splitRules, validateSources, validateTraffic, WORLD } from "./policy";
import { showText } from "./text";

/** DigitalOcean: at most 10 Droplets per firewall (use tags beyond). */
const DO_MAX_DROPLETS = 10;
/** DigitalOcean: at most 5 tags per firewall. */
const DO_MAX_TAGS = 5;
/** DigitalOcean: at most 50 inbound plus outbound rules per firewall. */
const DO_MAX_RULES = 50;
/** DigitalOcean: at most 1000 entries in one rule's sources or destinations. */
const DO_MAX_ADDRESSES_PER_RULE = 1000;
/** The full port range; "all" and "0" come back from the API as "0" and cause perpetual diffs. */
const DO_ALL_PORTS = "1-65535";

// DigitalOcean's own patterns for tag and firewall names.
const TAG = /^[a-zA-Z0-9_\-:]+$/;
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9.-]+$/;

/** One outbound rule. */
export interface EgressRule {
    /** Protocol; default "tcp". */
    protocol?: "tcp" | "udp" | "icmp";
    /** Port or range; required for tcp and udp ("1-65535" for all), absent for icmp. */
    port?: number | string;
    /** Destination addresses or CIDR blocks. */
    destinations: string[];
}

/** Arguments of `DigitalOceanOriginFirewall`: the shared policy plus DigitalOcean placement and egress. */
export interface DigitalOceanOriginFirewallArgs extends OriginPolicyArgs {
    /** Droplets to attach to (at most 10; use `tags` for more). */
    dropletIds?: pulumi.Input<number>[];
    /**
     * Droplet tags to attach to (at most 5); every Droplet with the tag is covered.
     * A firewall can only reference tags that exist, so each is registered first as a
     * `digitalocean.Tag` child (creating an existing tag is harmless), kept on delete:
     * removing the firewall never deletes a tag other resources may use.
     */
    tags?: string[];
    /** Register the tags (default true); false when your program already declares them as `digitalocean.Tag`. */
    createTags?: boolean;
    /** Name of the firewall in DigitalOcean; default the component name. */
    firewallName?: string;
    /**
     * Outbound traffic: "allow-all" (default: tcp and udp 1-65535 and icmp to
     * everywhere), "deny-all" (no outbound rules: DigitalOcean then blocks all
     * egress), or explicit rules.
     */
    egress?: "allow-all" | "deny-all" | EgressRule[];
}

/** An inbound rule as `digitalocean.Firewall` takes it. */
export interface DigitalOceanInboundRule {
    protocol: string;
    portRange?: string;
    sourceAddresses: string[];
}

/** An outbound rule as `digitalocean.Firewall` takes it. */
export interface DigitalOceanOutboundRule {
    protocol: string;
    portRange?: string;
    destinationAddresses: string[];
}

const ALLOW_ALL_EGRESS: EgressRule[] = [
    { protocol: "tcp", port: DO_ALL_PORTS, destinations: [...WORLD] },
    { protocol: "udp", port: DO_ALL_PORTS, destinations: [...WORLD] },
    { protocol: "icmp", destinations: [...WORLD] },
];

/** Validates `egress` and returns it as neutral rules (destinations in `sources`). */
export function validateEgress(egress: DigitalOceanOriginFirewallArgs["egress"]): PolicyRule[] {
    const rules = egress === undefined || egress === "allow-all" ? ALLOW_ALL_EGRESS : egress === "deny-all" ? [] : egress;
    if (!Array.isArray(rules)) {
        throw new PolicyError(`egress: ${JSON.stringify(egress)} is not valid; use "allow-all", "deny-all" or a list of { protocol, port, destinations }`);
    }
    if (rules.length === 0 && egress !== "deny-all") {
        throw new PolicyError(`egress: [] would block all outbound traffic on DigitalOcean; write "deny-all" if that is intended, or omit egress to allow all`);
    }
    return rules.map((r, i): PolicyRule => {
        const at = `egress[${i}]`;
        const { protocol, port } = validateTraffic(r, at);
        const sources = validateSources(r.destinations, `${at}.destinations`).map((c) => c.text);
        return { kind: "egress", index: i, description: `egress ${i}`, protocol, ...(port === undefined ? {} : { port }), sources };
    });
}

/** Checks attachment and name against DigitalOcean's limits and patterns. */
export function validateDigitalOceanPlacement(args: Pick<DigitalOceanOriginFirewallArgs, "dropletIds" | "tags">, firewallName: string): string[] | undefined {
    if (!NAME.test(firewallName)) {
        throw new PolicyError(`firewallName: ${showText(firewallName)} is not a DigitalOcean firewall name; use at least 2 letters, digits, "." or "-", starting with a letter or digit`);
    }
    const ids = args.dropletIds ?? [];
    if (ids.length > DO_MAX_DROPLETS) {
        throw new PolicyError(`dropletIds: ${ids.length} Droplets given; a DigitalOcean firewall takes at most ${DO_MAX_DROPLETS}. Tag the Droplets and use tags instead`);
    }
    ids.forEach((id, i) => {
        if (typeof id === "number" && (!Number.isInteger(id) || id <= 0)) {
            throw new PolicyError(`dropletIds[${i}]: ${id} is not a Droplet id; use the numeric id of a digitalocean.Droplet`);
        }
    });
    const tags = args.tags ?? [];
    if (tags.length > DO_MAX_TAGS) {
        throw new PolicyError(`tags: ${tags.length} tags given; a DigitalOcean firewall takes at most ${DO_MAX_TAGS}. Put one shared tag on the Droplets`);
    }
    const folded = new Map<string, string>();
    tags.forEach((t, i) => {
        if (typeof t !== "string" || !TAG.test(t) || t.length > 255) {
            throw new PolicyError(`tags[${i}]: ${showText(t)} is not a DigitalOcean tag; use 1 to 255 letters, digits, "_", "-" or ":"`);
        }
        // DigitalOcean tags ignore case (one tag "API" is also "api"); two spellings would diff forever.
        const other = folded.get(t.toLowerCase());
        if (other !== undefined && other !== t) throw new PolicyError(`tags[${i}]: "${t}" and "${other}" are the same DigitalOcean tag (tags ignore case); list it once, in its original capitalization`);
        folded.set(t.toLowerCase(), t);
    });
    return tags.length > 0 ? [...new Set(tags)].sort() : undefined;
}

/** Drops rules identical in protocol, port and addresses to an earlier one (DigitalOcean rules carry no description). */
function distinctRules(rules: PolicyRule[]): PolicyRule[] {
    const seen = new Set<string>();
    return rules.filter((r) => {
        const key = JSON.stringify([r.protocol, r.port, r.sources]);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
    });
}

/**
 * DigitalOcean's limits on one firewall's rules, pure: address lists longer than
 * 1000 are split, identical rules dropped, then at most 50 inbound plus outbound
 * rules. Run by the program's gate before anything is registered and by the
 * component; returns the split rules, or throws naming the limit and the count.
 */
export function checkDigitalOceanLimits(inbound: readonly PolicyRule[], outbound: readonly PolicyRule[]): { inbound: PolicyRule[]; outbound: PolicyRule[] } {
    const inSplit = distinctRules(splitRules([...inbound], DO_MAX_ADDRESSES_PER_RULE));
    const outSplit = distinctRules(splitRules([...outbound], DO_MAX_ADDRESSES_PER_RULE));
    checkRuleCount(inSplit.length + outSplit.length, DO_MAX_RULES, "DigitalOcean", "inbound and outbound rules count together; merge extra rules or use port ranges");
    return { inbound: inSplit, outbound: outSplit };
}

/** The child resource name of a tag registered before the firewall. */
export function digitalOceanTagResourceName(component: string, tag: string): string {
    return `${component}-tag-${tag}`;
}

/** Translates neutral inbound and outbound rules to DigitalOcean rules within DigitalOcean's limits (`checkDigitalOceanLimits`). */
export function toDigitalOceanRules(inbound: PolicyRule[], outbound: PolicyRule[]): { inboundRules: DigitalOceanInboundRule[]; outboundRules: DigitalOceanOutboundRule[] } {
    const { inbound: inSplit, outbound: outSplit } = checkDigitalOceanLimits(inbound, outbound);
    const port = (r: PolicyRule) => (r.port === undefined ? {} : { portRange: r.port });
    // The provider keeps rules as a set (firewalls.go, schema.TypeSet): two identical rules
    // would collapse there and diff forever. Rule order diffs (#52) are still an open issue;
    // sorted, deduplicated input is our side of avoiding them.
    return {
        inboundRules: inSplit.map((r) => ({ protocol: r.protocol, ...port(r), sourceAddresses: r.sources })),
        outboundRules: outSplit.map((r) => ({ protocol: r.protocol, ...port(r), destinationAddresses: r.sources })),
    };
}
