// The provider-free part of the package: canonical CIDRs, Cloudflare's ranges, the
// policy, DNS names, the lockout guard, the host firewall's ruleset and its cloud-init
// user data, and the text validators. Importing it loads no Pulumi provider (only the
// SDK). `cloudflare-origin-firewall/core`, and part of every other entry point.
export * from "./cidr";
export * from "./cloudflare";
export * from "./policy";
export * from "./names";
export * from "./lockout";
export * from "./trace";
export * from "./nftables";
export * from "./host-firewall";
export * from "./text";
