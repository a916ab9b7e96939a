// The public API of cloudflare-origin-firewall.
export * from "./cidr";
export * from "./cloudflare";
