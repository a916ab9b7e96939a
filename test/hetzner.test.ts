import { execFile } from "child_process";
import * as fc from "fast-check";
import * as path from "path";
import { promisify } from "util";
import { installMocks, valueOf } from "../scripts/mock-runtime";
import { CF_SOURCES, hosts, SAMPLE_RANGES } from "./helpers/fixtures";
import { expectedTriples, policyArb } from "./helpers/policy-arb";
import { sampleAnswer, startServer } from "./helpers/server";

// Mocks first, then the code under test.
const resources = installMocks();
import { fetchCloudflareRanges, HetznerOriginFirewall, OriginPolicyArgs, renderPolicy, validatePolicy } from "../components";
import { canonicalCidrList } from "../components/cidr";
import { clearCloudflareRangesCache } from "../components/cloudflare";
import { checkFirewallsPerServer, toHetznerApplyTos, toHetznerRules, validateHetznerNaming, validateLabelSelector } from "../components/hetzner-rules";
import { compiled } from "./helpers/compiled";

const firewallInputs = (name: string) => resources.find((r) => r.type === "hcloud:index/firewall:Firewall" && r.name === name)?.inputs;

async function deploy(name: string, args: ConstructorParameters<typeof HetznerOriginFirewall>[1]) {
    const fw = new HetznerOriginFirewall(name, { cloudflare: { ranges: SAMPLE_RANGES }, ...args });
    await valueOf(fw.firewall.urn);
    return fw;
}

const ssh = (port: string, sources: string[], description = `SSH (${port}) from trusted sources`) => ({
    direction: "in",
    protocol: "tcp",
    port,
    sourceIps: sources,
    description,
});
const https = { direction: "in", protocol: "tcp", port: "443", sourceIps: CF_SOURCES, description: "HTTPS (443) from Cloudflare only" };

describe("HetznerOriginFirewall", () => {
    test("default web server: SSH from one trusted address, 443 from Cloudflare only", async () => {
        const fw = await deploy("web", { ssh: { sources: ["203.0.113.7"] } });
        expect(firewallInputs("web")).toEqual({
            name: "web-75328fa4",
            rules: [ssh("22", ["203.0.113.7/32"]), https],
        });
        expect(await valueOf(fw.firewallId)).toBe("web-id");
        expect(await valueOf(fw.cloudflareRanges)).toEqual(SAMPLE_RANGES);
        expect(await valueOf(fw.ruleCount)).toBe(2);
        // A child of the component, with the component's type token.
        expect(await valueOf(fw.firewall.urn)).toBe("urn:pulumi:test::cloudflare-origin-firewall::cloudflare-origin-firewall:index:HetznerOriginFirewall$hcloud:index/firewall:Firewall::web");
    });

    test("dashboard: SSH and 9000 from two trusted IPs, attached by label selector", async () => {
        await deploy("dashboard", {
            ssh: { sources: ["198.51.100.20", "203.0.113.10"] },
            rules: [{ description: "Trading dashboard", port: 9000, sources: ["203.0.113.10", "198.51.100.20"] }],
            applyTo: { labelSelectors: ["app=dashboard"] },
            firewallName: "dashboard-fw",
            labels: { app: "dashboard" },
        });
        expect(firewallInputs("dashboard")).toEqual({
            name: "dashboard-fw-1064f7ae",
            labels: { app: "dashboard" },
            applyTos: [{ labelSelector: "app=dashboard" }],
            rules: [ssh("22", ["198.51.100.20/32", "203.0.113.10/32"]), https, { direction: "in", protocol: "tcp", port: "9000", sourceIps: ["198.51.100.20/32", "203.0.113.10/32"], description: "Trading dashboard" }],
        });
    });

    test("SSH from anywhere on a custom port with the opt-in, ping allowed, servers by id", async () => {
        const warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
        await deploy("open-ssh", {
            ssh: { sources: ["::/0", "0.0.0.0/0"], port: 2222, allowFromAnywhere: true },
            allowPing: true,
            cloudflare: { ports: [8443, 443, 443], ranges: SAMPLE_RANGES },
            applyTo: { serverIds: [42, 7] },
        });
        expect(firewallInputs("open-ssh")).toEqual({
            name: "open-ssh-38057555",
            applyTos: [{ server: 42 }, { server: 7 }],
            rules: [
                ssh("2222", ["0.0.0.0/0", "::/0"]),
                https,
                { direction: "in", protocol: "tcp", port: "8443", sourceIps: CF_SOURCES, description: "TCP 8443 from Cloudflare only" },
                { direction: "in", protocol: "icmp", sourceIps: ["0.0.0.0/0", "::/0"], description: "ICMP (ping) from anywhere" },
            ],
        });
        expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringContaining("SSH (tcp 2222) admits all of IPv4 and all of IPv6 to the SSH port 2222, because ssh.allowFromAnywhere is true")]);
        warn.mockRestore();
    });

    test("an unattached firewall is flagged at deploy time, not only by the plan", async () => {
        const warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
        await deploy("unattached", { ssh: { sources: ["203.0.113.7"] } });
        expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringContaining("firewall unattached is attached to no server, so it protects nothing; give applyTo.labelSelectors (or serverIds)")]);
        warn.mockRestore();
    });

    test("IPv6 trusted sources are canonical, deduplicated, sorted after IPv4", async () => {
        await deploy("v6", { ssh: { sources: ["2001:DB8:0:0::10", "203.0.113.7/32", "2001:db8::/48", "2001:db8::10", "203.0.113.7"] } });
        expect(firewallInputs("v6")!.rules[0]).toEqual(ssh("22", ["203.0.113.7/32", "2001:db8::/48", "2001:db8::10/128"]));
    });

    test("150 trusted sources are split at 100, deterministically", async () => {
        const many = hosts(150);
        await deploy("many", { ssh: { sources: [...many].reverse() } });
        expect(firewallInputs("many")!.rules).toEqual([ssh("22", many.slice(0, 100), "SSH (22) from trusted sources (part 1 of 2)"), ssh("22", many.slice(100), "SSH (22) from trusted sources (part 2 of 2)"), https]);
    });

    test("the same input twice gives byte-identical resource inputs", async () => {
        const args: OriginPolicyArgs = { ssh: { sources: ["2001:db8::1", "203.0.113.7"] }, rules: [{ description: "api", port: "8000-8100", sources: ["198.51.100.0/24"] }] };
        await deploy("same-a", { ...args, firewallName: "same" });
        await deploy("same-b", { ...args, firewallName: "same", cloudflare: { ranges: { ...SAMPLE_RANGES, ipv4: [...SAMPLE_RANGES.ipv4].reverse() } } });
        expect(JSON.stringify(firewallInputs("same-a"))).toBe(JSON.stringify(firewallInputs("same-b")));
    });

    test("two components share one Cloudflare fetch", async () => {
        clearCloudflareRangesCache();
        const server = await startServer({ json: sampleAnswer() });
        try {
            const a = new HetznerOriginFirewall("shared-a", { ssh: { sources: ["203.0.113.7"] }, cloudflare: { ranges: fetchCloudflareRanges({ url: server.url }) } });
            const b = new HetznerOriginFirewall("shared-b", { ssh: { sources: ["203.0.113.8"] }, cloudflare: { ranges: fetchCloudflareRanges({ url: server.url }) } });
            await Promise.all([valueOf(a.firewall.urn), valueOf(b.firewall.urn)]);
            expect(server.requests).toHaveLength(1);
            expect(firewallInputs("shared-b")!.rules[1]).toEqual(https);
        } finally {
            await server.close();
        }
    });

    test("a validation error is a ResourceError and registers no firewall", () => {
        const before = resources.length;
        expect(() => new HetznerOriginFirewall("bad", { ssh: { sources: [] } })).toThrow('ssh.sources: [] must be a non-empty list of addresses or CIDR blocks, e.g. ["203.0.113.7"]');
        expect(resources.slice(before).filter((r) => r.type.startsWith("hcloud:"))).toEqual([]);
    });
});

describe("rejected ranges stop the deployment (program in its own process, mock engine)", () => {
    const fixture = compiled("test/fixtures/hetzner-program.ts");
    async function runProgram(arg: string): Promise<{ code: number; report: { error?: string; types: string[] } }> {
        return promisify(execFile)(process.execPath, [fixture, arg], {
            cwd: path.join(__dirname, ".."),
        }).then(
            (r) => ({ code: 0, report: JSON.parse(r.stdout) }),
            (e) => ({ code: e.code as number, report: JSON.parse(e.stdout) }),
        );
    }

    test("Cloudflare answering 500 leaves no hcloud resource registered and fails with the message", async () => {
        const server = await startServer({ status: 500, body: "internal error" });
        try {
            const { code, report } = await runProgram(server.url);
            expect(code).toBe(1);
            expect(report.error).toContain(`Cloudflare IP ranges from ${server.url} rejected: HTTP 500 Internal Server Error after retries`);
            expect(report.types.filter((t) => t.startsWith("hcloud:"))).toEqual([]);
            expect(report.types).toContain("cloudflare-origin-firewall:index:HetznerOriginFirewall");
            expect(server.requests).toHaveLength(2); // first attempt + 1 retry
        } finally {
            await server.close();
        }
    });

    test("world-open ranges handed in fail like fetched ones, with no hcloud resource", async () => {
        const { code, report } = await runProgram(JSON.stringify({ ipv4: ["0.0.0.0/0"], ipv6: ["2400:cb00::/32"] }));
        expect(code).toBe(1);
        expect(report.error).toContain('Cloudflare IP ranges from cloudflare.ranges rejected: cloudflare.ranges.ipv4[0]: "0.0.0.0/0" is broader than /12');
        expect(report.types.filter((t) => t.startsWith("hcloud:"))).toEqual([]);
    });

    test("the same program with good ranges registers the firewall (the harness can succeed)", async () => {
        const { code, report } = await runProgram(JSON.stringify(SAMPLE_RANGES));
        expect(code).toBe(0);
        expect(report.types).toEqual(["pulumi:pulumi:Stack", "cloudflare-origin-firewall:index:HetznerOriginFirewall", "hcloud:index/firewall:Firewall"]);
    });
});

describe("pure validation", () => {
    const base: OriginPolicyArgs = { ssh: { sources: ["203.0.113.7"] } };
    test.each<[string, OriginPolicyArgs, string]>([
        ["host bits in an SSH source", { ssh: { sources: ["203.0.113.7", "192.0.2.1", "10.0.0.5/24"] } }, 'ssh.sources[2]: "10.0.0.5/24" has host bits set; did you mean "10.0.0.0/24" or "10.0.0.5/32"?'],
        ["SSH sources missing", { ssh: {} as any }, "ssh.sources: undefined must be a non-empty list of addresses or CIDR blocks"],
        ["no ssh at all", {} as any, "ssh: undefined is missing; give ssh.sources, the addresses allowed to reach SSH, so you cannot be locked out"],
        ["SSH world-open without opt-in", { ssh: { sources: ["0.0.0.0/0"] } }, "ssh.sources: SSH (tcp 22) would admit all of IPv4 to the SSH port 22; list trusted addresses instead, or set ssh.allowFromAnywhere: true if that is really intended"],
        ["SSH ::/0 without opt-in", { ssh: { sources: ["203.0.113.7", "::/0"] } }, "ssh.sources: SSH (tcp 22) would admit 1 IPv4 address (a /32 worth, <0.01% of IPv4) and all of IPv6 to the SSH port 22"],
        ["SSH port out of range", { ssh: { sources: ["203.0.113.7"], port: 70000 } }, "ssh.port: 70000 is not a port; use a whole number from 1 to 65535"],
        ["SSH port zero", { ssh: { sources: ["203.0.113.7"], port: 0 } }, "ssh.port: 0 is not a port"],
        ["a Cloudflare port out of range", { ...base, cloudflare: { ports: [443, 65536] } }, "cloudflare.ports[1]: 65536 is not a port"],
        ["empty Cloudflare ports", { ...base, cloudflare: { ports: [] } }, "cloudflare.ports: [] must be a non-empty list of ports; omit it for the default [443]"],
        ["SSH port among Cloudflare ports", { ...base, cloudflare: { ports: [22] } }, "cloudflare.ports: 22 is also the SSH port"],
        ["rule without description", { ...base, rules: [{ description: " ", port: 9000, sources: ["203.0.113.7"] }] }, 'rules[0].description: " " is empty; every rule needs a description saying what it admits'],
        ["rule description missing, in our words", { ...base, rules: [{ port: 9000, sources: ["203.0.113.7"] } as any] }, 'rules[0].description: missing; every rule needs a description saying what it admits, e.g. "Grafana from the office"'],
        ["rule port range backwards", { ...base, rules: [{ description: "x", port: "8100-8000", sources: ["203.0.113.7"] }] }, 'rules[0].port: "8100-8000" runs backwards; write the lower port first ("8000-8100")'],
        ["rule port not a port", { ...base, rules: [{ description: "x", port: "http", sources: ["203.0.113.7"] }] }, 'rules[0].port: "http" is not a port or range; use e.g. 9000, "9000" or "8000-8100"'],
        ["rule port range beyond 65535", { ...base, rules: [{ description: "x", port: "9000-70000", sources: ["203.0.113.7"] }] }, "rules[0].port: 70000 is not a port"],
        ["tcp rule without port", { ...base, rules: [{ description: "x", sources: ["203.0.113.7"] }] }, 'rules[0].port: missing; tcp rules need a port such as 9000 or a range such as "8000-8100"'],
        ["icmp rule with port", { ...base, rules: [{ description: "x", protocol: "icmp", port: 8, sources: ["203.0.113.7"] }] }, "rules[0].port: 8 given for icmp, which has no ports; remove it"],
        ["unknown protocol", { ...base, rules: [{ description: "x", protocol: "sctp" as any, port: 1, sources: ["203.0.113.7"] }] }, 'rules[0].protocol: "sctp" is not supported; use "tcp", "udp" or "icmp"'],
        ["rule sources invalid", { ...base, rules: [{ description: "x", port: 1, sources: ["203.0.113.300"] }] }, 'rules[0].sources[0]: "203.0.113.300" is not a valid IP address or CIDR block'],
        [
            "rule opening a Cloudflare port to the world",
            { ...base, rules: [{ description: "x", port: "400-500", sources: ["0.0.0.0/0"] }] },
            'rules[0].sources: rules[0] ("x", tcp 400-500) would admit all of IPv4 to port 443, which only Cloudflare may reach',
        ],
        ["long description", { ...base, rules: [{ description: "x".repeat(129), port: 1, sources: ["203.0.113.7"] }] }, "is 129 bytes in UTF-8 (129 characters); a description may take at most 128 bytes"],
        ["allowPing not boolean", { ...base, allowPing: "yes" as any }, 'allowPing: "yes" must be true or false'],
    ])("%s", (_name, args, message) => {
        expect(() => validatePolicy(args)).toThrow(message);
    });

    test("SSH from anywhere with the opt-in is allowed with a warning", () => {
        const p = validatePolicy({ ssh: { sources: ["0.0.0.0/0", "::/0"], port: 2222, allowFromAnywhere: true } });
        expect(p.warnings).toEqual(["SSH (tcp 2222) admits all of IPv4 and all of IPv6 to the SSH port 2222, because ssh.allowFromAnywhere is true"]);
    });

    test("more than 50 Hetzner rules is an error with the count", () => {
        const rules = Array.from({ length: 50 }, (_, i) => ({ description: `r${i}`, port: 1000 + i, sources: ["203.0.113.7"] }));
        const policy = validatePolicy({ ...base, rules });
        expect(() => toHetznerRules(renderPolicy(policy, SAMPLE_RANGES))).toThrow("Hetzner: this policy renders 52 rules, more than the 50 a Hetzner firewall allows; merge extra rules, use port ranges, or list fewer trusted sources");
    });

    test.each<[string, () => unknown, string]>([
        ["empty label selector", () => toHetznerApplyTos({ labelSelectors: ["app=web", ""] }), 'applyTo.labelSelectors[1]: "" is empty; write a selector such as "app=dashboard"'],
        ["bad server id", () => toHetznerApplyTos({ serverIds: [-3] }), "applyTo.serverIds[0]: -3 is not a server id"],
        [
            "name too long (9 characters are kept for the generation suffix)",
            () => validateHetznerNaming("n".repeat(120), {}),
            'firewallName: "' + "n".repeat(120) + '" is 120 characters; use 1 to 119 (Hetzner allows 128, and 9 are kept for the generation suffix)',
        ],
        ["label selectors and server ids together", () => toHetznerApplyTos({ labelSelectors: ["app=web"], serverIds: [42] }), "applyTo: give labelSelectors or serverIds, not both"],
        ["reserved label prefix", () => validateHetznerNaming("fw", { "hetzner.cloud/x": "y" }), 'labels: key "hetzner.cloud/x" is not a Hetzner label key'],
        ["bad label value", () => validateHetznerNaming("fw", { app: "a b" }), 'labels.app: "a b" is not a Hetzner label value'],
    ])("%s", (_name, run, message) => {
        expect(run).toThrow(message);
    });
});

test("property: Hetzner rules admit exactly the policy, canonical, sorted, at most 100 sources per rule", () => {
    fc.assert(
        fc.property(policyArb, (args) => {
            const rules = toHetznerRules(renderPolicy(validatePolicy(args), SAMPLE_RANGES));
            const got = new Set<string>();
            for (const r of rules) {
                expect(r.sourceIps.length).toBeLessThanOrEqual(100);
                expect(r.sourceIps.length).toBeGreaterThan(0);
                expect(r.description.length).toBeGreaterThan(0);
                expect(canonicalCidrList(r.sourceIps)).toEqual(r.sourceIps); // canonical, sorted, unique
                r.sourceIps.forEach((s) => got.add(`${r.protocol} ${r.port ?? "-"} ${s}`));
            }
            expect([...got].sort()).toEqual([...expectedTriples(args)].sort());
        }),
        { numRuns: 200 },
    );
});

// Issue 21: label selectors in Hetzner's selector language; 5 firewalls per server.
describe("Hetzner label selectors and the per-server limit", () => {
    test.each(["app=dashboard", "app==dashboard", "env!=test", "role", "!legacy", "tier in (web,api)", "tier notin (db)", "app=dashboard,env!=test,!legacy", "example.com/role=web", "k="])("accepts %s", (sel) => {
        expect(validateLabelSelector(sel, "applyTo.labelSelectors[0]")).toBe(sel);
    });

    test.each<[string, string]>([
        ["app = dashboard!", 'applyTo.labelSelectors[0]: "app = dashboard!" is not a Hetzner label selector ("app = dashboard!" is none of the expressions); use Hetzner\'s selector language'],
        ["app=a,,b", "an empty expression between commas"],
        ["tier in (web", "unbalanced parentheses"],
        ["tier in (web,)", '"" in "tier in (web,)" is not a label value'],
        ["-app=x", '"-app" in "-app=x" is not a label key'],
        ["app=x y", "is none of the expressions"],
    ])("refuses %s", (sel, message) => {
        expect(() => toHetznerApplyTos({ labelSelectors: [sel] })).toThrow(message);
    });

    test("over 5 of our firewalls on one server is an error; exactly 5 is a warning (a replacement needs a sixth)", () => {
        const on = (n: number, id: number) => Array.from({ length: n }, (_, i) => ({ owner: `firewalls.f${i}`, serverIds: [id] }));
        expect(checkFirewallsPerServer(on(4, 7))).toEqual([]);
        expect(checkFirewallsPerServer(on(5, 7))).toEqual([
            expect.stringContaining("server 7 has 5 firewalls from this program (firewalls.f0, firewalls.f1, firewalls.f2, firewalls.f3, firewalls.f4), Hetzner's limit: a change that replaces one of them"),
        ]);
        expect(() => checkFirewallsPerServer(on(6, 7))).toThrow("applyTo.serverIds: server 7 would get 6 firewalls (firewalls.f0, firewalls.f1, firewalls.f2, firewalls.f3, firewalls.f4, firewalls.f5); Hetzner allows 5 per server");
    });
});
