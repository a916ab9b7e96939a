import * as pulumi from "@pulumi/pulumi";
import { installMocks, valueOf } from "../scripts/mock-runtime";

// Mocks first, then the code under test.
const resources = installMocks();
import { checkOneEdgePerZone, CloudflareOriginEdge } from "../components";
import { ipv6LongForm, validateBlockedSources, validateEdge } from "../components/cloudflare-edge-rules";

const ZONE = "0123456789abcdef0123456789abcdef";
const URN_PREFIX = "urn:pulumi:test::cloudflare-origin-firewall::cloudflare-origin-firewall:index:CloudflareOriginEdge$";
const mine = (prefix: string) => resources.filter((r) => r.custom && r.name.startsWith(prefix)).sort((a, b) => (a.name < b.name ? -1 : 1));
const comment = "managed by cloudflare-origin-firewall";
/** A value as the engine receives a secret. */
const secret = (value: string) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value });

async function settle(edge: CloudflareOriginEdge) {
    await Promise.all([...Object.values(edge.records), edge.sslMode, ...(edge.authenticatedOriginPulls ? [edge.authenticatedOriginPulls] : []), ...Object.values(edge.blocks)].map((r) => valueOf(r.urn)));
}

describe("CloudflareOriginEdge", () => {
    test("records with canonical content, distinct readable names, AOP with the zone's own certificate, strict SSL, blocks as ip_range", async () => {
        const edge = new CloudflareOriginEdge("site", {
            zoneId: ZONE,
            records: {
                "www.example.com": { ipv4: "203.0.113.20", ipv6: "2001:DB8:0:0:0:0:0:20" },
                "api.example.com": { ipv4: "203.0.113.21" },
                "*.example.com": { ipv4: "203.0.113.22" },
                "example.com": { ipv4: "203.0.113.23" },
                "api-v2.example.com": { ipv4: "203.0.113.24" },
                "api.v2.example.com": { ipv4: "203.0.113.25" },
            },
            blockedSources: ["2001:DB8:BAD::/48", "198.51.100.7", "198.51.0.0/16"],
        });
        await settle(edge);
        const custom = mine("site-");
        expect(custom.map((r) => [r.type, r.name])).toEqual([
            ["cloudflare:index/dnsRecord:DnsRecord", "site-*.example.com-a"],
            ["cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings", "site-aop"],
            ["tls:index/selfSignedCert:SelfSignedCert", "site-aop-ca"],
            ["tls:index/privateKey:PrivateKey", "site-aop-ca-key"],
            ["cloudflare:index/authenticatedOriginPullsCertificate:AuthenticatedOriginPullsCertificate", "site-aop-cert"],
            ["tls:index/locallySignedCert:LocallySignedCert", "site-aop-client"],
            ["tls:index/certRequest:CertRequest", "site-aop-client-csr"],
            ["tls:index/privateKey:PrivateKey", "site-aop-client-key"],
            ["cloudflare:index/dnsRecord:DnsRecord", "site-api-v2.example.com-a"],
            ["cloudflare:index/dnsRecord:DnsRecord", "site-api.example.com-a"],
            ["cloudflare:index/dnsRecord:DnsRecord", "site-api.v2.example.com-a"],
            ["cloudflare:index/accessRule:AccessRule", "site-block-198.51.0.0-16"],
            ["cloudflare:index/accessRule:AccessRule", "site-block-198.51.100.7"],
            ["cloudflare:index/accessRule:AccessRule", "site-block-2001_db8_bad__-48"],
            ["cloudflare:index/dnsRecord:DnsRecord", "site-example.com-a"],
            ["cloudflare:index/zoneSetting:ZoneSetting", "site-ssl"],
            ["cloudflare:index/dnsRecord:DnsRecord", "site-www.example.com-a"],
            ["cloudflare:index/dnsRecord:DnsRecord", "site-www.example.com-aaaa"],
        ]);
        const byName = Object.fromEntries(custom.map((r) => [r.name, r.inputs]));
        expect(byName["site-www.example.com-aaaa"]).toEqual({ zoneId: ZONE, name: "www.example.com", type: "AAAA", content: "2001:db8::20", proxied: true, ttl: 1, comment });
        expect(byName["site-*.example.com-a"]).toEqual({ zoneId: ZONE, name: "*.example.com", type: "A", content: "203.0.113.22", proxied: true, ttl: 1, comment });
        // IPv6 goes out in the long form Cloudflare requires and returns; names and notes keep RFC 5952 (stable).
        expect(byName["site-block-2001_db8_bad__-48"]).toEqual({
            zoneId: ZONE,
            mode: "block",
            configuration: { target: "ip_range", value: "2001:0db8:0bad:0000:0000:0000:0000:0000/48" },
            notes: "blocked by cloudflare-origin-firewall (2001:db8:bad::/48)",
        });
        expect(byName["site-block-198.51.0.0-16"].configuration).toEqual({ target: "ip_range", value: "198.51.0.0/16" });
        expect(byName["site-block-198.51.100.7"].configuration).toEqual({ target: "ip", value: "198.51.100.7" });
        expect(byName["site-ssl"]).toEqual({ zoneId: ZONE, settingId: "ssl", value: "strict" });
        expect(byName["site-aop"]).toEqual({ zoneId: ZONE, enabled: true });
        // The generated chain: an ECDSA CA (cert signing only) and a client certificate it signs.
        expect(byName["site-aop-ca-key"]).toEqual({ algorithm: "ECDSA", ecdsaCurve: "P256" });
        expect(byName["site-aop-ca"]).toMatchObject({ isCaCertificate: true, allowedUses: ["cert_signing", "crl_signing"], validityPeriodHours: 87600, subject: { commonName: "site origin-pull CA", organization: "cloudflare-origin-firewall" } });
        expect(byName["site-aop-client"]).toMatchObject({ allowedUses: ["client_auth", "digital_signature", "key_agreement"], validityPeriodHours: 17520, earlyRenewalHours: 0 });
        expect(Object.keys(byName["site-aop-cert"]).sort()).toEqual(["certificate", "privateKey", "zoneId"]);
        expect(await valueOf(edge.records["*.example.com/A"].urn)).toBe(`${URN_PREFIX}cloudflare:index/dnsRecord:DnsRecord::site-*.example.com-a`);
    });

    test("AOP is enabled only after the certificate upload; the private key is sent as a secret; the CA is an output", async () => {
        const seen: Record<string, pulumi.ResourceTransformationArgs> = {};
        const edge = new CloudflareOriginEdge("order", { zoneId: ZONE }, { transformations: [(a) => ((seen[a.name] = a), undefined)] });
        await settle(edge);
        expect(seen["order-aop"].opts.dependsOn).toEqual([edge.originPullCertificate]);
        expect(pulumi.Output.isInstance(seen["order-aop-cert"].props.privateKey)).toBe(true);
        expect(await pulumi.isSecret(seen["order-aop-cert"].props.privateKey as pulumi.Output<string>)).toBe(true);
        expect(await valueOf(edge.originPullCaPem!)).toBe("-----BEGIN CERTIFICATE-----\nmock order-aop-ca\n-----END CERTIFICATE-----\n");
        const sent = mine("order-").find((r) => r.name === "order-aop-cert")!.inputs;
        expect(sent.certificate).toBe("-----BEGIN CERTIFICATE-----\nmock order-aop-client\n-----END CERTIFICATE-----\n");
        // On the wire the key is wrapped in Pulumi's secret signature: encrypted in state, masked in logs.
        expect(sent.privateKey).toEqual(secret("-----BEGIN PRIVATE KEY-----\nmock order-aop-client-key\n-----END PRIVATE KEY-----\n"));
    });

    test("a certificate of your own is uploaded instead; its key is a secret; no TLS resources", async () => {
        const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        const key = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
        const edge = new CloudflareOriginEdge("own", { zoneId: ZONE, authenticatedOriginPulls: { certificate: pem, privateKey: key, caCertificate: pem } });
        await settle(edge);
        expect(
            mine("own-")
                .map((r) => r.type)
                .filter((t) => t.startsWith("tls:")),
        ).toEqual([]);
        expect(mine("own-").find((r) => r.name === "own-aop-cert")!.inputs).toEqual({ zoneId: ZONE, certificate: pem, privateKey: secret(key) });
        expect(await valueOf(edge.originPullCaPem!)).toBe(pem);
    });

    test("AOP off leaves the setting unmanaged; full SSL when asked", async () => {
        const edge = new CloudflareOriginEdge("loose", { zoneId: ZONE, authenticatedOriginPulls: false, sslMode: "full" });
        await valueOf(edge.sslMode.urn);
        expect(edge.authenticatedOriginPulls).toBeUndefined();
        expect(edge.originPullCaPem).toBeUndefined();
        expect(mine("loose-").map((r) => [r.name, r.inputs.value])).toEqual([["loose-ssl", "full"]]);
    });
});

describe("edge validation", () => {
    test("blocked sources: canonical, deduplicated, sorted, with Cloudflare's targets", () => {
        expect(validateBlockedSources(["2001:db8::/32", "198.51.0.0/16", "203.0.113.0/24", "2001:db8::1", "198.51.100.7/32", "198.51.100.7", "2001:0DB8:0:0::1"])).toEqual([
            { target: "ip_range", value: "198.51.0.0/16", canonical: "198.51.0.0/16" },
            { target: "ip", value: "198.51.100.7", canonical: "198.51.100.7" },
            { target: "ip_range", value: "203.0.113.0/24", canonical: "203.0.113.0/24" },
            { target: "ip_range", value: "2001:0db8:0000:0000:0000:0000:0000:0000/32", canonical: "2001:db8::/32" },
            { target: "ip6", value: "2001:0db8:0000:0000:0000:0000:0000:0001", canonical: "2001:db8::1" },
        ]);
    });

    test.each<[string, () => unknown, string]>([
        ["IPv4 /20", () => validateBlockedSources(["198.51.96.0/20"]), 'blockedSources[0]: "198.51.96.0/20" is a /20; Cloudflare IP Access rules take single addresses, /16 or /24 for IPv4 and /32, /48 or /64 for IPv6'],
        ["IPv6 /56", () => validateBlockedSources(["2001:db8::/56"]), 'blockedSources[0]: "2001:db8::/56" is a /56'],
        ["host bits", () => validateBlockedSources(["198.51.100.7/24"]), 'blockedSources[0]: "198.51.100.7/24" has host bits set; did you mean "198.51.100.0/24" or "198.51.100.7/32"?'],
        ["an IPv4-mapped block", () => validateBlockedSources(["::ffff:198.51.100.7"]), 'blockedSources[0]: "::ffff:198.51.100.7" is an IPv4-mapped IPv6 form of 198.51.100.7'],
        ["not a list", () => validateBlockedSources("1.2.3.4"), 'blockedSources: "1.2.3.4" must be a list of addresses or CIDR blocks'],
        ["missing zone", () => validateEdge({ zoneId: "" }), "zoneId: missing; give the Cloudflare zone id"],
        ["the README's placeholder zone id", () => validateEdge({ zoneId: "<zone id>" }), 'zoneId: "<zone id>" is not a Cloudflare zone id; copy the 32 lower-case hex digits from the zone\'s Overview page'],
        ["an upper-case zone id", () => validateEdge({ zoneId: ZONE.toUpperCase() }), "is not a Cloudflare zone id"],
        ["bad hostname", () => validateEdge({ zoneId: ZONE, records: { "Bad Host": { ipv4: "203.0.113.1" } } }), 'records: "Bad Host" is not a hostname'],
        ["record without address", () => validateEdge({ zoneId: ZONE, records: { "a.example.com": {} } }), "records.a.example.com: give ipv4, ipv6 or both"],
        ["IPv6 in ipv4", () => validateEdge({ zoneId: ZONE, records: { "a.example.com": { ipv4: "2001:db8::1" } } }), 'records.a.example.com.ipv4: "2001:db8::1" is not a single IPv4 address, e.g. "203.0.113.7"'],
        ["a block as an address", () => validateEdge({ zoneId: ZONE, records: { "a.example.com": { ipv6: "2001:db8::/64" } } }), 'records.a.example.com.ipv6: "2001:db8::/64" is not a single IPv6 address'],
        ["an IPv4-mapped AAAA", () => validateEdge({ zoneId: ZONE, records: { "a.example.com": { ipv6: "::ffff:c633:6407" } } }), 'records.a.example.com.ipv6: "::ffff:c633:6407" is an IPv4-mapped IPv6 form of 198.51.100.7'],
        ["bad ssl mode", () => validateEdge({ zoneId: ZONE, sslMode: "flexible" as any }), 'sslMode: "flexible" is not allowed; use "strict" (recommended) or "full"'],
        ["own certificate that is not PEM", () => validateEdge({ zoneId: ZONE, authenticatedOriginPulls: { certificate: "abc", privateKey: "-----BEGIN PRIVATE KEY-----" } }), "authenticatedOriginPulls.certificate: not a PEM certificate"],
        ["own certificate without a key", () => validateEdge({ zoneId: ZONE, authenticatedOriginPulls: { certificate: "-----BEGIN CERTIFICATE-----" } as any }), "authenticatedOriginPulls: give true"],
    ])("%s", (_name, run, message) => {
        expect(run).toThrow(message);
    });

    test("names that would collide are a validation error", () => {
        // A block's name never collides with another block's, nor a record's with a record's;
        // the check guards the whole component namespace all the same.
        expect(() => validateEdge({ zoneId: ZONE, records: { "block-198.51.100.7": { ipv4: "203.0.113.1" } } }, "e")).not.toThrow();
        const names = new Set<string>();
        for (const v of ["2001:db8::1", "2001:db8:1::", "2001:db8::/48", "2001:db8::48", "198.51.100.0/24", "198.51.100.24"]) {
            const t = validateBlockedSources([v])[0];
            names.add(require("../components/cloudflare-edge-rules").blockResourceName("e", t.value));
        }
        expect(names.size).toBe(6);
    });

    test("a validation error in the component registers no Cloudflare resource", () => {
        const before = resources.length;
        expect(() => new CloudflareOriginEdge("bad", { zoneId: ZONE, blockedSources: ["10.0.0.0/8"] })).toThrow('blockedSources[0]: "10.0.0.0/8" is a /8');
        expect(resources.slice(before).filter((r) => r.type.startsWith("cloudflare:index") || r.type.startsWith("tls:"))).toEqual([]);
    });
});

// Issue 21: provider truth round two.
describe("IPv6 access rules in the long form", () => {
    test("a single IPv6 goes out as eight groups of four lower-case hex digits, however it was written", async () => {
        const edge = new CloudflareOriginEdge("v6", { zoneId: ZONE, authenticatedOriginPulls: false, blockedSources: ["2001:DB8::1", "::1:2:3:4:5"] });
        await settle(edge);
        const blocks = mine("v6-block-").map((r) => [r.name, r.inputs.configuration]);
        expect(blocks).toEqual([
            ["v6-block-2001_db8__1", { target: "ip6", value: "2001:0db8:0000:0000:0000:0000:0000:0001" }],
            ["v6-block-__1_2_3_4_5", { target: "ip6", value: "0000:0000:0000:0001:0002:0003:0004:0005" }],
        ]);
        expect(Object.keys(edge.blocks).sort()).toEqual(["2001:db8::1", "::1:2:3:4:5"]);
    });

    test("ipv6LongForm is what the provider's ipv6ToLong computes", () => {
        expect(ipv6LongForm("::")).toBe("0000:0000:0000:0000:0000:0000:0000:0000");
        expect(ipv6LongForm("2001:db8:abcd::ffff")).toBe("2001:0db8:abcd:0000:0000:0000:0000:ffff");
        expect(ipv6LongForm("FE80::1")).toBe("fe80:0000:0000:0000:0000:0000:0000:0001");
    });
});

describe("one edge per zone across the program", () => {
    test("two edges on one zone are refused, naming both; different zones pass", () => {
        expect(() =>
            checkOneEdgePerZone([
                { owner: "firewalls.a.edge", zoneId: ZONE },
                { owner: "firewalls.b.edge", zoneId: ZONE.replace("0", "f") },
            ]),
        ).not.toThrow();
        expect(() =>
            checkOneEdgePerZone([
                { owner: "firewalls.a.edge", zoneId: ZONE },
                { owner: "firewalls.b.edge", zoneId: ZONE },
            ]),
        ).toThrow(`firewalls.b.edge.zoneId: zone ${ZONE} already has an edge (firewalls.a.edge); Cloudflare uses one origin-pull certificate per zone`);
    });
});

describe("origin-pull certificate rotation without a window", () => {
    test("[1, 2]: both generations uploaded, signed by one CA; AOP waits for both; generation 1 keeps its names", async () => {
        const seen: Record<string, pulumi.ResourceTransformationArgs> = {};
        const edge = new CloudflareOriginEdge("rot", { zoneId: ZONE, authenticatedOriginPulls: { generations: [1, 2] } }, { transformations: [(a) => ((seen[a.name] = a), undefined)] });
        await settle(edge);
        await valueOf(edge.originPullCertificates[2].urn);
        const names = mine("rot-").map((r) => r.name);
        expect(names).toEqual(expect.arrayContaining(["rot-aop-cert", "rot-aop-client", "rot-aop-client-key", "rot-aop-client-csr", "rot-aop-cert-g2", "rot-aop-client-g2", "rot-aop-client-key-g2", "rot-aop-client-csr-g2"]));
        expect(names.filter((n) => n.startsWith("rot-aop-ca"))).toEqual(["rot-aop-ca", "rot-aop-ca-key"]);
        const byName = Object.fromEntries(mine("rot-").map((r) => [r.name, r.inputs]));
        expect(byName["rot-aop-client-g2"].caCertPem).toBe(byName["rot-aop-client"].caCertPem);
        expect(byName["rot-aop-client-csr-g2"].subject).toMatchObject({ organizationalUnit: "generation 2" });
        expect(byName["rot-aop-client-csr"].subject.organizationalUnit).toBeUndefined();
        expect(seen["rot-aop"].opts.dependsOn).toEqual([edge.originPullCertificates[1], edge.originPullCertificates[2]]);
        expect(edge.originPullCertificate).toBe(edge.originPullCertificates[2]);
    });

    test("[2]: only generation 2 (generation 1's resources are no longer declared, so the engine deletes them)", async () => {
        const edge = new CloudflareOriginEdge("done", { zoneId: ZONE, authenticatedOriginPulls: { generations: [2] } });
        await settle(edge);
        const names = mine("done-")
            .map((r) => r.name)
            .filter((n) => n.includes("client") || n.includes("cert"));
        expect(names.sort()).toEqual(["done-aop-cert-g2", "done-aop-client-csr-g2", "done-aop-client-g2", "done-aop-client-key-g2"]);
    });

    test.each<[unknown, string]>([
        [[], "is not one or two positive whole numbers"],
        [[1, 2, 3], "is not one or two positive whole numbers"],
        [[2, 1], "must list the old generation first"],
        [[0], "is not one or two positive whole numbers"],
    ])("generations %j are refused", (generations, message) => {
        expect(() => validateEdge({ zoneId: ZONE, authenticatedOriginPulls: { generations } as any })).toThrow(message);
    });
});
