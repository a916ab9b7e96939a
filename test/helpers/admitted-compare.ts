/**
 * An oracle independent of components/policy.ts: what a set of rules admits, as
 * canonical text (per protocol and family, maximal port intervals, each with its
 * merged address intervals). Two rule sets admit the same (protocol, port, source)
 * set exactly when their canonical texts are equal, however the rules are split.
 * Parsers for Hetzner and DigitalOcean rules and for `nft --json` output.
 */
import * as ipaddr from "ipaddr.js";

/** One admitting item: protocol, inclusive ports ([0, 0] for icmp), family and inclusive address interval. */
export interface Item {
    protocol: string;
    ports: [number, number];
    family: 4 | 6;
    low: bigint;
    high: bigint;
}

const bits = (family: 4 | 6) => (family === 4 ? 32 : 128);

function toBig(addr: string): { family: 4 | 6; value: bigint } {
    const bytes = ipaddr.parse(addr).toByteArray();
    return { family: bytes.length === 4 ? 4 : 6, value: bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n) };
}

/** The address interval of a CIDR block ("203.0.113.0/24", "2001:db8::1") or an address. */
export function blockRange(text: string): { family: 4 | 6; low: bigint; high: bigint } {
    const [addr, len] = text.split("/");
    const { family, value } = toBig(addr);
    const host = BigInt(bits(family) - (len === undefined ? bits(family) : Number(len)));
    const low = (value >> host) << host;
    return { family, low, high: low + (1n << host) - 1n };
}

const portsOf = (spec: string | undefined): [number, number] => {
    if (spec === undefined) return [0, 0];
    const [a, b] = spec.split("-").map(Number);
    return [a, b ?? a];
};

/** Items from rules of the shape { protocol, port?, sources } (Hetzner: port/sourceIps, DO: portRange/sourceAddresses). */
export function itemsOf(rules: { protocol: string; port?: string; sources: string[] }[]): Item[] {
    return rules.flatMap((r) => r.sources.map((s) => ({ protocol: r.protocol, ports: portsOf(r.protocol === "icmp" ? undefined : r.port), ...blockRange(s) })));
}

/** Canonical text of what `items` admit. */
export function canonical(items: Item[]): string[] {
    const out: string[] = [];
    const groups = new Map<string, Item[]>();
    for (const i of items) groups.set(`${i.protocol} v${i.family}`, [...(groups.get(`${i.protocol} v${i.family}`) ?? []), i]);
    for (const key of [...groups.keys()].sort()) {
        const group = groups.get(key)!;
        const cuts = [...new Set(group.flatMap((i) => [i.ports[0], i.ports[1] + 1]))].sort((a, b) => a - b);
        let previous: { low: number; high: number; addrs: string } | undefined;
        const flush = () => previous && out.push(`${key} ${previous.low}-${previous.high} ${previous.addrs}`);
        for (let c = 0; c + 1 < cuts.length; c++) {
            const [low, high] = [cuts[c], cuts[c + 1] - 1];
            const ranges = group
                .filter((i) => i.ports[0] <= low && high <= i.ports[1])
                .map((i) => [i.low, i.high] as [bigint, bigint])
                .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
            const merged: [bigint, bigint][] = [];
            for (const r of ranges) {
                const last = merged[merged.length - 1];
                if (last && r[0] <= last[1] + 1n) last[1] = r[1] > last[1] ? r[1] : last[1];
                else merged.push([r[0], r[1]]);
            }
            const addrs = merged.map(([a, b]) => `${a.toString(16)}-${b.toString(16)}`).join(",");
            if (previous && previous.high + 1 === low && previous.addrs === addrs && addrs !== "") previous.high = high;
            else {
                flush();
                previous = addrs === "" ? undefined : { low, high, addrs };
            }
        }
        flush();
    }
    return out;
}

type Expr = Record<string, any>;

/** The address interval of one nft JSON set element: "a", {prefix: {addr, len}} or {range: [a, b]}. */
function elementRange(e: any): { family: 4 | 6; low: bigint; high: bigint } {
    if (typeof e === "string") return blockRange(e);
    if (e.prefix) return blockRange(`${e.prefix.addr}/${e.prefix.len}`);
    if (e.range) {
        const [a, b] = e.range.map((x: string) => toBig(x));
        return { family: a.family, low: a.value, high: b.value };
    }
    if (e.elem) return elementRange(e.elem.val);
    throw new Error(`unknown nft set element ${JSON.stringify(e)}`);
}

/**
 * Items admitted by one chain of the loaded table (`nft --json list table ...`):
 * rules with an accept (input) or return (published) verdict. Connection-state,
 * loopback, container-bridge, DHCPv6-reply and ICMP-error-type rules are not
 * admissions by the policy and are skipped; ping (echo requests) counts as icmp;
 * anything else that admits is read as it stands (no saddr: everyone).
 */
export function itemsFromNftJson(json: string, chain: string): Item[] {
    const objects: any[] = JSON.parse(json).nftables;
    const sets = new Map<string, { family: 4 | 6; low: bigint; high: bigint }[]>();
    for (const o of objects) if (o.set) sets.set(o.set.name, (o.set.elem ?? []).map(elementRange));
    const items: Item[] = [];
    for (const o of objects) {
        if (!o.rule || o.rule.chain !== chain) continue;
        const expr: Expr[] = o.rule.expr;
        if (!expr.some((e) => "accept" in e || "return" in e)) continue;
        const matches = expr.filter((e) => e.match).map((e) => e.match);
        const skip = matches.some(
            (m) =>
                ["state", "status", "direction"].includes(m.left.ct?.key) || // connection state: replies, related
                ["iif", "iifname"].includes(m.left.meta?.key) || // loopback, containers to the host
                m.left.payload?.field === "sport" || // DHCPv6 replies from a link-local server
                (m.left.payload?.field === "type" && m.right !== "echo-request"), // ICMP error types
        );
        if (skip) continue;
        let protocol: string | undefined;
        let ports: [number, number] | undefined;
        let sources: { family: 4 | 6; low: bigint; high: bigint }[] | undefined;
        for (const m of matches) {
            const left = m.left;
            if (left.meta?.key === "l4proto") protocol = m.right === "ipv6-icmp" ? "icmp" : m.right;
            else if (left.payload?.field === "type")
                protocol = "icmp"; // echo-request: allowPing
            else if (left.payload?.field === "dport" || (left.ct?.key === "proto-dst" && left.ct.dir === "original")) {
                if (left.payload) protocol = left.payload.protocol;
                ports = typeof m.right === "number" ? [m.right, m.right] : m.right.range ? [m.right.range[0], m.right.range[1]] : undefined;
                if (!ports) throw new Error(`unknown port match ${JSON.stringify(m.right)}`);
            } else if (left.payload?.field === "saddr") {
                const name = String(m.right).replace(/^@/, "");
                if (!sets.has(name)) throw new Error(`rule refers to a set ${name} that is not loaded`);
                sources = sets.get(name)!;
            } else throw new Error(`unknown match ${JSON.stringify(m)}`);
        }
        if (!protocol) throw new Error(`an admitting rule without a protocol: ${JSON.stringify(expr)}`);
        const everyone = [blockRange("0.0.0.0/0"), blockRange("::/0")];
        for (const s of sources ?? everyone) items.push({ protocol, ports: protocol === "icmp" ? [0, 0] : (ports ?? [1, 65535]), ...s });
    }
    return items;
}
