// `cloudflare-origin-firewall/digitalocean`: the digitalocean component and the provider-free core; loads
// no other provider, so a program needs only @pulumi/pulumi and @pulumi/digitalocean.
export * from "../core";
export { OriginFirewallComponent } from "../origin";
export { DigitalOceanOriginFirewall } from "../digitalocean";
export type { DigitalOceanOriginFirewallArgs, EgressRule } from "../digitalocean-rules";
