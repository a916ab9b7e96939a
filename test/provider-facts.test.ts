// Issue 10: the providers' own facts. Every registration in the suite is checked
// against them (jest.config.js); these tests prove the check bites,
// that every fact names its source, and the Hetzner and DigitalOcean pitfalls.
import * as pulumi from "@pulumi/pulumi";
import { installMocks, valueOf } from "../scripts/mock-runtime";
import { SAMPLE_RANGES } from "./helpers/fixtures";
import { checkRegistration, FACTS, REGISTERED_TYPES } from "./provider-facts/facts";

const resources = installMocks();
import { HetznerOriginFirewall, renderPolicy, validatePolicy } from "../components";
import { toDigitalOceanRules, validateEgress } from "../components/digitalocean-rules";
import { hetznerPhysicalName, toHetznerRules } from "../components/hetzner-rules";

describe("provider facts", () => {
    test("every fact cites a release tag and a line, or says what backs it instead of code", () => {
        for (const f of FACTS) {
            const cited = /[\w.-]+\/[\w.-]+@v\d+\.\d+\.\d+ [\w./-]+\.\w+ l\.\d+/.test(f.source);
            const backed = /backed by|documentation|API specification/.test(f.source);
            expect([f.field, cited || backed]).toEqual([f.field, true]);
        }
    });

    test('the corrected facts: DigitalOcean "all" passes (the provider reads "0" back as "all"), "0" does not; #52 is not called fixed; no unmerged validator is cited', () => {
        const rule = (portRange: string) => ({ name: "fw", inboundRules: [{ protocol: "tcp", portRange, sourceAddresses: ["203.0.113.7/32"] }] });
        expect(checkRegistration("digitalocean:index/firewall:Firewall", rule("all"))).toEqual([]);
        expect(checkRegistration("digitalocean:index/firewall:Firewall", rule("0")).join("\n")).toContain('portRange "0"');
        expect(FACTS.map((f) => f.source).join("\n")).not.toMatch(/#52 fixed|not allowed to combine/);
        expect(FACTS.find((f) => f.field === "applyTos[]")!.source).toContain("hetznercloud/terraform-provider-hcloud@v1.68.0 internal/firewall/resource.go l.403-410");
    });

    test("the long-form and selector facts accept what the package sends", () => {
        expect(checkRegistration("cloudflare:index/accessRule:AccessRule", { zoneId: "z", mode: "block", configuration: { target: "ip6", value: "2001:0db8:0000:0000:0000:0000:0000:0001" } })).toEqual([]);
        expect(checkRegistration("cloudflare:index/accessRule:AccessRule", { zoneId: "z", mode: "block", configuration: { target: "ip_range", value: "2001:0db8:0000:0000:0000:0000:0000:0000/32" } })).toEqual([]);
        for (const labelSelector of ["app=dashboard", "env!=test,!legacy", "tier in (web,api)", "k notin (a)", "example.com/role==web", "present"]) {
            expect(checkRegistration("hcloud:index/firewall:Firewall", { name: "x", applyTos: [{ labelSelector }] })).toEqual([]);
        }
    });

    test("every registered resource type has facts, and every fact names a repository and path", () => {
        for (const type of REGISTERED_TYPES) expect(FACTS.filter((f) => f.type === type).length).toBeGreaterThan(0);
        for (const f of FACTS) expect(f.source).toMatch(/[\w.-]+\/[\w.-]+.* [\w./-]+\.(go|json|ya?ml|py|md)|docs\.digitalocean\.com|cloud\.spec\.json/);
    });

    test.each<[string, string, Record<string, any>, string]>([
        ["hcloud port on icmp", "hcloud:index/firewall:Firewall", { name: "x", rules: [{ direction: "in", protocol: "icmp", port: "8", sourceIps: ["0.0.0.0/0"] }] }, "port 8 on icmp"],
        ["hcloud non-canonical source", "hcloud:index/firewall:Firewall", { name: "x", rules: [{ direction: "in", protocol: "tcp", port: "22", sourceIps: ["2001:DB8::/32"] }] }, "is not canonical (the API returns 2001:db8::/32)"],
        ["hcloud both attachments", "hcloud:index/firewall:Firewall", { name: "x", applyTos: [{ server: 1 }, { labelSelector: "a=b" }] }, "servers attached both by id and by label selector"],
        ["DO all ports as 0", "digitalocean:index/firewall:Firewall", { name: "fw", inboundRules: [{ protocol: "tcp", portRange: "0", sourceAddresses: ["0.0.0.0/0"] }] }, 'portRange "0"'],
        ["DO duplicate rules", "digitalocean:index/firewall:Firewall", { name: "fw", inboundRules: [1, 2].map(() => ({ protocol: "tcp", portRange: "22", sourceAddresses: ["203.0.113.7/32"] })) }, "two identical rules"],
        ["DNS AAAA not canonical", "cloudflare:index/dnsRecord:DnsRecord", { zoneId: "0123456789abcdef0123456789abcdef", name: "a", type: "AAAA", content: "2001:DB8::1", proxied: true, ttl: 1 }, "is not canonical"],
        ["DNS proxied with a ttl", "cloudflare:index/dnsRecord:DnsRecord", { zoneId: "0123456789abcdef0123456789abcdef", name: "a", type: "A", content: "203.0.113.1", proxied: true, ttl: 300 }, "ttl 300"],
        ["zone setting flexible-ish typo", "cloudflare:index/zoneSetting:ZoneSetting", { zoneId: "z", settingId: "ssl", value: "Full (strict)" }, "is not one of off, flexible, full, strict"],
        ["block /20", "cloudflare:index/accessRule:AccessRule", { zoneId: "z", mode: "block", configuration: { target: "ip_range", value: "198.51.96.0/20" } }, "ip_range 198.51.96.0/20"],
        ["TLS usage typo", "tls:index/locallySignedCert:LocallySignedCert", { allowedUses: ["clientAuth"], validityPeriodHours: 1 }, 'allowed use "clientAuth"'],
        // Issue 21: each new or corrected fact, on the input that used to pass.
        ["ip6 in the compressed form", "cloudflare:index/accessRule:AccessRule", { zoneId: "z", mode: "block", configuration: { target: "ip6", value: "2001:db8::1" } }, "IPv6 value 2001:db8::1 is not in the long form"],
        ["ip6 in upper case", "cloudflare:index/accessRule:AccessRule", { zoneId: "z", mode: "block", configuration: { target: "ip6", value: "2001:0DB8:0000:0000:0000:0000:0000:0001" } }, "is not in the long form"],
        ["IPv6 ip_range compressed", "cloudflare:index/accessRule:AccessRule", { zoneId: "z", mode: "block", configuration: { target: "ip_range", value: "2001:db8::/32" } }, "IPv6 ip_range 2001:db8::/32 is not in the long form"],
        ["DO tag name with a space", "digitalocean:index/tag:Tag", { name: "web api" }, 'tag name "web api"'],
        ["DO firewall naming a tag never registered", "digitalocean:index/firewall:Firewall", { name: "fw", tags: ["never-registered"] }, 'tag "never-registered" was not registered as a digitalocean.Tag before the firewall'],
        ["Hetzner selector that is not the selector language", "hcloud:index/firewall:Firewall", { name: "x", applyTos: [{ labelSelector: "app = dashboard!" }] }, 'label selector "app = dashboard!"'],
        ["Hetzner selector with an empty in-list value", "hcloud:index/firewall:Firewall", { name: "x", applyTos: [{ labelSelector: "env in (a,)" }] }, 'label selector "env in (a,)"'],
    ])("the facts refuse %s", (_name, type, inputs, message) => {
        expect(checkRegistration(type, inputs).join("\n")).toContain(message);
    });
});

describe("Hetzner: no change to name, labels or attachment can leave a firewall without rules (#931)", () => {
    const seen: Record<string, pulumi.ResourceTransformationArgs> = {};
    const record: pulumi.ResourceTransformation = (a) => ((seen[a.name] = a), undefined);
    const deploy = async (name: string, extra: object) => {
        const fw = new HetznerOriginFirewall(name, { ssh: { sources: ["203.0.113.7"] }, cloudflare: { ranges: SAMPLE_RANGES }, firewallName: "web", ...extra }, { transformations: [record] });
        await valueOf(fw.firewall.urn);
        return resources.filter((r) => r.name === name && r.type === "hcloud:index/firewall:Firewall").pop()!.inputs;
    };

    test("the engine is told to replace, new firewall first, on any of those changes", async () => {
        await deploy("g1", { labels: { team: "ops" }, applyTo: { labelSelectors: ["role=web"] } });
        expect(seen.g1.opts.replaceOnChanges).toEqual(["name", "labels", "applyTos"]);
        expect((seen.g1.opts as pulumi.CustomResourceOptions).deleteBeforeReplace).toBe(false);
    });

    test("the physical name is deterministic and changes with the name, the labels and the attachment", async () => {
        const base = await deploy("g2", { labels: { team: "ops" }, applyTo: { labelSelectors: ["role=web"] } });
        const same = await deploy("g3", { labels: { team: "ops" }, applyTo: { labelSelectors: ["role=web"] } });
        const relabelled = await deploy("g4", { labels: { team: "web" }, applyTo: { labelSelectors: ["role=web"] } });
        const moved = await deploy("g5", { labels: { team: "ops" }, applyTo: { labelSelectors: ["role=api"] } });
        const renamed = await deploy("g6", { labels: { team: "ops" }, applyTo: { labelSelectors: ["role=web"] }, firewallName: "web2" });
        expect(base.name).toBe(same.name);
        expect(base.name).toMatch(/^web-[0-9a-f]{8}$/);
        expect(new Set([base.name, relabelled.name, moved.name, renamed.name]).size).toBe(4);
        expect(renamed.name).toMatch(/^web2-[0-9a-f]{8}$/);
        expect(base.name).toBe(hetznerPhysicalName("web", { team: "ops" }, [{ labelSelector: "role=web" }]));
    });

    test("label order does not matter (no diff from a re-ordered map)", () => {
        expect(hetznerPhysicalName("web", { a: "1", b: "2" }, [])).toBe(hetznerPhysicalName("web", { b: "2", a: "1" }, []));
    });
});

describe("the effective-rule limit and DigitalOcean's rule set", () => {
    test("Hetzner: more than 500 effective rules (rule x address) is an error with the count", () => {
        const many = Array.from({ length: 480 }, (_, i) => `45.${Math.floor(i / 250)}.${(i % 250) + 1}.1`);
        const rules = toHetznerRules.bind(null, renderPolicy(validatePolicy({ ssh: { sources: many } }), SAMPLE_RANGES));
        expect(rules).toThrow("Hetzner: this policy renders 502 effective rules (one per rule and address), more than the 500 a Hetzner firewall allows");
    });

    test("DigitalOcean: a rule identical to another is sent once (the provider keeps a set)", () => {
        const policy = validatePolicy({ ssh: { sources: ["203.0.113.7"] }, rules: [{ description: "ssh again", port: 22, sources: ["203.0.113.7"] }] });
        const { inboundRules } = toDigitalOceanRules(renderPolicy(policy, SAMPLE_RANGES), validateEgress(undefined));
        expect(inboundRules.filter((r) => r.portRange === "22")).toEqual([{ protocol: "tcp", portRange: "22", sourceAddresses: ["203.0.113.7/32"] }]);
    });
});
