/**
 * The CrossGuard pack (policy/), called as the engine calls it: each policy's
 * `validateResource` on a resource's registered inputs, wrapped in @pulumi/policy's
 * own unknown-checking proxy. No engine, no gRPC server. Inputs are shaped like real
 * registrations: the field names and value forms of hcloud, digitalocean and aws
 * (e.g. Hetzner's "any" port, DigitalOcean's "all"), and the registrations our own
 * components make under the mock runtime, which must pass.
 */
import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";
import { runUnderMocks, valueOf } from "../scripts/mock-runtime";
import { DigitalOceanOriginFirewall, HetznerOriginFirewall } from "../components";
import {
    broadSsh,
    cloudflareOnlyPorts,
    digitalOceanExplicitEgress,
    hetznerSingleAttachment,
    OPT_OUT_BROAD_SSH,
    OPT_OUT_CLOUDFLARE_ONLY,
    policies,
    resolveCloudflareOnlyConfig,
    ResourceValidationArgs,
    ResourceValidationPolicy,
} from "../policy/policies";
import { combinedExposure, StackResource } from "../policy/combined";
import { parseCidr } from "../components/cidr";
import { CF_SOURCES, SAMPLE_RANGES } from "./helpers/fixtures";
import { compiled } from "./helpers/compiled";
import { startServer } from "./helpers/server";

// The framework's proxy: reading an unknown (preview) value throws, as under the engine.
const proxy = (() => {
    try {
        return require(require.resolve("@pulumi/policy/proxy", { paths: [path.join(__dirname, "..", "policy")] }));
    } catch {
        throw new Error("policy/'s dependencies are not installed: run `npm ci --prefix policy` (CI does)");
    }
})();

const HCLOUD = "hcloud:index/firewall:Firewall";
const HCLOUD_ATTACH = "hcloud:index/firewallAttachment:FirewallAttachment";
const DO = "digitalocean:index/firewall:Firewall";
const AWS_SG = "aws:ec2/securityGroup:SecurityGroup";
const AWS_SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
const AWS_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";

const urnOf = (type: string, name: string) => `urn:pulumi:prod::shop::${type}::${name}`;

/** Runs one policy on one resource as the analyzer would; returns the violations reported. */
function validate(policy: ResourceValidationPolicy, type: string, props: Record<string, any>, config: object = {}, name = "fw"): string[] {
    const violations: string[] = [];
    const wrapped = proxy.unknownCheckingProxy(props);
    const args: ResourceValidationArgs = { type, props: wrapped, urn: urnOf(type, name), name, getConfig: <T extends object>() => config as T };
    policy.validateResource(args, (message: string) => violations.push(message));
    return violations;
}

/** Every mandatory violation of the pack on one resource. */
const mandatory = (type: string, props: Record<string, any>, config: { ssh?: object; cf?: object } = {}, name?: string) => [...validate(broadSsh, type, props, config.ssh, name), ...validate(cloudflareOnlyPorts, type, props, config.cf, name)];
const advisory = (type: string, props: Record<string, any>) => [...validate(digitalOceanExplicitEgress, type, props), ...validate(hetznerSingleAttachment, type, props)];

const hin = (port: string | undefined, sourceIps: string[], protocol = "tcp") => ({ direction: "in", protocol, ...(port === undefined ? {} : { port }), sourceIps });
const doIn = (portRange: string | undefined, sourceAddresses: string[], protocol = "tcp") => ({ protocol, ...(portRange === undefined ? {} : { portRange }), sourceAddresses });
const doEgress = [
    { protocol: "tcp", portRange: "1-65535", destinationAddresses: ["0.0.0.0/0", "::/0"] },
    { protocol: "udp", portRange: "1-65535", destinationAddresses: ["0.0.0.0/0", "::/0"] },
];
const sixteen12s = Array.from({ length: 16 }, (_, i) => `16.${i * 16}.0.0/12`); // a /8 worth, no single rule broad

describe("policy pack: violations (mandatory)", () => {
    const cases: [string, string, Record<string, any>, RegExp[]][] = [
        ["Hetzner: SSH from 0.0.0.0/0", HCLOUD, { rules: [hin("22", ["0.0.0.0/0"])] }, [/^tcp 22 is reachable from all of IPv4/]],
        ["Hetzner: split /1s in two rules", HCLOUD, { rules: [hin("22", ["0.0.0.0/1"]), hin("22", ["128.0.0.0/1"])] }, [/^tcp 22 is reachable from all of IPv4, by the union of rules\[0\] \(tcp 22\), rules\[1\] \(tcp 22\)/]],
        ["Hetzner: two /9s, one through a port range, only broad together", HCLOUD, { rules: [hin("22", ["16.0.0.0/9"]), hin("20-30", ["16.128.0.0/9"])] }, [/^tcp 22 is reachable from 16777216 IPv4 addresses \(a \/8 worth/]],
        ["Hetzner: sixteen /12s on 22", HCLOUD, { rules: [hin("22", sixteen12s)] }, [/^tcp 22 is reachable from 16777216 IPv4 addresses/]],
        ["Hetzner: IPv6 /17 pair", HCLOUD, { rules: [hin("22", ["2a00::/17"]), hin("22", ["2a00:8000::/17"])] }, [/^tcp 22 is reachable from an IPv6 \/16 worth/]],
        [
            'Hetzner: port "any" from the world (SSH and 443)',
            HCLOUD,
            { rules: [hin("any", ["0.0.0.0/0", "::/0"])] },
            [/^tcp 22 is reachable from all of IPv4 and all of IPv6/, /^tcp 443 admits all of IPv4 and all of IPv6 outside Cloudflare's ranges/],
        ],
        ["Hetzner: udp 443 (QUIC) from the world", HCLOUD, { rules: [hin("443", CF_SOURCES), hin("443", ["0.0.0.0/0"], "udp")] }, [/^udp 443 admits all of IPv4 outside Cloudflare's ranges/]],
        ["Hetzner: 440-450 from a /9 reaches 443", HCLOUD, { rules: [hin("443", CF_SOURCES), hin("440-450", ["17.0.0.0/9"])] }, [/^tcp 443 admits 8388608 IPv4 addresses .* outside Cloudflare's ranges \(17\.0\.0\.0\/9\)/]],
        ['Hetzner: opt-out label with a value other than "true"', HCLOUD, { labels: { [OPT_OUT_BROAD_SSH]: "yes" }, rules: [hin("22", ["0.0.0.0/0"])] }, [/^tcp 22 is reachable/]],
        ["Hetzner: an unreadable source counts as everywhere", HCLOUD, { rules: [hin("22", ["everyone"])] }, [/^tcp 22 is reachable from all of IPv4 and all of IPv6.*unreadable sources "everyone"/]],
        ["DigitalOcean: SSH from 0.0.0.0/0 and ::/0", DO, { inboundRules: [doIn("22", ["0.0.0.0/0", "::/0"])], outboundRules: doEgress }, [/^tcp 22 is reachable from all of IPv4 and all of IPv6/]],
        [
            "DigitalOcean: 443 from Cloudflare plus one office address",
            DO,
            { inboundRules: [doIn("443", [...CF_SOURCES, "198.51.100.7/32"])], outboundRules: doEgress },
            [/^tcp 443 admits 1 IPv4 address .* outside Cloudflare's ranges \(198\.51\.100\.7\/32\)/],
        ],
        ['DigitalOcean: udp portRange "all" from the world', DO, { inboundRules: [doIn("all", ["0.0.0.0/0"], "udp")], outboundRules: doEgress }, [/^udp 22 is reachable/, /^udp 443 admits all of IPv4/]],
        ["DigitalOcean: split /1s across a single port and a range", DO, { inboundRules: [doIn("22", ["0.0.0.0/1"]), doIn("1-100", ["128.0.0.0/1"])], outboundRules: doEgress }, [/^tcp 22 is reachable from all of IPv4/]],
        [
            "AWS SecurityGroup: protocol -1 from the world",
            AWS_SG,
            { ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }] },
            [/^tcp 22 is reachable/, /^udp 22 is reachable/, /^tcp 443 admits all of IPv4/, /^udp 443 admits all of IPv4/],
        ],
        [
            "AWS SecurityGroup: split /1s in two ingress blocks",
            AWS_SG,
            {
                ingress: [
                    { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/1"] },
                    { protocol: "6", fromPort: 0, toPort: 65535, cidrBlocks: ["128.0.0.0/1"] },
                ],
            },
            [/^tcp 22 is reachable from all of IPv4/, /^tcp 443 admits 2147483648 IPv4 addresses/],
        ],
        ["AWS SecurityGroupIngressRule: 22 from 0.0.0.0/0", AWS_INGRESS, { securityGroupId: "sg-1", ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "0.0.0.0/0" }, [/^tcp 22 is reachable from all of IPv4/]],
        [
            "AWS SecurityGroupRule: ingress 0-65535 from ::/0",
            AWS_SG_RULE,
            { type: "ingress", protocol: "tcp", fromPort: 0, toPort: 65535, ipv6CidrBlocks: ["::/0"], securityGroupId: "sg-1" },
            [/^tcp 22 is reachable from all of IPv6/, /^tcp 443 admits all of IPv6/],
        ],
    ];
    test.each(cases)("%s", (_what, type, props, expected) => {
        const found = mandatory(type, props);
        expect(found).toHaveLength(expected.length);
        expected.forEach((re, i) => expect(found[i]).toMatch(re));
    });

    test("a configured port list: 2222 is guarded only when configured", () => {
        const props = { rules: [hin("2200-2300", ["0.0.0.0/0"])] };
        expect(validate(broadSsh, HCLOUD, props)).toEqual([]);
        expect(validate(broadSsh, HCLOUD, props, { ports: [22, 2222] })).toEqual([expect.stringMatching(/^tcp 2222 is reachable from all of IPv4/)]);
    });

    test("a configured Cloudflare port: 8443 from an address outside Cloudflare", () => {
        const props = { rules: [hin("443", CF_SOURCES), hin("8443", ["203.0.113.0/24"])] };
        expect(validate(cloudflareOnlyPorts, HCLOUD, props)).toEqual([]);
        expect(validate(cloudflareOnlyPorts, HCLOUD, props, { ports: [443, 8443] })).toEqual([expect.stringMatching(/^tcp 8443 admits 256 IPv4 addresses .*\(203\.0\.113\.0\/24\)/)]);
    });

    test("opting out of one policy leaves the other in force", () => {
        const props = { labels: { [OPT_OUT_BROAD_SSH]: "true" }, rules: [hin("any", ["0.0.0.0/0"])] };
        expect(validate(broadSsh, HCLOUD, props)).toEqual([]);
        expect(validate(cloudflareOnlyPorts, HCLOUD, props)).toEqual([expect.stringMatching(/^tcp 443 admits all of IPv4/)]);
    });

    test("an unknown (preview) source list is never judged compliant: the framework's UnknownValueError surfaces", () => {
        const props = { rules: [{ direction: "in", protocol: "tcp", port: "22", sourceIps: proxy.unknownArrayValue }] };
        expect(() => validate(broadSsh, HCLOUD, props)).toThrow(proxy.UnknownValueError);
    });

    test("bad config fails the policy with the field named, instead of judging with a guess", () => {
        const props = { rules: [hin("22", ["203.0.113.7/32"])] };
        expect(() => validate(broadSsh, HCLOUD, props, { ports: [0] })).toThrow(/broad-ssh\.ports\[0\]: 0 is not a port/);
        expect(() => validate(cloudflareOnlyPorts, HCLOUD, props, { ranges: { ipv4: ["0.0.0.0/0"], ipv6: [] } })).toThrow(/cloudflare-only-ports\.ranges/);
        expect(() => validate(cloudflareOnlyPorts, HCLOUD, props, { rangesFile: "missing.json" })).toThrow(/rangesFile: .*missing\.json could not be read/);
        expect(() => validate(broadSsh, HCLOUD, props, { exemptUrns: ["fw"] })).toThrow(/exemptUrns: .* must be a list of resource URNs/);
    });
});

describe("policy pack: advisories", () => {
    test("DigitalOcean firewall without outbound rules", () => {
        expect(advisory(DO, { inboundRules: [doIn("22", ["203.0.113.7/32"])] })).toEqual([expect.stringMatching(/no outbound rules, so DigitalOcean blocks all egress/)]);
        expect(advisory(DO, { inboundRules: [doIn("22", ["203.0.113.7/32"])], outboundRules: [] })).toHaveLength(1);
    });
    test("Hetzner firewall attached by label and by server, inline or through an attachment", () => {
        expect(advisory(HCLOUD, { rules: [], applyTos: [{ labelSelector: "app=web" }, { server: 42 }] })).toEqual([expect.stringMatching(/1 label selector\(s\) and 1 server\(s\).*firewall_managed_by_label_selector/)]);
        expect(advisory(HCLOUD_ATTACH, { firewallId: 7, labelSelectors: ["app=web"], serverIds: [42, 43] })).toEqual([expect.stringMatching(/1 label selector\(s\) and 2 server\(s\)/)]);
    });
    test("advisories are advisory, the exposure policies mandatory", () => {
        expect(policies.map((p) => [p.name, p.enforcementLevel])).toEqual([
            ["broad-ssh", "mandatory"],
            ["cloudflare-only-ports", "mandatory"],
            ["digitalocean-explicit-egress", "advisory"],
            ["hetzner-single-attachment", "advisory"],
        ]);
    });
});

describe("policy pack: compliant resources", () => {
    const cases: [string, string, Record<string, any>, { ssh?: object; cf?: object }?][] = [
        ["Hetzner: SSH from two /24s, 443 from Cloudflare", HCLOUD, { rules: [hin("22", ["198.51.100.0/24", "203.0.113.0/24"]), hin("443", CF_SOURCES)] }],
        ["Hetzner: two /10s on 22 (a /9 worth, below a /8)", HCLOUD, { rules: [hin("22", ["16.0.0.0/10"]), hin("20-30", ["16.64.0.0/10"])] }],
        ["Hetzner: one IPv6 /17 on 22", HCLOUD, { rules: [hin("22", ["2a00::/17"])] }],
        ["Hetzner: 23-442 and 444-65535 from the world miss both guarded ports", HCLOUD, { rules: [hin("23-442", ["0.0.0.0/0"]), hin("444-65535", ["::/0"])] }],
        ["Hetzner: outbound rules and icmp from the world", HCLOUD, { rules: [{ direction: "out", protocol: "tcp", port: "any", destinationIps: ["0.0.0.0/0"] }, hin(undefined, ["0.0.0.0/0", "::/0"], "icmp")] }],
        ["Hetzner: world SSH with the opt-out label", HCLOUD, { labels: { [OPT_OUT_BROAD_SSH]: "true" }, rules: [hin("22", ["0.0.0.0/0"]), hin("443", CF_SOURCES)] }],
        ["Hetzner: a server not behind Cloudflare, opted out", HCLOUD, { labels: { [OPT_OUT_CLOUDFLARE_ONLY]: "true" }, rules: [hin("22", ["203.0.113.7/32"]), hin("443", ["0.0.0.0/0"])] }],
        ["DigitalOcean: world SSH exempted by URN", DO, { inboundRules: [doIn("22", ["0.0.0.0/0"])], outboundRules: doEgress }, { ssh: { exemptUrns: [urnOf(DO, "fw")] } }],
        ["DigitalOcean: 443 from a subset of Cloudflare, 80 from the world", DO, { inboundRules: [doIn("443", ["104.16.0.0/13", "2606:4700::/32"]), doIn("80", ["0.0.0.0/0"])], outboundRules: doEgress }],
        [
            "AWS SecurityGroup: 443 from Cloudflare, 22 from one address, world egress",
            AWS_SG,
            {
                ingress: [
                    { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: SAMPLE_RANGES.ipv4, ipv6CidrBlocks: SAMPLE_RANGES.ipv6 },
                    { protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["203.0.113.7/32"] },
                ],
                egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
            },
        ],
        ["AWS SecurityGroupRule: egress to the world", AWS_SG_RULE, { type: "egress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
        ["AWS SecurityGroupIngressRule: tagged opt-out", AWS_INGRESS, { ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "0.0.0.0/0", tags: { [OPT_OUT_BROAD_SSH]: "true" } }],
        ["not a firewall", "hcloud:index/server:Server", { name: "web", rules: [hin("22", ["0.0.0.0/0"])] }],
    ];
    // The config rides in the props' place when absent, so jest never reads a 4th argument as `done`.
    test.each(cases.map(([what, type, props, config]) => [what, type, { props, config: config ?? {} }] as const))("%s", (_what, type, { props, config }) => {
        expect(mandatory(type, props, config)).toEqual([]);
        if (type === DO || type === HCLOUD) expect(advisory(type, props)).toEqual([]);
    });
});

describe("policy pack: what our own components register passes", () => {
    test("Hetzner and DigitalOcean firewalls, defaults and extras, pass every policy", async () => {
        const run = await runUnderMocks(async () => {
            const cloudflare = { ranges: SAMPLE_RANGES };
            const made = [
                new HetznerOriginFirewall("web", { ssh: { sources: ["203.0.113.7"] }, cloudflare, applyTo: { labelSelectors: ["app=web"] } }),
                new HetznerOriginFirewall("dash", {
                    ssh: { sources: ["198.51.100.0/24", "2001:db8:1::/48"], port: 2222 },
                    cloudflare: { ...cloudflare, ports: [443, 8443] },
                    rules: [
                        { description: "metrics", port: "9000-9100", sources: ["203.0.113.10"] },
                        { description: "dns", protocol: "udp", port: 53, sources: ["198.51.100.53"] },
                    ],
                    allowPing: true,
                    applyTo: { serverIds: [42] },
                    labels: { app: "dash" },
                }),
                new DigitalOceanOriginFirewall("api", { ssh: { sources: ["203.0.113.7"] }, cloudflare, tags: ["api"] }),
                new DigitalOceanOriginFirewall("api-quiet", { ssh: { sources: ["203.0.113.7"] }, cloudflare, dropletIds: [7], egress: [{ protocol: "tcp", port: 443, destinations: ["0.0.0.0/0"] }] }),
            ];
            await Promise.all(made.map((m) => valueOf(m.firewallId)));
        });
        const firewalls = run.resources.filter((r) => r.type === HCLOUD || r.type === DO);
        expect(firewalls.map((r) => r.name).sort()).toEqual(["api", "api-quiet", "dash", "web"]);
        for (const fw of firewalls) {
            const config = fw.name === "dash" ? { ssh: { ports: [2222] }, cf: { ports: [443, 8443] } } : {};
            expect([fw.name, mandatory(fw.type, fw.inputs, config, fw.name), advisory(fw.type, fw.inputs)]).toEqual([fw.name, [], []]);
        }
    });

    test("the bundled saved answer is what the pack uses by default, validated like a fetched one", () => {
        expect(resolveCloudflareOnlyConfig({}).ranges).toEqual(SAMPLE_RANGES);
    });

    test("the shipped stacks, run by the real program: clean, except deliberate world SSH once the org guards its port", async () => {
        const server = await startServer();
        try {
            const ROOT = path.join(__dirname, "..");
            for (const stack of ["hetzner-web", "hetzner-dashboard", "digitalocean-api"]) {
                const { stdout } = await promisify(execFile)(process.execPath, [compiled("test/fixtures/run-program.ts"), stack, server.url], { cwd: ROOT });
                const firewalls = (JSON.parse(stdout).resources as { type: string; name: string; inputs: Record<string, any> }[]).filter((r) => r.type === HCLOUD || r.type === DO);
                expect(firewalls).toHaveLength(1);
                const [fw] = firewalls;
                expect([stack, mandatory(fw.type, fw.inputs, { cf: { ports: [80, 443] } }), advisory(fw.type, fw.inputs)]).toEqual([stack, [], []]);
                // hetzner-web opens SSH on 2222 to all (allowFromAnywhere): an org that guards 2222 sees it, until the firewall carries the opt-out label.
                const guarded = validate(broadSsh, fw.type, fw.inputs, { ports: [22, 2222] });
                expect([stack, guarded]).toEqual([stack, stack === "hetzner-web" ? [expect.stringMatching(/^tcp 2222 is reachable from all of IPv4 and all of IPv6/)] : []]);
            }
        } finally {
            await server.close();
        }
    });
});

/** A stack's resource as the analyzer hands it over: proxied props, dependencies by property. */
const res = (type: string, name: string, props: Record<string, any>, deps: Record<string, StackResource[]> = {}): StackResource => ({
    type,
    name,
    urn: urnOf(type, name),
    props: proxy.unknownCheckingProxy(props),
    propertyDependencies: deps,
});

describe("policy pack: firewalls on the same servers, judged together (combined-exposure, mandatory)", () => {
    const stack = (resources: StackResource[], config: object = {}) => {
        const found: [string, string | undefined][] = [];
        combinedExposure.validateStack({ resources, getConfig: <T extends object>() => config as T }, (message, urn) => found.push([message, urn]));
        return found;
    };
    const web = (name: string, rules: object[], extra: object = {}) => res(HCLOUD, name, { rules, applyTos: [{ labelSelector: "role=web" }], ...extra });

    test("two Hetzner firewalls on one label selector: two /9s on 22, neither broad alone, are a /8 together", () => {
        const found = stack([web("a", [hin("22", ["16.0.0.0/9"])]), web("b", [hin("20-30", ["16.128.0.0/9"])])]);
        expect(found).toEqual([
            [expect.stringMatching(/^hcloud-label:role=web is reached by 2 firewalls together .*: tcp 22 is reachable from 16777216 IPv4 addresses .* by the union of a rules\[0\] \(tcp 22\), b rules\[0\] \(tcp 20-30\)/), urnOf(HCLOUD, "a")],
        ]);
    });

    test("a FirewallAttachment joins its firewall to the selector's group; what one member shows alone is not reported twice", () => {
        const a = res(HCLOUD, "a", { rules: [hin("443", ["0.0.0.0/1"])] });
        const attach = res(HCLOUD_ATTACH, "attach-a", { labelSelectors: ["role=web"] }, { firewallId: [a] });
        const b = web("b", [hin("443", CF_SOURCES)]);
        // a alone already admits a /1 outside Cloudflare on 443 (reported per resource); the union adds nothing new.
        expect(stack([a, attach, b])).toEqual([]);
        const c = web("c", [hin("22", ["16.0.0.0/9"])]);
        const d = res(HCLOUD, "d", { rules: [hin("22", ["16.128.0.0/9"])] });
        expect(stack([c, d, res(HCLOUD_ATTACH, "attach-d", { labelSelectors: ["role=web"] }, { firewallId: [d] })]).map(([m]) => m.slice(0, 40))).toEqual(["hcloud-label:role=web is reached by 2 fi"]);
    });

    test("an AWS security group's inline ingress and a standalone ingress rule on it", () => {
        const sg = res(AWS_SG, "sg", { ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["16.0.0.0/9"] }] });
        const rule = res(AWS_INGRESS, "more", { ipProtocol: "tcp", fromPort: 0, toPort: 1024, cidrIpv4: "16.128.0.0/9" }, { securityGroupId: [sg] });
        expect(stack([sg, rule])).toEqual([[expect.stringMatching(/^aws-sg:.*sg is reached by 2 firewalls together.*tcp 22 is reachable from 16777216 IPv4 addresses/), sg.urn]]);
    });

    test("DigitalOcean firewalls sharing a tag or a Droplet: SSH halves add up; Cloudflare on 443 plus one trusted address do not", () => {
        const one = res(DO, "one", { inboundRules: [doIn("443", [...CF_SOURCES]), doIn("22", ["16.0.0.0/9"])], outboundRules: doEgress, tags: ["api"] });
        const two = res(DO, "two", { inboundRules: [doIn("22", ["203.0.113.7/32"])], outboundRules: doEgress, tags: ["api"] });
        expect(stack([one, two])).toEqual([]);
        const droplet = res("digitalocean:index/droplet:Droplet", "d1", { name: "d1" });
        const three = res(DO, "three", { inboundRules: [doIn("1-1024", ["16.128.0.0/9"], "udp"), doIn("22", ["16.128.0.0/9"])], outboundRules: doEgress }, { dropletIds: [droplet] });
        const four = res(DO, "four", { inboundRules: [doIn("22", ["16.0.0.0/9"])], outboundRules: doEgress }, { dropletIds: [droplet] });
        expect(stack([three, four]).map(([m]) => m.replace(/ \(urn.*?\)/, ""))).toEqual([expect.stringMatching(/^do-droplet:.*::d1 is reached by 2 firewalls together: tcp 22 is reachable from 16777216 IPv4 addresses/)]);
    });

    test.each([["app==web"], ["app in (web)"], [" app = web "], ["app in (web,web)"]])('Hetzner: %j is the same selector as "app=web"', (other) => {
        const a = res(HCLOUD, "a", { rules: [hin("22", ["16.0.0.0/9"])], applyTos: [{ labelSelector: "app=web" }] });
        const b = res(HCLOUD, "b", { rules: [hin("22", ["16.128.0.0/9"])], applyTos: [{ labelSelector: other }] });
        expect(stack([a, b]).map(([m]) => m.replace(/ \(urn.*?\)/, ""))).toEqual([expect.stringMatching(/^hcloud-label:app=web is reached by 2 firewalls together: tcp 22 is reachable from 16777216 IPv4 addresses/)]);
    });

    test("Hetzner: selectors that could select one server, with no server in the stack to tell, are judged together and the message says so", () => {
        const a = res(HCLOUD, "a", { rules: [hin("22", ["16.0.0.0/9"])], applyTos: [{ labelSelector: "app=web" }] });
        const b = res(HCLOUD, "b", { rules: [hin("22", ["16.128.0.0/9"])], applyTos: [{ labelSelector: "app" }] });
        expect(stack([a, b])).toEqual([
            [
                expect.stringMatching(
                    /^Hetzner label selectors "app", "app=web" \(they could select the same servers, and no hcloud\.Server in the stack .* fail closed.*\) is reached by 2 firewalls together .*: tcp 22 is reachable from 16777216 IPv4/,
                ),
                a.urn,
            ],
        ]);
        // Selectors that exclude each other never share a server.
        for (const other of ["app=db", "app!=web", "!app", "app notin (web,api)"]) {
            expect([other, stack([a, res(HCLOUD, "b", { rules: [hin("22", ["16.128.0.0/9"])], applyTos: [{ labelSelector: other }] })])]).toEqual([other, []]);
        }
        // A selector Hetzner's grammar cannot read could select anything.
        expect(stack([a, res(HCLOUD, "b", { rules: [hin("22", ["16.128.0.0/9"])], applyTos: [{ labelSelector: "app=(web" }] })])).toHaveLength(1);
    });

    test("Hetzner: the stack's servers resolve selectors: grouped only where one server carries both", () => {
        const a = res(HCLOUD, "a", { rules: [hin("22", ["16.0.0.0/9"])], applyTos: [{ labelSelector: "role=web" }] });
        const b = res(HCLOUD, "b", { rules: [hin("22", ["16.128.0.0/9"])], applyTos: [{ labelSelector: "env=prod" }] });
        const server = (name: string, labels: Record<string, string>) => res("hcloud:index/server:Server", name, { name, labels });
        expect(stack([a, b])).toHaveLength(1); // unresolved: fail closed
        expect(stack([a, b, server("web1", { role: "web" }), server("db1", { env: "prod" })])).toEqual([]);
        const both = server("web2", { role: "web", env: "prod" });
        expect(stack([a, b, server("web1", { role: "web" }), server("db1", { env: "prod" }), both])).toEqual([[expect.stringMatching(/^hcloud-server:.*::web2 is reached by 2 firewalls together .*: tcp 22 is reachable from 16777216 IPv4/), a.urn]]);
        // A server attached by reference joins the selector that matches its labels.
        const c = res(HCLOUD, "c", { rules: [hin("22", ["16.128.0.0/9"])], applyTos: [{ server: 7 }] }, { applyTos: [both] });
        expect(stack([a, c, both]).map(([m]) => m.slice(0, 60))).toEqual([`hcloud-server:${both.urn} is reached by 2 firewalls together`.slice(0, 60)]);
    });

    test("AWS: security groups on one instance, network interface or launch template are judged together", () => {
        const sg = (name: string, src: string) => res(AWS_SG, name, { ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: [src] }] });
        const [a, b] = [sg("a", "16.0.0.0/9"), sg("b", "16.128.0.0/9")];
        expect(stack([a, b])).toEqual([]);
        const instance = res("aws:ec2/instance:Instance", "i", { vpcSecurityGroupIds: ["sg-a", "sg-b"] }, { vpcSecurityGroupIds: [a, b] });
        expect(stack([a, b, instance])).toEqual([[expect.stringMatching(/^aws-interface:.*::i is reached by 2 firewalls together .*: tcp 22 is reachable from 16777216 IPv4/), a.urn]]);
        const eni = res("aws:ec2/networkInterface:NetworkInterface", "eni", { securityGroups: ["sg-a"] }, { securityGroups: [a] });
        const attach = res("aws:ec2/networkInterfaceSecurityGroupAttachment:NetworkInterfaceSecurityGroupAttachment", "att", {}, { securityGroupId: [b], networkInterfaceId: [eni] });
        expect(stack([a, b, eni, attach]).map(([m]) => m.slice(0, 40))).toEqual([`aws-interface:${eni.urn}`.slice(0, 40)]);
        // A standalone rule on a group of the instance joins too.
        const rule = res(AWS_INGRESS, "r", { ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "16.128.0.0/9" }, { securityGroupId: [b] });
        const c = sg("c", "203.0.113.7/32");
        const lt = res("aws:ec2/launchTemplate:LaunchTemplate", "lt", { vpcSecurityGroupIds: ["sg-a", "sg-c"] }, { vpcSecurityGroupIds: [a, c] });
        expect(stack([a, rule, instance]).map(([m]) => m.slice(0, 40))).toEqual([`aws-interface:${instance.urn}`.slice(0, 40)]);
        expect(stack([a, c, rule, lt])).toEqual([]); // the rule's group is not on the launch template
    });

    test("different selectors are different servers; opted-out and exempted firewalls are left out of the union", () => {
        expect(stack([web("a", [hin("22", ["16.0.0.0/9"])]), res(HCLOUD, "b", { rules: [hin("22", ["16.128.0.0/9"])], applyTos: [{ labelSelector: "role=db" }] })])).toEqual([]);
        expect(stack([web("a", [hin("22", ["16.0.0.0/9"])], { labels: { [OPT_OUT_BROAD_SSH]: "true" } }), web("b", [hin("22", ["16.128.0.0/9"])])])).toEqual([]);
        expect(stack([web("a", [hin("22", ["16.0.0.0/9"])]), web("b", [hin("22", ["16.128.0.0/9"])])], { exemptUrns: [urnOf(HCLOUD, "b")] })).toEqual([]);
        expect(stack([web("a", [hin("22", ["16.0.0.0/9"])]), web("b", [hin("22", ["16.128.0.0/9"])])], { sshPorts: [2222] })).toEqual([]);
    });
});

describe("policy pack: sources read as the provider reads them (IPv4-mapped IPv6)", () => {
    // terraform-provider-hcloud reads every source with Go's net.ParseCIDR and sends the
    // IPNet on, which hcloud-go writes with IPNet.String(): a block inside ::ffff:0:0/96 is
    // written as its IPv4 block, prefix − 96. Sources:
    //   hetznercloud/terraform-provider-hcloud@v1.68.0 internal/firewall/validation.go (normalizeIP: ParseCIDR then ipnet.String(), the StateFunc and validateIPDiag of source_ips)
    //   hetznercloud/terraform-provider-hcloud@v1.68.0 internal/firewall/resource.go l.114-120, l.215-218 (source_ips StateFunc normalizeIP; toHcloudRule: net.ParseCIDR)
    //   hetznercloud/hcloud-go@v2.47.0 hcloud/zz_schema_converter.go l.1796-1799 and hcloud/schema_gen.go l.698-700 (source_ips sent as stringFromIPNet = IPNet.String())
    //   golang/go src/net/ip.go networkNumberAndMask and IPNet.String (read at commit 661a6664; the provider builds with go 1.26.4 per its go.mod):
    //   To4() of ::ffff:a.b.c.d is a.b.c.d, and a 16-byte mask is cut to its last 4 bytes.
    test.each([
        ["::ffff:0:0/96", "0.0.0.0/0"],
        ["::ffff:8000:0/97", "128.0.0.0/1"],
        ["::ffff:1.2.3.4/96", "0.0.0.0/0"],
        ["::ffff:198.51.100.7", "198.51.100.7/32"],
        ["::FFFF:C633:6400/120", "198.51.100.0/24"],
        ["::/96", "::/96"], // IPv4-compatible: To4() needs the ffff, so Go keeps it IPv6
        ["::fffe:0:0/96", "::fffe:0:0/96"],
        ["::ffff:0:0/95", "::fffe:0:0/95"],
        ["2001:db8::1.2.3.4", "2001:db8::102:304/128"],
    ])('parseCidr(%j, "provider-read") is %s, as Go gives it back', (input, expected) => {
        expect(parseCidr(input, "provider-read").text).toBe(expected);
    });

    test("the user's own input still refuses IPv6 forms that embed IPv4", () => {
        expect(() => parseCidr("::ffff:1.2.3.4/96")).toThrow(/IPv4-mapped IPv6 form of 1\.2\.3\.4/);
        expect(parseCidr("::ffff:0:0/96").text).toBe("::ffff:0:0/96");
    });

    test.each([
        ["::ffff:0:0/96 is all of IPv4 at Hetzner", ["::ffff:0:0/96"]],
        ["two mapped /97s are the two IPv4 /1s", ["::ffff:0:0/97", "::ffff:8000:0/97"]],
        ["a mapped block with host bits", ["::ffff:1.2.3.4/96"]],
    ])("Hetzner: SSH from %s", (_what, sourceIps) => {
        expect(mandatory(HCLOUD, { rules: [hin("22", sourceIps)] })).toEqual([expect.stringMatching(/^tcp 22 is reachable from all of IPv4, by the union of rules\[0\] \(tcp 22\)\. /)]);
    });

    test("a mapped form of Cloudflare's own range on 443 is Cloudflare's range, not outside it", () => {
        expect(mandatory(HCLOUD, { rules: [hin("443", ["::ffff:6810:0/109"])] })).toEqual([]);
        expect(mandatory(HCLOUD, { rules: [hin("443", ["::ffff:0:0/97"])] })).toEqual([expect.stringMatching(/^tcp 443 admits 2147483648 IPv4 addresses .*\(0\.0\.0\.0\/1\)/)]);
    });
});

describe("policy pack: sources that are references (AWS prefix lists, DigitalOcean load balancers)", () => {
    const stack = (resources: StackResource[]) => {
        const found: [string, string | undefined][] = [];
        combinedExposure.validateStack({ resources, getConfig: <T extends object>() => ({}) as T }, (message, urn) => found.push([message, urn]));
        return found;
    };
    const PL = "aws:ec2/managedPrefixList:ManagedPrefixList";
    const sshFromList = (ids: string[]) => ({ ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, prefixListIds: ids }] });

    test("DigitalOcean: a load balancer source is everywhere (it forwards whatever reaches it), and the message says so", () => {
        const props = { inboundRules: [{ protocol: "tcp", portRange: "22", sourceLoadBalancerUids: ["lb-1"] }, doIn("443", CF_SOURCES)], outboundRules: doEgress };
        expect(mandatory(DO, props)).toEqual([expect.stringMatching(/^tcp 22 is reachable from all of IPv4 and all of IPv6, by the union of inboundRules\[0\] \(tcp 22\); inboundRules\[0\]: load balancer\(s\) "lb-1" were counted as everywhere/)]);
        // The note goes with the rules that reach the port, not with every finding of the firewall.
        const elsewhere = { inboundRules: [{ protocol: "tcp", portRange: "80", sourceLoadBalancerUids: ["lb-1"] }, doIn("22", ["0.0.0.0/0"])], outboundRules: doEgress };
        expect(mandatory(DO, elsewhere)).toEqual([expect.not.stringContaining("load balancer")]);
        const on443 = { inboundRules: [{ protocol: "tcp", portRange: "443", sourceLoadBalancerUids: ["lb-1"], sourceAddresses: CF_SOURCES }], outboundRules: doEgress };
        expect(mandatory(DO, on443)).toEqual([expect.stringMatching(/^tcp 443 admits all of IPv4 and all of IPv6 outside Cloudflare's ranges.*load balancer\(s\) "lb-1" were counted as everywhere/)]);
    });

    test("AWS: a prefix list the stack cannot resolve is everywhere, reported by the stack policy (one resource cannot tell)", () => {
        const sg = res(AWS_SG, "sg", sshFromList(["pl-0123"]));
        expect(mandatory(AWS_SG, sg.props)).toEqual([]); // left to the stack policy
        expect(stack([sg])).toEqual([
            [expect.stringMatching(/^urn:.*::sg on its own, with its prefix lists: tcp 22 is reachable from all of IPv4 and all of IPv6, .*prefix list\(s\) "pl-0123" were counted as everywhere \(no aws:ec2\/managedPrefixList/), sg.urn],
        ]);
        const rule = res(AWS_INGRESS, "r", { ipProtocol: "tcp", fromPort: 22, toPort: 22, prefixListId: "pl-9" });
        expect(stack([rule]).map(([m]) => m)).toEqual([expect.stringMatching(/tcp 22 is reachable from all of IPv4 and all of IPv6.*"pl-9" were counted as everywhere/)]);
        const sgRule = res(AWS_SG_RULE, "sr", { type: "ingress", protocol: "tcp", fromPort: 443, toPort: 443, prefixListIds: ["pl-9"] });
        expect(stack([sgRule]).map(([m]) => m)).toEqual([expect.stringMatching(/tcp 443 admits all of IPv4 and all of IPv6 outside Cloudflare's ranges.*"pl-9" were counted as everywhere/)]);
    });

    test("AWS: a prefix list of the stack is read as its entries, inline and standalone", () => {
        const office = res(PL, "office", { entries: [{ cidr: "203.0.113.0/24" }], maxEntries: 5, addressFamily: "IPv4" });
        expect(stack([office, res(AWS_SG, "sg", sshFromList(["pl-office"]), { ingress: [office] })])).toEqual([]);
        const half = res(PL, "half", { entries: [{ cidr: "16.0.0.0/9" }] });
        const more = res("aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry", "more", { cidr: "16.128.0.0/9" }, { prefixListId: [half] });
        const sg = res(AWS_SG, "sg", sshFromList(["pl-half"]), { ingress: [half] });
        expect(stack([half, sg])).toEqual([]);
        expect(stack([half, more, sg])).toEqual([[expect.stringMatching(/tcp 22 is reachable from 16777216 IPv4 addresses .*prefix list\(s\) "pl-half" were read as the entries/), sg.urn]]);
        // Two ids but one list of the stack: the other is not the stack's, so everywhere.
        expect(stack([office, res(AWS_SG, "sg2", sshFromList(["pl-office", "pl-aws-managed"]), { ingress: [office] })]).map(([m]) => m)).toEqual([expect.stringMatching(/all of IPv4 and all of IPv6.*were counted as everywhere/)]);
    });
});
