// Issue 14: exposure is a question of coverage, not of spelling. Each class of
// bypass found in review has its own tests; properties cover random policies.
import { execFile } from "child_process";
import * as fc from "fast-check";
import * as path from "path";
import { promisify } from "util";
import { OriginPolicyArgs, parseStackConfig, renderPolicy, validatePolicy } from "../components";
import { cidrContains, coverage, isBroad, toCidr } from "../components/cidr";
import { admittedSet, admittingContributions, formatPorts, portInSpec } from "../components/policy";
import { CF_SOURCES, SAMPLE_RANGES } from "./helpers/fixtures";
import { answerWith, startServer } from "./helpers/server";
import { compiled } from "./helpers/compiled";

const base = { ssh: { sources: ["203.0.113.7"] } };
const sixteens = (first: number) => Array.from({ length: 256 }, (_, i) => `${first}.${i}.0.0/16`);
const rule = (sources: string[], port: number | string = 443, protocol: "tcp" | "udp" = "tcp") => ({ ...base, rules: [{ description: "office", protocol, port, sources }] });

describe("a Cloudflare port from a broad set is an error, however it is spelt", () => {
    test.each<[string, OriginPolicyArgs, string]>([
        ["two IPv4 /1s", rule(["0.0.0.0/1", "128.0.0.0/1"]), 'rules[0].sources: rules[0] ("office", tcp 443) would admit all of IPv4 to port 443, which only Cloudflare may reach'],
        ["two IPv6 /1s", rule(["::/1", "8000::/1"]), 'rules[0] ("office", tcp 443) would admit all of IPv6 to port 443'],
        ["256 /16s that add up to a /8", rule(sixteens(45)), 'rules[0] ("office", tcp 443) would admit 16777216 IPv4 addresses (a /8 worth, 0.39% of IPv4) to port 443'],
        ["one IPv6 /16", rule(["2a00::/16"]), "would admit an IPv6 /16 worth (<0.01% of IPv6) to port 443"],
        ["udp 443 (a direct QUIC path)", rule(["0.0.0.0/0"], 443, "udp"), 'rules[0] ("office", udp 443) would admit all of IPv4 to port 443, which only Cloudflare may reach (on any protocol: udp 443 is a direct QUIC path)'],
        ["tcp 1-65535 from a /8", rule(["45.0.0.0/8"], "1-65535"), 'rules[0] ("office", tcp 1-65535) would admit 16777216 IPv4 addresses (a /8 worth, 0.39% of IPv4) to port 443'],
        ["a range containing a second Cloudflare port", { ...rule(["0.0.0.0/0"], "8000-9000"), cloudflare: { ports: [443, 8443] } }, "to port 8443, which only Cloudflare may reach"],
    ])("%s", (_name, args, message) => {
        expect(() => validatePolicy(args)).toThrow(message);
    });

    test("a few specific trusted sources beside Cloudflare on 443 stay allowed, without a warning", () => {
        const p = validatePolicy(rule(["203.0.113.7", "198.51.100.0/24", "2001:db8::/48"]));
        expect(p.warnings).toEqual([]);
        expect(p.rules[0].sources).toEqual(["198.51.100.0/24", "203.0.113.7/32", "2001:db8::/48"]);
    });

    test("255 /16s (just under a /8) are not broad; the 256th makes it broad", () => {
        expect(() => validatePolicy(rule(sixteens(45).slice(0, 255)))).not.toThrow();
        expect(() => validatePolicy(rule(sixteens(45)))).toThrow("to port 443");
    });
});

describe("the SSH port from a broad set needs ssh.allowFromAnywhere", () => {
    test.each<[string, OriginPolicyArgs, string]>([
        ["SSH sources as two /1s", { ssh: { sources: ["0.0.0.0/1", "128.0.0.0/1"] } }, "ssh.sources: SSH (tcp 22) would admit all of IPv4 to the SSH port 22; list trusted addresses instead, or set ssh.allowFromAnywhere: true"],
        ["SSH sources as ::/1 + 8000::/1", { ssh: { sources: ["::/1", "8000::/1"] } }, "ssh.sources: SSH (tcp 22) would admit all of IPv6 to the SSH port 22"],
        ["SSH sources as 256 /16s", { ssh: { sources: sixteens(45) } }, "ssh.sources: SSH (tcp 22) would admit 16777216 IPv4 addresses"],
        [
            "an extra rule on the SSH port from the world",
            { ...base, rules: [{ description: "ops", port: 22, sources: ["0.0.0.0/0"] }] },
            'ssh.sources + rules[0].sources: together, SSH (tcp 22) with 1 IPv4 address (a /32 worth, <0.01% of IPv4) and rules[0] ("ops", tcp 22) with all of IPv4 would admit all of IPv4 to the SSH port 22',
        ],
        [
            "an extra range containing it (1-442)",
            { ...base, rules: [{ description: "low ports", port: "1-442", sources: ["::/0"] }] },
            'rules[0] ("low ports", tcp 1-442) with all of IPv6 would admit 1 IPv4 address (a /32 worth, <0.01% of IPv4) and all of IPv6 to the SSH port 22',
        ],
        ["udp on the SSH port counts too", { ...base, rules: [{ description: "mosh", protocol: "udp", port: "1-100", sources: ["0.0.0.0/0"] }] }, 'rules[0] ("mosh", udp 1-100) would admit all of IPv4 to the SSH port 22'],
    ])("%s", (_name, args, message) => {
        expect(() => validatePolicy(args)).toThrow(message);
    });

    test("with the opt-in, the union that reaches SSH from a broad set logs one warning; the rest of the range its own", () => {
        const p = validatePolicy({
            ssh: { sources: ["0.0.0.0/1", "128.0.0.0/1"], allowFromAnywhere: true },
            rules: [{ description: "low ports", port: "1-442", sources: ["::/0"] }],
        });
        expect(p.warnings).toEqual([
            'rules[0] ("low ports", tcp 1-442) admits all of IPv6',
            'together, SSH (tcp 22) with all of IPv4 and rules[0] ("low ports", tcp 1-442) with all of IPv6 admit all of IPv4 and all of IPv6 to the SSH port 22, because ssh.allowFromAnywhere is true',
        ]);
    });
});

test("other ports from a broad set give a warning naming the rule, or the union", () => {
    const p = validatePolicy({
        ...base,
        rules: [
            { description: "game server", protocol: "udp", port: 27015, sources: sixteens(45) },
            { description: "ping", protocol: "icmp", sources: ["0.0.0.0/0"] },
            { description: "half", port: 9000, sources: ["17.0.0.0/9"] },
            { description: "other half", port: "9000-9001", sources: ["17.128.0.0/9"] },
        ],
    });
    expect(p.warnings).toEqual([
        'together, rules[2] ("half", tcp 9000) with 8388608 IPv4 addresses (a /9 worth, 0.2% of IPv4) and rules[3] ("other half", tcp 9000-9001) with 8388608 IPv4 addresses (a /9 worth, 0.2% of IPv4) admit 16777216 IPv4 addresses (a /8 worth, 0.39% of IPv4) on tcp 9000',
        'rules[0] ("game server", udp 27015) admits 16777216 IPv4 addresses (a /8 worth, 0.39% of IPv4)',
        'rules[1] ("ping", icmp) admits all of IPv4',
    ]);
});

// Issue 18: a port admits the union of every rule that reaches it. Each class of
// bypass found in review, spelt across several rules; the error names the union.
describe("exposure by union: sources split across rules are judged together", () => {
    const r = (description: string, port: number | string, sources: string[], protocol: "tcp" | "udp" = "tcp") => ({ description, protocol, port, sources });
    const twelves = Array.from({ length: 16 }, (_, i) => `32.${i * 16}.0.0/12`);
    test.each<[string, OriginPolicyArgs, string[]]>([
        [
            "split sources: 443 from one /9 and a range containing 443 from the other",
            { ...base, rules: [r("a", 443, ["17.0.0.0/9"]), r("b", "440-450", ["17.128.0.0/9"])] },
            [
                'rules[0].sources + rules[1].sources: together, rules[0] ("a", tcp 443) with 8388608 IPv4 addresses (a /9 worth, 0.2% of IPv4) and rules[1] ("b", tcp 440-450) with 8388608 IPv4 addresses (a /9 worth, 0.2% of IPv4) would admit 16777216 IPv4 addresses (a /8 worth, 0.39% of IPv4) to port 443, which only Cloudflare may reach',
            ],
        ],
        [
            "port ranges overlapping a Cloudflare port (8443 inside both)",
            { ...base, cloudflare: { ports: [443, 8443] }, rules: [r("a", "8000-8500", ["17.0.0.0/9"]), r("b", "8443-9000", ["17.128.0.0/9"])] },
            ["rules[0].sources + rules[1].sources: together,", "would admit 16777216 IPv4 addresses (a /8 worth, 0.39% of IPv4) to port 8443"],
        ],
        [
            "UDP: two udp 443 rules from /9s (QUIC)",
            { ...base, rules: [r("quic a", 443, ["17.0.0.0/9"], "udp"), r("quic b", 443, ["17.128.0.0/9"], "udp")] },
            ['rules[0] ("quic a", udp 443) with 8388608', 'rules[1] ("quic b", udp 443) with 8388608', "to port 443, which only Cloudflare may reach (on any protocol: udp 443 is a direct QUIC path)"],
        ],
        [
            "HTTPS and QUIC: tcp 443 from one /9 and udp 443 from the other (one origin, both protocols)",
            { ...base, rules: [r("https", 443, ["17.0.0.0/9"]), r("quic", "400-500", ["17.128.0.0/9"], "udp")] },
            [
                'rules[0].sources + rules[1].sources: together, rules[0] ("https", tcp 443) with 8388608 IPv4 addresses (a /9 worth, 0.2% of IPv4) and rules[1] ("quic", udp 400-500) with 8388608 IPv4 addresses (a /9 worth, 0.2% of IPv4) would admit 16777216 IPv4 addresses (a /8 worth, 0.39% of IPv4) to port 443, which only Cloudflare may reach',
            ],
        ],
        [
            "SSH port: ssh.sources from one /9 and an extra tcp 22 rule from the other",
            { ssh: { sources: ["16.0.0.0/9"] }, rules: [r("more ssh", 22, ["16.128.0.0/9"])] },
            [
                'ssh.sources + rules[0].sources: together, SSH (tcp 22) with 8388608 IPv4 addresses (a /9 worth, 0.2% of IPv4) and rules[0] ("more ssh", tcp 22) with 8388608 IPv4 addresses',
                "would admit 16777216 IPv4 addresses (a /8 worth, 0.39% of IPv4) to the SSH port 22; list trusted addresses instead",
            ],
        ],
        [
            "IPv6 /17 pairs across rules",
            { ...base, rules: [r("v6 a", 443, ["2a00::/17"]), r("v6 b", "1-1000", ["2a00:8000::/17"])] },
            ['together, rules[0] ("v6 a", tcp 443) with an IPv6 /17 worth', 'rules[1] ("v6 b", tcp 1-1000) with an IPv6 /17 worth', "would admit an IPv6 /16 worth (<0.01% of IPv6) to port 443"],
        ],
        [
            "sixteen /12s in sixteen rules",
            { ...base, rules: twelves.map((t, i) => r(`r${i}`, i % 2 === 0 ? 443 : "400-500", [t])) },
            [twelves.map((_, i) => `rules[${i}].sources`).join(" + ") + ": together,", 'rules[15] ("r15", tcp 400-500) with 1048576 IPv4 addresses', "would admit 16777216 IPv4 addresses (a /8 worth, 0.39% of IPv4) to port 443"],
        ],
    ])("%s: refused, naming the union", (_name, args, parts) => {
        let message = "";
        try {
            validatePolicy(args);
        } catch (e) {
            message = (e as Error).message;
        }
        for (const part of parts) expect(message).toContain(part);
        // The same sources in one rule are refused too: the spelling does not matter.
        const all = (args.rules ?? []).flatMap((x) => x.sources);
        const at = (args.cloudflare?.ports ?? [443])[args.cloudflare?.ports ? 1 : 0];
        if (args.ssh.sources.length === 1 && args.ssh.sources[0] === "203.0.113.7") {
            expect(() => validatePolicy({ ...base, cloudflare: args.cloudflare, rules: [r("one", at, all, args.rules![0].protocol as "tcp" | "udp")] })).toThrow("which only Cloudflare may reach");
        }
    });

    test("two small trusted rules on one Cloudflare port stay accepted, without a warning", () => {
        const p = validatePolicy({ ...base, rules: [r("office", 443, ["203.0.113.7"]), r("partner", "440-450", ["198.51.100.0/24", "2001:db8::/48"])] });
        expect(p.warnings).toEqual([]);
        expect(p.rules.map((x) => [x.kind, x.index])).toEqual([
            ["extra", 0],
            ["extra", 1],
        ]);
    });

    test("scaled up within Hetzner's limits: 48 rules of one /9 each on ranges around 443 are refused, the message summing up past 16 rules", () => {
        const rules = Array.from({ length: 48 }, (_, i) => r(`r${i}`, `${400 + i}-${500 + i}`, [`${(i >> 1) + 40}.${(i % 2) * 128}.0.0/9`]));
        expect(() => validatePolicy({ ...base, rules })).toThrow(
            /^rules\[0\]\.sources \+ .* \+ rules\[15\]\.sources \+ 28 more: together, .* and 28 more rules with 234881024 IPv4 addresses \(a \/5 worth, 5\.47% of IPv4\) would admit 369098752 IPv4 addresses \(a \/4 worth, 8\.59% of IPv4\) to port 443/,
        );
    });

    test("the admitted set: disjoint intervals, each with the union of the rules covering it", () => {
        const set = admittedSet(validatePolicy({ ...base, rules: [r("a", "440-450", ["198.51.100.0/24"]), r("b", 443, ["198.51.100.128/25"]), r("c", "445-460", ["2001:db8::/48"], "udp")] }), SAMPLE_RANGES);
        const tcp = set.entries.filter((e) => e.protocol === "tcp").map((e) => [formatPorts(e.ports!), e.contributions.map((c) => c.rule.kind + c.rule.index), e.sources.length]);
        // Merged, not summed: the /24 of rules[0] contains the /25 of rules[1].
        expect(tcp).toEqual([
            ["22", ["ssh0"], 1],
            ["440-442", ["extra0"], 1],
            ["443", ["cloudflare0", "extra0", "extra1"], CF_SOURCES.length + 1],
            ["444-450", ["extra0"], 1],
        ]);
        expect(set.entries.filter((e) => e.protocol === "udp").map((e) => formatPorts(e.ports!))).toEqual(["445-460"]);
        expect(admittingContributions(set, "tcp", 443, toCidr("198.51.100.200")).map((c) => c.rule.index)).toEqual([0, 1]);
        expect(admittingContributions(set, "tcp", 444, toCidr("198.51.100.200")).map((c) => c.rule.index)).toEqual([0]);
        expect(admittingContributions(set, "tcp", 451, toCidr("198.51.100.200"))).toEqual([]);
        expect(admittingContributions(set, "udp", 443, toCidr("104.16.0.5"))).toEqual([]);
    });
});

describe("IPv6 forms that embed IPv4 are refused in every user-given source", () => {
    test.each([
        [{ ssh: { sources: ["::ffff:198.51.100.7"] } }, 'ssh.sources[0]: "::ffff:198.51.100.7" is an IPv4-mapped IPv6 form of 198.51.100.7; write the IPv4 address "198.51.100.7" itself'],
        [{ ssh: { sources: ["::ffff:c633:6407/128"] } }, 'ssh.sources[0]: "::ffff:c633:6407/128" is an IPv4-mapped IPv6 form of 198.51.100.7'],
        [{ ssh: { sources: ["::ffff:0:0/96"] } }, "is an IPv4-mapped IPv6 form of 0.0.0.0"],
        [{ ssh: { sources: ["::198.51.100.7"] } }, 'ssh.sources[0]: "::198.51.100.7" is an IPv4-compatible IPv6 form of 198.51.100.7'],
        [rule(["203.0.113.7", "::ffff:203.0.113.8"], 9000), 'rules[0].sources[1]: "::ffff:203.0.113.8" is an IPv4-mapped IPv6 form of 203.0.113.8'],
    ])("%j", (args, message) => {
        expect(() => validatePolicy(args as OriginPolicyArgs)).toThrow(message);
    });
    test("::/0 (everything) is not an embedding", () => {
        expect(() => validatePolicy({ ssh: { sources: ["::/0"], allowFromAnywhere: true } })).not.toThrow();
    });
});

// F5: these IPv6 ranges carry IPv4 hosts, so their IPv6 size understates what they admit.
describe("IPv6 ranges that carry IPv4 hosts (6to4, Teredo, NAT64) are refused as sources", () => {
    test.each<[string, OriginPolicyArgs, string]>([
        ["6to4 /17 on 443 (half of IPv4)", rule(["2002::/17"], 443), 'rules[0].sources[0]: "2002::/17" overlaps 2002::/16 (6to4, where bits 16-47 are an IPv4 address'],
        ["one 6to4 site on SSH", { ssh: { sources: ["2002:c633:6407::/48"] } }, 'ssh.sources[0]: "2002:c633:6407::/48" overlaps 2002::/16 (6to4'],
        ["Teredo on 443 (any IPv4 host)", rule(["2001::/32"], 443), 'rules[0].sources[0]: "2001::/32" overlaps 2001::/32 (Teredo, which any IPv4 host can send from)'],
        ["one Teredo address on SSH", { ssh: { sources: ["2001:0:4136:e378:8000:63bf:3fff:fdd2"] } }, "overlaps 2001::/32 (Teredo"],
        ["a block containing Teredo, not broad by its size", rule(["2001::/31"], 9000), 'rules[0].sources[0]: "2001::/31" overlaps 2001::/32 (Teredo'],
        [
            "NAT64 on 443 (all of IPv4)",
            rule(["64:ff9b::/96"], 443),
            'rules[0].sources[0]: "64:ff9b::/96" overlaps 64:ff9b::/96 (NAT64, where the last 32 bits are any IPv4 address); its IPv6 size does not show how many hosts it admits. List the IPv4 addresses themselves',
        ],
        ["local-use NAT64", { ssh: { sources: ["64:ff9b:1::/64"] } }, "overlaps 64:ff9b:1::/48 (local-use NAT64"],
    ])("%s", (_name, args, message) => {
        expect(() => validatePolicy(args)).toThrow(message);
    });

    test("ordinary IPv6 beside them, and blocks of /16 or wider (broad by themselves), are judged as before", () => {
        expect(() => validatePolicy(rule(["2001:db8::/48", "2a00:1450::/32"], 443))).not.toThrow();
        expect(() => validatePolicy({ ssh: { sources: ["::/0"], allowFromAnywhere: true } })).not.toThrow();
        expect(() => validatePolicy(rule(["2000::/3"], 443))).toThrow("which only Cloudflare may reach");
    });
});

test("JD Cloud ranges, when asked for and validated, are admitted on the Cloudflare ports", () => {
    const p = validatePolicy(base);
    const rules = renderPolicy(p, { ...SAMPLE_RANGES, jdcloud: ["2402:db40:5100::/44", "116.196.64.0/18"] });
    expect(rules[1].sources).toEqual([...SAMPLE_RANGES.ipv4.slice(0, 6), "116.196.64.0/18", ...SAMPLE_RANGES.ipv4.slice(6), "2400:cb00::/32", "2402:db40:5100::/44", ...SAMPLE_RANGES.ipv6.slice(1)]);
    expect(renderPolicy(p, SAMPLE_RANGES)[1].sources).toEqual(CF_SOURCES);
});

test("config: cloudflareUrl must be Cloudflare's API or loopback", () => {
    const fw = { web: { provider: "hetzner", ssh: { sources: ["203.0.113.7"] } } };
    expect(() => parseStackConfig({ firewalls: fw, cloudflareUrl: "https://ranges.example.net/ips" })).toThrow('cloudflareUrl: "https://ranges.example.net/ips" is refused: ranges.example.net is not Cloudflare\'s API');
    expect(parseStackConfig({ firewalls: fw, cloudflareUrl: "https://api.cloudflare.com/client/v4/ips" }).cloudflareUrl).toBe("https://api.cloudflare.com/client/v4/ips");
});

// Random policies whose sources may be broad: validation either refuses them, or
// what is rendered keeps every Cloudflare port away from broad non-Cloudflare sets
// and reaches SSH broadly only with the opt-in.
const block = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 16 })).map(([a, p]) => toCidr(`${((a >> (8 - Math.min(p, 8))) << (8 - Math.min(p, 8))) & 255}.0.0.0/${Math.min(p, 8)}`).text),
    fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255)).map(([a, b]) => `${a}.${b}.0.0/16`),
    fc.constantFrom("0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1", "2a00::/16", "203.0.113.7/32"),
);
const broadish = fc.record({
    sshSources: fc.array(block, { minLength: 1, maxLength: 6 }),
    allowFromAnywhere: fc.boolean(),
    sshPort: fc.constantFrom(22, 2222),
    cfPorts: fc.constantFrom([443], [80, 443], [8443]),
    rules: fc.array(
        fc.record({
            protocol: fc.constantFrom<"tcp" | "udp">("tcp", "udp"),
            port: fc.constantFrom<number | string>(443, 22, "1-442", "1-65535", 9000, "8000-9000", 2222),
            sources: fc.oneof(fc.array(block, { minLength: 1, maxLength: 4 }), fc.constant(Array.from({ length: 256 }, (_, i) => `45.${i}.0.0/16`))),
        }),
        { maxLength: 3 },
    ),
});

test("property: no Cloudflare port is reachable from a broad non-Cloudflare set; a broad set on SSH implies allowFromAnywhere", () => {
    const cf = CF_SOURCES.map(toCidr);
    let accepted = 0;
    fc.assert(
        fc.property(broadish, (r) => {
            const args: OriginPolicyArgs = {
                ssh: { sources: r.sshSources, port: r.sshPort, allowFromAnywhere: r.allowFromAnywhere },
                cloudflare: { ports: [...r.cfPorts] },
                rules: r.rules.map((x, i) => ({ description: `r${i}`, ...x })),
            };
            let policy;
            try {
                policy = validatePolicy(args);
            } catch {
                return; // refused: nothing to render
            }
            accepted++;
            for (const rendered of renderPolicy(policy, SAMPLE_RANGES)) {
                const nonCf = rendered.sources.map(toCidr).filter((s) => !cf.some((c) => cidrContains(c, s)));
                const broad = isBroad(coverage(nonCf));
                if (!broad) continue;
                for (const p of policy.cloudflarePorts) expect(portInSpec(p, rendered.port)).toBe(false);
                if (portInSpec(policy.ssh.port, rendered.port)) expect(args.ssh.allowFromAnywhere).toBe(true);
            }
        }),
        { numRuns: 400 },
    );
    expect(accepted).toBeGreaterThan(20); // the property saw accepted policies, not only refusals
});

describe("whole-program fail-closed: the real program under mocks (issue 14)", () => {
    const ROOT = path.join(__dirname, "..");
    const run = (url: string) =>
        promisify(execFile)(process.execPath, [compiled("test/fixtures/run-program.ts"), "hetzner-web", url], { cwd: ROOT }).then(
            (r) => ({ code: 0, report: JSON.parse(r.stdout) }),
            (e) => ({ code: e.code as number, report: JSON.parse(e.stdout) }),
        );

    test("a rejected answer with an edge block registers no resource at all", async () => {
        const server = await startServer({ json: answerWith({ ipv4_cidrs: ["0.0.0.0/1", "128.0.0.0/1"] }) });
        try {
            const { code, report } = await run(server.url);
            expect(code).toBe(1);
            expect(report.error).toContain('result.ipv4_cidrs[0]: "0.0.0.0/1" is broader than /12');
            // Only the stack itself, which the engine always has; not one cloud resource.
            expect(report.types).toEqual(["pulumi:pulumi:Stack"]);
        } finally {
            await server.close();
        }
    });

    test("control: a good answer registers the firewall and every edge resource", async () => {
        const server = await startServer();
        try {
            const { code, report } = await run(server.url);
            expect(code).toBe(0);
            expect(report.types).toEqual(expect.arrayContaining(["hcloud:index/firewall:Firewall", "cloudflare:index/dnsRecord:DnsRecord", "cloudflare:index/zoneSetting:ZoneSetting", "cloudflare:index/accessRule:AccessRule"]));
        } finally {
            await server.close();
        }
    });
});
