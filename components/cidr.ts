/**
 * CIDR parsing, canonical form and ordering. Every address that reaches a
 * firewall passes through here, so that the same set of ranges always renders to
 * byte-identical text (no perpetual diffs) and odd spellings are refused.
 */
import * as ipaddr from "ipaddr.js";

/** A parsed, canonical CIDR block. */
export interface Cidr {
    /** 4 or 6. */
    family: 4 | 6;
    /** Network address bytes (4 or 16). */
    bytes: number[];
    /** Prefix length. */
    prefix: number;
    /** Canonical text: network address (RFC 5952 for IPv6) and prefix. */
    text: string;
}

/** Thrown for input that is not a usable IP address or CIDR block. */
export class CidrError extends Error {
    /** True when the input is an IPv6 form that embeds an IPv4 address (its own, more precise message). */
    readonly embeddedIpv4: boolean;
    constructor(message: string, embeddedIpv4 = false) {
        super(message);
        this.name = "CidrError";
        this.embeddedIpv4 = embeddedIpv4;
    }
}

const SHAPE = /^([0-9A-Fa-f.:]+)(?:\/(0|[1-9][0-9]{0,2}))?$/;
const EXAMPLE = 'expected an address such as "203.0.113.7" or "2001:db8::1", or a block such as "203.0.113.0/24"';

/**
 * How an address is read. "user" (the default) refuses IPv6 forms that embed IPv4.
 * "provider-read" reads what a provider was handed as the provider does (Go's
 * net.ParseCIDR, then IPNet.String()): a dotted IPv4 tail is part of the IPv6
 * address, and a block inside ::ffff:0:0/96 becomes the IPv4 block with prefix − 96
 * (golang/go src/net/ip.go networkNumberAndMask: To4() then the mask's last 4 bytes).
 */
export type CidrMode = "user" | "provider-read";

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function parseIp(text: string, input: string, mode: CidrMode): ipaddr.IPv4 | ipaddr.IPv6 {
    if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
        return ipaddr.IPv4.parse(text);
    }
    // ipaddr.js also accepts "127.1", "0x7f.0.0.1" and octal for IPv4; a dotted
    // address that is not four plain decimal parts is refused, not reinterpreted.
    const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (dotted && text.includes(":") && mode === "provider-read") {
        // Go reads the dotted tail as the last 32 bits; ipaddr.js would turn "::a.b.c.d" into "::ffff:a.b.c.d", so it gets hex.
        if (!ipaddr.IPv4.isValidFourPartDecimal(dotted[2])) throw new CidrError(`"${input}" is not a valid IP address or CIDR block (${EXAMPLE})`);
        const [a, b, c, d] = ipaddr.IPv4.parse(dotted[2]).octets;
        const hex = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
        if (ipaddr.IPv6.isValid(hex)) return ipaddr.IPv6.parse(hex);
        throw new CidrError(`"${input}" is not a valid IP address or CIDR block (${EXAMPLE})`);
    }
    if (dotted && text.includes(":")) {
        // ipaddr.js reads "::a.b.c.d" (IPv4-compatible) as "::ffff:a.b.c.d" (mapped): a
        // different address. Embedded IPv4 is never what a firewall should be given.
        const zeros = (t: string) => /^[0:]*$/.test(t);
        const kind = /^[0:]*ffff:$/i.test(dotted[1]) && zeros(dotted[1].slice(0, -5)) ? "IPv4-mapped" : zeros(dotted[1]) ? "IPv4-compatible" : undefined;
        if (kind) throw new CidrError(`"${input}" is an ${kind} IPv6 form of ${dotted[2]}; write the IPv4 address "${dotted[2]}" itself (providers read it as IPv4 anyway)`, true);
        throw new CidrError(`"${input}" mixes IPv6 and dotted IPv4 notation; write the IPv6 address in hex only`, true);
    }
    if (text.includes(":") && ipaddr.IPv6.isValid(text)) {
        return ipaddr.IPv6.parse(text);
    }
    throw new CidrError(`"${input}" is not a valid IP address or CIDR block (${EXAMPLE})`);
}

function networkBytes(bytes: number[], prefix: number): number[] {
    return bytes.map((b, i) => {
        const bits = Math.min(8, Math.max(0, prefix - i * 8));
        return bits === 0 ? 0 : b & ((0xff << (8 - bits)) & 0xff);
    });
}

function formatAddress(family: 4 | 6, bytes: number[]): string {
    return family === 4 ? bytes.join(".") : ipaddr.fromByteArray(bytes).toString();
}

/**
 * IPv6 address bytes in the full long form ("2001:0db8:0000:0000:0000:0000:0000:0001"):
 * eight groups of four lower-case hex digits, the form Cloudflare's access rules take
 * and return (see cloudflare-edge-rules.ts).
 */
export function ipv6LongText(bytes: readonly number[]): string {
    return Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] << 8) | bytes[2 * i + 1]).toString(16).padStart(4, "0")).join(":");
}

/**
 * Parses an address or CIDR block without normalising host bits. Throws
 * `CidrError` quoting the input when it is not a strict IPv4 dotted quad or
 * IPv6 address, optionally followed by `/prefix`. `mode` "provider-read" reads
 * input as the providers do (see `CidrMode`), for judging what others registered.
 */
export function parseCidr(input: string, mode: CidrMode = "user"): Cidr & { hostBitsSet: boolean; networkText: string } {
    if (typeof input !== "string") {
        throw new CidrError(`${JSON.stringify(input)} is not a string (${EXAMPLE})`);
    }
    const m = SHAPE.exec(input.trim());
    if (!m || input.trim() !== input) {
        throw new CidrError(`"${input}" is not a valid IP address or CIDR block (${EXAMPLE})`);
    }
    const addr = parseIp(m[1], input, mode);
    const family = addr.kind() === "ipv4" ? 4 : 6;
    const max = family === 4 ? 32 : 128;
    const prefix = m[2] === undefined ? max : Number(m[2]);
    if (prefix > max) {
        throw new CidrError(`"${input}" has prefix /${prefix}; an IPv${family} prefix is at most /${max}`);
    }
    const bytes = addr.toByteArray();
    const net = networkBytes(bytes, prefix);
    const hostBitsSet = net.some((b, i) => b !== bytes[i]);
    if (mode === "provider-read" && family === 6 && prefix >= 96 && V4_MAPPED_PREFIX.every((b, i) => net[i] === b)) {
        // What the provider sends on: ::ffff:0:0/96 is 0.0.0.0/0, ::ffff:8000:0/97 is 128.0.0.0/1.
        const v4 = net.slice(12);
        const text = `${formatAddress(4, v4)}/${prefix - 96}`;
        return { family: 4, bytes: v4, prefix: prefix - 96, text, networkText: text, hostBitsSet };
    }
    const networkText = `${formatAddress(family, net)}/${prefix}`;
    return { family, bytes: net, prefix, text: networkText, networkText, hostBitsSet };
}

/**
 * Returns the canonical form of an address or CIDR block: a bare address becomes
 * /32 or /128, IPv6 is written RFC 5952 style (compressed, lower case). A block
 * with host bits set is an error naming the network the user probably meant.
 */
export function canonicalCidr(input: string): string {
    const c = parseCidr(input);
    if (c.hostBitsSet) {
        const host = `${input.split("/")[0]}/${c.family === 4 ? 32 : 128}`;
        throw new CidrError(`"${input}" has host bits set; did you mean "${c.networkText}" or "${canonicalCidr(host)}"?`);
    }
    return c.text;
}

/** Parses input that must already be canonical-able (see `canonicalCidr`). */
export function toCidr(input: string): Cidr {
    const text = canonicalCidr(input);
    const { family, bytes, prefix } = parseCidr(text);
    return { family, bytes, prefix, text };
}

/** Orders IPv4 before IPv6, then by address, then by prefix length. */
function compareCidrs(a: Cidr, b: Cidr): number {
    if (a.family !== b.family) return a.family - b.family;
    for (let i = 0; i < a.bytes.length; i++) {
        if (a.bytes[i] !== b.bytes[i]) return a.bytes[i] - b.bytes[i];
    }
    return a.prefix - b.prefix;
}

/** Drops duplicate blocks (by canonical text) and sorts with `compareCidrs`. */
export function uniqueSorted<T extends Cidr>(cidrs: readonly T[]): T[] {
    const byText = new Map<string, T>();
    for (const c of cidrs) byText.set(c.text, c);
    return [...byText.values()].sort(compareCidrs);
}

/** Canonicalises, deduplicates and sorts a list of addresses or blocks. */
export function canonicalCidrList(inputs: readonly string[]): string[] {
    return uniqueSorted(inputs.map(toCidr)).map((c) => c.text);
}

/** True when `outer` contains every address of `inner`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
    if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
    const masked = networkBytes(inner.bytes, outer.prefix);
    return masked.every((b, i) => b === outer.bytes[i]);
}

interface SpecialRange {
    cidr: Cidr;
    kind: string;
}

// IANA special-purpose registries (RFC 6890 and successors). None of these can be
// the source of Cloudflare's traffic on the public internet.
const SPECIAL: SpecialRange[] = (
    [
        ["0.0.0.0/8", "unspecified ('this network')"],
        ["10.0.0.0/8", "private"],
        ["100.64.0.0/10", "shared address space (carrier-grade NAT)"],
        ["127.0.0.0/8", "loopback"],
        ["169.254.0.0/16", "link-local"],
        ["172.16.0.0/12", "private"],
        ["192.0.0.0/24", "reserved (IETF protocol assignments)"],
        ["192.0.2.0/24", "documentation"],
        ["192.88.99.0/24", "reserved (6to4 relay anycast)"],
        ["192.168.0.0/16", "private"],
        ["198.18.0.0/15", "reserved (benchmarking)"],
        ["198.51.100.0/24", "documentation"],
        ["203.0.113.0/24", "documentation"],
        ["224.0.0.0/4", "multicast"],
        ["240.0.0.0/4", "reserved"],
        ["::/128", "unspecified"],
        ["::1/128", "loopback"],
        ["::ffff:0:0/96", "IPv4-mapped"],
        ["64:ff9b::/96", "reserved (NAT64)"],
        ["64:ff9b:1::/48", "reserved (NAT64)"],
        ["100::/64", "reserved (discard-only)"],
        ["2001::/23", "reserved (IETF protocol assignments)"],
        ["2001:db8::/32", "documentation"],
        ["2002::/16", "reserved (6to4)"],
        ["3fff::/20", "documentation"],
        ["fc00::/7", "private (unique local)"],
        ["fe80::/10", "link-local"],
        ["fec0::/10", "reserved (site-local)"],
        ["ff00::/8", "multicast"],
    ] as const
).map(([text, kind]) => ({ cidr: toCidr(text), kind }));

const GLOBAL_UNICAST_V6 = toCidr("2000::/3");

/**
 * Names the special-purpose range (private, loopback, documentation, …) that a
 * block overlaps, or returns undefined for ordinary public address space.
 */
export function specialRangeOf(c: Cidr): string | undefined {
    for (const s of SPECIAL) {
        if (cidrContains(s.cidr, c) || cidrContains(c, s.cidr)) {
            return `${s.kind} range ${s.cidr.text}`;
        }
    }
    if (c.family === 6 && !cidrContains(GLOBAL_UNICAST_V6, c)) {
        return `reserved range (outside global unicast ${GLOBAL_UNICAST_V6.text})`;
    }
    return undefined;
}

// IPv6 ranges whose packets stand for IPv4 hosts: their IPv6 size says nothing about
// how many hosts they admit (2002::/17 is half of IPv4).
const IPV4_TRANSITION = [
    { cidr: toCidr("2002::/16"), why: "6to4, where bits 16-47 are an IPv4 address, so a block here admits every IPv4 host it embeds" },
    { cidr: toCidr("2001::/32"), why: "Teredo, which any IPv4 host can send from" },
    { cidr: toCidr("64:ff9b::/96"), why: "NAT64, where the last 32 bits are any IPv4 address" },
    { cidr: toCidr("64:ff9b:1::/48"), why: "local-use NAT64, which embeds IPv4 addresses" },
];

/**
 * Why a user-given block may not be a source: it overlaps an IPv6 range that
 * carries IPv4 hosts (6to4, Teredo, NAT64), so its IPv6 size understates what it
 * admits. A block of /16 or wider is broad on its own and judged as such.
 */
export function ipv4TransitionProblem(c: Cidr): string | undefined {
    if (c.family !== 6 || c.prefix <= 16) return undefined;
    const t = IPV4_TRANSITION.find((x) => cidrContains(x.cidr, c) || cidrContains(c, x.cidr));
    return t && `overlaps ${t.cidr.text} (${t.why}); its IPv6 size does not show how many hosts it admits. List the IPv4 addresses themselves`;
}

/** How many addresses a set of blocks covers together, per family (overlaps counted once). */
export interface Coverage {
    /** IPv4 addresses covered. */
    v4: bigint;
    /** IPv6 addresses covered. */
    v6: bigint;
}

/** Drops blocks contained in another block of the list; the rest are disjoint. Sorted. */
export function mergeCidrs<T extends Cidr>(cidrs: readonly T[]): T[] {
    const out: T[] = [];
    // Sorted by address then prefix, a containing block comes before what it contains.
    for (const c of uniqueSorted(cidrs)) {
        const last = out[out.length - 1];
        if (last && cidrContains(last, c)) continue;
        out.push(c);
    }
    return out;
}

/** Measures what the blocks cover together: merged first, then counted. */
export function coverage(cidrs: readonly Cidr[]): Coverage {
    const cov: Coverage = { v4: 0n, v6: 0n };
    for (const c of mergeCidrs(cidrs)) {
        const size = 1n << BigInt((c.family === 4 ? 32 : 128) - c.prefix);
        if (c.family === 4) cov.v4 += size;
        else cov.v6 += size;
    }
    return cov;
}

/** A source set is broad when it covers at least an IPv4 /8 or an IPv6 /16 worth of addresses. */
const BROAD = { v4: 1n << 24n, v6: 1n << 112n } as const;

/** True when the coverage reaches `BROAD` in either family. */
export function isBroad(cov: Coverage): boolean {
    return cov.v4 >= BROAD.v4 || cov.v6 >= BROAD.v6;
}

/** "a /N worth": the prefix of one block of the same size (rounded down to a whole prefix). */
function worth(count: bigint, bits: number): string {
    let prefix = bits;
    while (prefix > 0 && 1n << BigInt(bits - prefix + 1) <= count) prefix--;
    return `/${prefix}`;
}

function percent(count: bigint, bits: number): string {
    const p = Number((count * 1_000_000n) / (1n << BigInt(bits))) / 10_000;
    return p >= 0.01 ? `${p.toFixed(2).replace(/\.?0+$/, "")}%` : "<0.01%";
}

/** Plain words for a coverage: "16777216 IPv4 addresses (a /8 worth, 0.39% of IPv4)". */
export function describeCoverage(cov: Coverage): string {
    const parts: string[] = [];
    if (cov.v4 === 1n << 32n) parts.push("all of IPv4");
    else if (cov.v4 > 0n) parts.push(`${cov.v4} IPv4 address${cov.v4 === 1n ? "" : "es"} (a ${worth(cov.v4, 32)} worth, ${percent(cov.v4, 32)} of IPv4)`);
    if (cov.v6 === 1n << 128n) parts.push("all of IPv6");
    else if (cov.v6 > 0n) parts.push(`an IPv6 ${worth(cov.v6, 128)} worth (${percent(cov.v6, 128)} of IPv6)`);
    return parts.length > 0 ? parts.join(" and ") : "no addresses";
}

const IPV4_EMBEDDING = [
    { cidr: toCidr("::ffff:0:0/96"), kind: "IPv4-mapped" },
    { cidr: toCidr("::/96"), kind: "IPv4-compatible" },
];

/**
 * Parses a source the user gave: `toCidr`, and refuses IPv6 forms that embed an
 * IPv4 address (`::ffff:198.51.100.7`, `::198.51.100.7`): Go's address parsing, as
 * the providers use it, reads them as IPv4, so what was reviewed is not what is applied.
 * `::/0` (everything) is not an embedding and stays accepted.
 */
export function userCidr(input: string): Cidr {
    const c = toCidr(input);
    refuseEmbeddedIpv4(c, input);
    return c;
}

function refuseEmbeddedIpv4(c: Cidr, input: string): void {
    if (c.family !== 6 || c.prefix === 0) return;
    for (const e of IPV4_EMBEDDING) {
        if (cidrContains(e.cidr, c)) {
            const v4 = c.bytes.slice(12).join(".");
            throw new CidrError(`"${input}" is an ${e.kind} IPv6 form of ${v4}; write the IPv4 address "${v4}" itself (providers read it as IPv4 anyway)`, true);
        }
    }
}

// "::" and "::1" are IPv6's own unspecified and loopback addresses, not IPv4-compatible forms.
const IPV6_OWN = toCidr("::/127");

/** One address, never a block. */
export interface SingleAddress extends Cidr {
    /** The canonical address without a prefix: "203.0.113.7", "2001:db8::7". */
    address: string;
}

/**
 * Parses one IP address (no "/prefix") with the rules of `userCidr`: strict
 * forms only, no IPv6 that embeds IPv4 (but "::1" is IPv6 loopback). `family`
 * narrows it to IPv4 or IPv6.
 * The one parser for every "give me an address" input (trace answers, resolver
 * addresses, audit hosts, record contents, flags). Throws `CidrError` quoting the
 * input and saying what was expected; callers prefix the field.
 */
export function parseSingleAddress(input: string, family?: 4 | 6): SingleAddress {
    const expected = family ? `a single IPv${family} address, e.g. "${family === 4 ? "203.0.113.7" : "2001:db8::7"}"` : 'a single IPv4 or IPv6 address, e.g. "203.0.113.7" or "2001:db8::7"';
    const refuse = () => new CidrError(`${JSON.stringify(input)} is not ${expected}${typeof input === "string" && input.includes("/") ? " (a block is not accepted here)" : ""}`);
    if (typeof input !== "string" || input.includes("/")) throw refuse();
    let c: Cidr;
    try {
        c = toCidr(input);
        if (!cidrContains(IPV6_OWN, c)) refuseEmbeddedIpv4(c, input);
    } catch (e) {
        if (e instanceof CidrError && e.embeddedIpv4) throw e;
        throw refuse();
    }
    if (family !== undefined && c.family !== family) throw refuse();
    return { ...c, address: formatAddress(c.family, c.bytes) };
}
