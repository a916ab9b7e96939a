/**
 * The components' type tokens. All live in the `index` module, which Pulumi's
 * schema inference requires to serve the components to other languages; each
 * keeps its earlier token as an alias, so a stack deployed before the move keeps
 * its resources (children included) instead of replacing them.
 */
import type * as pulumi from "@pulumi/pulumi";

/** Token now, and the token stacks deployed before 0.2 recorded. */
export const COMPONENT_TYPES = {
    HetznerOriginFirewall: { type: "cloudflare-origin-firewall:index:HetznerOriginFirewall", previous: "cloudflare-origin-firewall:hetzner:OriginFirewall" },
    DigitalOceanOriginFirewall: { type: "cloudflare-origin-firewall:index:DigitalOceanOriginFirewall", previous: "cloudflare-origin-firewall:digitalocean:OriginFirewall" },
    CloudflareOriginEdge: { type: "cloudflare-origin-firewall:index:CloudflareOriginEdge", previous: "cloudflare-origin-firewall:cloudflare:OriginEdge" },
    HostFirewallOverSsh: { type: "cloudflare-origin-firewall:index:HostFirewallOverSsh", previous: "cloudflare-origin-firewall:host:FirewallOverSsh" },
} as const;

/** The caller's options plus an alias to the component's previous type token (the caller's own aliases kept). */
export function withPreviousType(opts: pulumi.ComponentResourceOptions | undefined, previous: string): pulumi.ComponentResourceOptions {
    return { ...opts, aliases: [...(opts?.aliases ?? []), { type: previous }] };
}
