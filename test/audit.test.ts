// Issue 11: the exposure audit, run for real (nmap, real packets) from client
// namespaces against a server namespace behind the stack's host firewall.
import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";
import { nmapArgs, openPortsFromXml, parsePorts, verdict } from "../scripts/audit";
import { PolicyRule } from "../components";
import { parseSingleAddress } from "../components/cidr";
import { admittedEntries } from "../components/policy";
import { describeNetns } from "./helpers/describe-netns";
import { CLIENTS, Lab, SERVER } from "./helpers/netns";
import { SAMPLE_ANSWER_PATH } from "./helpers/server";
import { compiled } from "./helpers/compiled";

const ROOT = path.join(__dirname, "..");
const AUDIT = compiled("scripts/audit.ts");
const TRUSTED = { key: "trusted", v4: "203.0.113.10", v6: "2001:db8::10" };
const LISTENERS = [22, 443, 3000, 9000];
// The well-known ports and the listeners' others: each further 10000 ports cost a scan
// about 2 s here. The default, 1-65535, is what the bench times.
const PORTS = "1-1024,3000,9000";

const rulesets = new Map<string, Promise<string>>();
/** The stack's ruleset from `npm run nftables` (once per stack). */
function rulesetOf(stack: string): Promise<string> {
    if (!rulesets.has(stack))
        rulesets.set(
            stack,
            promisify(execFile)(process.execPath, [compiled("scripts/nftables.ts"), "--stack", stack, "--ranges-file", SAMPLE_ANSWER_PATH], { cwd: ROOT }).then((r) => r.stdout),
        );
    return rulesets.get(stack)!;
}

/** Runs the real audit command inside a client namespace; returns exit code and output. */
async function audit(lab: Lab, client: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return promisify(execFile)("ip", ["netns", "exec", lab.clients[client], process.execPath, AUDIT, ...args], { cwd: ROOT, timeout: 120_000 }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
    );
}
const common = ["--stack", "hetzner-dashboard", "--firewall", "dashboard", "--ranges-file", SAMPLE_ANSWER_PATH, "--ports", PORTS, "--json"];
const sourceOf = (client: string, family: "v4" | "v6") => (({ cloudflare: CLIENTS.cloudflare, trusted: TRUSTED, stranger: CLIENTS.stranger }) as any)[client][family];

describeNetns("the audit against a server behind the stack's host firewall", () => {
    let lab: Lab;
    beforeAll(async () => {
        lab = Lab.create([CLIENTS.cloudflare, TRUSTED, CLIENTS.stranger]);
        await lab.listen(lab.server, LISTENERS);
    });
    afterAll(() => lab?.destroy());

    const cases: [string, "v4" | "v6", number[]][] = [
        ["stranger", "v4", []],
        ["stranger", "v6", []],
        ["trusted", "v4", [22, 9000]],
        ["trusted", "v6", [22, 9000]],
        ["cloudflare", "v4", [443]],
        ["cloudflare", "v6", [443]],
    ];

    test.each(cases)(
        "locked down as the stack says: exit 0 from the %s client over %s",
        async (client, family, open) => {
            await lab.nft(lab.server, await rulesetOf("hetzner-dashboard"));
            const r = await audit(lab, client, [...common, "--host", SERVER[family], "--source", sourceOf(client, family)]);
            expect(r.stderr).toBe("");
            expect(r.code).toBe(0);
            const report = JSON.parse(r.stdout);
            expect(report.exposed).toBe(false);
            expect(report.hosts[0]).toMatchObject({ host: SERVER[family], source: sourceOf(client, family), sourceFrom: "--source", open, unexpected: [] });
            expect(report.hosts[0].scanner).toMatch(/^nmap -n -Pn -sS -p 1-1024,3000,9000 --min-rate 10000 --max-retries 1 /);
        },
        60_000,
    );

    // Inserted first in the input chain: the ruleset ends in an explicit (counted) drop.
    test.each(cases)(
        "the same plus 3000 open to all: exit 1 from the %s client over %s, naming 3000 and only 3000",
        async (client, family, open) => {
            await lab.nft(lab.server, (await rulesetOf("hetzner-dashboard")) + "insert rule inet cloudflare_origin_firewall input tcp dport 3000 accept\n");
            const r = await audit(lab, client, [...common, "--host", SERVER[family], "--source", sourceOf(client, family)]);
            expect(r.code).toBe(1);
            const report = JSON.parse(r.stdout);
            expect(report.hosts[0].open).toEqual([...open, 3000].sort((a, b) => a - b));
            expect(report.hosts[0].unexpected).toEqual([{ port: 3000, policy: "port 3000 is in no rule of the policy" }]);
        },
        60_000,
    );

    test("no firewall: exit 1 naming every listener, with what the policy says about each", async () => {
        await lab.exec(lab.server, ["nft", "flush", "ruleset"]);
        const r = await audit(lab, "stranger", [...common, "--host", SERVER.v4, "--source", CLIENTS.stranger.v4]);
        expect(r.code).toBe(1);
        const { hosts } = JSON.parse(r.stdout);
        expect(hosts[0].unexpected).toEqual([
            { port: 22, policy: '"SSH (22) from trusted sources" admits only 203.0.113.10/32, 2001:db8::10/128; 198.51.100.99 is not among them' },
            { port: 443, policy: '"HTTPS (443) from Cloudflare only" admits only Cloudflare\'s ranges; 198.51.100.99 is not among them' },
            { port: 3000, policy: "port 3000 is in no rule of the policy" },
            { port: 9000, policy: '"Trading dashboard from trusted addresses" admits only 203.0.113.10/32, 2001:db8::10/128; 198.51.100.99 is not among them' },
        ]);
    }, 60_000);

    test("a readable table by default: the failing run names the port and the verdict", async () => {
        await lab.exec(lab.server, ["nft", "flush", "ruleset"]);
        await lab.nft(lab.server, (await rulesetOf("hetzner-dashboard")) + "insert rule inet cloudflare_origin_firewall input tcp dport 3000 accept\n");
        const r = await audit(lab, "trusted", common.filter((a) => a !== "--json").concat(["--host", SERVER.v4, "--source", TRUSTED.v4]));
        expect(r.code).toBe(1);
        const lines = r.stdout.split("\n");
        expect(lines[0]).toMatch(/^Audit of 192\.0\.2\.1 \(stack hetzner-dashboard, firewall dashboard\) from 203\.0\.113\.10 \(--source\), \d+\.\d s$/);
        expect(lines.slice(1, 5).map((l) => l.split(/\s{2,}/).filter(Boolean))).toEqual([
            ["PORT", "ANSWERS", "FROM THIS SOURCE", "VERDICT"],
            ["22", "open", "admitted", "ok"],
            ["3000", "open", "not admitted", "EXPOSED: port 3000 is in no rule of the policy"],
            ["9000", "open", "admitted", "ok"],
        ]);
        expect(lines).toContain("  FAIL: 1 port(s) answer that the policy does not admit from 203.0.113.10: 3000");
    }, 60_000);

    test("without --source the scanning machine's address comes from the trace endpoint", async () => {
        await lab.nft(lab.server, await rulesetOf("hetzner-dashboard"));
        const url = await lab.start(lab.clients.trusted, "trace-server.js", [TRUSTED.v4]);
        const r = await audit(lab, "trusted", [...common, "--host", SERVER.v4, "--trace-url", url]);
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout).hosts[0]).toMatchObject({ source: TRUSTED.v4, sourceFrom: "trace", open: [22, 9000], unexpected: [] });
    }, 60_000);

    test("admitted ports that do not answer are reported, not failed", async () => {
        await lab.nft(lab.server, await rulesetOf("digitalocean-api")); // 80 from Cloudflare: nothing listens there
        const r = await audit(lab, "cloudflare", ["--stack", "digitalocean-api", "--ranges-file", SAMPLE_ANSWER_PATH, "--ports", PORTS, "--json", "--host", SERVER.v4, "--source", CLIENTS.cloudflare.v4]);
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout).hosts[0]).toMatchObject({ open: [443], unexpected: [], admittedNotAnswering: ["80"] });
    }, 60_000);
});

describe("usage, config and tool errors exit 2", () => {
    const run = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
        promisify(execFile)(process.execPath, [AUDIT, ...args], { cwd: ROOT, env }).then(
            (r) => ({ code: 0, stderr: r.stderr }),
            (e) => ({ code: e.code as number, stderr: e.stderr as string }),
        );
    test.each<[string[], string]>([
        [[], "usage: npm run audit -- --stack <stack> --firewall <key> --host <address>"],
        [["--stack", "hetzner-dashboard", "--bogus"], "audit failed: unknown flag --bogus\nusage: npm run audit"],
        [["--stack", "hetzner-dashboard", "--sorce", "192.0.2.1"], "unknown flag --sorce; did you mean --source?"],
        [["--stack", "nope", "--host", "192.0.2.1"], 'audit failed: no stack "nope"'],
        [["--stack", "hetzner-dashboard", "--host", "192.0.2.0/24", "--source", "198.51.100.9", "--ranges-file", SAMPLE_ANSWER_PATH], '--host: "192.0.2.0/24" is not a single IPv4 or IPv6 address'],
        [["--stack", "hetzner-dashboard", "--host", "192.0.2.1", "--source", "2001:db8::1", "--ranges-file", SAMPLE_ANSWER_PATH], "the scan's source address must be of the host's family"],
        [["--stack", "hetzner-dashboard", "--host", "192.0.2.1", "--ports", "http"], '--ports: "http" is not a port or range'],
        [["--stack", "hetzner-dashboard", "--host", "192.0.2.1", "--ranges-file", "/nonexistent.json"], "--ranges-file: /nonexistent.json does not exist"],
    ])("%j", async (args, message) => {
        const r = await run(args);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(message);
    });

    test("nmap missing: the install hint", async () => {
        const r = await run(["--stack", "hetzner-dashboard", "--host", "192.0.2.1"], { ...process.env, PATH: "/nonexistent" });
        expect(r.code).toBe(2);
        expect(r.stderr).toContain("audit failed: nmap not found: install it (Debian/Ubuntu: sudo apt-get install nmap; macOS: brew install nmap)");
    });
});

describe("pieces", () => {
    test("port lists in nmap's syntax", () => {
        expect(parsePorts("1-65535")).toEqual([[1, 65535]]);
        expect(parsePorts("22,443,8000-8100")).toEqual([
            [22, 22],
            [443, 443],
            [8000, 8100],
        ]);
        expect(parsePorts("-")).toEqual([[1, 65535]]);
        expect(parsePorts("60000-")).toEqual([[60000, 65535]]);
        expect(() => parsePorts("0-10")).toThrow("outside 1-65535");
    });
    test("SYN scan as root, connect scan otherwise; -6 for IPv6", () => {
        expect(nmapArgs("192.0.2.1", "22", true)).toEqual(["-n", "-Pn", "-sS", "-p", "22", "--min-rate", "10000", "--max-retries", "1", "--host-timeout", "300s", "-oX", "-", "192.0.2.1"]);
        expect(nmapArgs("2001:db8::1", "22", false)).toContain("-sT");
        expect(nmapArgs("2001:db8::1", "22", false).slice(-2)).toEqual(["-6", "2001:db8::1"]);
    });
    test("the verdict: admitted from this source, exposed (with what the policy says), admitted but silent", () => {
        const rules: PolicyRule[] = [
            { kind: "ssh", index: 0, description: "SSH", protocol: "tcp", port: "22", sources: ["203.0.113.0/24"] },
            { kind: "cloudflare", index: 0, description: "HTTPS", protocol: "tcp", port: "443", sources: ["104.16.0.0/13"] },
            { kind: "extra", index: 0, description: "dashboard", protocol: "tcp", port: "9000-9001", sources: ["203.0.113.10/32", "2001:db8::10/128"] },
        ];
        const admitted = { entries: admittedEntries(rules) };
        expect(verdict(admitted, parseSingleAddress("203.0.113.10"), [[1, 65535]], [22, 443, 3000])).toEqual({
            unexpected: [
                { port: 443, policy: '"HTTPS" admits only Cloudflare\'s ranges; 203.0.113.10 is not among them' },
                { port: 3000, policy: "port 3000 is in no rule of the policy" },
            ],
            admittedNotAnswering: ["9000-9001"],
        });
        // Outside the scanned ranges nothing is reported as silent.
        expect(verdict(admitted, parseSingleAddress("203.0.113.10"), [[1, 1024]], [22]).admittedNotAnswering).toEqual([]);
    });

    test("open ports from nmap's XML, never from its text", () => {
        const xml = `<?xml version="1.0"?><nmaprun><host><ports>
            <port protocol="tcp" portid="22"><state state="open"/></port>
            <port protocol="tcp" portid="25"><state state="closed"/></port>
            <port protocol="tcp" portid="443"><state state="filtered"/></port>
            <port protocol="tcp" portid="3000"><state state="open"/></port></ports></host></nmaprun>`;
        expect(openPortsFromXml(xml)).toEqual([22, 3000]);
        expect(openPortsFromXml(`<nmaprun><host><ports><port protocol="tcp" portid="9000"><state state="open"/></port></ports></host></nmaprun>`)).toEqual([9000]);
    });
});
