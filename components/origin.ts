/**
 * The engine-facing half of the policy, shared by every provider component:
 * validate the arguments (as a ResourceError tied to the component), resolve the
 * Cloudflare ranges once, and render the neutral rules. Provider components only
 * translate the result.
 */
import * as pulumi from "@pulumi/pulumi";
import { CloudflareAnswer, CloudflareRanges, fetchCloudflareRanges, validateHandedInRanges } from "./cloudflare";
import { OriginPolicyArgs, PolicyRule, renderPolicy, validatePolicy, ValidatedPolicy } from "./policy";

/** The policy of one component, ready for a provider to translate. */
export interface ResolvedPolicy {
    policy: ValidatedPolicy;
    /** The validated Cloudflare ranges that the rules use. */
    cloudflareRanges: pulumi.Output<CloudflareRanges>;
    /** Neutral inbound rules; rejects (and so blocks the firewall) if the ranges are rejected. */
    rules: pulumi.Output<PolicyRule[]>;
    /**
     * The same rules, known now when the ranges were handed in as plain data: the
     * provider's limits are then checked before any child is registered.
     */
    plainRules?: PolicyRule[];
}

/** Runs `check`, turning any error into a `pulumi.ResourceError` on `parent`. */
export function onResource<T>(parent: pulumi.Resource, check: () => T): T {
    try {
        return check();
    } catch (e) {
        if (e instanceof pulumi.ResourceError) throw e;
        // A user error, in our words: tied to the component, without a stack trace.
        throw new pulumi.ResourceError((e as Error).message, parent, true);
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
    let source: pulumi.Input<CloudflareRanges | CloudflareAnswer>;
    let plainRules: PolicyRule[] | undefined;
    if (handedIn !== undefined && isPlain(handedIn)) {
        // Ranges handed in as plain data are checked now, so a bad entry is an error
        // of this component in our words (cloudflare.ranges.ipv4[15]), before anything
        // is registered.
        const validated = onResource(parent, () => validateHandedInRanges(handedIn as CloudflareRanges | CloudflareAnswer));
        source = validated;
        plainRules = renderPolicy(policy, validated);
    } else if (handedIn === undefined || !pulumi.Output.isInstance(handedIn)) {
        // A failed fetch becomes one error of this component, in our words.
        source = Promise.resolve(handedIn ?? fetchCloudflareRanges()).catch((e: Error) => {
            throw e instanceof pulumi.ResourceError ? e : new pulumi.ResourceError(e.message, parent, true);
        });
    } else {
        source = handedIn;
    }
    const cloudflareRanges = pulumi.output(source).apply((r) => onResource(parent, () => validateHandedInRanges(r as CloudflareRanges | CloudflareAnswer)));
    const rules = cloudflareRanges.apply((r) => renderPolicy(policy, r));
    return { policy, cloudflareRanges, rules, ...(plainRules ? { plainRules } : {}) };
}

/**
 * What every provider's origin firewall component exposes: the firewall resource,
 * its id, the Cloudflare ranges applied and the rule count. A provider component
 * creates its firewall and hands it to `publish`, which registers the outputs.
 */
export abstract class OriginFirewallComponent<F extends pulumi.CustomResource> extends pulumi.ComponentResource {
    private published?: { firewall: F; cloudflareRanges: pulumi.Output<CloudflareRanges>; ruleCount: pulumi.Output<number> };

    /** The firewall resource. */
    get firewall(): F {
        return this.outputs().firewall;
    }
    /** The provider's id of the firewall. */
    get firewallId(): pulumi.Output<string> {
        return this.outputs().firewall.id;
    }
    /** The Cloudflare ranges applied, with Cloudflare's etag. */
    get cloudflareRanges(): pulumi.Output<CloudflareRanges> {
        return this.outputs().cloudflareRanges;
    }
    /** Number of rules in the firewall (DigitalOcean: inbound plus outbound). */
    get ruleCount(): pulumi.Output<number> {
        return this.outputs().ruleCount;
    }

    /** Records the firewall and registers the component's outputs; called once, at the end of the constructor. */
    protected publish(firewall: F, cloudflareRanges: pulumi.Output<CloudflareRanges>, ruleCount: pulumi.Output<number>): void {
        this.published = { firewall, cloudflareRanges, ruleCount };
        this.registerOutputs({ firewallId: firewall.id, cloudflareRanges, ruleCount });
    }

    private outputs() {
        if (!this.published) throw new Error(`${this.constructor.name}: read before its firewall was created`);
        return this.published;
    }
}

/** True for data that is neither an Output nor a promise. */
function isPlain(value: unknown): boolean {
    return !pulumi.Output.isInstance(value) && !(value instanceof Promise) && typeof (value as { then?: unknown })?.then !== "function";
}
