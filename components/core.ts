// The provider-free part of the package: the policy, Cloudflare's ranges, canonical
// CIDRs, DNS names as sources, the host firewall's ruleset and its cloud-init user
// data. Importing it loads no Pulumi provider (only the SDK).
// `cloudflare-origin-firewall/core`, and part of every other entry point.
// Named exports only: what is listed here is the contract; the rest is internal.
export { CidrError, canonicalCidr } from "./cidr";
export { CloudflareRangesError, fetchCloudflareRanges } from "./cloudflare";
export type { AnswerLimits, CloudflareAnswer, CloudflareRanges, FetchCloudflareRangesOptions } from "./cloudflare";
export { PolicyError, renderPolicy, validatePolicy } from "./policy";
export type { CloudflarePolicy, ExtraRule, NamesMode, OriginPolicyArgs, PolicyRule, Protocol, RuleKind, SshPolicy, ValidatedPolicy } from "./policy";
export { NameResolutionError, resolvePolicyNames } from "./names";
export type { NameResolution, ResolveOptions } from "./names";
export { renderNftables } from "./nftables";
export type { NftHostOptions } from "./nftables";
export { hostFirewallCloudInit, remoteApplyCommand, remoteConfirmCommand } from "./host-firewall";
