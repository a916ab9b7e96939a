/**
 * The engine-facing half of the policy, shared by every provider component:
 * validate the arguments (as a ResourceError tied to the component), resolve the
 * Cloudflare ranges once, and render the neutral rules. Provider components only
 * translate the result.
 */
import * as pulumi from "@pulumi/pulumi";
import { CloudflareRanges, fetchCloudflareRanges, validateCloudflareRanges } from "./cloudflare";
import { OriginPolicyArgs, PolicyRule, renderPolicy, validatePolicy, ValidatedPolicy } from "./policy";

/** The policy of one component, ready for a provider to translate. */
export interface ResolvedPolicy {
    policy: ValidatedPolicy;
    /** The validated Cloudflare ranges that the rules use. */
    cloudflareRanges: pulumi.Output<CloudflareRanges>;
    /** Neutral inbound rules; rejects (and so blocks the firewall) if the ranges are rejected. */
    rules: pulumi.Output<PolicyRule[]>;
}

/** Runs `check`, turning any error into a `pulumi.ResourceError` on `parent`. */
export function onResource<T>(parent: pulumi.Resource, check: () => T): T {
    try {
        return check();
    } catch (e) {
        if (e instanceof pulumi.ResourceError) throw e;
        throw new pulumi.ResourceError((e as Error).message, parent);
    }
}

/**
 * Validates `args`, logs its warnings on `parent`, and renders its rules once the
 * Cloudflare ranges are known. Without `cloudflare.ranges` the shared, memoised
 * `fetchCloudflareRanges()` is used, so any number of firewalls make one request.
 */
export function resolvePolicy(args: OriginPolicyArgs, parent: pulumi.Resource): ResolvedPolicy {
    const policy = onResource(parent, () => validatePolicy(args));
    for (const warning of policy.warnings) pulumi.log.warn(warning, parent);
    const handedIn = args.cloudflare?.ranges;
    const cloudflareRanges = pulumi
        .output(handedIn ?? fetchCloudflareRanges())
        .apply((r) => onResource(parent, () => validateCloudflareRanges(r as CloudflareRanges, handedIn ? "cloudflare.ranges" : undefined)));
    const rules = cloudflareRanges.apply((r) => renderPolicy(policy, r));
    return { policy, cloudflareRanges, rules };
}
