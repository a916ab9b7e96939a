// The public API of cloudflare-origin-firewall: everything, for programs that have
// every provider installed. Programs that use one provider import a subpath instead
// (cloudflare-origin-firewall/hetzner, /digitalocean, /cloudflare, /host, /core).
// Each entry point names what it exports; the core's list is in core.ts.
export * from "./entries/hetzner";
export * from "./entries/digitalocean";
export * from "./entries/cloudflare";
export * from "./entries/host";
// The stack config format of this project's program, for programs that keep it.
export { ConfigError, parseStackConfig, projectConfigValues } from "./config";
export type { FirewallConfig, StackConfig } from "./config";
