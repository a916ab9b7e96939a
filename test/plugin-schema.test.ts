/**
 * The component package for every language (plugin/): the schema Pulumi infers
 * from it, in-process with the SDK's own ComponentProvider (as `pulumi package add`
 * does), must equal the committed plugin/schema.json (`npm run schema` regenerates
 * it) and contain no union-typed input; and what another language sends through
 * `construct` must reach the providers exactly as the TypeScript components send it.
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, valueOf } from "../scripts/mock-runtime";

const resources = installMocks();
import { DigitalOceanOriginFirewall, HetznerOriginFirewall } from "../components";
import { formatSchema, pluginProvider, SCHEMA_FILE } from "../scripts/schema";
import { SAMPLE_RANGES } from "./helpers/fixtures";

const provider = pluginProvider();
let schema: any;
beforeAll(async () => {
    schema = JSON.parse(await provider.getSchema());
}, 120_000);

const T = (name: string) => `cloudflare-origin-firewall:index:${name}`;

describe("inferred schema", () => {
    test("equals the committed plugin/schema.json (run `npm run schema` after changing public arguments)", () => {
        expect(formatSchema(JSON.stringify(schema))).toBe(fs.readFileSync(SCHEMA_FILE, "utf8"));
    });

    test("carries the library's name and version", () => {
        const root = JSON.parse(fs.readFileSync(require.resolve("../package.json"), "utf8"));
        expect([schema.name, schema.version]).toEqual([root.name, root.version]);
    });

    test("lists every component, in the index module, with described inputs and outputs", () => {
        expect(Object.keys(schema.resources).sort()).toEqual(["CloudflareOriginEdge", "DigitalOceanOriginFirewall", "HetznerOriginFirewall", "HostFirewallOverSsh"].map(T));
        for (const [token, r] of Object.entries<any>(schema.resources)) {
            expect([token, typeof r.description]).toEqual([token, "string"]);
            for (const [kind, props] of [
                ["input", r.inputProperties],
                ["output", r.properties],
            ] as const) {
                expect(Object.keys(props).length).toBeGreaterThan(0);
                for (const [name, p] of Object.entries<any>(props)) expect([token, kind, name, typeof p.description]).toEqual([token, kind, name, "string"]);
            }
        }
        const required = (name: string) => schema.resources[T(name)].requiredInputs;
        expect(required("HetznerOriginFirewall")).toEqual(["ssh"]);
        expect(required("DigitalOceanOriginFirewall")).toEqual(["ssh"]);
        expect(required("CloudflareOriginEdge")).toEqual(["zoneId"]);
        expect(required("HostFirewallOverSsh")).toEqual(["connection", "ruleset"]);
    });

    test("no input is union-typed: every property has exactly one type or reference, and literal sets are enums", () => {
        const seen: string[] = [];
        const check = (where: string, p: any) => {
            seen.push(where);
            expect([where, Object.keys(p).filter((k) => ["oneOf", "anyOf", "allOf"].includes(k))]).toEqual([where, []]);
            expect([where, ("type" in p ? 1 : 0) + ("$ref" in p ? 1 : 0)]).toEqual([where, 1]);
            if (p.items) check(`${where}[]`, p.items);
            if (p.additionalProperties) check(`${where}{}`, p.additionalProperties);
        };
        for (const [token, r] of Object.entries<any>(schema.resources)) for (const [n, p] of Object.entries<any>(r.inputProperties)) check(`${token}.${n}`, p);
        for (const [token, t] of Object.entries<any>(schema.types)) for (const [n, p] of Object.entries<any>(t.properties ?? {})) check(`${token}.${n}`, p);
        expect(seen.length).toBeGreaterThan(40);
        const values = (name: string) => schema.types[T(name)].enum.map((e: { value: string }) => e.value);
        expect(values("RuleProtocol")).toEqual(["tcp", "udp", "icmp"]);
        expect(values("EgressMode")).toEqual(["allow-all", "deny-all"]);
        expect(values("SslMode")).toEqual(["strict", "full"]);
        expect(schema.types[T("FirewallRule")].properties.protocol).toMatchObject({ $ref: `#/types/${T("RuleProtocol")}` });
        expect(schema.types[T("FirewallRule")].properties.port).toMatchObject({ type: "string" });
    });
});

describe("construct: what another language sends", () => {
    const typeOf = (type: string, name: string) => resources.filter((r) => r.type === type && r.name === name).map((r) => r.inputs);
    /** Waits, bounded, until the mock engine has received the registration (construct returns before the children register). */
    async function registered(type: string, name: string): Promise<Record<string, any>> {
        for (let i = 0; i < 500; i++) {
            const [found] = typeOf(type, name);
            if (found) return found;
            await new Promise((r) => setImmediate(r));
        }
        throw new Error(`${type} ${name} was never registered`);
    }
    // The inputs as they arrive from a Python or YAML program: plain JSON.
    const cloudflare = { ranges: { ipv4: SAMPLE_RANGES.ipv4, ipv6: SAMPLE_RANGES.ipv6, etag: SAMPLE_RANGES.etag } };

    test("Hetzner: the same hcloud.Firewall as the TypeScript component given the same policy", async () => {
        const sent = {
            ssh: { sources: ["203.0.113.7", "2001:db8::7"], port: 2222 },
            cloudflare,
            rules: [
                { description: "metrics", protocol: "tcp", port: "9000-9100", sources: ["198.51.100.0/24"] },
                { description: "dns", protocol: "udp", port: "53", sources: ["198.51.100.53"] },
            ],
            allowPing: true,
            applyTo: { labelSelectors: ["role=web"] },
            labels: { team: "web" },
        };
        const built = await provider.construct("py-web", T("HetznerOriginFirewall"), sent, {});
        expect(await valueOf(built.state.ruleCount as pulumi.Output<number>)).toBe(5);
        const ts = new HetznerOriginFirewall("ts-web", {
            ...sent,
            rules: [
                { description: "metrics", port: "9000-9100", sources: ["198.51.100.0/24"] },
                { description: "dns", protocol: "udp", port: 53, sources: ["198.51.100.53"] },
            ],
            firewallName: "py-web",
        });
        await valueOf(ts.firewallId);
        const [fromPlugin] = typeOf("hcloud:index/firewall:Firewall", "py-web");
        expect(fromPlugin).toEqual(typeOf("hcloud:index/firewall:Firewall", "ts-web")[0]);
        expect(fromPlugin.rules).toHaveLength(5);
    });

    test("DigitalOcean: egressRules become the explicit outbound rules; egress and egressRules together are refused", async () => {
        const sent = { ssh: { sources: ["203.0.113.7"] }, cloudflare, tags: ["api"], egressRules: [{ protocol: "tcp", port: "443", destinations: ["0.0.0.0/0", "::/0"] }] };
        await valueOf((await provider.construct("py-api", T("DigitalOceanOriginFirewall"), sent, {})).state.firewallId as pulumi.Output<string>);
        const ts = new DigitalOceanOriginFirewall("ts-api", { ...sent, firewallName: "py-api", egress: [{ protocol: "tcp", port: 443, destinations: ["0.0.0.0/0", "::/0"] }] });
        await valueOf(ts.firewallId);
        const [fromPlugin] = typeOf("digitalocean:index/firewall:Firewall", "py-api");
        expect(fromPlugin.outboundRules).toEqual([{ protocol: "tcp", portRange: "443", destinationAddresses: ["0.0.0.0/0", "::/0"] }]);
        expect(fromPlugin).toEqual(typeOf("digitalocean:index/firewall:Firewall", "ts-api")[0]);
        await expect(provider.construct("both", T("DigitalOceanOriginFirewall"), { ...sent, egress: "deny-all" }, {})).rejects.toThrow('egress: "deny-all" given together with egressRules; give one');
    });

    test("Cloudflare edge: your own origin-pull certificate is uploaded as given, nothing generated", async () => {
        const pem = (label: string) => `-----BEGIN ${label}-----\nMIIB\n-----END ${label}-----\n`;
        const own = { certificate: pem("CERTIFICATE"), privateKey: pem("PRIVATE KEY"), caCertificate: pem("CERTIFICATE").replace("MIIB", "CA") };
        const sent = { zoneId: "0123456789abcdef0123456789abcdef", records: { "www.example.com": { ipv4: "203.0.113.20" } }, originPullCertificate: own, sslMode: "full" };
        const built = await provider.construct("py-edge", T("CloudflareOriginEdge"), sent, {});
        expect(await valueOf(built.state.originPullCaPem as pulumi.Output<string>)).toBe(own.caCertificate);
        expect(built.state.records).toEqual(["www.example.com/A"]);
        const cert = await registered("cloudflare:index/authenticatedOriginPullsCertificate:AuthenticatedOriginPullsCertificate", "py-edge-aop-cert");
        expect(cert.certificate).toBe(own.certificate);
        expect((await registered("cloudflare:index/zoneSetting:ZoneSetting", "py-edge-ssl")).value).toBe("full");
        await registered("cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings", "py-edge-aop");
        expect(resources.filter((r) => r.type.startsWith("tls:") && r.name.startsWith("py-edge"))).toEqual([]);
    });

    test("a plain-data argument that arrives as an Output (a dependency or a secret) is refused, never misread", async () => {
        const sent = { ssh: { sources: ["203.0.113.7"] }, cloudflare, applyTo: pulumi.output({ serverIds: [42] }) };
        await expect(provider.construct("late", T("HetznerOriginFirewall"), sent, {})).rejects.toThrow("applyTo: must be known when the component is created");
        expect(typeOf("hcloud:index/firewall:Firewall", "late")).toEqual([]);
    });

    test("an unknown component type is refused", async () => {
        await expect(provider.construct("x", "cloudflare-origin-firewall:hetzner:OriginFirewall", {}, {})).rejects.toThrow("Invalid module 'hetzner'");
    });
});
