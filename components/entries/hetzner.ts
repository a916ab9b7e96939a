// `cloudflare-origin-firewall/hetzner`: the hetzner component and the provider-free core; loads
// no other provider, so a program needs only @pulumi/pulumi and @pulumi/hcloud.
export * from "../core";
export { OriginFirewallComponent } from "../origin";
export { HetznerOriginFirewall } from "../hetzner";
export type { HetznerApplyTo, HetznerOriginFirewallArgs } from "../hetzner-rules";
