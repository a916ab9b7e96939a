// Issue 12: never lock the owner out (the lockout guard), and follow a moving home
// address (DNS names as sources). A real HTTP server stands in for Cloudflare's
// trace endpoint and a real DNS server (dns2) for the resolvers, both on 127.0.0.1.
import { execFile } from "child_process";
import * as fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { parseStackConfig, renderPolicy, resolvePolicyNames, validatePolicy } from "../components";
import { checkLockout, lockoutGuardMode } from "../components/lockout";
import { resolveName } from "../components/names";
import { admittedSet } from "../components/policy";
import { fetchPublicAddress, parseTrace } from "../components/trace";
import { traceUrlProblem } from "../components/trace";
import { startDns, TestDns } from "./helpers/dns-server";
import { SAMPLE_RANGES } from "./helpers/fixtures";
import { SAMPLE_ANSWER_PATH, startServer, TestServer, traceReply } from "./helpers/server";
import { compiled } from "./helpers/compiled";

const ROOT = path.join(__dirname, "..");
const trace = traceReply;
let servers: TestServer[] = [];
const serve = async (...replies: Parameters<typeof startServer>) => {
    const s = await startServer(...replies);
    servers.push(s);
    return s;
};
afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
});

describe("learning this machine's public address (trace endpoint)", () => {
    test.each(["203.0.113.77", "2001:db8::77"])("ip=%s is read from a real trace answer", async (ip) => {
        const s = await serve(trace(ip));
        expect(await fetchPublicAddress({ url: s.url })).toBe(ip);
    });
    test("an upper-case, uncompressed IPv6 comes back canonical", async () => {
        const s = await serve(trace("2001:DB8:0:0:0:0:0:77"));
        expect(await fetchPublicAddress({ url: s.url })).toBe("2001:db8::77");
    });
    test.each<[string, any, string]>([
        ["an HTML page", { body: "<html>blocked</html>" }, 'the answer is not a trace (starts with "<html>blocked</html>")'],
        ["no ip= line", { body: "fl=1\nh=x\n" }, "expected one ip= line, found 0"],
        ["two ip= lines", { body: "ip=203.0.113.1\nip=203.0.113.2\n" }, "expected one ip= line, found 2"],
        ["ip= not an address", { body: "ip=localhost\n" }, 'ip=localhost: "localhost" is not a single IPv4 or IPv6 address'],
        ["ip= a block", { body: "ip=203.0.113.0/24\n" }, 'ip=203.0.113.0/24: "203.0.113.0/24" is not a single IPv4 or IPv6 address, e.g. "203.0.113.7" or "2001:db8::7" (a block is not accepted here)'],
        ["ip= IPv4-mapped", { body: "ip=::ffff:203.0.113.9\n" }, "is an IPv4-mapped IPv6 form of 203.0.113.9"],
        ["HTTP 500", { status: 500, body: "oops" }, "HTTP 500"],
        ["a redirect", { status: 302, headers: { location: "http://127.0.0.1:1/" } }, "HTTP 302 (redirects are not followed)"],
    ])("%s is refused", async (_n, reply, message) => {
        const s = await serve(reply);
        await expect(fetchPublicAddress({ url: s.url })).rejects.toThrow(message);
    });
    test("an endpoint that never answers fails at the deadline", async () => {
        const s = await serve("hang");
        const t0 = Date.now();
        await expect(fetchPublicAddress({ url: s.url, deadlineMs: 500 })).rejects.toThrow("no answer within 500 ms");
        expect(Date.now() - t0).toBeLessThan(2000);
    });
    test("only Cloudflare's trace endpoint or loopback", async () => {
        await expect(fetchPublicAddress({ url: "https://ifconfig.example.net/ip" })).rejects.toThrow("ifconfig.example.net is not Cloudflare's trace endpoint; only https://www.cloudflare.com/cdn-cgi/trace is used");
        expect(parseTrace("ip=198.51.100.1\n")).toBe("198.51.100.1");
    });
    // The same rule as the ranges URL (one check, cloudflare.ts endpointUrlProblem).
    test.each([
        ["https://user:pw@www.cloudflare.com/cdn-cgi/trace", "the URL carries credentials; none are needed"],
        ["http://user@127.0.0.1:8080/trace", "the URL carries credentials; none are needed"],
        ["http://www.cloudflare.com/cdn-cgi/trace", "http: is refused; use https://www.cloudflare.com/cdn-cgi/trace"],
        ["https://www.cloudflare.com:8443/cdn-cgi/trace", "www.cloudflare.com:8443 is not Cloudflare's trace endpoint"],
        ["ftp://127.0.0.1/trace", "ftp: is refused"],
        ["not a url", "the URL is not valid"],
    ])("trace URL %s is refused", (url, message) => {
        expect(traceUrlProblem(url)).toContain(message);
    });
    test.each(["https://www.cloudflare.com/cdn-cgi/trace", "https://1.1.1.1/cdn-cgi/trace", "https://[2606:4700:4700::1111]/cdn-cgi/trace", "http://127.0.0.1:8080/t"])("trace URL %s is allowed", (url) => {
        expect(traceUrlProblem(url)).toBeUndefined();
    });
});

describe("the lockout guard (pure)", () => {
    const dashboard = validatePolicy({ ssh: { sources: ["203.0.113.10", "2001:db8::10"] } });
    const rules = admittedSet(dashboard, SAMPLE_RANGES);
    test.each<[string, string[], "error" | "warn" | "off", string]>([
        ["IPv4 inside", ["203.0.113.10"], "error", "ok"],
        ["IPv6 inside", ["2001:db8::10"], "error", "ok"],
        ["IPv4 outside, error", ["198.51.100.77"], "error", "error"],
        ["IPv6 outside, error", ["2001:db8:1::77"], "error", "error"],
        ["outside, warn", ["198.51.100.77"], "warn", "warn"],
        ["outside, off", ["198.51.100.77"], "off", "ok"],
        ["IPv4 in, IPv6 out: you still get in, a warning", ["203.0.113.10", "2001:db8:1::77"], "error", "warn"],
    ])("%s", (_n, deployers, mode, level) => {
        expect(checkLockout("dash", rules, deployers, mode).level).toBe(level);
    });
    test("the error names the address, the firewall and the fix", () => {
        expect(checkLockout("dash", rules, ["198.51.100.77"], "error").message).toBe(
            'lockout guard: this deployment would lock you out of firewall dash: SSH (tcp 22) does not admit this machine\'s address 198.51.100.77. Add "198.51.100.77" (or your network, or a dynamic-DNS name) to firewalls.dash.ssh.sources, or set lockoutGuard: warn (or off) for this stack if you reach the server another way',
        );
    });
    test("no address learned: unchecked, never ok", () => {
        expect(checkLockout("dash", rules, [], "error", "HTTP 500")).toEqual({ level: "unchecked", message: "lockout guard: HTTP 500; SSH access to firewall dash was NOT checked" });
    });
    test("the default is error, and warn when CI is set", () => {
        expect(lockoutGuardMode(undefined, {})).toBe("error");
        expect(lockoutGuardMode(undefined, { CI: "true" })).toBe("warn");
        expect(lockoutGuardMode("off", { CI: "true" })).toBe("off");
    });
});

// ---------------------------------------------------------------- the program
async function runProgram(config: object, env: NodeJS.ProcessEnv = process.env) {
    const cf = await serve({ json: JSON.parse(fs.readFileSync(SAMPLE_ANSWER_PATH, "utf8")) });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cof-")), "config.json");
    fs.writeFileSync(file, JSON.stringify(config));
    return promisify(execFile)(process.execPath, [compiled("test/fixtures/run-program.ts"), file, cf.url], { cwd: ROOT, env }).then(
        (r) => ({ code: 0, stderr: r.stderr, report: JSON.parse(r.stdout) }),
        (e) => ({ code: e.code as number, stderr: e.stderr as string, report: JSON.parse(e.stdout) }),
    );
}
const noCi = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "CI"));
const fw = (sources: string[]) => ({ dash: { provider: "hetzner", ssh: { sources }, applyTo: { labelSelectors: ["app=dash"] } } });
const cloud = (types: string[]) => types.filter((t) => t !== "pulumi:pulumi:Stack");

describe("the lockout guard in the program", () => {
    test("deployer outside the SSH sources: the deployment stops before any resource", async () => {
        const t = await serve(trace("198.51.100.77"));
        const r = await runProgram({ firewalls: fw(["203.0.113.10"]), traceUrl: t.url }, noCi());
        expect(r.code).toBe(1);
        expect(r.report.error).toContain("lockout guard: this deployment would lock you out of firewall dash: SSH (tcp 22) does not admit this machine's address 198.51.100.77");
        expect(cloud(r.report.types)).toEqual([]);
    }, 30_000);

    test("deployer inside (IPv6): deploys", async () => {
        const t = await serve(trace("2001:db8::10"));
        const r = await runProgram({ firewalls: fw(["203.0.113.10", "2001:db8::/64"]), traceUrl: t.url }, noCi());
        expect(r.code).toBe(0);
        expect(cloud(r.report.types)).toContain("hcloud:index/firewall:Firewall");
    }, 30_000);

    test("with CI set the default is warn: deploys, and says so", async () => {
        const t = await serve(trace("198.51.100.77"));
        const r = await runProgram({ firewalls: fw(["203.0.113.10"]), traceUrl: t.url }, { ...noCi(), CI: "true" });
        expect(r.code).toBe(0);
        expect(r.stderr).toContain("warning: [runtime] lockout guard: this deployment would lock you out of firewall dash");
    }, 30_000);

    test("off: no request to the trace endpoint at all", async () => {
        const t = await serve(trace("198.51.100.77"));
        const r = await runProgram({ firewalls: fw(["203.0.113.10"]), traceUrl: t.url, lockoutGuard: "off" }, noCi());
        expect(r.code).toBe(0);
        expect(t.requests).toEqual([]);
    }, 30_000);

    test("the address cannot be learned: a warning that says it was not checked, never a pass", async () => {
        const t = await serve({ body: "<html>captive portal</html>" });
        const r = await runProgram({ firewalls: fw(["203.0.113.10"]), traceUrl: t.url, lockoutGuard: "error" }, noCi());
        expect(r.code).toBe(0);
        expect(r.stderr).toContain("lockout guard: could not learn this machine's public address from");
        expect(r.stderr).toContain("SSH access to firewall dash was NOT checked");
    }, 30_000);
});

describe("the offline plan's --deployer-address", () => {
    const plan = (...args: string[]) =>
        promisify(execFile)(process.execPath, [compiled("scripts/plan.ts"), ...args], { cwd: ROOT }).then(
            (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
            (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
        );
    test("an admitted address: checked", async () => {
        const r = await plan("--stack", "hetzner-dashboard", "--ranges-file", SAMPLE_ANSWER_PATH, "--deployer-address", "203.0.113.10");
        expect(r.code).toBe(0);
        expect(r.stdout.split("\n")[1]).toBe("Lockout guard: checked: 203.0.113.10 may reach SSH");
    }, 30_000);
    test("an address that would be locked out: non-zero exit with the message", async () => {
        const r = await plan("--stack", "hetzner-dashboard", "--ranges-file", SAMPLE_ANSWER_PATH, "--deployer-address", "2001:db8:1::77");
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toContain("plan failed: lockout guard: this deployment would lock you out of firewall dashboard: SSH (tcp 22) does not admit this machine's address 2001:db8:1::77");
    }, 30_000);
    test("without it the plan does not detect, and says it did not check", async () => {
        const r = await plan("--stack", "hetzner-dashboard", "--ranges-file", SAMPLE_ANSWER_PATH);
        expect(r.stdout.split("\n")[1]).toBe("Lockout guard: not checked (give --deployer-address <your public address> to check; pulumi up checks this machine's address)");
    }, 30_000);
});

// ---------------------------------------------------------------- DNS names
describe("DNS names as sources", () => {
    let dns: TestDns;
    beforeAll(async () => {
        dns = await startDns({
            "both.example.net": { a: ["203.0.113.7", "203.0.113.7"], aaaa: ["2001:DB8:0::7"] },
            "v4.example.net": { a: ["198.51.100.7", "198.51.100.3"] },
            "v6.example.net": { aaaa: ["2001:db8::6"] },
            "fail.example.net": "servfail",
            "empty.example.net": {},
            "slow.example.net": "slow",
            "mapped.example.net": { aaaa: ["::ffff:c633:6407"] },
        });
    });
    afterAll(() => dns.close());
    const opts = () => ({ dnsServers: [dns.server], timeoutMs: 1000 });

    test.each<[string, string[]]>([
        ["both.example.net", ["203.0.113.7/32", "2001:db8::7/128"]],
        ["v4.example.net", ["198.51.100.3/32", "198.51.100.7/32"]],
        ["v6.example.net", ["2001:db8::6/128"]],
    ])("%s resolves to all its A and AAAA records, canonical, deduplicated, sorted", async (name, expected) => {
        expect(await resolveName(name, opts())).toEqual(expected);
    });

    test.each<[string, string]>([
        ["nx.example.net", 'the source name "nx.example.net" could not be resolved: the name does not exist (NXDOMAIN)'],
        ["fail.example.net", 'the source name "fail.example.net" could not be resolved: the resolver failed (SERVFAIL)'],
        ["empty.example.net", 'the source name "empty.example.net" could not be resolved: it has no A or AAAA records'],
        ["slow.example.net", 'the source name "slow.example.net" could not be resolved: no answer within 1000 ms'],
    ])("%s fails closed, naming the name", async (name, message) => {
        await expect(resolveName(name, opts())).rejects.toThrow(message);
    });

    test("one failing name fails the whole policy: never fewer sources", async () => {
        await expect(resolvePolicyNames({ ssh: { sources: ["both.example.net", "fail.example.net", "203.0.113.10"] } }, opts())).rejects.toThrow("fail.example.net");
    });

    test("what a name resolves to is judged like any source (an IPv4-mapped AAAA is refused)", async () => {
        await expect(resolvePolicyNames({ ssh: { sources: ["mapped.example.net"] } }, opts())).rejects.toThrow(
            'the source name "mapped.example.net" could not be resolved: it resolved to "::ffff:198.51.100.7" is an IPv4-mapped IPv6 form of 198.51.100.7',
        );
    });

    test("an unresolved name is refused by validatePolicy, accepted (deferred) by the config check", () => {
        expect(() => validatePolicy({ ssh: { sources: ["home.example.net"] } })).toThrow('ssh.sources[0]: "home.example.net" is a DNS name; resolve it first with resolvePolicyNames()');
        expect(Object.keys(parseStackConfig({ firewalls: fw(["home.example.net"]), dnsServers: ["127.0.0.1:5353", "[::1]:53", "203.0.113.53"] }).firewalls)).toEqual(["dash"]);
        expect(() => parseStackConfig({ firewalls: fw(["home.example.net"]), dnsServers: ["resolver.example.net"] })).toThrow('dnsServers[0]: "resolver.example.net" is not a resolver address');
    });

    test("property: rules rendered from names equal rules written with the resolved addresses", async () => {
        const v4 = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 254 })).map((p) => p.join("."));
        // From 2003:: on: 6to4 (2002::/16) and Teredo (2001::/32) are refused as sources.
        const v6 = fc.tuple(fc.integer({ min: 0x2003, max: 0x2c0f }), fc.nat(0xffff), fc.nat(0xffff)).map(([a, b, c]) => `${a.toString(16)}:${b.toString(16)}::${c.toString(16)}`);
        await fc.assert(
            fc.asyncProperty(fc.uniqueArray(v4, { maxLength: 6 }), fc.uniqueArray(v6, { maxLength: 4 }), fc.boolean(), async (a, aaaa, extra) => {
                fc.pre(a.length + aaaa.length > 0);
                dns.zone.set("home.example.net", { a, aaaa });
                const byName = { ssh: { sources: ["home.example.net", ...(extra ? ["203.0.113.10"] : [])] }, rules: [{ description: "dashboard", port: 9000, sources: ["HOME.example.net."] }] };
                const byAddress = { ssh: { sources: [...a, ...aaaa, ...(extra ? ["203.0.113.10"] : [])] }, rules: [{ description: "dashboard", port: 9000, sources: [...aaaa, ...a] }] };
                const { args, names } = await resolvePolicyNames(byName, opts());
                expect(renderPolicy(validatePolicy(args), SAMPLE_RANGES)).toEqual(renderPolicy(validatePolicy(byAddress), SAMPLE_RANGES));
                expect(names.map((n) => n.name)).toEqual(["home.example.net"]);
            }),
            { numRuns: 25 },
        );
    });

    test("in the program: the firewall gets the addresses, the plan shows the name; NXDOMAIN registers nothing", async () => {
        const good = await runProgram({ firewalls: fw(["both.example.net"]), dnsServers: [dns.server] }, noCi());
        expect(good.code).toBe(0);
        const firewall = good.report.resources.find((r: any) => r.type === "hcloud:index/firewall:Firewall");
        expect(firewall.inputs.rules[0].sourceIps).toEqual(["203.0.113.7/32", "2001:db8::7/128"]);
        expect(good.report.outputs.firewalls.dash.resolvedNames).toEqual({ "both.example.net": ["203.0.113.7/32", "2001:db8::7/128"] });
        const bad = await runProgram({ firewalls: fw(["nx.example.net", "203.0.113.10"]), dnsServers: [dns.server] }, noCi());
        expect(bad.code).toBe(1);
        expect(bad.report.error).toContain('the source name "nx.example.net" could not be resolved: the name does not exist (NXDOMAIN)');
        expect(cloud(bad.report.types)).toEqual([]);
    }, 60_000);
});
