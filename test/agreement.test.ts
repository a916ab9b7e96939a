// Issue 18: the cloud firewall and the host firewall admit the same (protocol,
// port, source) set, judged on what the kernel loaded (`nft --json list table`),
// by an oracle that does not share code with the policy (helpers/admitted-compare),
// and for a few generated policies by real packets between namespaces.
import * as fc from "fast-check";
import * as path from "path";
import { OriginPolicyArgs, PolicyError, renderNftables, renderPolicy, validatePolicy } from "../components";
import { toDigitalOceanRules, validateEgress } from "../components/digitalocean-rules";
import { toHetznerRules } from "../components/hetzner-rules";
import { buildNftRuleset, NFT_TABLE } from "../components/nftables";
import { blockRange, canonical, Item, itemsFromNftJson, itemsOf } from "./helpers/admitted-compare";
import { SAMPLE_RANGES } from "./helpers/fixtures";
import { Lab, netnsUnavailable, SERVER } from "./helpers/netns";
import { descriptionArb, policyArbWith } from "./helpers/policy-arb";

const unavailable = netnsUnavailable();
if (unavailable && process.env.CI !== "true") console.warn(`SKIPPED: agreement tests on loaded rulesets need network namespaces: ${unavailable}`);
const withNetns = unavailable && process.env.CI !== "true" ? test.skip : test;

/** What the cloud firewalls admit (Hetzner and DigitalOcean translations must agree). */
function cloudAdmits(args: OriginPolicyArgs): string[] {
    const rendered = renderPolicy(validatePolicy(args), SAMPLE_RANGES);
    const hetzner = canonical(itemsOf(toHetznerRules(rendered).map((r) => ({ protocol: r.protocol, port: r.port, sources: r.sourceIps }))));
    const digitalocean = canonical(itemsOf(toDigitalOceanRules(rendered, validateEgress("deny-all")).inboundRules.map((r) => ({ protocol: r.protocol, port: r.portRange, sources: r.sourceAddresses }))));
    expect(digitalocean).toEqual(hetzner);
    return hetzner;
}

/** Loads the policy's host ruleset into `ns` and returns what the kernel holds: input chain and published (DNAT) chain. */
async function hostAdmits(lab: Lab, ns: string, args: OriginPolicyArgs): Promise<{ input: string[]; published: string[] }> {
    await lab.nft(ns, renderNftables(validatePolicy(args), SAMPLE_RANGES));
    const json = await lab.exec(ns, ["nft", "--json", "list", "table", "inet", NFT_TABLE]);
    return { input: canonical(itemsFromNftJson(json, "input")), published: canonical(itemsFromNftJson(json, "published")) };
}

const nonIcmp = (lines: string[]) => lines.filter((l) => !l.startsWith("icmp "));

// A rule whose description is the text of the policy's own Cloudflare and ping rules.
const impostor: OriginPolicyArgs = {
    ssh: { sources: ["203.0.113.7"] },
    rules: [
        { description: "HTTPS (443) from Cloudflare only", port: 8443, sources: ["198.51.100.0/24"] },
        { description: "ICMP (ping) from anywhere", protocol: "icmp", sources: ["198.51.100.0/24"] },
        { description: "SSH (22) from trusted sources", port: 22, sources: ["2001:db8::/48"] },
    ],
    allowPing: true,
};

describe("set names come from kind and position, never from the description", () => {
    test("a rule described like the Cloudflare, ping or SSH rule gets its own sets; names are unique", () => {
        const model = buildNftRuleset(validatePolicy(impostor), SAMPLE_RANGES);
        const names = model.sets.map((s) => s.name);
        expect(new Set(names).size).toBe(names.length);
        expect(names).toEqual(["ssh_v4", "cloudflare_v4", "cloudflare_v6", "rule0_v4", "rule2_v6", "ping_v4", "ping_v6"]);
        expect(model.rules.filter((r) => r.port === "8443").map((r) => r.set)).toEqual(["rule0_v4"]);
        expect(model.sets.find((s) => s.name === "cloudflare_v4")!.elements).toEqual(SAMPLE_RANGES.ipv4);
        // The description is only the comment.
        expect(model.rules.filter((r) => r.comment === "HTTPS (443) from Cloudflare only").map((r) => [r.port, r.set])).toEqual([
            ["443", "cloudflare_v4"],
            ["443", "cloudflare_v6"],
            ["8443", "rule0_v4"],
        ]);
    });

    withNetns(
        "the loaded ruleset admits exactly what the cloud firewall admits (input and published chains)",
        async () => {
            const lab = Lab.create([]);
            try {
                const host = await hostAdmits(lab, lab.server, impostor);
                const cloud = cloudAdmits(impostor);
                expect(host.input).toEqual(cloud);
                expect(host.published).toEqual(nonIcmp(cloud));
                // 8443 admits the rule's /24 only, 443 Cloudflare only.
                const [low, high] = [blockRange("198.51.100.0/24").low.toString(16), blockRange("198.51.100.0/24").high.toString(16)];
                expect(cloud).toContain(`tcp v4 8443-8443 ${low}-${high}`);
                expect(cloud.find((l) => l.startsWith("tcp v4 443-443 "))).not.toContain(low);
            } finally {
                lab.destroy();
            }
        },
        30_000,
    );
});

const policies = policyArbWith(descriptionArb);
const accepted = (args: OriginPolicyArgs) => {
    try {
        validatePolicy(args);
        return true;
    } catch (e) {
        if (e instanceof PolicyError) return false; // refused (e.g. broad by union): nothing is rendered
        throw e;
    }
};

withNetns(
    "property: for random policies (any printable description), the kernel's loaded ruleset admits what Hetzner and DigitalOcean admit",
    async () => {
        const lab = Lab.create([]);
        let loaded = 0;
        try {
            await fc.assert(
                fc.asyncProperty(policies, async (args) => {
                    fc.pre(accepted(args));
                    loaded++;
                    const host = await hostAdmits(lab, lab.server, args);
                    const cloud = cloudAdmits(args);
                    expect(host.input).toEqual(cloud);
                    expect(host.published).toEqual(nonIcmp(cloud));
                }),
                { numRuns: 40 },
            );
            expect(loaded).toBeGreaterThanOrEqual(40); // accepted policies were loaded, not only refusals skipped
        } finally {
            lab.destroy();
        }
    },
    120_000,
);

// ---------------------------------------------------------------- real packets
const CLIENT = { key: "client", v4: "198.51.100.250", v6: "2001:db8:ffff::250" };
// Addresses the lab cannot use as a source (loopback, multicast, link-local, the server's own, …).
const unusable = (family: 4 | 6, value: bigint) =>
    family === 4
        ? [["0.0.0.0/8"], ["127.0.0.0/8"], ["169.254.0.0/16"], ["224.0.0.0/3"], [`${SERVER.v4}/32`], [`${CLIENT.v4}/32`]].some(([b]) => inBlock(b, value))
        : [["::/8"], ["fe80::/10"], ["ff00::/8"], [`${SERVER.v6}/128`], [`${CLIENT.v6}/128`]].some(([b]) => inBlock(b, value));
const inBlock = (block: string, value: bigint) => {
    const r = blockRange(block);
    return r.low <= value && value <= r.high;
};
const text = (family: 4 | 6, value: bigint) => (family === 4 ? [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join(".") : Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(":"));

/** Sample (source, port) pairs from the cloud side's tcp items, inside and just outside each block, with the verdict the cloud gives. */
function samples(items: Item[], rnd: () => number): { family: 4 | 6; src: string; port: number; admitted: boolean }[] {
    const tcp = items.filter((i) => i.protocol === "tcp");
    const admits = (family: 4 | 6, value: bigint, port: number) => tcp.some((i) => i.family === family && i.ports[0] <= port && port <= i.ports[1] && i.low <= value && value <= i.high);
    const out: { family: 4 | 6; src: string; port: number; admitted: boolean }[] = [];
    for (let n = 0; n < 60 && out.length < 12; n++) {
        const i = tcp[Math.floor(rnd() * tcp.length)];
        const port = i.ports[0] + Math.floor(rnd() * (i.ports[1] - i.ports[0] + 1));
        const value = [i.low, i.high + 1n, i.low - 1n][n % 3];
        const max = i.family === 4 ? (1n << 32n) - 1n : (1n << 128n) - 1n;
        if (value < 0n || value > max || unusable(i.family, value)) continue;
        const src = text(i.family, value);
        if (out.some((o) => o.src === src && o.port === port)) continue;
        out.push({ family: i.family, src, port, admitted: admits(i.family, value, port) });
    }
    return out;
}

withNetns(
    "real packets: for a few generated policies, sampled sources connect exactly where the cloud firewall admits them",
    async () => {
        const generated = fc.sample(policies.filter(accepted), { numRuns: 3, seed: 18 });
        const lab = Lab.create([CLIENT]);
        try {
            const client = lab.clients.client;
            let rnd = 18;
            const random = () => (rnd = (rnd * 1103515245 + 12345) % 2147483648) / 2147483648;
            const checked: boolean[] = [];
            const listening = new Set<number>();
            for (const args of generated) {
                const cloud = itemsOf(toHetznerRules(renderPolicy(validatePolicy(args), SAMPLE_RANGES)).map((r) => ({ protocol: r.protocol, port: r.port, sources: r.sourceIps })));
                const pairs = samples(cloud, random);
                // Each sampled source is an address of the client, routed back by the server.
                const batch = (ns: string, lines: string[]) => lab.exec(ns, ["ip", "-batch", "-"], { input: lines.join("\n") + "\n" });
                const fresh = [...new Map(pairs.map((p) => [p.src, p])).values()];
                await batch(
                    client,
                    fresh.map((p) => `addr add ${p.src}/${p.family === 4 ? 32 : 128} dev vc0${p.family === 6 ? " nodad" : ""}`),
                );
                await batch(
                    lab.server,
                    fresh.map((p) => `route add ${p.src}/${p.family === 4 ? 32 : 128} dev vs0`),
                );
                await lab.exec(lab.server, ["nft", "flush", "ruleset"]);
                const ports = [...new Set(pairs.map((p) => p.port))].filter((p) => !listening.has(p));
                if (ports.length > 0) await lab.listen(lab.server, ports);
                ports.forEach((p) => listening.add(p));
                await lab.nft(lab.server, renderNftables(validatePolicy(args), SAMPLE_RANGES));
                for (const family of [4, 6] as const) {
                    const mine = pairs.filter((p) => p.family === family);
                    if (mine.length === 0) continue;
                    const result: boolean[] = JSON.parse(
                        await lab.exec(client, [process.execPath, path.join(__dirname, "helpers", "probe-from.js"), family === 4 ? SERVER.v4 : SERVER.v6, JSON.stringify(mine.map((p) => [p.src, p.port])), "1500"], { timeoutMs: 15_000 }),
                    );
                    expect(mine.map((p, i) => [p.src, p.port, result[i]])).toEqual(mine.map((p) => [p.src, p.port, p.admitted]));
                    checked.push(...mine.map((p) => p.admitted));
                }
                await batch(
                    client,
                    fresh.map((p) => `addr del ${p.src}/${p.family === 4 ? 32 : 128} dev vc0`),
                );
                await batch(
                    lab.server,
                    fresh.map((p) => `route del ${p.src}/${p.family === 4 ? 32 : 128} dev vs0`),
                );
            }
            // The samples saw both verdicts: admitted connections and refused ones.
            expect(checked).toContain(true);
            expect(checked).toContain(false);
        } finally {
            lab.destroy();
        }
    },
    120_000,
);
