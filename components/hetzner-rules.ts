/**
 * Hetzner Cloud's half that needs no provider: limits, name and label rules, and
 * the translation of the neutral policy into Hetzner rules. Config validation and
 * the CLIs use it without loading Pulumi (components/hetzner.ts re-exports it).
 */
import type * as hcloud from "@pulumi/hcloud";
import type * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { checkRuleCount, OriginPolicyArgs, PolicyError, PolicyRule, splitRules } from "./policy";
import { LABEL_KEY, LABEL_VALUE, labelKeyProblem, labelSelectorProblem, labelValueProblem, nameProblem, showText } from "./text";

/** Hetzner: "You can specify 100 CIDR blocks at most" per rule. */
const HETZNER_MAX_SOURCES_PER_RULE = 100;
/** Hetzner: "Rules are limited to 50 entries per Firewall". */
const HETZNER_MAX_RULES = 50;
/** Hetzner: firewall names are 1 to 128 characters. */
const HETZNER_MAX_NAME = 128;
/**
 * Hetzner: "up to 500 (effective) rules per Firewall". Hetzner does not publish how
 * it counts; we take the strictest reading, one effective rule per (rule, address)
 * pair, so nothing we render can be refused for it.
 */
const HETZNER_MAX_EFFECTIVE_RULES = 500;
/**
 * Hetzner: "A Server can be applied to a maximum of 5 Firewalls", label-selected
 * ones included. A rename-safe replacement (new firewall first) briefly applies a
 * sixth, so a server already at 5 cannot take one.
 */
const HETZNER_MAX_FIREWALLS_PER_SERVER = 5;
/** Length of the suffix that makes each generation of a firewall's name unique. */
const NAME_SUFFIX = 9; // "-" + 8 hex digits

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
    /**
     * Base name of the firewall in Hetzner; default the component name. The name
     * sent is `<firewallName>-<8 hex digits>`, derived from the name, labels and
     * attachment, so that changing any of them replaces the firewall (new one
     * first) instead of updating it in place, which at Hetzner wipes its rules
     * (terraform-provider-hcloud #931).
     */
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

/**
 * Hetzner's limits on one firewall's rules, pure: source lists longer than 100
 * are split into parts, then at most 50 rules and 500 effective rules. Run by the
 * program's gate before anything is registered and by the component; returns the
 * split rules, or throws naming the limit and the count.
 */
export function checkHetznerLimits(rules: readonly PolicyRule[]): PolicyRule[] {
    const split = splitRules([...rules], HETZNER_MAX_SOURCES_PER_RULE);
    checkRuleCount(split.length, HETZNER_MAX_RULES, "Hetzner", "merge extra rules, use port ranges, or list fewer trusted sources");
    const effective = split.reduce((n, r) => n + r.sources.length, 0);
    if (effective > HETZNER_MAX_EFFECTIVE_RULES) {
        throw new PolicyError(`Hetzner: this policy renders ${effective} effective rules (one per rule and address), more than the ${HETZNER_MAX_EFFECTIVE_RULES} a Hetzner firewall allows; list fewer addresses, or merge them into broader blocks`);
    }
    return split;
}

/** Translates neutral rules to Hetzner rules within Hetzner's limits (`checkHetznerLimits`). */
export function toHetznerRules(rules: PolicyRule[]): HetznerRule[] {
    return checkHetznerLimits(rules).map((r) => ({
        direction: "in",
        protocol: r.protocol,
        ...(r.port === undefined ? {} : { port: r.port }),
        sourceIps: r.sources,
        description: r.description,
    }));
}

const SELECTOR_HELP = 'Hetzner\'s selector language: "k=v" (or "k==v"), "k!=v", "k" (present), "!k" (absent), "k in (v1,v2)", "k notin (v1,v2)", joined by commas, e.g. "app=dashboard,env!=test"';

/** One requirement of a label selector, normalised: "k=v", "k==v" and "k in (v)" are all `in` ["v"]. */
export interface LabelRequirement {
    key: string;
    /** `in`/`notin`: the value is (not) one of `values`; `exists`/`absent`: the label is (not) there. */
    op: "in" | "notin" | "exists" | "absent";
    /** Sorted, deduplicated; empty for `exists`/`absent`. */
    values: string[];
}

/**
 * Parses a label selector with Hetzner's selector language (API documentation,
 * "Label Selector") and label key/value patterns (hcloud-go labels.go) into its
 * requirements, normalised ("k=v", "k==v", "k in (v)" alike; "k!=v" is `notin`).
 * Throws `PolicyError` naming `field` for a selector Hetzner cannot parse.
 */
export function parseLabelSelector(selector: string, field: string): LabelRequirement[] {
    const fail = (what: string): never => {
        throw new PolicyError(`${field}: ${showText(selector)} is not a Hetzner label selector (${what}); use ${SELECTOR_HELP}`);
    };
    const parts: string[] = [];
    let depth = 0;
    let current = "";
    for (const ch of selector) {
        if (ch === "(") depth++;
        if (ch === ")") depth--;
        if (depth < 0 || depth > 1) fail("unbalanced parentheses");
        if (ch === "," && depth === 0) {
            parts.push(current);
            current = "";
        } else current += ch;
    }
    if (depth !== 0) fail("unbalanced parentheses");
    parts.push(current);
    const key = (k: string, part: string) => {
        if (!LABEL_KEY.test(k)) fail(`"${k}" in "${part}" is not a label key: letters, digits, "-", "_" and "." (up to 63), optionally after "prefix/"`);
        return k;
    };
    const value = (v: string, part: string, emptyOk = false) => {
        if ((v === "" && !emptyOk) || !LABEL_VALUE.test(v)) fail(`"${v}" in "${part}" is not a label value: up to 63 letters, digits, "-", "_" or ".", starting and ending alphanumeric`);
        return v;
    };
    const sorted = (values: string[]) => [...new Set(values)].sort();
    return parts.map((raw): LabelRequirement => {
        const part = raw.trim();
        if (part === "") fail("an empty expression between commas");
        let m: RegExpExecArray | null;
        if ((m = /^([^\s=!(),]+)\s*(==|!=|=)\s*([^\s=!(),]*)$/.exec(part))) {
            // a label value may be empty
            return { key: key(m[1], part), op: m[2] === "!=" ? "notin" : "in", values: [value(m[3], part, true)] };
        } else if ((m = /^([^\s=!(),]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part))) {
            const k = key(m[1], part);
            return { key: k, op: m[2] as "in" | "notin", values: sorted(m[3].split(",").map((v) => value(v.trim(), part))) };
        } else if ((m = /^(!?)\s*([^\s=!(),]+)$/.exec(part))) {
            return { key: key(m[2], part), op: m[1] === "!" ? "absent" : "exists", values: [] };
        }
        return fail(`"${part}" is none of the expressions`);
    });
}

/** A Hetzner label selector, normalised (the program's gate and the policy pack group firewalls by it); `requirements` undefined when Hetzner's grammar cannot read it (it may select anything). */
export interface LabelSelector {
    canonical: string;
    requirements?: LabelRequirement[];
}

function requirementText(r: LabelRequirement): string {
    if (r.op === "exists") return r.key;
    if (r.op === "absent") return `!${r.key}`;
    if (r.values.length === 1) return `${r.key}${r.op === "in" ? "=" : "!="}${r.values[0]}`;
    return `${r.key} ${r.op} (${r.values.join(",")})`;
}

/** "app=web", "app==web" and "app in (web)" are one selector; requirement order does not matter. */
export function readLabelSelector(text: string): LabelSelector {
    try {
        const requirements = parseLabelSelector(text, "labelSelector");
        return { canonical: [...new Set(requirements.map(requirementText))].sort().join(","), requirements };
    } catch {
        return { canonical: text };
    }
}

/** Whether a server with these labels is selected (a missing label satisfies "!=" and "notin", as in Kubernetes' selectors). */
export function selectorSelects(requirements: readonly LabelRequirement[], labels: Record<string, string>): boolean {
    return requirements.every((r) => {
        const has = Object.prototype.hasOwnProperty.call(labels, r.key);
        if (r.op === "exists") return has;
        if (r.op === "absent") return !has;
        const inValues = has && r.values.includes(labels[r.key]);
        return r.op === "in" ? inValues : !inValues;
    });
}

/** Whether one server's labels could satisfy both selectors; an unreadable selector could select anything. */
export function selectorsCouldOverlap(a: LabelSelector, b: LabelSelector): boolean {
    if (!a.requirements || !b.requirements) return true;
    const byKey = new Map<string, LabelRequirement[]>();
    for (const r of [...a.requirements, ...b.requirements]) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
    return [...byKey.values()].every((rs) => {
        const present = rs.some((r) => r.op === "in" || r.op === "exists");
        if (!present) return true; // absent satisfies "!k", "!=" and "notin" alike
        if (rs.some((r) => r.op === "absent")) return false;
        const forbidden = new Set(rs.filter((r) => r.op === "notin").flatMap((r) => r.values));
        const allowed = rs.filter((r) => r.op === "in").map((r) => r.values);
        if (allowed.length === 0) return true; // any value not forbidden
        return allowed.reduce((acc, v) => acc.filter((x) => v.includes(x))).some((v) => !forbidden.has(v));
    });
}

/**
 * Checks a label selector against Hetzner's selector language (`parseLabelSelector`);
 * returns it trimmed, otherwise as written (a rewrite would replace existing
 * firewalls). A selector Hetzner cannot parse would otherwise plan fine and fail at apply.
 * @internal Exported for the tests; not part of the package API.
 */
export function validateLabelSelector(selector: string, field: string): string {
    parseLabelSelector(selector, field);
    return selector.trim();
}

/** One Hetzner firewall as the whole-program check sees it. */
export interface HetznerAttachmentClaim {
    /** Who declares it, for the message (e.g. "firewalls.web"). */
    owner: string;
    /** Its server ids, where known before deployment. */
    serverIds: readonly pulumi.Input<number>[];
}

/**
 * Counts this program's firewalls per server id (Hetzner allows 5 per server,
 * label-selected ones included). Over 5 is an error; exactly 5 is returned as a
 * warning, because a rename-safe replacement needs a sixth for a moment. Firewalls
 * attached by label selector, or made elsewhere, cannot be counted here.
 */
export function checkFirewallsPerServer(firewalls: readonly HetznerAttachmentClaim[]): string[] {
    const owners = new Map<number, string[]>();
    for (const fw of firewalls) {
        for (const id of new Set(fw.serverIds.filter((x): x is number => typeof x === "number"))) owners.set(id, [...(owners.get(id) ?? []), fw.owner]);
    }
    const warnings: string[] = [];
    for (const [id, list] of [...owners].sort(([a], [b]) => a - b)) {
        if (list.length > HETZNER_MAX_FIREWALLS_PER_SERVER) {
            throw new PolicyError(`applyTo.serverIds: server ${id} would get ${list.length} firewalls (${list.join(", ")}); Hetzner allows ${HETZNER_MAX_FIREWALLS_PER_SERVER} per server. Merge firewalls, or attach fewer to this server`);
        }
        if (list.length === HETZNER_MAX_FIREWALLS_PER_SERVER) {
            warnings.push(
                `server ${id} has ${list.length} firewalls from this program (${list.join(", ")}), Hetzner's limit: a change that replaces one of them (name, labels, attachment) needs a sixth for a moment and will fail; keep at most ${HETZNER_MAX_FIREWALLS_PER_SERVER - 1}`,
            );
        }
    }
    return warnings;
}

/** Translates `applyTo` into `applyTos` blocks: selectors first, then servers. */
export function toHetznerApplyTos(applyTo: HetznerApplyTo | undefined): hcloud.types.input.FirewallApplyTo[] {
    const selectors = applyTo?.labelSelectors ?? [];
    const servers = applyTo?.serverIds ?? [];
    if (selectors.length > 0 && servers.length > 0) {
        // A server reached both ways is "managed by label selector" at Hetzner, and
        // later changes to it are refused (firewall_managed_by_label_selector).
        throw new PolicyError("applyTo: give labelSelectors or serverIds, not both; Hetzner refuses later changes to a server attached both ways (firewall_managed_by_label_selector). Put a label on the servers and select it");
    }
    const canonical = selectors.map((s, i) => {
        // Characters first (printable, the selector alphabet; in inert words), then the grammar.
        const problem = labelSelectorProblem(s);
        if (problem) throw new PolicyError(`applyTo.labelSelectors[${i}]: ${showText(s)} ${problem}`);
        return validateLabelSelector(s, `applyTo.labelSelectors[${i}]`);
    });
    servers.forEach((id, i) => {
        if (typeof id === "number" && (!Number.isInteger(id) || id <= 0)) {
            throw new PolicyError(`applyTo.serverIds[${i}]: ${id} is not a server id; use the numeric id of an hcloud.Server`);
        }
    });
    const blocks = [...new Set(canonical)].sort().map((labelSelector) => ({ labelSelector }));
    return [...blocks, ...servers.map((server) => ({ server }))];
}

/** Checks a firewall name and labels against Hetzner's rules. */
export function validateHetznerNaming(name: string, labels: Record<string, string> | undefined): void {
    const max = HETZNER_MAX_NAME - NAME_SUFFIX;
    const problem = nameProblem(name, max);
    if (problem) {
        throw new PolicyError(`firewallName: ${showText(name)} ${problem}${/characters; use/.test(problem) ? ` (Hetzner allows ${HETZNER_MAX_NAME}, and ${NAME_SUFFIX} are kept for the generation suffix)` : ""}`);
    }
    for (const [key, value] of Object.entries(labels ?? {})) {
        const keyProblem = labelKeyProblem(key);
        if (keyProblem) throw new PolicyError(`labels: key ${showText(key)} ${keyProblem}`);
        const valueProblem = labelValueProblem(value);
        if (valueProblem) throw new PolicyError(`labels.${showText(key).slice(1, -1)}: ${showText(value)} ${valueProblem}`);
    }
}

/**
 * The name sent to Hetzner: `<base>-<8 hex>` from a digest of the base name, the
 * labels and the attachment. Deterministic (the same inputs give the same name, so
 * redeploys change nothing), and different whenever any of them changes, so the
 * replacement can be created before the old firewall is deleted.
 */
export function hetznerPhysicalName(base: string, labels: Record<string, string> | undefined, applyTos: unknown[]): string {
    const sortedLabels = Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const digest = createHash("sha256")
        .update(JSON.stringify([base, sortedLabels, applyTos]))
        .digest("hex")
        .slice(0, NAME_SUFFIX - 1);
    return `${base}-${digest}`;
}
