/**
 * The stack config format of this project's program, validated with zod before
 * any resource is created. Errors name the config key and value. Reusable by
 * other programs that keep the same format.
 */
import { z } from "zod";
import { cloudflareUrlProblem } from "./cloudflare";
import { checkOneEdgePerZone, validateEdge } from "./cloudflare-edge-rules";
import { validateDigitalOceanPlacement, validateEgress } from "./digitalocean-rules";
import { toHetznerApplyTos, validateHetznerNaming } from "./hetzner-rules";
import { CidrError, parseSingleAddress } from "./cidr";
import { validateDnsServers } from "./names";
import { traceUrlProblem } from "./trace";
import { validateNftHostOptions } from "./nftables";
import { validatePolicy } from "./policy";
import { suggestKey } from "./suggest";
import { descriptionProblem, escapeText, hostAddressProblem, labelSelectorProblem, showText, usernameProblem } from "./text";

export { suggestKey } from "./suggest";

const DESCRIPTION_HINT = 'every rule needs a description saying what it admits, e.g. description: "Grafana from the office"';
const port = z
    .number({ error: "is not a port; use a whole number from 1 to 65535" })
    .int("is not a port; use a whole number from 1 to 65535")
    .min(1, "is not a port; use a whole number from 1 to 65535")
    .max(65535, "is not a port; use a whole number from 1 to 65535");
const addresses = z.array(z.string({ error: "must be an address or CIDR block in quotes" }), { error: "must be a list of addresses or CIDR blocks" });
const portSpec = z.union([port, z.string()], { error: 'must be a port (9000) or a range ("8000-8100")' });
const protocol = z.enum(["tcp", "udp", "icmp"], { error: 'must be "tcp", "udp" or "icmp"' });
/** A string that `problemOf` (one of the validators in components/text.ts) accepts. */
const textAllowedBy = (problemOf: (value: string) => string | undefined, params?: Parameters<typeof z.string>[0]) =>
    z.string(params).superRefine((value, ctx) => {
        const problem = problemOf(value);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
    });

const common = {
    /** SSH access. */
    ssh: z.strictObject({ sources: addresses, port: port.optional(), allowFromAnywhere: z.boolean().optional() }),
    /** Ports reachable only from Cloudflare. */
    cloudflare: z.strictObject({ ports: z.array(port).optional() }).optional(),
    /** Additional inbound rules. */
    rules: z
        .array(z.strictObject({ description: textAllowedBy(descriptionProblem, { error: (i) => `${i.input === undefined ? "" : "must be text; "}${DESCRIPTION_HINT}` }), protocol: protocol.optional(), port: portSpec.optional(), sources: addresses }))
        .optional(),
    /** ICMP from anywhere. */
    allowPing: z.boolean().optional(),
    /** Name at the provider; default the key. */
    firewallName: z.string().optional(),
    /** The Cloudflare side: proxied DNS, Authenticated Origin Pulls, SSL mode, edge blocks. */
    edge: z
        .strictObject({
            zoneId: z.string({ error: "must be the zone's id: 32 hex digits, on the domain's Overview page in the Cloudflare dashboard" }),
            records: z.record(z.string(), z.strictObject({ ipv4: z.string().optional(), ipv6: z.string().optional() })).optional(),
            authenticatedOriginPulls: z.union([z.boolean(), z.strictObject({ generations: z.array(z.number()) })]).optional(),
            sslMode: z.enum(["strict", "full"], { error: 'must be "strict" or "full"' }).optional(),
            blockedSources: addresses.optional(),
        })
        .optional(),
    /** The host firewall (nftables): delivered over SSH at each deploy, with commit-confirm. */
    hostFirewall: z
        .strictObject({
            overSsh: z
                .strictObject({
                    hosts: z.array(textAllowedBy(hostAddressProblem), { error: "must be a list of host addresses or names" }).min(1, "must list at least one host"),
                    user: textAllowedBy(usernameProblem).optional(),
                    port: port.optional(),
                    deliverInCi: z.boolean().optional(),
                })
                .optional(),
            rollbackSeconds: z.number().int().min(10, "must be 10 to 600 seconds").max(600, "must be 10 to 600 seconds").optional(),
            /** Containers may open connections to the host itself; default true. */
            allowContainersToHost: z.boolean().optional(),
            /** The container networks' bridges; default docker0 and br-*. */
            containerBridges: z.array(z.string(), { error: 'must be a list of interface names, e.g. ["docker0", "br-*"]' }).optional(),
        })
        .optional(),
    /** Addresses of the servers behind this firewall, for `npm run audit` and the scheduled audit. */
    audit: z
        .strictObject({
            hosts: z.array(z.string(), { error: "must be a list of server addresses" }).min(1, "must list at least one server address"),
            ports: z.string().optional(),
        })
        .optional(),
};

const hetzner = z.strictObject({
    provider: z.literal("hetzner"),
    ...common,
    applyTo: z.strictObject({ labelSelectors: z.array(textAllowedBy(labelSelectorProblem)).optional(), serverIds: z.array(z.number().int().positive()).optional() }).optional(),
    labels: z.record(z.string(), z.string()).optional(),
});

const digitalocean = z.strictObject({
    provider: z.literal("digitalocean"),
    ...common,
    dropletIds: z.array(z.number().int().positive()).optional(),
    tags: z.array(z.string()).optional(),
    egress: z.union([z.enum(["allow-all", "deny-all"]), z.array(z.strictObject({ protocol: protocol.optional(), port: portSpec.optional(), destinations: addresses }))]).optional(),
});

/** A URL that `problemOf` accepts (it returns why it refuses one). */
const urlAllowedBy = (problemOf: (url: string) => string | undefined) =>
    z.string().superRefine((url, ctx) => {
        const problem = problemOf(url);
        if (problem) ctx.addIssue({ code: "custom", message: `is refused: ${problem}` });
    });

const firewall = z.discriminatedUnion("provider", [hetzner, digitalocean], { error: 'provider must be "hetzner" or "digitalocean"' });

/** The project's stack config, after validation. */
const stackConfigSchema = z.strictObject({
    /** Firewalls keyed by a stable name (a map, so identities never shift). */
    firewalls: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "must be lower-case letters, digits and dashes"), firewall).refine((m) => Object.keys(m).length > 0, "declares no firewall; add at least one under firewalls"),
    /** Cloudflare endpoint: https://api.cloudflare.com/… only, or loopback (tests, offline plan). */
    cloudflareUrl: urlAllowedBy(cloudflareUrlProblem).optional(),
    /** Private key for the host firewall's SSH delivery; set it with `pulumi config set --secret sshPrivateKey`. */
    sshPrivateKey: z.string().optional(),
    /** The lockout guard: error (default), warn (default when CI is set) or off. */
    lockoutGuard: z.enum(["error", "warn", "off"], { error: 'must be "error", "warn" or "off"' }).optional(),
    /** Resolvers for DNS names among the sources ("203.0.113.53", "127.0.0.1:5353"); default the system's. */
    dnsServers: z.array(z.string(), { error: "must be a list of resolver addresses" }).optional(),
    /** Where the lockout guard learns this machine's address: Cloudflare's trace endpoint (default) or loopback (tests). */
    traceUrl: urlAllowedBy(traceUrlProblem).optional(),
    /** Check the lockout guard against this address instead of detecting it (the offline plan's --deployer-address). */
    deployerAddress: z.string().optional(),
});

export type StackConfig = z.infer<typeof stackConfigSchema>;
export type FirewallConfig = z.infer<typeof firewall>;

/** Invalid stack config; the message names the key and value. */
export class ConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ConfigError";
    }
}

function keyPath(path: readonly PropertyKey[]): string {
    // Keys are the user's text too (label keys, hostnames): escaped like any value.
    return escapeText(path.reduce<string>((acc, k) => (typeof k === "number" ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), ""));
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
    return path.reduce<unknown>((o, k) => (o === null || o === undefined ? undefined : (o as Record<PropertyKey, unknown>)[k]), root);
}

const HETZNER_ONLY = ["applyTo", "labels"];
const DIGITALOCEAN_ONLY = ["dropletIds", "tags", "egress"];

function shapeOf(schema: z.ZodType): string[] {
    return Object.keys((schema as unknown as { shape: Record<string, unknown> }).shape ?? {});
}

function unknownKeyMessage(at: string, keys: string[], raw: unknown, path: readonly PropertyKey[]): string {
    const where = at || "config";
    const parent = valueAt(raw, path) as Record<string, unknown> | undefined;
    const provider = path.length === 2 && path[0] === "firewalls" ? parent?.provider : undefined;
    return keys
        .map((k) => {
            if (provider === "digitalocean" && HETZNER_ONLY.includes(k)) {
                return `${where}: "${k}" is a Hetzner setting, and this firewall's provider is digitalocean; DigitalOcean firewalls attach with dropletIds or tags`;
            }
            if (provider === "hetzner" && DIGITALOCEAN_ONLY.includes(k)) {
                return `${where}: "${k}" is a DigitalOcean setting, and this firewall's provider is hetzner; Hetzner firewalls attach with applyTo (labelSelectors or serverIds)${k === "egress" ? " and allow all egress" : ""}`;
            }
            const known = path.length === 0 ? shapeOf(stackConfigSchema) : path.length === 2 && path[0] === "firewalls" ? shapeOf(provider === "digitalocean" ? digitalocean : hetzner) : [];
            const guess = suggestKey(k, known);
            return `${where}: unknown key ${showText(k)}; ${guess ? `did you mean "${guess}"?` : "check the spelling against the README's config reference"}`;
        })
        .join("; ");
}

const EXPECTED: Record<string, string> = {
    string: "text in quotes",
    number: "a number",
    boolean: "true or false",
    object: "a map of settings (key: value)",
    array: "a list",
};

/** Zod's own wording for a wrong type, where the schema gives none, replaced by ours. */
function inOurWords(issue: { code?: string; expected?: unknown; input?: unknown }): string | undefined {
    if (issue.code !== "invalid_type") return undefined;
    const what = EXPECTED[String(issue.expected)] ?? String(issue.expected);
    return `${issue.input === undefined ? `give ${what}` : `must be ${what}`}; see the README's config reference`;
}

/**
 * A project's own keys out of a stack's whole config (`pulumi.runtime.allConfig()`,
 * or the stack file as the offline tools read it): "project:key" becomes "key", other
 * namespaces (hcloud:, digitalocean:) are left to their providers; values are
 * parsed from JSON where they are JSON (objects, lists, numbers, booleans) and kept
 * as text otherwise (Pulumi stores plain strings unquoted). The input of `parseStackConfig`.
 */
export function projectConfigValues(project: string, all: Readonly<Record<string, string>>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(all)) {
        if (!key.startsWith(`${project}:`)) continue;
        try {
            out[key.slice(project.length + 1)] = JSON.parse(value);
        } catch {
            out[key.slice(project.length + 1)] = value;
        }
    }
    return out;
}

/**
 * Validates raw stack config (`key` without the project prefix -> parsed value):
 * shape and unknown keys with zod, then every firewall with the same pure
 * validators the components use, so that all errors come before any resource.
 */
export function parseStackConfig(raw: Record<string, unknown>): StackConfig {
    if (raw.firewalls === undefined) {
        const typo = Object.keys(raw).find((k) => suggestKey(k, ["firewalls"]) === "firewalls");
        throw new ConfigError(
            typo
                ? `config: unknown key "${typo}"; did you mean "firewalls"?`
                : "config: no firewalls are declared; add cloudflare-origin-firewall:firewalls to the stack file (stacks/Pulumi.<stack>.yaml), a map of name -> firewall; see the README's config reference",
        );
    }
    const result = stackConfigSchema.safeParse(raw, { error: inOurWords });
    if (!result.success) {
        const issue = result.error.issues.find((i) => i.code === "unrecognized_keys") ?? result.error.issues[0];
        const at = keyPath(issue.path);
        if (issue.code === "unrecognized_keys") {
            throw new ConfigError(unknownKeyMessage(at, issue.keys, raw, issue.path));
        }
        if (issue.code === "invalid_key") {
            const key = String(issue.path[issue.path.length - 1]);
            throw new ConfigError(`${at}: the name ${showText(key)} ${issue.issues[0]?.message ?? issue.message}`);
        }
        const value = valueAt(raw, issue.path);
        throw new ConfigError(value === undefined ? `${at}: missing; ${issue.message}` : `${at}: ${showText(value)} ${issue.message}`);
    }
    for (const [name, fw] of Object.entries(result.data.firewalls)) {
        try {
            validatePolicy(fw, "defer"); // DNS names are judged once resolved, at deploy time
            const firewallName = fw.firewallName ?? name;
            if (fw.provider === "hetzner") {
                validateHetznerNaming(firewallName, fw.labels);
                toHetznerApplyTos(fw.applyTo);
            } else {
                validateDigitalOceanPlacement(fw, firewallName);
                validateEgress(fw.egress);
            }
        } catch (e) {
            throw new ConfigError(`firewalls.${name}.${(e as Error).message}`);
        }
        for (const [i, host] of (fw.audit?.hosts ?? []).entries()) {
            try {
                parseSingleAddress(host);
            } catch (e) {
                throw new ConfigError(`firewalls.${name}.audit.hosts[${i}]: ${(e as CidrError).message}; give each server address to check`);
            }
        }
        if (fw.hostFirewall) {
            try {
                validateNftHostOptions(fw.hostFirewall);
            } catch (e) {
                throw new ConfigError(`firewalls.${name}.hostFirewall.${(e as Error).message}`);
            }
        }
        if (fw.edge) {
            try {
                validateEdge(fw.edge, `${name}-edge`);
            } catch (e) {
                throw new ConfigError(`firewalls.${name}.edge.${(e as Error).message}`);
            }
        }
    }
    try {
        // One edge per zone across the whole program (one origin-pull certificate per zone).
        checkOneEdgePerZone(Object.entries(result.data.firewalls).flatMap(([name, fw]) => (fw.edge ? [{ owner: `firewalls.${name}.edge`, zoneId: fw.edge.zoneId }] : [])));
    } catch (e) {
        throw new ConfigError((e as Error).message);
    }
    if (result.data.dnsServers) {
        try {
            validateDnsServers(result.data.dnsServers);
        } catch (e) {
            throw new ConfigError((e as Error).message);
        }
    }
    if (result.data.deployerAddress !== undefined) {
        try {
            parseSingleAddress(result.data.deployerAddress);
        } catch (e) {
            throw new ConfigError(`deployerAddress: ${(e as CidrError).message}`);
        }
    }
    return result.data;
}
