// `cloudflare-origin-firewall/host`: the host firewall's delivery over SSH with
// commit-confirm, and the provider-free core (cloud-init included); needs @pulumi/command.
export * from "../core";
export * from "../host-ssh";
