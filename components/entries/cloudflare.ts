// `cloudflare-origin-firewall/cloudflare`: the Cloudflare side (proxied DNS,
// Authenticated Origin Pulls, SSL mode, edge blocks) and the provider-free core;
// needs @pulumi/cloudflare and @pulumi/tls.
export * from "../core";
export * from "../origin";
export * from "../cloudflare-edge";
