import * as fc from "fast-check";
import { canonicalCidr, fetchCloudflareRanges } from "../components";
import { cloudflareUrlProblem, clearCloudflareRangesCache, validateCloudflareRanges } from "../components/cloudflare";
import { CidrError, parseSingleAddress } from "../components/cidr";
import { SAMPLE_RANGES } from "./helpers/fixtures";
import { answerWith, sampleAnswer, startServer, TestServer } from "./helpers/server";

// The November 2026 answer, from the shared fixture.
const SAMPLE_V4 = [...SAMPLE_RANGES.ipv4];
const SAMPLE_V6 = [...SAMPLE_RANGES.ipv6];

let servers: TestServer[] = [];
async function serve(...args: Parameters<typeof startServer>): Promise<TestServer> {
    const s = await startServer(...args);
    servers.push(s);
    return s;
}
const fast = { retries: 1, timeoutMs: 2000, deadlineMs: 10000 };

beforeEach(() => clearCloudflareRangesCache());
afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
});

describe("fetchCloudflareRanges: the real answer", () => {
    test("returns today's 15 IPv4 and 7 IPv6 ranges, canonical and sorted, with the etag", async () => {
        const s = await serve({ json: sampleAnswer() });
        const r = await fetchCloudflareRanges({ url: s.url });
        expect(r).toEqual({ ipv4: SAMPLE_V4, ipv6: SAMPLE_V6, etag: "38f79d050aa027e3be3865e495dcc9bc" });
        expect(s.requests).toEqual(["/client/v4/ips"]);
    });

    test("shuffled, duplicated, upper-case and uncompressed IPv6 give byte-identical output", async () => {
        const messy = answerWith({
            ipv4_cidrs: [...SAMPLE_V4].reverse().concat(SAMPLE_V4.slice(0, 3), ["104.16.0.0/13"]),
            ipv6_cidrs: ["2C0F:F248:0:0:0:0:0:0/32", "2a06:98c0:0000::/29", "2400:CB00::/32", "2606:4700:0:0::/32", "2405:8100::/32", "2405:b500::/32", "2803:f800::/32", "2400:cb00::/32"],
        });
        const a = await serve({ json: sampleAnswer() });
        const b = await serve({ json: messy });
        const clean = await fetchCloudflareRanges({ url: a.url });
        const dirty = await fetchCloudflareRanges({ url: b.url });
        expect(JSON.stringify(dirty)).toBe(JSON.stringify(clean));
    });

    test("includeJdCloud asks with ?networks=jdcloud and fills jdcloud", async () => {
        const s = await serve({ json: answerWith({ jdcloud_cidrs: ["2402:db40:5100::/44", "116.196.64.0/18"] }) });
        const r = await fetchCloudflareRanges({ url: s.url, includeJdCloud: true });
        expect(s.requests).toEqual(["/client/v4/ips?networks=jdcloud"]);
        expect(r.jdcloud).toEqual(["116.196.64.0/18", "2402:db40:5100::/44"]);
    });

    test("includeJdCloud with no jdcloud_cidrs in the answer is rejected", async () => {
        const s = await serve({ json: sampleAnswer() });
        await expect(fetchCloudflareRanges({ url: s.url, includeJdCloud: true })).rejects.toThrow("result.jdcloud_cidrs is missing");
    });
});

describe("fetchCloudflareRanges: retries and time limits", () => {
    test("two 503s then 200 succeeds with exactly 3 requests", async () => {
        const s = await serve({ status: 503, body: "busy" }, { status: 503, body: "busy" }, { json: sampleAnswer() });
        const r = await fetchCloudflareRanges({ url: s.url });
        expect(r.ipv4).toEqual(SAMPLE_V4);
        expect(s.requests).toHaveLength(3);
    });

    test("429 is retried and Retry-After is honoured", async () => {
        const s = await serve({ status: 429, body: "slow down", headers: { "retry-after": "1" } }, { json: sampleAnswer() });
        const t0 = Date.now();
        await fetchCloudflareRanges({ url: s.url });
        expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
        expect(s.requests).toHaveLength(2);
    });

    test("404 is not retried", async () => {
        const s = await serve({ status: 404, body: "not found" });
        await expect(fetchCloudflareRanges({ url: s.url })).rejects.toThrow(`Cloudflare IP ranges from ${s.url} rejected: HTTP 404`);
        expect(s.requests).toHaveLength(1);
    });

    test("non-2xx after retries is rejected naming the URL and status", async () => {
        const s = await serve({ status: 500, body: "oops" });
        await expect(fetchCloudflareRanges({ url: s.url, retries: 2 })).rejects.toThrow(`Cloudflare IP ranges from ${s.url} rejected: HTTP 500 Internal Server Error after retries`);
        expect(s.requests).toHaveLength(3);
    });

    test("a server that never answers rejects within deadlineMs", async () => {
        const s = await serve("hang");
        const t0 = Date.now();
        // Attempts of 150 ms in a 1500 ms deadline: retried however loaded the machine is.
        await expect(fetchCloudflareRanges({ url: s.url, deadlineMs: 1500, timeoutMs: 150 })).rejects.toThrow(`Cloudflare IP ranges from ${s.url} rejected: no valid answer within the 1500 ms deadline`);
        const took = Date.now() - t0;
        expect(took).toBeLessThan(1500 + 1000);
        expect(s.requests.length).toBeGreaterThanOrEqual(2); // attempts timed out and were retried
    });

    test("one request for many calls with the same options (memoised)", async () => {
        const s = await serve({ json: sampleAnswer() });
        const all = await Promise.all(Array.from({ length: 20 }, () => fetchCloudflareRanges({ url: s.url })));
        await fetchCloudflareRanges({ url: s.url });
        expect(s.requests).toHaveLength(1);
        expect(new Set(all).size).toBe(1);
    });

    test("a failed fetch is not memoised: the next call asks again", async () => {
        const s = await serve({ status: 404, body: "no" }, { json: sampleAnswer() });
        await expect(fetchCloudflareRanges({ url: s.url })).rejects.toThrow("HTTP 404");
        await expect(fetchCloudflareRanges({ url: s.url })).resolves.toMatchObject({ ipv4: SAMPLE_V4 });
        expect(s.requests).toHaveLength(2);
    });
});

describe("fetchCloudflareRanges: fail closed", () => {
    const cases: [string, () => unknown, string][] = [
        ["HTML error page with status 200", () => "<html><body>Access denied</body></html>", 'the body is not JSON (starts with "<html><body>Access denied</body></html>")'],
        ["success false", () => ({ ...sampleAnswer(), success: false, errors: [{ code: 1000, message: "down" }] }), 'success is false, not true; errors: [{"code":1000,"message":"down"}]'],
        ["success missing", () => ({ result: sampleAnswer().result }), "success is undefined, not true"],
        ["result missing", () => ({ success: true }), "result is missing or not an object"],
        ["ipv4_cidrs missing", () => answerWith({ ipv4_cidrs: undefined }), "result.ipv4_cidrs is missing"],
        ["ipv6_cidrs missing", () => answerWith({ ipv6_cidrs: undefined }), "result.ipv6_cidrs is missing"],
        ["ipv4_cidrs not an array", () => answerWith({ ipv4_cidrs: "173.245.48.0/20" }), "result.ipv4_cidrs is not an array"],
        ["ipv6_cidrs not an array", () => answerWith({ ipv6_cidrs: { a: 1 } }), "result.ipv6_cidrs is not an array"],
        ["ipv4_cidrs empty (the 2023 incident)", () => answerWith({ ipv4_cidrs: [] }), "result.ipv4_cidrs is empty"],
        ["ipv6_cidrs empty", () => answerWith({ ipv6_cidrs: [] }), "result.ipv6_cidrs is empty"],
        ["an entry that is not a CIDR", () => answerWith({ ipv4_cidrs: ["173.245.48.0/20", "cloudflare"] }), 'result.ipv4_cidrs[1]: "cloudflare" is not a valid IP address or CIDR block'],
        ["an entry that is not a string", () => answerWith({ ipv4_cidrs: [42] }), "result.ipv4_cidrs[0] is not a string: 42"],
        ["a shorthand IPv4 (127.1 style)", () => answerWith({ ipv4_cidrs: ["104.16/13"] }), 'result.ipv4_cidrs[0]: "104.16/13" is not a valid IP address or CIDR block'],
        ["host bits set", () => answerWith({ ipv4_cidrs: ["173.245.48.1/20"] }), 'result.ipv4_cidrs[0]: "173.245.48.1/20" has host bits set (network would be 173.245.48.0/20)'],
        ["0.0.0.0/0", () => answerWith({ ipv4_cidrs: ["0.0.0.0/0"] }), "result.ipv4_cidrs[0]: \"0.0.0.0/0\" is broader than /12, too broad to be a Cloudflare range (if Cloudflare's network genuinely grew, the package's answerLimits must be raised)"],
        ["IPv4 broader than /12 (a /11)", () => answerWith({ ipv4_cidrs: ["104.0.0.0/11"] }), 'result.ipv4_cidrs[0]: "104.0.0.0/11" is broader than /12'],
        ["::/0", () => answerWith({ ipv6_cidrs: ["::/0"] }), 'result.ipv6_cidrs[0]: "::/0" is broader than /28, too broad to be a Cloudflare range'],
        ["IPv6 broader than /28 (a /27)", () => answerWith({ ipv6_cidrs: ["2400::/27"] }), 'result.ipv6_cidrs[0]: "2400::/27" is broader than /28'],
        ["private IPv4", () => answerWith({ ipv4_cidrs: ["10.0.0.0/12"] }), 'result.ipv4_cidrs[0]: "10.0.0.0/12" overlaps the private range 10.0.0.0/8'],
        ["a block containing a private range", () => answerWith({ ipv4_cidrs: ["192.0.0.0/12"] }), 'result.ipv4_cidrs[0]: "192.0.0.0/12" overlaps the reserved (IETF protocol assignments) range 192.0.0.0/24'],
        ["private IPv6 (ULA)", () => answerWith({ ipv6_cidrs: ["fd00::/28"] }), 'result.ipv6_cidrs[0]: "fd00::/28" overlaps the private (unique local) range fc00::/7'],
        ["loopback", () => answerWith({ ipv4_cidrs: ["127.0.0.1"] }), 'result.ipv4_cidrs[0]: "127.0.0.1" overlaps the loopback range 127.0.0.0/8'],
        ["IPv6 loopback", () => answerWith({ ipv6_cidrs: ["::1"] }), 'result.ipv6_cidrs[0]: "::1" overlaps the loopback range ::1/128'],
        ["link-local", () => answerWith({ ipv4_cidrs: ["169.254.0.0/16"] }), 'result.ipv4_cidrs[0]: "169.254.0.0/16" overlaps the link-local range 169.254.0.0/16'],
        ["IPv6 link-local", () => answerWith({ ipv6_cidrs: ["fe80::/64"] }), 'result.ipv6_cidrs[0]: "fe80::/64" overlaps the link-local range fe80::/10'],
        ["multicast", () => answerWith({ ipv4_cidrs: ["224.0.0.0/12"] }), 'result.ipv4_cidrs[0]: "224.0.0.0/12" overlaps the multicast range 224.0.0.0/4'],
        ["IPv6 multicast", () => answerWith({ ipv6_cidrs: ["ff02::/28"] }), 'result.ipv6_cidrs[0]: "ff02::/28" overlaps the multicast range ff00::/8'],
        ["unspecified", () => answerWith({ ipv4_cidrs: ["0.0.0.0/12"] }), "result.ipv4_cidrs[0]: \"0.0.0.0/12\" overlaps the unspecified ('this network') range 0.0.0.0/8"],
        ["IPv6 unspecified", () => answerWith({ ipv6_cidrs: ["::"] }), 'result.ipv6_cidrs[0]: "::" overlaps the unspecified range ::/128'],
        ["reserved (class E)", () => answerWith({ ipv4_cidrs: ["250.0.0.0/12"] }), 'result.ipv4_cidrs[0]: "250.0.0.0/12" overlaps the reserved range 240.0.0.0/4'],
        ["carrier-grade NAT", () => answerWith({ ipv4_cidrs: ["100.64.0.0/16"] }), 'result.ipv4_cidrs[0]: "100.64.0.0/16" overlaps the shared address space (carrier-grade NAT) range 100.64.0.0/10'],
        ["IPv6 outside global unicast", () => answerWith({ ipv6_cidrs: ["4000::/28"] }), 'result.ipv6_cidrs[0]: "4000::/28" overlaps the reserved range (outside global unicast 2000::/3)'],
        ["documentation IPv4", () => answerWith({ ipv4_cidrs: ["203.0.113.0/24"] }), 'result.ipv4_cidrs[0]: "203.0.113.0/24" overlaps the documentation range 203.0.113.0/24'],
        ["documentation IPv6", () => answerWith({ ipv6_cidrs: ["2001:db8::/32"] }), 'result.ipv6_cidrs[0]: "2001:db8::/32" overlaps the documentation range 2001:db8::/32'],
        ["IPv4 entry in the IPv6 list", () => answerWith({ ipv6_cidrs: ["2400:cb00::/32", "173.245.48.0/20"] }), 'result.ipv6_cidrs[1]: "173.245.48.0/20" is an IPv4 range in the IPv6 list'],
        ["IPv6 entry in the IPv4 list", () => answerWith({ ipv4_cidrs: ["2400:cb00::/32"] }), 'result.ipv4_cidrs[0]: "2400:cb00::/32" is an IPv6 range in the IPv4 list'],
        ["more than 200 entries", () => answerWith({ ipv4_cidrs: Array.from({ length: 201 }, (_, i) => `45.${i}.0.0/16`) }), "result.ipv4_cidrs has 201 entries, more than the 200 a real answer could have"],
    ];

    test.each(cases)("%s", async (_name, body, message) => {
        const b = body();
        const s = await serve(typeof b === "string" ? { body: b } : { json: b });
        const err = await fetchCloudflareRanges({ url: s.url, ...fast }).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(err).toBeInstanceOf(Error);
        expect(err!.message).toContain(`Cloudflare IP ranges from ${s.url} rejected: `);
        expect(err!.message).toContain(message);
        expect(s.requests).toHaveLength(1); // a bad answer is final, not retried
    });

    test("a redirect to a different host is rejected without following it", async () => {
        const s = await serve({ status: 302, headers: { location: "http://localhost:1/evil" } });
        await expect(fetchCloudflareRanges({ url: s.url, ...fast })).rejects.toThrow(`Cloudflare IP ranges from ${s.url} rejected: redirected to a different host (http://localhost:1)`);
        expect(s.requests).toHaveLength(1);
    });

    test("a redirect on the same host is followed", async () => {
        const s = await serve({ status: 301, headers: { location: "/client/v4/ips/" } }, { json: sampleAnswer() });
        await expect(fetchCloudflareRanges({ url: s.url, ...fast })).resolves.toMatchObject({ ipv6: SAMPLE_V6 });
        expect(s.requests).toEqual(["/client/v4/ips", "/client/v4/ips/"]);
    });

    test("a body over 1 MiB is rejected and not retried", async () => {
        const big = JSON.stringify(answerWith({ padding: "x".repeat(1024 * 1024) }));
        const s = await serve({ body: big, headers: { "content-type": "application/json" } });
        await expect(fetchCloudflareRanges({ url: s.url, ...fast })).rejects.toThrow(`Cloudflare IP ranges from ${s.url} rejected: the body is larger than 1048576 bytes`);
        expect(s.requests).toHaveLength(1);
    });

    test("plain http is refused for a non-loopback host, before any request", async () => {
        await expect(fetchCloudflareRanges({ url: "http://api.cloudflare.com/client/v4/ips" })).rejects.toThrow(
            "Cloudflare IP ranges from http://api.cloudflare.com/client/v4/ips rejected: http: is refused; use https://api.cloudflare.com/client/v4/ips (plain http is allowed only for loopback hosts)",
        );
    });

    test("an invalid URL is refused", async () => {
        await expect(fetchCloudflareRanges({ url: "not a url" })).rejects.toThrow("Cloudflare IP ranges from not a url rejected: the URL is not valid");
    });
});

describe("validateCloudflareRanges (ranges handed in)", () => {
    test("canonicalises good ranges", () => {
        expect(validateCloudflareRanges({ ipv4: ["1.1.1.0/24", "1.0.0.0/24"], ipv6: ["2606:4700:0::/32"], etag: "e" })).toEqual({
            ipv4: ["1.0.0.0/24", "1.1.1.0/24"],
            ipv6: ["2606:4700::/32"],
            etag: "e",
        });
    });
    test("a world-open range handed in fails like a fetched one, naming the caller's own field", () => {
        expect(() => validateCloudflareRanges({ ipv4: ["0.0.0.0/0"], ipv6: ["2606:4700::/32"] })).toThrow('Cloudflare IP ranges from cloudflare.ranges rejected: cloudflare.ranges.ipv4[0]: "0.0.0.0/0" is broader than /12');
        expect(() => validateCloudflareRanges({ ipv4: SAMPLE_V4, ipv6: [...SAMPLE_V6, "10.0.0.0/8"] })).toThrow(/cloudflare\.ranges\.ipv6\[7\]: "10\.0\.0\.0\/8" is an IPv4 range in the IPv6 list\. Nothing was changed; fix cloudflare\.ranges\.$/);
    });
});

describe("Cloudflare answers: what they may cover in total (issue 14)", () => {
    // 200 IPv4 /12s: every entry passes the per-entry limit, the total does not.

    test("today's answer is well inside the limits (1.5 million IPv4 addresses)", () => {
        expect(validateCloudflareRanges({ ipv4: SAMPLE_V4, ipv6: SAMPLE_V6 }).ipv4).toEqual(SAMPLE_V4);
    });
    test("200 IPv4 /8s and 200 IPv6 /16s are refused entry by entry", () => {
        const ipv4 = Array.from({ length: 200 }, (_, i) => `${i < 100 ? i + 1 : i + 1}.0.0.0/8`);
        expect(() => validateCloudflareRanges({ ipv4, ipv6: SAMPLE_V6 })).toThrow('cloudflare.ranges.ipv4[0]: "1.0.0.0/8" is broader than /12');
        const ipv6 = Array.from({ length: 200 }, (_, i) => `${(0x2400 + i).toString(16)}::/16`);
        expect(() => validateCloudflareRanges({ ipv4: SAMPLE_V4, ipv6 })).toThrow('cloudflare.ranges.ipv6[0]: "2400::/16" is broader than /28');
    });
    test("many allowed-size entries that add up to too much are refused, saying how far over", () => {
        // 16 /12s = 2^24 addresses, twice the 2^23 limit; each entry alone is allowed.
        const ipv4 = Array.from({ length: 16 }, (_, i) => `${45 + i}.0.0.0/12`);

        expect(() => validateCloudflareRanges({ ipv4, ipv6: SAMPLE_V6 })).toThrow(
            "the answer covers 16777216 IPv4 addresses (a /8 worth, 0.39% of IPv4) in total, 2x the IPv4 limit of 8388608 IPv4 addresses (a /9 worth, 0.2% of IPv4); " +
                "that would open the Cloudflare ports to much of the internet (if Cloudflare's network genuinely grew, the package's answerLimits must be raised)",
        );
        // 5 IPv6 /28s: more than a /26 worth (4 /28s).
        const ipv6 = Array.from({ length: 5 }, (_, i) => `2400:${(i * 16).toString(16)}::/28`);
        expect(() => validateCloudflareRanges({ ipv4: SAMPLE_V4, ipv6 })).toThrow(/covers an IPv6 \/26 worth .* in total, 1\.25x the IPv6 limit/);
    });
    test("overlapping entries are counted once", () => {
        const ipv4 = [...Array.from({ length: 8 }, (_, i) => `${45 + i}.0.0.0/12`), ...Array.from({ length: 100 }, (_, i) => `45.0.${i}.0/24`)];
        expect(validateCloudflareRanges({ ipv4, ipv6: SAMPLE_V6 }).ipv4).toHaveLength(108);
    });
    test("answerLimits raises the limits for a genuine growth (config is trusted, the answer is not)", async () => {
        const ipv4 = Array.from({ length: 16 }, (_, i) => `${45 + i}.0.0.0/12`);
        const s = await serve({ json: answerWith({ ipv4_cidrs: ipv4 }) });
        await expect(fetchCloudflareRanges({ url: s.url, ...fast })).rejects.toThrow("2x the IPv4 limit");
        const r = await fetchCloudflareRanges({ url: s.url, ...fast, answerLimits: { maxAddressesV4: 1n << 24n } });
        expect(r.ipv4).toHaveLength(16);
    });
});

describe("where ranges may come from (issue 14)", () => {
    test.each([
        ["https://evil.example.com/client/v4/ips", "evil.example.com is not Cloudflare's API"],
        ["https://api.cloudflare.com.evil.example/ips", "api.cloudflare.com.evil.example is not Cloudflare's API"],
        ["https://api.cloudflare.com:8443/client/v4/ips", "api.cloudflare.com:8443 is not Cloudflare's API"],
        ["https://user:pw@api.cloudflare.com/client/v4/ips", "the URL carries credentials"],
        ["http://user@127.0.0.1:8080/ips", "the URL carries credentials"],
        ["http://api.cloudflare.com/client/v4/ips", "http: is refused"],
        ["ftp://127.0.0.1/ips", "ftp: is refused"],
    ])("%s is refused before any request", (url, message) => {
        expect(cloudflareUrlProblem(url)).toContain(message);
    });
    test.each(["https://api.cloudflare.com/client/v4/ips", "http://127.0.0.1:8080/ips", "https://127.0.0.1:8443/ips", "http://localhost:1/x", "http://[::1]:1/x"])("%s is allowed", (url) => {
        expect(cloudflareUrlProblem(url)).toBeUndefined();
    });
    test("fetchCloudflareRanges refuses another host without a request", async () => {
        await expect(fetchCloudflareRanges({ url: "https://ranges.example.net/ips", ...fast })).rejects.toThrow("Cloudflare IP ranges from https://ranges.example.net/ips rejected: ranges.example.net is not Cloudflare's API");
    });
});

describe("parseSingleAddress: the one parser of a single address", () => {
    test.each([
        ["203.0.113.7", undefined, "203.0.113.7", 4],
        ["2001:DB8:0:0:0:0:0:7", undefined, "2001:db8::7", 6],
        ["2001:db8::7", 6, "2001:db8::7", 6],
        ["0.0.0.0", 4, "0.0.0.0", 4],
        ["::1", undefined, "::1", 6],
    ] as const)("%s (family %s) -> %s", (input, family, address, fam) => {
        const a = parseSingleAddress(input, family);
        expect(a.address).toBe(address);
        expect(a.family).toBe(fam);
        expect(a.text).toBe(`${address}/${fam === 4 ? 32 : 128}`);
    });
    test.each([
        ["203.0.113.0/24", undefined, '"203.0.113.0/24" is not a single IPv4 or IPv6 address, e.g. "203.0.113.7" or "2001:db8::7" (a block is not accepted here)'],
        ["203.0.113.7/32", undefined, "(a block is not accepted here)"],
        ["localhost", undefined, '"localhost" is not a single IPv4 or IPv6 address'],
        ["127.1", undefined, '"127.1" is not a single IPv4 or IPv6 address'],
        ["", undefined, '"" is not a single IPv4 or IPv6 address'],
        ["2001:db8::7", 4, '"2001:db8::7" is not a single IPv4 address, e.g. "203.0.113.7"'],
        ["203.0.113.7", 6, '"203.0.113.7" is not a single IPv6 address, e.g. "2001:db8::7"'],
        ["::ffff:203.0.113.7", undefined, '"::ffff:203.0.113.7" is an IPv4-mapped IPv6 form of 203.0.113.7'],
        ["::ffff:cb00:7107", undefined, '"::ffff:cb00:7107" is an IPv4-mapped IPv6 form of 203.0.113.7'],
    ] as const)("%s (family %s) is refused", (input, family, message) => {
        expect(() => parseSingleAddress(input, family)).toThrow(CidrError);
        expect(() => parseSingleAddress(input, family)).toThrow(message);
    });
    test("property: any IPv4 dotted quad round-trips", () => {
        fc.assert(fc.property(fc.ipV4(), (a) => expect(parseSingleAddress(a).address).toBe(a)));
    });
});

describe("canonicalCidr", () => {
    test.each([
        ["203.0.113.7", "203.0.113.7/32"],
        ["203.0.113.0/24", "203.0.113.0/24"],
        ["0.0.0.0/0", "0.0.0.0/0"],
        ["2001:DB8::1", "2001:db8::1/128"],
        ["2001:0db8:0000:0000:0000:0000:0000:0000/32", "2001:db8::/32"],
        ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1/128"],
        ["::/0", "::/0"],
        ["2a06:98c0:0::/29", "2a06:98c0::/29"],
    ])("%s -> %s", (input, expected) => {
        expect(canonicalCidr(input)).toBe(expected);
    });

    test.each([
        ["10.0.0.5/24", '"10.0.0.5/24" has host bits set; did you mean "10.0.0.0/24" or "10.0.0.5/32"?'],
        ["2001:db8::1/64", '"2001:db8::1/64" has host bits set; did you mean "2001:db8::/64" or "2001:db8::1/128"?'],
        ["127.1", '"127.1" is not a valid IP address or CIDR block'],
        ["0x7f.0.0.1", '"0x7f.0.0.1" is not a valid IP address or CIDR block'],
        ["010.0.0.1", '"010.0.0.1" is not a valid IP address or CIDR block'],
        ["1.2.3.4/33", '"1.2.3.4/33" has prefix /33; an IPv4 prefix is at most /32'],
        ["2001:db8::/129", '"2001:db8::/129" has prefix /129; an IPv6 prefix is at most /128'],
        ["1.2.3.4/024", '"1.2.3.4/024" is not a valid IP address or CIDR block'],
        ["fe80::1%eth0", '"fe80::1%eth0" is not a valid IP address or CIDR block'],
        [" 1.2.3.4", '" 1.2.3.4" is not a valid IP address or CIDR block'],
        ["", '"" is not a valid IP address or CIDR block'],
        ["256.1.1.1", '"256.1.1.1" is not a valid IP address or CIDR block'],
    ])("%s is refused", (input, message) => {
        expect(() => canonicalCidr(input)).toThrow(message);
    });

    test("property: canonical form is a fixed point and independent of spelling", () => {
        fc.assert(
            // Dotted (embedded IPv4) forms are refused by design; see the exposure tests.
            fc.property(
                fc.ipV6().filter((a) => !a.includes(".")),
                fc.integer({ min: 0, max: 128 }),
                (addr, prefix) => {
                    const net = canonicalCidr(`${addr}/128`).split("/")[0];
                    const block = canonicalCidr(`${net}/128`);
                    expect(canonicalCidr(block)).toBe(block);
                    expect(canonicalCidr(block.toUpperCase())).toBe(block);
                    // Masking then canonicalising gives a fixed point at any prefix.
                    let masked: string;
                    try {
                        masked = canonicalCidr(`${net}/${prefix}`);
                    } catch (e) {
                        masked = String((e as Error).message.match(/did you mean "([^"]+)"/)![1]);
                    }
                    expect(canonicalCidr(masked)).toBe(masked);
                },
            ),
        );
    });
});

// Issue 19: the answer's odd shapes, against a real server on 127.0.0.1.
describe("fetchCloudflareRanges: odd answer shapes (issue 19)", () => {
    test.each([300, 304, 305, 306, 201, 203, 204, 206])("HTTP %d, even with a same-host Location and a valid body, is rejected and not followed", async (status) => {
        const s = await serve({ status, json: sampleAnswer(), headers: { location: "/client/v4/ips/" } }, { json: sampleAnswer() });
        await expect(fetchCloudflareRanges({ url: s.url, ...fast })).rejects.toThrow(`Cloudflare IP ranges from ${s.url} rejected: HTTP ${status} is neither an answer (200) nor a redirect`);
        expect(s.requests).toEqual(["/client/v4/ips"]);
    });

    test.each([301, 302, 303, 307, 308])("HTTP %d to the same host is a redirect, followed", async (status) => {
        const s = await serve({ status, headers: { location: "/client/v4/ips/" } }, { json: sampleAnswer() });
        await expect(fetchCloudflareRanges({ url: s.url, ...fast })).resolves.toMatchObject({ ipv4: SAMPLE_V4 });
        expect(s.requests).toEqual(["/client/v4/ips", "/client/v4/ips/"]);
    });

    test("property: success true with any non-empty errors list is rejected, live and as a saved answer", async () => {
        const { validateHandedInRanges } = await import("../components/cloudflare");
        await fc.assert(
            fc.asyncProperty(fc.array(fc.oneof(fc.record({ code: fc.integer(), message: fc.string() }), fc.string(), fc.integer()), { minLength: 1, maxLength: 3 }), async (errors) => {
                clearCloudflareRangesCache();
                const answer = { ...sampleAnswer(), success: true, errors };
                const s = await serve({ json: answer });
                await expect(fetchCloudflareRanges({ url: s.url, ...fast })).rejects.toThrow(`rejected: success is true but errors lists ${errors.length} error(s); errors: `);
                expect(() => validateHandedInRanges(answer)).toThrow(`cloudflare.ranges.success is true but cloudflare.ranges.errors lists ${errors.length} error(s)`);
            }),
            { numRuns: 15 },
        );
    });

    test("errors that are not a list are rejected; an empty or absent list is fine", async () => {
        for (const errors of ["boom", { code: 1 }, 0]) {
            const s = await serve({ json: { ...sampleAnswer(), errors } });
            clearCloudflareRangesCache();
            await expect(fetchCloudflareRanges({ url: s.url, ...fast })).rejects.toThrow("rejected: errors is not a list");
        }
        for (const errors of [[], undefined, null]) {
            const s = await serve({ json: { ...sampleAnswer(), errors } });
            clearCloudflareRangesCache();
            await expect(fetchCloudflareRanges({ url: s.url, ...fast })).resolves.toMatchObject({ ipv6: SAMPLE_V6 });
        }
    });

    test("an answer's text quoted in the error is escaped", async () => {
        const s = await serve({ json: { ...sampleAnswer(), success: false, errors: [{ message: "down\u2028\u202e" }] } });
        const e = await fetchCloudflareRanges({ url: s.url, ...fast }).catch((x: Error) => x);
        expect((e as Error).message).toContain('errors: [{"message":"down\\u2028\\u202e"}]');
    });
});
