// `cloudflare-origin-firewall/hetzner`: the hetzner component and the provider-free core; loads
// no other provider, so a program needs only @pulumi/pulumi and @pulumi/hcloud.
export * from "../core";
export * from "../origin";
export * from "../hetzner";
