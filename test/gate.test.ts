// Issue 18: one gate before the first resource. The pure check over a whole
// program, and the real program (index.ts) under the mock engine: a valid but
// over-limit Cloudflare answer, an over-limit DNS name, duplicate delivery hosts or
// colliding edge names register nothing at all, not even the other firewalls.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { CloudflareRanges, DigitalOceanOriginFirewall, FirewallConfig, HetznerOriginFirewall, parseStackConfig } from "../components";
import { validateHandedInRanges } from "../components/cloudflare";
import { checkDeployment } from "../components/gate";
import { checkLockout } from "../components/lockout";
import { installMocks } from "../scripts/mock-runtime";
import { compiled } from "./helpers/compiled";
import { startDns, TestDns } from "./helpers/dns-server";
import { SAMPLE_RANGES } from "./helpers/fixtures";
import { answerWith, startServer, TestServer } from "./helpers/server";

const resources = installMocks();
const ROOT = path.join(__dirname, "..");

// A valid answer, just bigger than today's: 150 IPv4 /24s and 150 IPv6 /48s.
const BIG = {
    ipv4_cidrs: Array.from({ length: 150 }, (_, i) => `104.${16 + Math.floor(i / 100)}.${i % 100}.0/24`),
    ipv6_cidrs: Array.from({ length: 150 }, (_, i) => `2606:4700:${i.toString(16)}::/48`),
};
const BIG_RANGES: CloudflareRanges = validateHandedInRanges({ ipv4: BIG.ipv4_cidrs, ipv6: BIG.ipv6_cidrs });
const ZONE = "0123456789abcdef0123456789abcdef";

/** A firewall that is fine on its own: an edge, SSH delivery to one host. */
const good = {
    provider: "hetzner",
    ssh: { sources: ["203.0.113.10"] },
    applyTo: { labelSelectors: ["role=web"] },
    edge: { zoneId: ZONE, records: { "www.example.com": { ipv4: "203.0.113.20" } }, blockedSources: ["198.51.100.0/24"] },
    hostFirewall: { overSsh: { hosts: ["203.0.113.30"] } },
};
const api = { provider: "hetzner", ssh: { sources: ["203.0.113.10"] }, applyTo: { labelSelectors: ["role=api"] }, cloudflare: { ports: [443, 8443] } };
const configOf = (firewalls: Record<string, unknown>) => parseStackConfig({ firewalls }).firewalls as Record<string, FirewallConfig>;

describe("checkDeployment (pure)", () => {
    test("a good program passes and gives each firewall its policy and admitted set", () => {
        const checked = checkDeployment(configOf({ web: good, api }), SAMPLE_RANGES);
        expect([...checked.keys()]).toEqual(["web", "api"]);
        expect(
            checked
                .get("api")!
                .admitted.entries.filter((e) => e.protocol === "tcp")
                .map((e) => e.ports),
        ).toEqual([
            [22, 22],
            [443, 443],
            [8443, 8443],
        ]);
    });

    test.each<[string, Record<string, unknown>, CloudflareRanges, string]>([
        [
            "an over-limit but valid answer (150 /24s and 150 /48s on two ports): Hetzner's 500 effective rules",
            { web: good, api },
            BIG_RANGES,
            "firewalls.api: Hetzner: this policy renders 601 effective rules (one per rule and address), more than the 500 a Hetzner firewall allows",
        ],
        ["the same on DigitalOcean fits (1000 addresses per rule, no effective limit)", { web: good, api: { provider: "digitalocean", ssh: api.ssh, cloudflare: api.cloudflare, tags: ["api"] } }, BIG_RANGES, ""],
        [
            "DigitalOcean: 50 rules, inbound and outbound together",
            {
                api: {
                    provider: "digitalocean",
                    ssh: { sources: ["203.0.113.10"] },
                    tags: ["api"],
                    rules: Array.from({ length: 47 }, (_, i) => ({ description: `r${i}`, port: 9000 + i, sources: ["203.0.113.10"] })),
                },
            },
            SAMPLE_RANGES,
            "firewalls.api: DigitalOcean: this policy renders 52 rules, more than the 50 a DigitalOcean firewall allows",
        ],
        [
            "the same delivery host in two firewalls",
            { web: good, api: { ...api, hostFirewall: { overSsh: { hosts: ["203.0.113.30"] } } } },
            SAMPLE_RANGES,
            "firewalls.api.hostFirewall.overSsh.hosts[0]: 203.0.113.30 already receives the host ruleset of firewalls.web.hostFirewall.overSsh.hosts[0]",
        ],
        [
            "the same delivery host twice in one firewall, spelt differently",
            { web: { ...good, hostFirewall: { overSsh: { hosts: ["2001:db8::30", "2001:DB8:0::30"] } } } },
            SAMPLE_RANGES,
            "firewalls.web.hostFirewall.overSsh.hosts[1]: 2001:DB8:0::30 already receives the host ruleset of firewalls.web.hostFirewall.overSsh.hosts[0]",
        ],
        [
            "host delivery names that collide across two firewalls (a + x-host-y.example, a-host-x + y.example)",
            {
                a: { ...good, edge: undefined, hostFirewall: { overSsh: { hosts: ["x-host-y.example"] } } },
                "a-host-x": { ...api, hostFirewall: { overSsh: { hosts: ["y.example"] } } },
            },
            SAMPLE_RANGES,
            'firewalls.a-host-x.hostFirewall.overSsh.hosts[0] and firewalls.a.hostFirewall.overSsh.hosts[0] would both register a cloudflare-origin-firewall:index:HostFirewallOverSsh named "a-host-x-host-y.example"',
        ],
        [
            "edge record names that collide across two firewalls",
            {
                a: { provider: "hetzner", ssh: good.ssh, edge: { zoneId: ZONE, records: { "x-edge-foo.com": { ipv4: "203.0.113.20" } } } },
                "a-edge-x": { ...api, edge: { zoneId: "fedcba9876543210fedcba9876543210", records: { "foo.com": { ipv4: "203.0.113.21" } } } },
            },
            SAMPLE_RANGES,
            'firewalls.a-edge-x.edge.records.foo.com.ipv4 and firewalls.a.edge.records.x-edge-foo.com.ipv4 would both register a cloudflare:index/dnsRecord:DnsRecord named "a-edge-x-edge-foo.com-a"',
        ],
    ])("%s", (_name, firewalls, ranges, message) => {
        const config = configOf(firewalls);
        if (message === "") expect(() => checkDeployment(config, ranges)).not.toThrow();
        else expect(() => checkDeployment(config, ranges)).toThrow(message);
    });

    test("exposure judged on the union of what the names resolved to: split /9s on 8443", () => {
        const config = configOf({
            api: {
                ...api,
                rules: [
                    { description: "a", port: 8443, sources: ["a.example.net"] },
                    { description: "b", port: "8000-9000", sources: ["b.example.net"] },
                ],
            },
        });
        // As resolvePolicyNames hands them over: each name replaced by its addresses.
        config.api.rules![0].sources = ["17.0.0.0/9"];
        config.api.rules![1].sources = ["17.128.0.0/9"];
        expect(() => checkDeployment(config, SAMPLE_RANGES)).toThrow(
            'firewalls.api.rules[0].sources + rules[1].sources: together, rules[0] ("a", tcp 8443) with 8388608 IPv4 addresses (a /9 worth, 0.2% of IPv4) and rules[1] ("b", tcp 8000-9000) with 8388608 IPv4 addresses (a /9 worth, 0.2% of IPv4) would admit 16777216 IPv4 addresses (a /8 worth, 0.39% of IPv4) to port 8443',
        );
    });

    // F2: a server admits the union of every firewall applied to it.
    describe("firewalls that may share a server are judged on their union", () => {
        const hz = (applyTo: object, rules: object[], ssh: object = { sources: ["203.0.113.10"] }) => ({ provider: "hetzner", ssh, applyTo, rules });
        const dig = (placement: object, rules: object[]) => ({ provider: "digitalocean", ssh: { sources: ["203.0.113.10"] }, ...placement, rules });
        const half = (n: 0 | 1, port: number | string = 443) => [{ description: `half ${n}`, port, sources: [n === 0 ? "17.0.0.0/9" : "17.128.0.0/9"] }];
        test.each<[string, Record<string, unknown>, string]>([
            [
                "Hetzner: one selector, spelt two ways, /9 + /9 on 443",
                { a: hz({ labelSelectors: ["app=web"] }, half(0)), b: hz({ labelSelectors: ["app in (web)"] }, half(1)) },
                'firewalls.a (label selector "app=web"), firewalls.b (label selector "app=web") may be applied to the same servers, and a server admits the union of its firewalls (judged together where the program cannot tell them apart, fail closed): ' +
                    "firewalls.a.rules[0].sources + firewalls.b.rules[0].sources: together, firewalls.a.rules[0].sources (tcp 443) with 8388608 IPv4 addresses (a /9 worth, 0.2% of IPv4) and firewalls.b.rules[0].sources (tcp 443) with 8388608 IPv4 addresses (a /9 worth, 0.2% of IPv4) " +
                    "would admit 16777216 IPv4 addresses (a /8 worth, 0.39% of IPv4) to port 443, which only Cloudflare may reach",
            ],
            [
                "Hetzner: SSH from a /9 in each, selectors on different labels (one server may carry both)",
                { a: hz({ labelSelectors: ["app=web"] }, [], { sources: ["16.0.0.0/9"] }), b: hz({ labelSelectors: ["env=prod"] }, [], { sources: ["16.128.0.0/9"] }) },
                "firewalls.a.ssh.sources + firewalls.b.ssh.sources: together, firewalls.a.ssh.sources (tcp 22) with 8388608 IPv4 addresses (a /9 worth, 0.2% of IPv4) and firewalls.b.ssh.sources (tcp 22) with 8388608 IPv4 addresses (a /9 worth, 0.2% of IPv4) would admit 16777216 IPv4 addresses (a /8 worth, 0.39% of IPv4) to the SSH port 22",
            ],
            ["Hetzner: a selector and a server id (that server's labels are unknown)", { a: hz({ labelSelectors: ["app=web"] }, half(0)), b: hz({ serverIds: [42] }, half(1, "400-500")) }, "firewalls.b (server 42) may be applied to the same servers"],
            ["Hetzner: the same server id", { a: hz({ serverIds: [7, 42] }, half(0)), b: hz({ serverIds: [42] }, half(1)) }, "to port 443, which only Cloudflare may reach"],
            ["Hetzner: selectors that exclude each other", { a: hz({ labelSelectors: ["app=web"] }, half(0)), b: hz({ labelSelectors: ["app=api"] }, half(1)) }, ""],
            ["Hetzner: different server ids", { a: hz({ serverIds: [7] }, half(0)), b: hz({ serverIds: [42] }, half(1)) }, ""],
            ["unattached firewalls", { a: hz({}, half(0)), b: hz({}, half(1)) }, ""],
            [
                "DigitalOcean: two different tags (a Droplet may carry both), tcp 443 and udp 443",
                { web: dig({ tags: ["web"] }, half(0)), db: dig({ tags: ["db"] }, [{ ...half(1)[0], protocol: "udp" }]) },
                'firewalls.web (tag "web"), firewalls.db (tag "db") may be applied',
            ],
            ["DigitalOcean: a tag and a Droplet", { web: dig({ tags: ["web"] }, half(0)), five: dig({ dropletIds: [5] }, half(1)) }, "firewalls.five (Droplet 5) may be applied"],
            ["DigitalOcean: different Droplets", { four: dig({ dropletIds: [4] }, half(0)), five: dig({ dropletIds: [5] }, half(1)) }, ""],
            ["different clouds", { a: hz({ labelSelectors: ["app=web"] }, half(0)), web: dig({ tags: ["web"] }, half(1)) }, ""],
            [
                "a Cloudflare port of one is judged against the rules of the other",
                { a: { ...hz({ labelSelectors: ["app=web"] }, []), cloudflare: { ports: [443, 8443] } }, b: hz({ labelSelectors: ["app=web"] }, [{ description: "wide", port: 8443, sources: ["17.0.0.0/8"] }]) },
                "firewalls.b.rules[0].sources: firewalls.b.rules[0].sources (tcp 8443) would admit 16777216 IPv4 addresses (a /8 worth, 0.39% of IPv4) to port 8443, which only Cloudflare may reach",
            ],
            [
                "SSH opened to all by one: the other must say so too",
                { a: hz({ labelSelectors: ["app=web"] }, [], { sources: ["0.0.0.0/0"], allowFromAnywhere: true }), b: hz({ labelSelectors: ["app=web"] }, []) },
                "set ssh.allowFromAnywhere: true if that is really intended",
            ],
        ])("%s", (_name, firewalls, message) => {
            const config = configOf(firewalls);
            if (message === "") expect(() => checkDeployment(config, SAMPLE_RANGES)).not.toThrow();
            else expect(() => checkDeployment(config, SAMPLE_RANGES)).toThrow(message);
        });

        test("each firewall alone passes in every refused case: only the union is broad", () => {
            for (const fw of [hz({ labelSelectors: ["app=web"] }, half(0)), hz({ labelSelectors: ["app=web"] }, [], { sources: ["16.0.0.0/9"] })]) {
                expect(() => checkDeployment(configOf({ a: fw }), SAMPLE_RANGES)).not.toThrow();
            }
        });
    });

    test("two edges on one zone", () => {
        // parseStackConfig refuses it already; the gate holds it too, for programs that build the map themselves.
        const firewalls = { a: configOf({ a: good }).a, b: { ...configOf({ b: api }).b, edge: { zoneId: ZONE } } } as Record<string, FirewallConfig>;
        expect(() => checkDeployment(firewalls, SAMPLE_RANGES)).toThrow(`firewalls.b.edge.zoneId: zone ${ZONE} already has an edge (firewalls.a.edge)`);
    });
});

test("a component with plain ranges checks the provider's limits before registering its firewall", () => {
    const before = resources.length;
    expect(() => new HetznerOriginFirewall("big", { ssh: { sources: ["203.0.113.10"] }, cloudflare: { ports: [443, 8443], ranges: BIG_RANGES } })).toThrow("Hetzner: this policy renders 601 effective rules");
    expect(resources.slice(before).map((r) => r.type)).not.toContain("hcloud:index/firewall:Firewall");
});

test("a DigitalOcean component with plain ranges checks its limits before registering its tags and firewall", () => {
    const before = resources.length;
    const rules = Array.from({ length: 47 }, (_, i) => ({ description: `r${i}`, port: 9000 + i, sources: ["203.0.113.10"] }));
    expect(() => new DigitalOceanOriginFirewall("many", { ssh: { sources: ["203.0.113.10"] }, tags: ["api"], rules, cloudflare: { ranges: SAMPLE_RANGES } })).toThrow(
        "DigitalOcean: this policy renders 52 rules, more than the 50 a DigitalOcean firewall allows",
    );
    const registered = resources.slice(before).map((r) => r.type);
    expect(registered).not.toContain("digitalocean:index/firewall:Firewall");
    expect(registered).not.toContain("digitalocean:index/tag:Tag");
});

test("the lockout guard reads the admitted set: an extra rule on the SSH port admits the deployer too", () => {
    const checked = checkDeployment(
        configOf({
            api: {
                ...api,
                rules: [
                    { description: "jump host", port: "20-30", sources: ["198.51.100.77"] },
                    { description: "web", port: 9000, sources: ["198.51.100.88"] },
                ],
            },
        }),
        SAMPLE_RANGES,
    );
    const admitted = checked.get("api")!.admitted;
    expect(checkLockout("api", admitted, ["198.51.100.77"], "error").level).toBe("ok");
    expect(checkLockout("api", admitted, ["198.51.100.88"], "error").level).toBe("error"); // admitted on 9000, not on SSH
});

// ---------------------------------------------------------------- the program
let servers: (TestServer | TestDns)[] = [];
afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
});

async function runProgram(config: object, answer: unknown) {
    const cf = await startServer({ json: answer });
    servers.push(cf);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cof-gate-")), "config.json");
    fs.writeFileSync(file, JSON.stringify(config));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "CI"));
    return promisify(execFile)(process.execPath, [compiled("test/fixtures/run-program.ts"), file, cf.url], { cwd: ROOT, env }).then(
        (r) => ({ code: 0, report: JSON.parse(r.stdout) }),
        (e) => ({ code: e.code as number, report: JSON.parse(e.stdout) }),
    );
}

describe("the program registers nothing when the gate refuses", () => {
    test("control: the good firewall alone registers its firewall, edge and SSH delivery", async () => {
        const r = await runProgram({ firewalls: { web: good } }, answerWith(BIG));
        expect(r.code).toBe(0);
        expect(r.report.types).toEqual(expect.arrayContaining(["hcloud:index/firewall:Firewall", "cloudflare:index/dnsRecord:DnsRecord", "cloudflare:index/accessRule:AccessRule", "command:remote:Command"]));
    }, 60_000);

    test.each<[string, () => Promise<{ config: object; answer: unknown }>, string]>([
        [
            "a valid answer over Hetzner's limit (150 /24s and 150 /48s, ports 443 and 8443)",
            async () => ({ config: { firewalls: { web: good, api } }, answer: answerWith(BIG) }),
            "firewalls.api: Hetzner: this policy renders 601 effective rules (one per rule and address), more than the 500 a Hetzner firewall allows",
        ],
        [
            "a DNS name that resolves to 250 addresses, used for SSH and a dashboard",
            async () => {
                const dns = await startDns({ "office.example.net": { a: Array.from({ length: 250 }, (_, i) => `45.0.${i}.1`) } });
                servers.push(dns);
                const office = { ...api, ssh: { sources: ["office.example.net"] }, rules: [{ description: "dashboard", port: 9000, sources: ["office.example.net"] }] };
                return { config: { firewalls: { web: good, office }, dnsServers: [dns.server] }, answer: answerWith({}) };
            },
            "firewalls.office: Hetzner: this policy renders 544 effective rules",
        ],
        [
            "duplicate delivery hosts",
            async () => ({ config: { firewalls: { web: good, api: { ...api, hostFirewall: { overSsh: { hosts: ["203.0.113.30"] } } } } }, answer: answerWith({}) }),
            "firewalls.api.hostFirewall.overSsh.hosts[0]: 203.0.113.30 already receives the host ruleset of firewalls.web",
        ],
        [
            "two firewalls on one label selector whose union on 443 is a /8",
            async () => ({
                config: {
                    firewalls: {
                        a: { provider: "hetzner", ssh: { sources: ["203.0.113.10"] }, applyTo: { labelSelectors: ["app=web"] }, rules: [{ description: "x", port: 443, sources: ["17.0.0.0/9"] }] },
                        b: { provider: "hetzner", ssh: { sources: ["203.0.113.10"] }, applyTo: { labelSelectors: ["app=web"] }, rules: [{ description: "y", port: 443, sources: ["17.128.0.0/9"] }] },
                    },
                },
                answer: answerWith({}),
            }),
            "would admit 16777216 IPv4 addresses (a /8 worth, 0.39% of IPv4) to port 443",
        ],
        [
            "colliding edge record names",
            async () => ({
                config: {
                    firewalls: {
                        a: { ...good, edge: { zoneId: ZONE, records: { "x-edge-foo.com": { ipv4: "203.0.113.20" } } } },
                        "a-edge-x": { ...api, edge: { zoneId: "fedcba9876543210fedcba9876543210", records: { "foo.com": { ipv4: "203.0.113.21" } } } },
                    },
                },
                answer: answerWith({}),
            }),
            'would both register a cloudflare:index/dnsRecord:DnsRecord named "a-edge-x-edge-foo.com-a"',
        ],
    ])(
        "%s",
        async (_name, setup, message) => {
            const { config, answer } = await setup();
            const r = await runProgram(config, answer);
            expect(r.code).toBe(1);
            expect(r.report.error).toContain(message);
            // Only the stack itself, which the engine always has: no firewall, record, zone setting, certificate or command.
            expect(r.report.types).toEqual(["pulumi:pulumi:Stack"]);
        },
        60_000,
    );
});
