import * as fc from "fast-check";
import { installMocks, valueOf } from "../scripts/mock-runtime";
import { CF_SOURCES, hosts, SAMPLE_RANGES } from "./helpers/fixtures";
import { expectedTriples, policyArb } from "./helpers/policy-arb";

// Mocks first, then the code under test.
const resources = installMocks();
import { DigitalOceanOriginFirewall, renderPolicy, validatePolicy } from "../components";
import { toDigitalOceanRules, validateDigitalOceanPlacement, validateEgress } from "../components/digitalocean-rules";
import { toHetznerRules } from "../components/hetzner-rules";

const inputsOf = (name: string) => resources.find((r) => r.type === "digitalocean:index/firewall:Firewall" && r.name === name)?.inputs;

async function deploy(name: string, args: ConstructorParameters<typeof DigitalOceanOriginFirewall>[1]) {
    const fw = new DigitalOceanOriginFirewall(name, { cloudflare: { ranges: SAMPLE_RANGES }, ...args });
    await valueOf(fw.firewall.urn);
    return fw;
}

const WORLD = ["0.0.0.0/0", "::/0"];
const allowAllEgress = [
    { protocol: "tcp", portRange: "1-65535", destinationAddresses: WORLD },
    { protocol: "udp", portRange: "1-65535", destinationAddresses: WORLD },
    { protocol: "icmp", destinationAddresses: WORLD },
];

describe("DigitalOceanOriginFirewall", () => {
    test("default web server: SSH trusted, 443 from Cloudflare, explicit allow-all egress", async () => {
        const fw = await deploy("web", { ssh: { sources: ["203.0.113.7"] } });
        expect(inputsOf("web")).toEqual({
            name: "web",
            inboundRules: [
                { protocol: "tcp", portRange: "22", sourceAddresses: ["203.0.113.7/32"] },
                { protocol: "tcp", portRange: "443", sourceAddresses: CF_SOURCES },
            ],
            outboundRules: allowAllEgress,
        });
        expect(await valueOf(fw.ruleCount)).toBe(5);
        expect(await valueOf(fw.firewallId)).toBe("web-id");
        expect(await valueOf(fw.cloudflareRanges)).toEqual(SAMPLE_RANGES);
        expect(await valueOf(fw.firewall.urn)).toBe("urn:pulumi:test::cloudflare-origin-firewall::cloudflare-origin-firewall:index:DigitalOceanOriginFirewall$digitalocean:index/firewall:Firewall::web");
    });

    test("dashboard: SSH and 9000 from trusted IPs, by tag", async () => {
        await deploy("dashboard", {
            ssh: { sources: ["203.0.113.10", "198.51.100.20"] },
            rules: [{ description: "Trading dashboard", port: "9000", sources: ["198.51.100.20", "203.0.113.10"] }],
            tags: ["dashboard"],
        });
        expect(inputsOf("dashboard")).toEqual({
            name: "dashboard",
            tags: ["dashboard"],
            inboundRules: [
                { protocol: "tcp", portRange: "22", sourceAddresses: ["198.51.100.20/32", "203.0.113.10/32"] },
                { protocol: "tcp", portRange: "443", sourceAddresses: CF_SOURCES },
                { protocol: "tcp", portRange: "9000", sourceAddresses: ["198.51.100.20/32", "203.0.113.10/32"] },
            ],
            outboundRules: allowAllEgress,
        });
    });

    test("API server: 80 and 443 from Cloudflare, SSH from a /29, droplets by id, ping", async () => {
        await deploy("api", {
            ssh: { sources: ["203.0.113.8/29"] },
            cloudflare: { ports: [443, 80], ranges: SAMPLE_RANGES },
            dropletIds: [101, 102],
            allowPing: true,
            firewallName: "api-fw",
        });
        expect(inputsOf("api")).toEqual({
            name: "api-fw",
            dropletIds: [101, 102],
            inboundRules: [
                { protocol: "tcp", portRange: "22", sourceAddresses: ["203.0.113.8/29"] },
                { protocol: "tcp", portRange: "80", sourceAddresses: CF_SOURCES },
                { protocol: "tcp", portRange: "443", sourceAddresses: CF_SOURCES },
                { protocol: "icmp", sourceAddresses: WORLD },
            ],
            outboundRules: allowAllEgress,
        });
    });

    test("custom egress and explicit deny-all", async () => {
        const warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
        await deploy("custom-egress", {
            ssh: { sources: ["203.0.113.7"] },
            tags: ["api"],
            egress: [
                { port: 443, destinations: ["::/0", "0.0.0.0/0"] },
                { protocol: "udp", port: 53, destinations: ["1.1.1.1"] },
            ],
        });
        expect(inputsOf("custom-egress")!.outboundRules).toEqual([
            { protocol: "tcp", portRange: "443", destinationAddresses: WORLD },
            { protocol: "udp", portRange: "53", destinationAddresses: ["1.1.1.1/32"] },
        ]);
        await deploy("deny", { ssh: { sources: ["203.0.113.7"] }, tags: ["api"], egress: "deny-all" });
        expect(inputsOf("deny")!.outboundRules).toBeUndefined();
        expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringContaining('egress is "deny-all": the Droplets cannot reach anything outbound')]);
        warn.mockRestore();
    });

    test("an unattached firewall is flagged at deploy time", async () => {
        const warn = jest.spyOn(console, "warn").mockImplementation(() => undefined);
        await deploy("loose", { ssh: { sources: ["203.0.113.7"] } });
        expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringContaining("firewall loose is attached to no Droplet, so it protects nothing; give tags (or dropletIds)")]);
        warn.mockRestore();
    });

    test("more than 1000 addresses are split deterministically", () => {
        const many = hosts(1500);
        const { inboundRules } = toDigitalOceanRules(renderPolicy(validatePolicy({ ssh: { sources: [...many].reverse() } }), SAMPLE_RANGES), []);
        expect(inboundRules.slice(0, 2)).toEqual([
            { protocol: "tcp", portRange: "22", sourceAddresses: many.slice(0, 1000) },
            { protocol: "tcp", portRange: "22", sourceAddresses: many.slice(1000) },
        ]);
    });
});

describe("DigitalOcean limits and validation", () => {
    const ssh = { sources: ["203.0.113.7"] };
    test.each<[string, () => unknown, string]>([
        ["11 droplets", () => validateDigitalOceanPlacement({ dropletIds: Array.from({ length: 11 }, (_, i) => i + 1) }, "fw"), "dropletIds: 11 Droplets given; a DigitalOcean firewall takes at most 10. Tag the Droplets and use tags instead"],
        ["6 tags", () => validateDigitalOceanPlacement({ tags: ["a", "b", "c", "d", "e", "f"] }, "fw"), "tags: 6 tags given; a DigitalOcean firewall takes at most 5. Put one shared tag on the Droplets"],
        ["bad tag", () => validateDigitalOceanPlacement({ tags: ["web", "my tag"] }, "fw"), 'tags[1]: "my tag" is not a DigitalOcean tag; use 1 to 255 letters, digits, "_", "-" or ":"'],
        ["bad droplet id", () => validateDigitalOceanPlacement({ dropletIds: [1.5] }, "fw"), "dropletIds[0]: 1.5 is not a Droplet id"],
        ["bad firewall name", () => validateDigitalOceanPlacement({}, "my_fw"), 'firewallName: "my_fw" is not a DigitalOcean firewall name'],
        ["empty egress list", () => validateEgress([]), 'egress: [] would block all outbound traffic on DigitalOcean; write "deny-all" if that is intended, or omit egress to allow all'],
        ["unknown egress mode", () => validateEgress("open" as any), 'egress: "open" is not valid; use "allow-all", "deny-all" or a list of { protocol, port, destinations }'],
        ["egress without port", () => validateEgress([{ destinations: ["0.0.0.0/0"] }]), "egress[0].port: missing; tcp rules need a port"],
        ["egress bad destination", () => validateEgress([{ port: 443, destinations: ["1.2.3.4/8"] }]), 'egress[0].destinations[0]: "1.2.3.4/8" has host bits set; did you mean "1.0.0.0/8" or "1.2.3.4/32"?'],
        [
            "more than 50 rules in and out",
            () => toDigitalOceanRules(renderPolicy(validatePolicy({ ssh, rules: Array.from({ length: 46 }, (_, i) => ({ description: `r${i}`, port: 2000 + i, sources: ["203.0.113.7"] })) }), SAMPLE_RANGES), validateEgress(undefined)),
            "DigitalOcean: this policy renders 51 rules, more than the 50 a DigitalOcean firewall allows; inbound and outbound rules count together",
        ],
    ])("%s", (_name, run, message) => {
        expect(run).toThrow(message);
    });

    test("a limit error in the component is a ResourceError and registers no firewall", () => {
        const before = resources.length;
        expect(() => new DigitalOceanOriginFirewall("too-many", { ssh, tags: ["a", "b", "c", "d", "e", "f"], cloudflare: { ranges: SAMPLE_RANGES } })).toThrow("tags: 6 tags given");
        expect(resources.slice(before).filter((r) => r.type.startsWith("digitalocean:"))).toEqual([]);
    });

    test("no outbound rules are produced unless egress says deny-all", () => {
        fc.assert(
            fc.property(fc.constantFrom<any>(undefined, "allow-all", [{ protocol: "icmp", destinations: ["0.0.0.0/0"] }]), (egress) => {
                expect(validateEgress(egress).length).toBeGreaterThan(0);
            }),
        );
        expect(validateEgress("deny-all")).toEqual([]);
    });
});

test("property: Hetzner and DigitalOcean renderings admit exactly the same (protocol, port, source) triples", () => {
    fc.assert(
        fc.property(policyArb, (args) => {
            const rules = renderPolicy(validatePolicy(args), SAMPLE_RANGES);
            const hetzner = new Set<string>();
            for (const r of toHetznerRules(rules)) r.sourceIps.forEach((s) => hetzner.add(`${r.protocol} ${r.port ?? "-"} ${s}`));
            const digitalocean = new Set<string>();
            const { inboundRules } = toDigitalOceanRules(rules, validateEgress(undefined));
            for (const r of inboundRules) {
                expect(r.sourceAddresses.length).toBeLessThanOrEqual(1000);
                r.sourceAddresses.forEach((s) => digitalocean.add(`${r.protocol} ${r.portRange ?? "-"} ${s}`));
            }
            expect([...digitalocean].sort()).toEqual([...hetzner].sort());
            expect([...hetzner].sort()).toEqual([...expectedTriples(args)].sort());
        }),
        { numRuns: 200 },
    );
});

// Issue 21: a firewall may reference only tags that exist.
describe("DigitalOcean tags exist before the firewall", () => {
    test("each tag is registered as a child first, kept on delete, and the firewall depends on them", async () => {
        const seen: Record<string, import("@pulumi/pulumi").ResourceTransformationArgs> = {};
        const fw = new DigitalOceanOriginFirewall("tagged", { cloudflare: { ranges: SAMPLE_RANGES }, ssh: { sources: ["203.0.113.7"] }, tags: ["web", "api"] }, { transformations: [(a) => ((seen[a.name] = a), undefined)] });
        await valueOf(fw.firewall.urn);
        await Promise.all(Object.values(fw.tags).map((t) => valueOf(t.urn)));
        const tags = resources.filter((r) => r.type === "digitalocean:index/tag:Tag" && r.name.startsWith("tagged-")).map((r) => [r.name, r.inputs]);
        expect(tags.sort()).toEqual([
            ["tagged-tag-api", { name: "api" }],
            ["tagged-tag-web", { name: "web" }],
        ]);
        expect(seen["tagged-tag-api"].opts.retainOnDelete).toBe(true);
        expect(seen["tagged-tag-api"].opts.parent).toBe(fw);
        expect(seen["tagged"].opts.dependsOn).toEqual([fw.tags.api, fw.tags.web]);
        expect(inputsOf("tagged")!.tags).toEqual(["api", "web"]);
    });

    test("createTags: false registers none (the program declares them itself)", async () => {
        const fw = await deploy("selftagged", { ssh: { sources: ["203.0.113.7"] }, tags: ["web"], createTags: false });
        expect(fw.tags).toEqual({});
        expect(resources.filter((r) => r.type === "digitalocean:index/tag:Tag" && r.name.startsWith("selftagged-"))).toEqual([]);
    });

    test("two spellings of one tag are refused (DigitalOcean tags ignore case)", () => {
        expect(() => validateDigitalOceanPlacement({ tags: ["API", "api"] }, "fw")).toThrow('tags[1]: "api" and "API" are the same DigitalOcean tag (tags ignore case)');
    });
});
