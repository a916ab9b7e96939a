/**
 * Hetzner Cloud: translates the neutral policy into one `hcloud.Firewall`.
 * Hetzner semantics: inbound traffic not matched by a rule is dropped; with no
 * outbound rule all egress is allowed (adding one makes egress default-deny, so
 * none is rendered).
 */
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { onResource, OriginFirewallComponent, resolvePolicy } from "./origin";
import { checkHetznerLimits, HetznerOriginFirewallArgs, hetznerPhysicalName, toHetznerApplyTos, toHetznerRules, validateHetznerNaming } from "./hetzner-rules";
import { COMPONENT_TYPES, withPreviousType } from "./tokens";

export * from "./hetzner-rules";

/**
 * One Hetzner Cloud firewall that admits SSH from trusted sources, the chosen
 * ports only from Cloudflare, the extra rules, and nothing else inbound.
 */
export class HetznerOriginFirewall extends OriginFirewallComponent<hcloud.Firewall> {
    constructor(name: string, args: HetznerOriginFirewallArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.HetznerOriginFirewall.type, name, {}, withPreviousType(opts, COMPONENT_TYPES.HetznerOriginFirewall.previous));
        const firewallName = args.firewallName ?? name;
        const applyTos = onResource(this, () => {
            validateHetznerNaming(firewallName, args.labels);
            return toHetznerApplyTos(args.applyTo);
        });
        if (applyTos.length === 0) {
            pulumi.log.warn(`firewall ${firewallName} is attached to no server, so it protects nothing; give applyTo.labelSelectors (or serverIds)`, this);
        }
        const resolved = resolvePolicy(args, this);
        // Plain ranges: Hetzner's limits are known now, before the firewall is registered.
        if (resolved.plainRules) onResource(this, () => checkHetznerLimits(resolved.plainRules!));
        const rules = resolved.rules.apply((r) => onResource(this, () => toHetznerRules(r)));
        const physicalName = pulumi.output(applyTos).apply((a) => hetznerPhysicalName(firewallName, args.labels, a));
        // A name or label update wipes the rules at Hetzner (terraform-provider-hcloud
        // #931), and an attachment change forces a new firewall: every such change is
        // a replacement instead, new firewall first (its name is new, so it can
        // coexist), then the old one deleted. No moment without rules.
        const firewall = new hcloud.Firewall(
            name,
            { name: physicalName, labels: args.labels, rules, applyTos: applyTos.length > 0 ? applyTos : undefined },
            { parent: this, replaceOnChanges: ["name", "labels", "applyTos"], deleteBeforeReplace: false },
        );
        this.publish(
            firewall,
            resolved.cloudflareRanges,
            rules.apply((r) => r.length),
        );
    }
}
