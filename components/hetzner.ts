/**
 * Hetzner Cloud: translates the neutral policy into one `hcloud.Firewall`.
 * Hetzner semantics: inbound traffic not matched by a rule is dropped; with no
 * outbound rule all egress is allowed (adding one makes egress default-deny, so
 * none is rendered).
 */
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { CloudflareRanges } from "./cloudflare";
import { onResource, resolvePolicy } from "./origin";
import { checkRuleCount, OriginPolicyArgs, PolicyError, PolicyRule, splitRules } from "./policy";

/** Hetzner: "You can specify 100 CIDR blocks at most" per rule. */
export const HETZNER_MAX_SOURCES_PER_RULE = 100;
/** Hetzner: "Rules are limited to 50 entries per Firewall". */
export const HETZNER_MAX_RULES = 50;
/** Hetzner: firewall names are 1 to 128 characters. */
export const HETZNER_MAX_NAME = 128;

// From hcloud-go's labels.go, which implements Hetzner's label rules.
const LABEL_KEY = /^([a-z0-9A-Z]((?:[\-_.]|[a-z0-9A-Z]){0,253}[a-z0-9A-Z])?\/)?[a-z0-9A-Z]((?:[\-_.]|[a-z0-9A-Z]|){0,61}[a-z0-9A-Z])?$/;
const LABEL_VALUE = /^(([a-z0-9A-Z](?:[\-_.]|[a-z0-9A-Z]){0,61})?[a-z0-9A-Z]$|$)/;

/** Which servers the firewall applies to. */
export interface HetznerApplyTo {
    /** Label selectors, e.g. "app=dashboard"; each becomes one apply-to block. */
    labelSelectors?: string[];
    /** Server ids; each becomes one apply-to block. */
    serverIds?: pulumi.Input<number>[];
}

/** Arguments of `HetznerOriginFirewall`: the shared policy plus Hetzner placement. */
export interface HetznerOriginFirewallArgs extends OriginPolicyArgs {
    /** Servers to attach to; without it the firewall is created unattached. */
    applyTo?: HetznerApplyTo;
    /** Name of the firewall in Hetzner (unique per project); default the component name. */
    firewallName?: string;
    /** Hetzner labels on the firewall. */
    labels?: Record<string, string>;
}

/** A rule as `hcloud.Firewall` takes it. */
export interface HetznerRule {
    direction: "in";
    protocol: string;
    port?: string;
    sourceIps: string[];
    description: string;
}

/** Translates neutral rules to Hetzner rules, splitting at 100 sources and enforcing 50 rules. */
export function toHetznerRules(rules: PolicyRule[]): HetznerRule[] {
    const split = splitRules(rules, HETZNER_MAX_SOURCES_PER_RULE);
    checkRuleCount(split.length, HETZNER_MAX_RULES, "Hetzner", "merge extra rules, use port ranges, or list fewer trusted sources");
    return split.map((r) => ({
        direction: "in",
        protocol: r.protocol,
        ...(r.port === undefined ? {} : { port: r.port }),
        sourceIps: r.sources,
        description: r.description,
    }));
}

/** Translates `applyTo` into `applyTos` blocks: selectors first, then servers. */
export function toHetznerApplyTos(applyTo: HetznerApplyTo | undefined): hcloud.types.input.FirewallApplyTo[] {
    const selectors = applyTo?.labelSelectors ?? [];
    const servers = applyTo?.serverIds ?? [];
    selectors.forEach((s, i) => {
        if (typeof s !== "string" || s.trim() === "") {
            throw new PolicyError(`applyTo.labelSelectors[${i}]: ${JSON.stringify(s)} is empty; write a selector such as "app=dashboard"`);
        }
    });
    servers.forEach((id, i) => {
        if (typeof id === "number" && (!Number.isInteger(id) || id <= 0)) {
            throw new PolicyError(`applyTo.serverIds[${i}]: ${id} is not a server id; use the numeric id of an hcloud.Server`);
        }
    });
    const blocks = [...new Set(selectors.map((s) => s.trim()))].sort().map((labelSelector) => ({ labelSelector }));
    return [...blocks, ...servers.map((server) => ({ server }))];
}

/** Checks a firewall name and labels against Hetzner's rules. */
export function validateHetznerNaming(name: string, labels: Record<string, string> | undefined): void {
    if (name.length < 1 || name.length > HETZNER_MAX_NAME) {
        throw new PolicyError(`firewallName: "${name}" is ${name.length} characters; Hetzner allows 1 to ${HETZNER_MAX_NAME}`);
    }
    for (const [key, value] of Object.entries(labels ?? {})) {
        if (!LABEL_KEY.test(key) || key.startsWith("hetzner.cloud/")) {
            throw new PolicyError(`labels: key "${key}" is not a Hetzner label key; use letters, digits, "-", "_" and "." (up to 63), optionally after "prefix/", and not the reserved "hetzner.cloud/"`);
        }
        if (typeof value !== "string" || !LABEL_VALUE.test(value)) {
            throw new PolicyError(`labels.${key}: ${JSON.stringify(value)} is not a Hetzner label value; use up to 63 letters, digits, "-", "_" or ".", starting and ending alphanumeric`);
        }
    }
}

/**
 * One Hetzner Cloud firewall that admits SSH from trusted sources, the chosen
 * ports only from Cloudflare, the extra rules, and nothing else inbound.
 */
export class HetznerOriginFirewall extends pulumi.ComponentResource {
    /** The firewall resource. */
    public readonly firewall: hcloud.Firewall;
    /** Hetzner's id of the firewall. */
    public readonly firewallId: pulumi.Output<string>;
    /** The Cloudflare ranges applied, with Cloudflare's etag. */
    public readonly cloudflareRanges: pulumi.Output<CloudflareRanges>;
    /** Number of rules in the firewall. */
    public readonly ruleCount: pulumi.Output<number>;

    constructor(name: string, args: HetznerOriginFirewallArgs, opts?: pulumi.ComponentResourceOptions) {
        super("cloudflare-origin-firewall:hetzner:OriginFirewall", name, {}, opts);
        const firewallName = args.firewallName ?? name;
        const applyTos = onResource(this, () => {
            validateHetznerNaming(firewallName, args.labels);
            return toHetznerApplyTos(args.applyTo);
        });
        const resolved = resolvePolicy(args, this);
        const rules = resolved.rules.apply((r) => onResource(this, () => toHetznerRules(r)));
        this.firewall = new hcloud.Firewall(
            name,
            { name: firewallName, labels: args.labels, rules, applyTos: applyTos.length > 0 ? applyTos : undefined },
            { parent: this },
        );
        this.firewallId = this.firewall.id;
        this.cloudflareRanges = resolved.cloudflareRanges;
        this.ruleCount = rules.apply((r) => r.length);
        this.registerOutputs({ firewallId: this.firewallId, cloudflareRanges: this.cloudflareRanges, ruleCount: this.ruleCount });
    }
}
