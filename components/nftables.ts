/**
 * The host firewall: the same validated policy and Cloudflare ranges, rendered as
 * one nftables table of ours (family inet). Pure: no I/O. The model is built first
 * (sets and rules, from the rules of `admittedSet`, the ones every provider gets), then
 * written out as text ready for `nft -f`; the same input gives the same bytes.
 *
 * Docker publishes ports by DNAT in prerouting, so those connections never reach an
 * input chain (that is how they walk past ufw). A forward chain therefore holds
 * DNAT'd connections to the same policy, by their original destination port, and
 * drops anything else routed to the container networks that is not theirs.
 * Inbound connections are checked on every packet, so a narrowed policy cuts them.
 */
import { Cidr, mergeCidrs, toCidr } from "./cidr";
import type { CloudflareRanges } from "./cloudflare";
import { admittedSet, PolicyError, PolicyRule, ValidatedPolicy } from "./policy";
import { escapeText, MAX_DESCRIPTION_BYTES, truncateUtf8 } from "./text";

/** The longest comment nft accepts, in bytes (nftables src/parser_bison.y, libnftnl `NFTNL_UDATA_COMMENT_MAXLEN`). */
const NFT_COMMENT_MAX_BYTES = MAX_DESCRIPTION_BYTES;

/** Name of the one table this package owns on a host. @internal Exported for the tests; not part of the package API. */
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
    /** The `allowPing` rule: echo requests only, rate limited. */
    ping?: boolean;
}

/** The whole host ruleset, before it is written out. */
export interface NftRuleset {
    sets: NftSet[];
    rules: NftRule[];
}

/**
 * The name of the set holding a rule's sources of one family, from the rule's kind
 * and position only (never its description, which is only a comment): ssh_v4,
 * cloudflare_v6, rule3_v4 (rules[3]), ping_v4.
 */
function nftSetName(rule: Pick<PolicyRule, "kind" | "index">, family: 4 | 6): string {
    const base = rule.kind === "extra" ? `rule${rule.index}` : rule.kind === "cloudflare" || rule.kind === "ssh" || rule.kind === "ping" ? rule.kind : undefined;
    if (base === undefined) throw new Error(`nftables: a ${rule.kind} rule has no place in the host's inbound ruleset`);
    return `${base}_v${family}`;
}

/**
 * Builds the host model from the admitted set's rules (the ones every provider
 * gets): one set per distinct source list and family (shared by the rules that use
 * it, e.g. the Cloudflare ranges on 80 and 443), one rule per policy rule and
 * family. Set names are unique: a name is never given to two different lists.
 * @internal Exported for the tests; not part of the package API.
 */
export function buildNftRuleset(policy: ValidatedPolicy, ranges: CloudflareRanges): NftRuleset {
    const sets: NftSet[] = [];
    const byContent = new Map<string, string>();
    const contentOf = new Map<string, string>();
    const rules: NftRule[] = [];
    for (const rule of admittedSet(policy, ranges).rules) {
        const parsed = rule.sources.map(toCidr);
        for (const family of [4, 6] as const) {
            const elements = mergeCidrs(parsed.filter((c: Cidr) => c.family === family)).map((c) => c.text);
            if (elements.length === 0) continue;
            const key = `${family} ${elements.join(",")}`;
            let name = byContent.get(key);
            if (!name) {
                name = nftSetName(rule, family);
                if (contentOf.has(name)) throw new Error(`nftables: set name ${name} would hold two different source lists`);
                contentOf.set(name, key);
                byContent.set(key, name);
                sets.push({ name, family, elements });
            }
            // The allowPing rule, by its kind (an extra icmp rule is not it).
            const ping = rule.kind === "ping";
            rules.push({ comment: rule.description, protocol: rule.protocol, port: rule.port, family, set: name, ...(ping ? { ping } : {}) });
        }
    }
    return { sets, rules };
}

/**
 * The one way text enters the ruleset: an nftables comment string. nft's scanner
 * reads a quoted string as `"[^"]*"`, with no escapes (src/scanner.l), so `"`
 * becomes `'`; control, format and separator characters are made visible (`\x1b`,
 * as in the terminal; a validated description has none); and the result is cut to
 * 128 bytes of UTF-8 at a character boundary, the most nft takes
 * (`NFTNL_UDATA_COMMENT_MAXLEN`; a validated description always fits).
 * @internal Exported for the tests; not part of the package API.
 */
export function nftComment(text: string): string {
    return `"${truncateUtf8(escapeText(text, { keepBackslashes: true }).replace(/"/g, "'"), NFT_COMMENT_MAX_BYTES)}"`;
}

function match(rule: NftRule, original: boolean): string {
    const saddr = `${rule.family === 4 ? "ip" : "ip6"} saddr @${rule.set}`;
    // Ping admits echo requests only (not timestamp, address-mask... requests), rate limited.
    if (rule.ping) return `${rule.family === 4 ? "icmp" : "icmpv6"} type echo-request ${saddr} limit rate ${PING_RATE}`;
    if (rule.protocol === "icmp") return `meta l4proto ${rule.family === 4 ? "icmp" : "ipv6-icmp"} ${saddr}`;
    const port = rule.port === undefined ? "" : original ? ` ct original proto-dst ${rule.port}` : ` ${rule.protocol} dport ${rule.port}`;
    return original ? `meta l4proto ${rule.protocol}${port} ${saddr}` : `${rule.port === undefined ? `meta l4proto ${rule.protocol}` : port.trim()} ${saddr}`;
}

/** Echo requests answered per second (and burst) with `allowPing`. */
const PING_RATE = "10/second burst 20 packets";
/** Prefix of the kernel log line of every logged drop: `journalctl -k | grep cof-drop`. @internal Exported for the tests; not part of the package API. */
export const NFT_LOG_PREFIX = "cof-drop";
/** Logged drops per second (and burst) per chain; every drop is counted regardless. */
const NFT_LOG_RATE = "5/second burst 10 packets";

/** Host-only settings the cloud firewall has no counterpart for. */
export interface NftHostOptions {
    /**
     * Containers (traffic entering from `containerBridges`) may open connections to
     * the host itself, e.g. a database on 172.17.0.1, as Docker without a firewall
     * allows. Default true; false drops them (counted and logged).
     */
    allowContainersToHost?: boolean;
    /**
     * The container networks' bridge interfaces; a trailing `*` matches a prefix.
     * Default `docker0` and `br-*` (Docker's default and user-defined networks).
     */
    containerBridges?: string[];
}

const DEFAULT_CONTAINER_BRIDGES: readonly string[] = ["docker0", "br-*"];

/**
 * Where container networks live: private IPv4 (RFC 1918, and RFC 6598 shared space) and
 * IPv6 unique local addresses (Docker's default pools are all in them). Traffic from a
 * container bridge counts as the containers' only from these sources, routed back
 * through that same bridge: a public uplink that happens to match a bridge pattern
 * (OpenStack's br-ex) is not trusted with the internet's traffic.
 */
const CONTAINER_SOURCES = { v4: ["10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16"], v6: ["fc00::/7"] } as const;

/** Prefixes of uplink names (eth0, ens3, enp1s0, wlan0, bond0, ppp0, ib0, vlan10, team0): never container bridges. */
const UPLINK_PREFIXES = ["eth", "en", "wl", "ww", "bond", "team", "vlan", "ppp", "ib", "lo"];

/** Checks the host options; errors name the field, the value and the fix. */
export function validateNftHostOptions(options: NftHostOptions = {}): Required<NftHostOptions> {
    const allow = options.allowContainersToHost ?? true;
    if (typeof allow !== "boolean") throw new PolicyError(`allowContainersToHost: ${JSON.stringify(allow)} must be true or false`);
    const bridges = options.containerBridges ?? [...DEFAULT_CONTAINER_BRIDGES];
    if (!Array.isArray(bridges) || bridges.length === 0) throw new PolicyError(`containerBridges: ${JSON.stringify(bridges)} must be a non-empty list of interface names, e.g. ["docker0", "br-*"]`);
    for (const [i, b] of bridges.entries()) {
        // Linux interface names: at most 15 bytes, no spaces, quotes or slashes.
        if (typeof b !== "string" || !/^[A-Za-z0-9_.:-]{1,15}\*?$/.test(b)) {
            throw new PolicyError(`containerBridges[${i}]: ${JSON.stringify(b)} is not an interface name; use up to 15 letters, digits, "_.:-", optionally ending in * (e.g. "br-*")`);
        }
        const stem = b.replace(/\*$/, "");
        if (b.endsWith("*") && stem.length < 3) {
            throw new PolicyError(`containerBridges[${i}]: ${JSON.stringify(b)} is too wide a pattern: it could match the host's uplink; give at least 3 characters before the * (e.g. "br-*", "virbr*")`);
        }
        const uplink = UPLINK_PREFIXES.find((u) => stem.startsWith(u) || (b.endsWith("*") && u.startsWith(stem)));
        if (uplink) {
            throw new PolicyError(
                `containerBridges[${i}]: ${JSON.stringify(b)} names or matches an uplink (interfaces named "${uplink}…" carry the host's own network); traffic from a container bridge is trusted like the containers, so list only the container networks' bridges (e.g. "docker0", "br-*", "podman0")`,
            );
        }
    }
    return { allowContainersToHost: allow, containerBridges: [...new Set(bridges)].sort() };
}

/**
 * Writes the model out as an nftables script that atomically replaces the contents
 * of our table only. The table, its base chains and its sets are kept across
 * reloads (declared, then flushed and refilled in the same transaction): a set
 * created in the transaction that also switches the rules to it is empty to
 * packets for a moment, which dropped about one new connection per 25 reloads.
 * A reload never removes objects; `host/cof-host.sh apply` deletes the ones the
 * new ruleset no longer declares, in the same transaction.
 * @internal Exported for the tests; not part of the package API.
 */
export function formatNftRuleset(model: NftRuleset, header = "cloudflare-origin-firewall", options: NftHostOptions = {}): string {
    const host = validateNftHostOptions(options);
    const bridges = `{ ${host.containerBridges.map((b) => `"${b}"`).join(", ")} }`;
    // From a container bridge, from a container network's addresses, routed back through that bridge.
    const fromContainers = [`iifname ${bridges} ip saddr { ${CONTAINER_SOURCES.v4.join(", ")} } fib saddr . iif oif exists`, `iifname ${bridges} ip6 saddr { ${CONTAINER_SOURCES.v6.join(", ")} } fib saddr . iif oif exists`];
    const log = (chain: string) => `limit rate ${NFT_LOG_RATE} log prefix "${NFT_LOG_PREFIX} ${chain}: " level info`;
    const chains: [string, string][] = [
        ["input", "type filter hook input priority filter; policy drop;"],
        ["forward", "type filter hook forward priority filter; policy drop;"],
        ["published", ""],
    ];
    const lines: string[] = [
        "#!/usr/sbin/nft -f",
        `# ${escapeText(header)}: generated, do not edit by hand.`, // one line, whatever the caller passed
        "# Loading it replaces the contents of this table only, in one transaction, keeping its",
        "# base chains and sets (no moment without rules, no set empty to packets); other tables",
        "# (Docker's, the distribution's) are left alone.",
        `table inet ${NFT_TABLE} {`,
        ...model.sets.map((set) => `\tset ${set.name} { type ${set.family === 4 ? "ipv4_addr" : "ipv6_addr"}; flags interval; }`),
        ...chains.map(([name, hook]) => `\tchain ${name} {${hook ? ` ${hook}` : ""} }`),
        "}",
        `flush table inet ${NFT_TABLE}`,
        ...model.sets.map((set) => `flush set inet ${NFT_TABLE} ${set.name}`),
        "",
        `table inet ${NFT_TABLE} {`,
    ];
    for (const set of model.sets) {
        lines.push(`\tset ${set.name} {`, `\t\ttype ${set.family === 4 ? "ipv4_addr" : "ipv6_addr"}`, "\t\tflags interval");
        lines.push(`\t\telements = { ${set.elements.join(",\n\t\t\t     ")} }`, "\t}", "");
    }
    lines.push(
        "\t# The policy is checked on every packet of a connection, not only the first: when an",
        "\t# apply narrows it, connections it no longer admits stop at once.",
        "\tchain input {",
        "\t\ttype filter hook input priority filter; policy drop;",
        "\t\tct state invalid drop",
        '\t\tct direction reply accept comment "replies to connections the host opened"',
        "\t\tct state related accept",
        '\t\tiif "lo" accept',
        "\t\t# What IPv6 needs to work at all (neighbour discovery, path MTU) and the ICMP error types.",
        "\t\tmeta l4proto ipv6-icmp icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept",
        "\t\tmeta l4proto icmp icmp type { destination-unreachable, time-exceeded, parameter-problem } accept",
        '\t\tip6 saddr fe80::/10 udp sport 547 udp dport 546 accept comment "DHCPv6 replies to this host\'s client"',
    );
    if (host.allowContainersToHost) for (const m of fromContainers) lines.push(`\t\t${m} accept comment "containers to the host (allowContainersToHost)"`);
    for (const rule of model.rules) lines.push(`\t\t${match(rule, false)} accept comment ${nftComment(rule.comment)}`);
    lines.push(
        `\t\t${log("input")}`,
        "\t\tcounter drop",
        "\t}",
        "",
        "\t# Docker publishes ports by DNAT in prerouting: those connections are forwarded and",
        "\t# never pass input. They are held to the same policy by their original destination",
        "\t# port. Nothing else is routed through the host (a private network, another bridge:",
        "\t# the cloud firewall would drop it too) but what the containers' own bridges send, and",
        "\t# the answers to connections admitted here.",
        "\tchain forward {",
        "\t\ttype filter hook forward priority filter; policy drop;",
        '\t\tct direction reply accept comment "answers to forwarded connections admitted below"',
        "\t\tct state related accept",
        "\t\tct status dnat ct direction original jump published",
        '\t\tct status dnat accept comment "published: held to the policy above"',
        ...fromContainers.map((m) => `\t\t${m} accept comment "containers' own connections"`),
        `\t\t${log("forward")}`,
        "\t\tcounter drop",
        "\t}",
        "",
        "\tchain published {",
    );
    for (const rule of model.rules.filter((r) => r.protocol !== "icmp")) lines.push(`\t\t${match(rule, true)} return comment ${nftComment(rule.comment)}`);
    lines.push(`\t\t${log("published")}`, "\t\tcounter drop", "\t}", "}", "");
    return lines.join("\n");
}

/** The complete host ruleset for a validated policy and validated Cloudflare ranges. */
export function renderNftables(policy: ValidatedPolicy, ranges: CloudflareRanges, options: NftHostOptions = {}): string {
    return formatNftRuleset(buildNftRuleset(policy, ranges), undefined, options);
}
