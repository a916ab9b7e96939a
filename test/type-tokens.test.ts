/**
 * Type tokens moved to the `index` module (schema inference for other languages
 * needs it). Stacks deployed with the earlier tokens must keep their resources: each
 * component sends its earlier token as an alias, and the engine derives its
 * children's aliases from it (pulumi/pulumi pkg/resource/deploy/step_generator.go,
 * generateAliases and inheritedChildAlias: the parent alias's qualified type, the
 * child's type and name). The URNs below are the ones the earlier version recorded.
 */
import * as pulumi from "@pulumi/pulumi";
import { installMocks, valueOf } from "../scripts/mock-runtime";

installMocks();
import { CloudflareOriginEdge, DigitalOceanOriginFirewall, HetznerOriginFirewall, HostFirewallOverSsh } from "../components";
import { SAMPLE_RANGES } from "./helpers/fixtures";

interface Registration {
    type: string;
    name: string;
    parent: string;
    aliases: { name: string; type: string; stack: string; project: string; parenturn?: string; noparent?: boolean }[];
}
const registrations: Registration[] = [];
const monitor = (pulumi.runtime as any).getMonitor();
const register = monitor.registerResource.bind(monitor);
monitor.registerResource = (req: any, callback: unknown) => {
    registrations.push({ type: req.getType(), name: req.getName(), parent: req.getParent(), aliases: req.getAliasesList().map((a: any) => a.toObject().spec) });
    return register(req, callback);
};

const STACK = "test";
const PROJECT = "cloudflare-origin-firewall";
const urn = (qualifiedType: string, name: string) => `urn:pulumi:${STACK}::${PROJECT}::${qualifiedType}::${name}`;
const qualifiedType = (u: string) => u.split("::")[2];

/** What the engine makes of a type-only alias spec on a top-level resource, and of its children. */
function previousUrns(component: Registration): { self: string; child: (type: string, name: string) => string } {
    expect(component.aliases).toHaveLength(1);
    const [spec] = component.aliases;
    expect(spec).toMatchObject({ name: "", stack: "", project: "" }); // name, stack and project unchanged
    const self = urn(spec.type, component.name);
    return { self, child: (type, name) => urn(`${qualifiedType(self)}$${type}`, name) };
}

test("each component registers its index token and aliases the token earlier stacks recorded", async () => {
    const cloudflare = { ranges: SAMPLE_RANGES };
    const made = {
        hetzner: new HetznerOriginFirewall("web", { ssh: { sources: ["203.0.113.7"] }, cloudflare, applyTo: { labelSelectors: ["role=web"] } }),
        digitalocean: new DigitalOceanOriginFirewall("api", { ssh: { sources: ["203.0.113.7"] }, cloudflare, tags: ["api"] }),
        edge: new CloudflareOriginEdge("site", { zoneId: "0123456789abcdef0123456789abcdef", records: { "www.example.com": { ipv4: "203.0.113.20" } }, authenticatedOriginPulls: false }),
        host: new HostFirewallOverSsh("web1", { ruleset: "table inet x {}\n", connection: { host: "203.0.113.20" } }),
    };
    expect(await valueOf(made.hetzner.firewall.urn)).toBe(urn("cloudflare-origin-firewall:index:HetznerOriginFirewall$hcloud:index/firewall:Firewall", "web"));
    await Promise.all([valueOf(made.digitalocean.firewallId), valueOf(made.edge.urn), valueOf(made.host.confirm.urn)]);

    const byType = (type: string) => registrations.find((r) => r.type === type)!;
    const hetzner = previousUrns(byType("cloudflare-origin-firewall:index:HetznerOriginFirewall"));
    expect(hetzner.self).toBe("urn:pulumi:test::cloudflare-origin-firewall::cloudflare-origin-firewall:hetzner:OriginFirewall::web");
    // The URN the earlier version's own test asserted for the hcloud firewall.
    expect(hetzner.child("hcloud:index/firewall:Firewall", "web")).toBe("urn:pulumi:test::cloudflare-origin-firewall::cloudflare-origin-firewall:hetzner:OriginFirewall$hcloud:index/firewall:Firewall::web");
    const digitalocean = previousUrns(byType("cloudflare-origin-firewall:index:DigitalOceanOriginFirewall"));
    expect(digitalocean.child("digitalocean:index/firewall:Firewall", "api")).toBe("urn:pulumi:test::cloudflare-origin-firewall::cloudflare-origin-firewall:digitalocean:OriginFirewall$digitalocean:index/firewall:Firewall::api");
    expect(previousUrns(byType("cloudflare-origin-firewall:index:CloudflareOriginEdge")).self).toBe("urn:pulumi:test::cloudflare-origin-firewall::cloudflare-origin-firewall:cloudflare:OriginEdge::site");
    expect(previousUrns(byType("cloudflare-origin-firewall:index:HostFirewallOverSsh")).self).toBe("urn:pulumi:test::cloudflare-origin-firewall::cloudflare-origin-firewall:host:FirewallOverSsh::web1");
    // Children get no alias from us (some provider SDKs add their own, e.g. cloudflare's DnsRecord): the engine derives ours from the parent's.
    const ours = (a: Registration["aliases"][number]) => a.type.startsWith("cloudflare-origin-firewall:") || (a.parenturn ?? "").includes("cloudflare-origin-firewall:hetzner:");
    expect(registrations.filter((r) => !r.type.startsWith("cloudflare-origin-firewall:") && r.aliases.some(ours))).toEqual([]);
});

test("a caller's own aliases are kept next to the earlier token", async () => {
    registrations.length = 0;
    const fw = new HetznerOriginFirewall("renamed", { ssh: { sources: ["203.0.113.7"] }, cloudflare: { ranges: SAMPLE_RANGES }, applyTo: { labelSelectors: ["a=b"] } }, { aliases: [{ name: "old-name" }] });
    await valueOf(fw.firewallId);
    const reg = registrations.find((r) => r.type === "cloudflare-origin-firewall:index:HetznerOriginFirewall")!;
    expect(reg.aliases.map((a) => [a.name, a.type])).toEqual([
        ["old-name", ""],
        ["", "cloudflare-origin-firewall:hetzner:OriginFirewall"],
    ]);
});
