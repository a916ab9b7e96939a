// The provider-free part of the package: canonical CIDRs, Cloudflare's ranges, the
// policy, DNS names, the lockout guard, the host firewall's ruleset and the text validators. Importing it
// loads no Pulumi provider (only the SDK). `cloudflare-origin-firewall/core`.
export * from "./cidr";
export * from "./cloudflare";
export * from "./policy";
export * from "./names";
export * from "./lockout";
export * from "./trace";
export * from "./nftables";
export * from "./text";
