/**
 * The host firewall: the same validated policy and Cloudflare ranges, rendered as
 * one nftables table of ours (family inet). Pure: no I/O. The model is built first
 * (sets and rules, from `renderPolicy`, so the admitted set is the providers'), then
 * written out as text ready for `nft -f`; the same input gives the same bytes.
 *
 * Docker publishes ports by DNAT in prerouting, so those connections never reach an
 * input chain (that is how they walk past ufw). A forward chain therefore holds new
 * DNAT'd connections to the same policy, by their original destination port.
 */
import { Cidr, mergeCidrs, toCidr } from "./cidr";
import type { CloudflareRanges } from "./cloudflare";
import { PolicyRule, renderPolicy, ValidatedPolicy } from "./policy";

/** Name of the one table this package owns on a host. */
export const NFT_TABLE = "cloudflare_origin_firewall";

/** A named interval set of one family. */
export interface NftSet {
    name: string;
    family: 4 | 6;
    /** Merged (no element inside another), canonical, sorted. */
    elements: string[];
}

/** One admitting rule: protocol, optional port spec, and the set its sources are in. */
export interface NftRule {
    comment: string;
    protocol: "tcp" | "udp" | "icmp";
    port?: string;
    family: 4 | 6;
    set: string;
}

/** The whole host ruleset, before it is written out. */
export interface NftRuleset {
    sets: NftSet[];
    rules: NftRule[];
}

function setBaseName(rule: PolicyRule, index: number, sshPort: number): string {
    if (/from Cloudflare only$/.test(rule.description)) return "cloudflare";
    if (index === 0 && rule.port === String(sshPort)) return "ssh";
    if (rule.protocol === "icmp" && /^ICMP \(ping\)/.test(rule.description)) return "ping";
    return `rule${index}`;
}

/**
 * Builds the host model: one set per distinct source list and family (shared by
 * the rules that use it, e.g. the Cloudflare ranges on 80 and 443), one rule per
 * policy rule and family.
 */
export function buildNftRuleset(policy: ValidatedPolicy, ranges: CloudflareRanges): NftRuleset {
    const sets: NftSet[] = [];
    const byContent = new Map<string, string>();
    const rules: NftRule[] = [];
    renderPolicy(policy, ranges).forEach((rule, index) => {
        const parsed = rule.sources.map(toCidr);
        for (const family of [4, 6] as const) {
            const elements = mergeCidrs(parsed.filter((c: Cidr) => c.family === family)).map((c) => c.text);
            if (elements.length === 0) continue;
            const key = `${family} ${elements.join(",")}`;
            let name = byContent.get(key);
            if (!name) {
                name = `${setBaseName(rule, index, policy.ssh.port)}_v${family}`;
                byContent.set(key, name);
                sets.push({ name, family, elements });
            }
            rules.push({ comment: rule.description, protocol: rule.protocol, port: rule.port, family, set: name });
        }
    });
    return { sets, rules };
}

const quote = (s: string) => `"${s.replace(/["\\]/g, "").slice(0, 120)}"`;

function match(rule: NftRule, original: boolean): string {
    const saddr = `${rule.family === 4 ? "ip" : "ip6"} saddr @${rule.set}`;
    if (rule.protocol === "icmp") return `meta l4proto ${rule.family === 4 ? "icmp" : "ipv6-icmp"} ${saddr}`;
    const port = rule.port === undefined ? "" : original ? ` ct original proto-dst ${rule.port}` : ` ${rule.protocol} dport ${rule.port}`;
    return original ? `meta l4proto ${rule.protocol}${port} ${saddr}` : `${rule.port === undefined ? `meta l4proto ${rule.protocol}` : port.trim()} ${saddr}`;
}

/** Writes the model out as an nftables script that atomically replaces only our table. */
export function formatNftRuleset(model: NftRuleset, header = "cloudflare-origin-firewall"): string {
    const lines: string[] = [
        "#!/usr/sbin/nft -f",
        `# ${header}: generated, do not edit by hand.`,
        "# Loading it replaces only this table, in one transaction; other tables (Docker's, the distribution's) are left alone.",
        `table inet ${NFT_TABLE}`,
        `delete table inet ${NFT_TABLE}`,
        `table inet ${NFT_TABLE} {`,
    ];
    for (const set of model.sets) {
        lines.push(`\tset ${set.name} {`, `\t\ttype ${set.family === 4 ? "ipv4_addr" : "ipv6_addr"}`, "\t\tflags interval");
        lines.push(`\t\telements = { ${set.elements.join(",\n\t\t\t     ")} }`, "\t}", "");
    }
    lines.push(
        "\tchain input {",
        "\t\ttype filter hook input priority filter; policy drop;",
        "\t\tct state established,related accept",
        "\t\tct state invalid drop",
        '\t\tiif "lo" accept',
        "\t\t# What IPv6 needs to work at all (neighbour discovery, path MTU) and the ICMP error types.",
        "\t\tmeta l4proto ipv6-icmp icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept",
        "\t\tmeta l4proto icmp icmp type { destination-unreachable, time-exceeded, parameter-problem } accept",
    );
    for (const rule of model.rules) lines.push(`\t\t${match(rule, false)} accept comment ${quote(rule.comment)}`);
    lines.push(
        "\t}",
        "",
        "\t# Docker-published ports are DNAT'd before input and forwarded: hold new DNAT'd",
        "\t# connections to the same policy by their original destination port. Everything",
        "\t# else forwarded (containers' own traffic) is left to the other tables.",
        "\tchain forward {",
        "\t\ttype filter hook forward priority filter; policy accept;",
        "\t\tct state new ct status dnat jump published",
        "\t}",
        "",
        "\tchain published {",
    );
    for (const rule of model.rules.filter((r) => r.protocol !== "icmp")) lines.push(`\t\t${match(rule, true)} return comment ${quote(rule.comment)}`);
    lines.push("\t\tdrop", "\t}", "}", "");
    return lines.join("\n");
}

/** The complete host ruleset for a validated policy and validated Cloudflare ranges. */
export function renderNftables(policy: ValidatedPolicy, ranges: CloudflareRanges): string {
    return formatNftRuleset(buildNftRuleset(policy, ranges));
}
