// `cloudflare-origin-firewall/host`: the host firewall's delivery (cloud-init, and
// SSH with commit-confirm) and the provider-free core; needs @pulumi/command.
export * from "../core";
export * from "../host-firewall";
