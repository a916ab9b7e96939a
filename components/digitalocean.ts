/**
 * DigitalOcean: translates the neutral policy into one `digitalocean.Firewall`.
 * DigitalOcean semantics differ from Hetzner's in one dangerous way: a firewall
 * with no outbound rules blocks all outbound traffic, so egress is rendered
 * explicitly (allow all by default).
 */
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { onResource, OriginFirewallComponent, resolvePolicy } from "./origin";
import { checkDigitalOceanLimits, digitalOceanTagResourceName, DigitalOceanOriginFirewallArgs, toDigitalOceanRules, validateDigitalOceanPlacement, validateEgress } from "./digitalocean-rules";
import { COMPONENT_TYPES, withPreviousType } from "./tokens";

export * from "./digitalocean-rules";

/**
 * One DigitalOcean cloud firewall that admits SSH from trusted sources, the
 * chosen ports only from Cloudflare, the extra rules, and nothing else inbound;
 * egress explicit (allow all by default).
 */
export class DigitalOceanOriginFirewall extends OriginFirewallComponent<digitalocean.Firewall> {
    /** The tags registered before the firewall, by name (empty with `createTags: false`). */
    public readonly tags: Record<string, digitalocean.Tag> = {};

    constructor(name: string, args: DigitalOceanOriginFirewallArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.DigitalOceanOriginFirewall.type, name, {}, withPreviousType(opts, COMPONENT_TYPES.DigitalOceanOriginFirewall.previous));
        const firewallName = args.firewallName ?? name;
        const { tags, egress } = onResource(this, () => ({
            tags: validateDigitalOceanPlacement(args, firewallName),
            egress: validateEgress(args.egress),
        }));
        if (egress.length === 0) pulumi.log.warn(`egress is "deny-all": the Droplets cannot reach anything outbound (updates, DNS, APIs)`, this);
        if (!tags && !(args.dropletIds && args.dropletIds.length > 0)) {
            pulumi.log.warn(`firewall ${firewallName} is attached to no Droplet, so it protects nothing; give tags (or dropletIds)`, this);
        }
        const resolved = resolvePolicy(args, this);
        // Plain ranges: DigitalOcean's limits are known now, before the tags and the firewall are registered.
        if (resolved.plainRules) onResource(this, () => checkDigitalOceanLimits(resolved.plainRules!, egress));
        const rules = resolved.rules.apply((inbound) => onResource(this, () => toDigitalOceanRules(inbound, egress)));
        // The firewall may reference only existing tags: register them first (idempotent at
        // DigitalOcean), and never delete them with the firewall (other resources may use them).
        for (const tag of args.createTags === false ? [] : (tags ?? [])) {
            this.tags[tag] = new digitalocean.Tag(digitalOceanTagResourceName(name, tag), { name: tag }, { parent: this, retainOnDelete: true });
        }
        const firewall = new digitalocean.Firewall(
            name,
            {
                name: firewallName,
                dropletIds: args.dropletIds && args.dropletIds.length > 0 ? args.dropletIds : undefined,
                tags,
                inboundRules: rules.inboundRules,
                outboundRules: rules.outboundRules.apply((r) => (r.length > 0 ? r : undefined)),
            },
            { parent: this, dependsOn: Object.values(this.tags) },
        );
        this.publish(
            firewall,
            resolved.cloudflareRanges,
            rules.apply((r) => r.inboundRules.length + r.outboundRules.length),
        );
    }
}
