// The public API of cloudflare-origin-firewall.
export * from "./cidr";
export * from "./cloudflare";
export * from "./policy";
export * from "./origin";
export * from "./hetzner";
export * from "./digitalocean";
export * from "./config";
export * from "./cloudflare-edge";
export * from "./nftables";
export * from "./host-firewall";
export * from "./trace";
export * from "./names";
export * from "./lockout";
