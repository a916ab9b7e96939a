// The public API of cloudflare-origin-firewall: everything, for programs that have
// every provider installed. Programs that use one provider import a subpath instead
// (cloudflare-origin-firewall/hetzner, /digitalocean, /cloudflare, /host, /core).
export * from "./core";
export * from "./origin";
export * from "./hetzner";
export * from "./digitalocean";
export * from "./config";
export * from "./cloudflare-edge";
export * from "./host-ssh";
export * from "./gate";
