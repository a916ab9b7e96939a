import { installMocks, valueOf } from "../scripts/mock-runtime";

// Mocks first, then the code under test.
const resources = installMocks();
import { CloudflareOriginEdge, validateBlockedSources, validateEdge } from "../components";

const URN_PREFIX = "urn:pulumi:test::cloudflare-origin-firewall::cloudflare-origin-firewall:cloudflare:OriginEdge$";

describe("CloudflareOriginEdge", () => {
    test("two hostnames (v4 + v6), AOP on, strict SSL, two blocked sources: exact resources", async () => {
        const edge = new CloudflareOriginEdge("site", {
            zoneId: "zone123",
            records: {
                "www.example.com": { ipv4: "203.0.113.20", ipv6: "2001:db8::20" },
                "api.example.com": { ipv4: "203.0.113.21" },
            },
            blockedSources: ["2001:DB8:BAD::/48", "198.51.100.7"],
        });
        await Promise.all(
            [...Object.values(edge.records), edge.sslMode, edge.authenticatedOriginPulls!, ...Object.values(edge.blocks)].map((r) => valueOf(r.urn)),
        );
        const mine = resources.filter((r) => r.custom && r.name.startsWith("site-")).sort((a, b) => (a.name < b.name ? -1 : 1));
        const comment = "managed by cloudflare-origin-firewall";
        expect(mine.map((r) => [r.type, r.name, r.inputs])).toEqual([
            ["cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings", "site-aop", { zoneId: "zone123", enabled: true }],
            ["cloudflare:index/dnsRecord:DnsRecord", "site-api-example-com-a", { zoneId: "zone123", name: "api.example.com", type: "A", content: "203.0.113.21", proxied: true, ttl: 1, comment }],
            ["cloudflare:index/accessRule:AccessRule", "site-block-198-51-100-7", { zoneId: "zone123", mode: "block", configuration: { target: "ip", value: "198.51.100.7" }, notes: "blocked by cloudflare-origin-firewall (198.51.100.7)" }],
            ["cloudflare:index/accessRule:AccessRule", "site-block-2001-db8-bad-48", { zoneId: "zone123", mode: "block", configuration: { target: "ipRange", value: "2001:db8:bad::/48" }, notes: "blocked by cloudflare-origin-firewall (2001:db8:bad::/48)" }],
            ["cloudflare:index/zoneSetting:ZoneSetting", "site-ssl", { zoneId: "zone123", settingId: "ssl", value: "strict" }],
            ["cloudflare:index/dnsRecord:DnsRecord", "site-www-example-com-a", { zoneId: "zone123", name: "www.example.com", type: "A", content: "203.0.113.20", proxied: true, ttl: 1, comment }],
            ["cloudflare:index/dnsRecord:DnsRecord", "site-www-example-com-aaaa", { zoneId: "zone123", name: "www.example.com", type: "AAAA", content: "2001:db8::20", proxied: true, ttl: 1, comment }],
        ]);
        expect(await valueOf(edge.records["www.example.com/AAAA"].urn)).toBe(`${URN_PREFIX}cloudflare:index/dnsRecord:DnsRecord::site-www-example-com-aaaa`);
    });

    test("AOP off leaves the setting unmanaged; full SSL when asked", async () => {
        const edge = new CloudflareOriginEdge("loose", { zoneId: "z", authenticatedOriginPulls: false, sslMode: "full" });
        await valueOf(edge.sslMode.urn);
        expect(edge.authenticatedOriginPulls).toBeUndefined();
        expect(resources.filter((r) => r.custom && r.name.startsWith("loose-")).map((r) => [r.name, r.inputs.value])).toEqual([["loose-ssl", "full"]]);
    });
});

describe("edge validation", () => {
    test("blocked sources: canonical, deduplicated, sorted, with Cloudflare's targets", () => {
        expect(validateBlockedSources(["2001:db8::/32", "198.51.0.0/16", "203.0.113.0/24", "2001:db8::1", "198.51.100.7/32", "198.51.100.7"])).toEqual([
            { target: "ipRange", value: "198.51.0.0/16" },
            { target: "ip", value: "198.51.100.7" },
            { target: "ipRange", value: "203.0.113.0/24" },
            { target: "ipRange", value: "2001:db8::/32" },
            { target: "ip6", value: "2001:db8::1" },
        ]);
    });

    test.each<[string, () => unknown, string]>([
        ["IPv4 /20", () => validateBlockedSources(["198.51.96.0/20"]), 'blockedSources[0]: "198.51.96.0/20" is a /20; Cloudflare IP Access rules take single addresses, /16 or /24 for IPv4 and /32, /48 or /64 for IPv6'],
        ["IPv6 /56", () => validateBlockedSources(["2001:db8::/56"]), 'blockedSources[0]: "2001:db8::/56" is a /56'],
        ["host bits", () => validateBlockedSources(["198.51.100.7/24"]), 'blockedSources[0]: "198.51.100.7/24" has host bits set; did you mean "198.51.100.0/24" or "198.51.100.7/32"?'],
        ["not a list", () => validateBlockedSources("1.2.3.4"), 'blockedSources: "1.2.3.4" must be a list of addresses or CIDR blocks'],
        ["missing zone", () => validateEdge({ zoneId: "" }), "zoneId: missing; give the Cloudflare zone id"],
        ["bad hostname", () => validateEdge({ zoneId: "z", records: { "Bad Host": { ipv4: "203.0.113.1" } } }), 'records: "Bad Host" is not a hostname'],
        ["record without address", () => validateEdge({ zoneId: "z", records: { "a.example.com": {} } }), "records.a.example.com: give ipv4, ipv6 or both"],
        ["IPv6 in ipv4", () => validateEdge({ zoneId: "z", records: { "a.example.com": { ipv4: "2001:db8::1" } } }), 'records.a.example.com.ipv4: "2001:db8::1" is not a single IPv4 address, e.g. "203.0.113.7"'],
        ["a block as an address", () => validateEdge({ zoneId: "z", records: { "a.example.com": { ipv6: "2001:db8::/64" } } }), 'records.a.example.com.ipv6: "2001:db8::/64" is not a single IPv6 address'],
        ["bad ssl mode", () => validateEdge({ zoneId: "z", sslMode: "flexible" as any }), 'sslMode: "flexible" is not allowed; use "strict" (recommended) or "full"'],
    ])("%s", (_name, run, message) => {
        expect(run).toThrow(message);
    });

    test("a validation error in the component registers no Cloudflare resource", () => {
        const before = resources.length;
        expect(() => new CloudflareOriginEdge("bad", { zoneId: "z", blockedSources: ["10.0.0.0/8"] })).toThrow('blockedSources[0]: "10.0.0.0/8" is a /8');
        expect(resources.slice(before).filter((r) => r.type.startsWith("cloudflare:index"))).toEqual([]);
    });
});
