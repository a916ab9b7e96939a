// `cloudflare-origin-firewall/host`: the host firewall's delivery over SSH with
// commit-confirm, and the provider-free core (cloud-init included); needs @pulumi/command.
export * from "../core";
export { HostFirewallOverSsh } from "../host-ssh";
export type { HostFirewallOverSshArgs, HostSshConnection } from "../host-ssh";
