// The deployable program: every stack file run through the offline plan (the real
// index.ts under the mock engine, in its own process), config validation, and the
// scheduled-refresh workflow.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { parse } from "yaml";
import { parseStackConfig } from "../components";
import { projectConfigValues } from "../components/config";
import { listStacks, loadStackConfig, projectConfigOf } from "../scripts/stack-config";
import { CF_SOURCES } from "./helpers/fixtures";
import { SAMPLE_ANSWER_PATH, sampleAnswer, startServer } from "./helpers/server";
import { compiled } from "./helpers/compiled";

const ROOT = path.join(__dirname, "..");

async function plan(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return promisify(execFile)(process.execPath, [compiled("scripts/plan.ts"), ...args], { cwd: ROOT }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
    );
}

const WORLD = ["0.0.0.0/0", "::/0"];
const cfRule = (port: string, description: string) => ({ direction: "in", protocol: "tcp", port, sources: CF_SOURCES, description });
const ETAG = "38f79d050aa027e3be3865e495dcc9bc";
// The admitted set per (protocol, port), as the program outputs it and the plan prints it (issue 18).
const CF_AMOUNT = "1524736 IPv4 addresses (a /12 worth, 0.04% of IPv4) and an IPv6 /29 worth (<0.01% of IPv6)";
const cfAdmitted = (port: string) => ({ protocol: "tcp", ports: port, from: [`Cloudflare's ranges (tcp ${port})`], sources: CF_SOURCES, amount: CF_AMOUNT });
const TRUSTED_AMOUNT = "1 IPv4 address (a /32 worth, <0.01% of IPv4) and an IPv6 /128 worth (<0.01% of IPv6)";

const expected: Record<string, unknown[]> = {
    "hetzner-web": [
        {
            key: "web",
            provider: "hetzner",
            name: "web-b1c26021",
            attachment: ["label selector role=web"],
            cloudflareEtag: ETAG,
            resolvedNames: {},
            admitted: [cfAdmitted("443"), { protocol: "tcp", ports: "2222", from: ["SSH (tcp 2222)"], sources: WORLD, amount: "all of IPv4 and all of IPv6" }],
            rules: [{ direction: "in", protocol: "tcp", port: "2222", sources: WORLD, description: "SSH (2222) from trusted sources" }, cfRule("443", "HTTPS (443) from Cloudflare only")],
        },
    ],
    "hetzner-dashboard": [
        {
            key: "dashboard",
            provider: "hetzner",
            name: "dashboard-18592de2",
            attachment: ["label selector app=dashboard"],
            cloudflareEtag: ETAG,
            resolvedNames: {},
            admitted: [
                { protocol: "tcp", ports: "22", from: ["SSH (tcp 22)"], sources: ["203.0.113.10/32", "2001:db8::10/128"], amount: TRUSTED_AMOUNT },
                cfAdmitted("443"),
                { protocol: "tcp", ports: "9000", from: ['rules[0] ("Trading dashboard from trusted addresses", tcp 9000)'], sources: ["203.0.113.10/32", "2001:db8::10/128"], amount: TRUSTED_AMOUNT },
            ],
            rules: [
                { direction: "in", protocol: "tcp", port: "22", sources: ["203.0.113.10/32", "2001:db8::10/128"], description: "SSH (22) from trusted sources" },
                cfRule("443", "HTTPS (443) from Cloudflare only"),
                { direction: "in", protocol: "tcp", port: "9000", sources: ["203.0.113.10/32", "2001:db8::10/128"], description: "Trading dashboard from trusted addresses" },
            ],
        },
    ],
    "digitalocean-api": [
        {
            key: "api",
            provider: "digitalocean",
            name: "api",
            attachment: ["tag api"],
            cloudflareEtag: ETAG,
            resolvedNames: {},
            admitted: [{ protocol: "tcp", ports: "22", from: ["SSH (tcp 22)"], sources: ["203.0.113.8/29"], amount: "8 IPv4 addresses (a /29 worth, <0.01% of IPv4)" }, cfAdmitted("80"), cfAdmitted("443")],
            rules: [
                { direction: "in", protocol: "tcp", port: "22", sources: ["203.0.113.8/29"] },
                { direction: "in", protocol: "tcp", port: "80", sources: CF_SOURCES },
                { direction: "in", protocol: "tcp", port: "443", sources: CF_SOURCES },
                { direction: "out", protocol: "tcp", port: "1-65535", sources: WORLD },
                { direction: "out", protocol: "udp", port: "1-65535", sources: WORLD },
                { direction: "out", protocol: "icmp", port: "-", sources: WORLD },
            ],
        },
    ],
};

describe("every stack in stacks/ through the real program", () => {
    test("the stacks are the documented ones", () => {
        expect(listStacks()).toEqual(Object.keys(expected).sort());
    });

    test.each(Object.keys(expected))("%s renders exactly its firewalls (ranges from the shipped sample)", async (stack) => {
        const r = await plan("--stack", stack, "--ranges-file", SAMPLE_ANSWER_PATH, "--json");
        expect(r.stderr).toBe(stack === "hetzner-web" ? "warning: [runtime] SSH (tcp 2222) admits all of IPv4 and all of IPv6 to the SSH port 2222, because ssh.allowFromAnywhere is true\n" : "");
        expect(r.code).toBe(0);
        const out = JSON.parse(r.stdout);
        expect(out.stack).toBe(stack);
        expect(out.firewalls).toEqual(expected[stack]);
        expect(out.edge).toEqual(
            stack === "hetzner-web"
                ? [
                      "Authenticated Origin Pulls certificate of the zone's own uploaded (web-edge-aop-cert)",
                      "Authenticated Origin Pulls on (after the certificate upload)",
                      "DNS A www.example.com -> 203.0.113.20 (proxied)",
                      "DNS AAAA www.example.com -> 2001:db8::20 (proxied)",
                      "block ip_range 198.51.100.0/24",
                      "origin-pull CA generated (web-edge-aop-ca): its PEM is the originPullCaPem output",
                      "zone setting ssl = strict",
                  ]
                : [],
        );
    });

    test("config is loaded as Pulumi hands it to the program (objects as JSON, project prefix, defaults)", () => {
        const { config } = loadStackConfig("hetzner-dashboard");
        expect(Object.keys(config).sort()).toEqual(["cloudflare-origin-firewall:cloudflareUrl", "cloudflare-origin-firewall:firewalls"]);
        expect(config["cloudflare-origin-firewall:cloudflareUrl"]).toBe("https://api.cloudflare.com/client/v4/ips");
        expect(JSON.parse(config["cloudflare-origin-firewall:firewalls"]).dashboard.provider).toBe("hetzner");
    });
});

describe("npm run plan", () => {
    test("table output against a local Cloudflare server: one request, rules and attachment shown", async () => {
        const server = await startServer({ json: sampleAnswer() });
        try {
            const r = await plan("--stack", "hetzner-dashboard", "--cloudflare-url", server.url);
            expect(r.code).toBe(0);
            expect(server.requests).toEqual(["/client/v4/ips"]);
            const lines = r.stdout.split("\n");
            expect(lines).toContain('Firewall dashboard (hetzner, name "dashboard-18592de2")');
            expect(lines).toContain("  attached to: label selector app=dashboard");
            expect(lines).toContain(`  Cloudflare etag: ${ETAG}`);
            // The admitted set, per port and all rules together, as the checks read it.
            expect(lines).toContain("  admitted, all rules together:");
            expect(lines).toContain(`    tcp 9000: ${TRUSTED_AMOUNT}, from rules[0] ("Trading dashboard from trusted addresses", tcp 9000)`);
            expect(lines).toContain(`    tcp 443: ${CF_AMOUNT}, from Cloudflare's ranges (tcp 443)`);
            expect(
                lines
                    .find((l) => l.includes("9000"))
                    ?.split(/\s+/)
                    .filter(Boolean),
            ).toEqual(["in", "tcp", "9000", "203.0.113.10/32", "Trading", "dashboard", "from", "trusted", "addresses"]);
        } finally {
            await server.close();
        }
    });

    test("a rejected Cloudflare answer exits non-zero with the reason and plans no firewall", async () => {
        const server = await startServer({ json: { success: true, result: { ipv4_cidrs: [], ipv6_cidrs: [], etag: "x" } } });
        try {
            const r = await plan("--stack", "hetzner-web", "--cloudflare-url", server.url, "--json");
            expect(r.code).toBe(2);
            expect(r.stdout).toBe("");
            expect(r.stderr).toContain(`plan failed: `);
            expect(r.stderr).toContain(`Cloudflare IP ranges from ${server.url} rejected: result.ipv4_cidrs is empty`);
        } finally {
            await server.close();
        }
    });

    test("a saved HTML error page as --ranges-file is rejected like a live one", async () => {
        const file = path.join(fs.mkdtempSync("/tmp/cof-"), "answer.json");
        fs.writeFileSync(file, "<html>Access denied</html>");
        const r = await plan("--stack", "hetzner-web", "--ranges-file", file);
        expect(r.code).toBe(2);
        expect(r.stderr).toBe(`plan failed: Cloudflare IP ranges from ${file} rejected: the file is not JSON (starts with "<html>Access denied</html>"). Nothing was changed; fix ${file}.\n`);
    });

    test("a directory or a missing file as --ranges-file: a plain message", async () => {
        const [dir, missing] = await Promise.all([plan("--stack", "hetzner-web", "--ranges-file", "/tmp"), plan("--stack", "hetzner-web", "--ranges-file", "/nonexistent.json")]);
        expect(dir.stderr).toBe("plan failed: --ranges-file: /tmp is a directory; give the saved JSON answer of https://api.cloudflare.com/client/v4/ips\n");
        expect(missing.stderr).toBe("plan failed: --ranges-file: /nonexistent.json does not exist\n");
    });

    test("a live fetch says when it starts and each retry; --timeout and --deadline bound it", async () => {
        const server = await startServer({ status: 503, body: "busy" }, "hang");
        try {
            const t0 = Date.now();
            const r = await plan("--stack", "hetzner-web", "--cloudflare-url", server.url, "--timeout", "1", "--deadline", "3");
            expect(Date.now() - t0).toBeLessThan(15_000);
            expect(r.code).toBe(2);
            const lines = r.stderr.split("\n");
            expect(lines[0]).toBe(`fetching Cloudflare's ranges from ${server.url} ...`);
            expect(lines[1]).toBe("  retry 1 after HTTP 503");
            expect(lines).toContain("  retry 2 after ECONNABORTED");
            expect(r.stderr).toContain("no valid answer within the 3000 ms deadline");
        } finally {
            await server.close();
        }
    }, 30_000);

    test("a bad --timeout is a usage error", async () => {
        const r = await plan("--stack", "hetzner-web", "--timeout", "soon");
        expect(r.code).toBe(2);
        expect(r.stderr).toContain('--timeout: "soon" is not a number of seconds from 1 to 600');
    });

    test("a YAML syntax error names the file and line", async () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "cof-yaml-"));
        fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(root, "Pulumi.yaml"));
        fs.mkdirSync(path.join(root, "stacks"));
        fs.writeFileSync(path.join(root, "stacks", "Pulumi.broken.yaml"), "config:\n  cloudflare-origin-firewall:firewalls:\n    web:\n      ssh: { sources: [203.0.113.7\n");
        expect(() => loadStackConfig("broken", root)).toThrow(/^stacks\/Pulumi\.broken\.yaml:\d+:\d+: YAML syntax error: /);
        // The offending line is shown, numbered, with a caret under the column.
        fs.writeFileSync(path.join(root, "stacks", "Pulumi.broken.yaml"), "config:\n  cloudflare-origin-firewall:firewalls:\n    web:\n      provider: hetzner\n     ssh: x\n");
        expect(() => loadStackConfig("broken", root)).toThrow("stacks/Pulumi.broken.yaml:5:1: YAML syntax error: All mapping items must start at the same column\n    4 |       provider: hetzner\n    5 |      ssh: x\n      | ^");
    });

    test('an unknown flag: did you mean; flags npm kept (no "--"): how to pass them', async () => {
        const typo = await plan("--stack", "hetzner-web", "--ranges-fil", SAMPLE_ANSWER_PATH);
        expect(typo.code).toBe(2);
        expect(typo.stderr).toContain("plan failed: unknown flag --ranges-fil; did you mean --ranges-file?");
        // `npm run plan --stack hetzner-web --json`: npm keeps the flags (npm_config_*) and passes the values on.
        const env = { ...process.env, npm_config_stack: "true", npm_config_json: "true", npm_lifecycle_event: "plan" };
        const swallowed = await promisify(execFile)(process.execPath, [compiled("scripts/plan.ts"), "hetzner-web"], { cwd: ROOT, env }).catch((e) => e);
        expect(swallowed.code).toBe(2);
        expect(swallowed.stderr).toContain('npm kept --stack, --json for itself: npm passes flags on only after "--", as in npm run plan -- --stack <name>');
    });

    test("exit codes: 1 only for a finding (the lockout guard refuses), 2 when the plan cannot be made", async () => {
        const [refused, rejected] = await Promise.all([
            plan("--stack", "hetzner-dashboard", "--ranges-file", SAMPLE_ANSWER_PATH, "--deployer-address", "198.51.100.77"),
            plan("--stack", "hetzner-dashboard", "--ranges-file", "/nonexistent.json", "--deployer-address", "198.51.100.77"),
        ]);
        expect([refused.code, rejected.code]).toEqual([1, 2]);
        expect(refused.stderr).toContain("plan failed: lockout guard: this deployment would lock you out of firewall dashboard");
    }, 30_000);

    test("an unknown stack and a missing --stack are clear errors", async () => {
        const [unknown, missing] = await Promise.all([plan("--stack", "nope"), plan()]);
        expect(unknown.code).toBe(2);
        expect(unknown.stderr).toContain('plan failed: no stack "nope": stacks/Pulumi.nope.yaml does not exist (stacks: digitalocean-api, hetzner-dashboard, hetzner-web)');
        expect(missing.code).toBe(2);
        expect(missing.stderr).toContain("usage: npm run plan -- --stack <name>");
    });
});

describe("stack config validation", () => {
    const good = () => ({
        firewalls: {
            web: { provider: "hetzner", ssh: { sources: ["203.0.113.7"] }, applyTo: { labelSelectors: ["role=web"] } },
            api: { provider: "digitalocean", ssh: { sources: ["203.0.113.7"] }, tags: ["api"] },
        },
    });
    const edit = (f: (c: any) => void) => {
        const c: any = good();
        f(c);
        return c;
    };

    test("a good config passes", () => {
        expect(Object.keys(parseStackConfig(good()).firewalls)).toEqual(["web", "api"]);
    });

    test.each<[string, any, string]>([
        ["port out of range", edit((c) => (c.firewalls.web.ssh.port = 70000)), "firewalls.web.ssh.port: 70000 is not a port; use a whole number from 1 to 65535"],
        ["port as text", edit((c) => (c.firewalls.web.ssh.port = "22")), 'firewalls.web.ssh.port: "22" is not a port; use a whole number from 1 to 65535'],
        ["unknown key in a firewall, with a suggestion", edit((c) => (c.firewalls.web.sshh = {})), 'firewalls.web: unknown key "sshh"; did you mean "ssh"?'],
        ["unknown key in a firewall, nothing close", edit((c) => (c.firewalls.web.zzzzzzzz = 1)), 'firewalls.web: unknown key "zzzzzzzz"; check the spelling against the README\'s config reference'],
        ["unknown top-level key", edit((c) => (c.lockoutGaurd = "warn")), 'config: unknown key "lockoutGaurd"; did you mean "lockoutGuard"?'],
        ["misspelt firewalls key (and so no firewalls)", { firewall: { web: {} } }, 'config: unknown key "firewall"; did you mean "firewalls"?'],
        [
            "a Hetzner key on a DigitalOcean firewall",
            edit((c) => (c.firewalls.api.applyTo = { labelSelectors: ["x=y"] })),
            'firewalls.api: "applyTo" is a Hetzner setting, and this firewall\'s provider is digitalocean; DigitalOcean firewalls attach with dropletIds or tags',
        ],
        ["unknown key in ssh", edit((c) => (c.firewalls.web.ssh.allowAnywhere = true)), 'firewalls.web.ssh: unknown key "allowAnywhere"'],
        [
            "DigitalOcean key on a Hetzner firewall",
            edit((c) => (c.firewalls.web.tags = ["x"])),
            'firewalls.web: "tags" is a DigitalOcean setting, and this firewall\'s provider is hetzner; Hetzner firewalls attach with applyTo (labelSelectors or serverIds)',
        ],
        ["unknown provider", edit((c) => (c.firewalls.web.provider = "aws")), 'firewalls.web.provider: "aws" provider must be "hetzner" or "digitalocean"'],
        ["an empty config", {}, "config: no firewalls are declared; add cloudflare-origin-firewall:firewalls to the stack file (stacks/Pulumi.<stack>.yaml), a map of name -> firewall"],
        ["empty firewalls map", { firewalls: {} }, "firewalls: {} declares no firewall; add at least one under firewalls"],
        ["bad firewall key", edit((c) => (c.firewalls["Web Server"] = c.firewalls.web)), 'firewalls.Web Server: the name "Web Server" must be lower-case letters, digits and dashes'],
        ["sources not a list", edit((c) => (c.firewalls.web.ssh.sources = "203.0.113.7")), 'firewalls.web.ssh.sources: "203.0.113.7" must be a list of addresses or CIDR blocks'],
        ["host bits", edit((c) => (c.firewalls.web.ssh.sources = ["10.0.0.5/24"])), 'firewalls.web.ssh.sources[0]: "10.0.0.5/24" has host bits set; did you mean "10.0.0.0/24" or "10.0.0.5/32"?'],
        ["SSH open without opt-in", edit((c) => (c.firewalls.api.ssh.sources = ["0.0.0.0/0"])), "firewalls.api.ssh.sources: SSH (tcp 22) would admit all of IPv4 to the SSH port 22"],
        ["bad protocol", edit((c) => (c.firewalls.web.rules = [{ description: "x", protocol: "sctp", port: 1, sources: ["203.0.113.7"] }])), 'firewalls.web.rules[0].protocol: "sctp" must be "tcp", "udp" or "icmp"'],
        ["too many tags", edit((c) => (c.firewalls.api.tags = ["a", "b", "c", "d", "e", "f"])), "firewalls.api.tags: 6 tags given; a DigitalOcean firewall takes at most 5"],
        ["empty label selector", edit((c) => (c.firewalls.web.applyTo.labelSelectors = [""])), 'firewalls.web.applyTo.labelSelectors[0]: "" is empty'],
        [
            "edge block with a /20",
            edit((c) => (c.firewalls.web.edge = { zoneId: "0123456789abcdef0123456789abcdef", blockedSources: ["198.51.96.0/20"] })),
            'firewalls.web.edge.blockedSources[0]: "198.51.96.0/20" is a /20; Cloudflare IP Access rules take single addresses, /16 or /24 for IPv4 and /32, /48 or /64 for IPv6',
        ],
        ["edge unknown key", edit((c) => (c.firewalls.web.edge = { zoneId: "z", ssl: "strict" })), 'firewalls.web.edge: unknown key "ssl"'],
        ["the README's zone id placeholder fails the plan, not the deploy", edit((c) => (c.firewalls.web.edge = { zoneId: "<zone id>" })), 'firewalls.web.edge.zoneId: "<zone id>" is not a Cloudflare zone id'],
        [
            "labelSelectors and serverIds together",
            edit((c) => (c.firewalls.web.applyTo = { labelSelectors: ["role=web"], serverIds: [42] })),
            "firewalls.web.applyTo: give labelSelectors or serverIds, not both; Hetzner refuses later changes to a server attached both ways (firewall_managed_by_label_selector)",
        ],
        ["cloudflare ranges cannot come from config", edit((c) => (c.firewalls.web.cloudflare = { ranges: { ipv4: ["0.0.0.0/0"] } })), 'firewalls.web.cloudflare: unknown key "ranges"'],
        [
            "an audit host that is a block",
            edit((c) => (c.firewalls.web.audit = { hosts: ["203.0.113.0/24"] })),
            'firewalls.web.audit.hosts[0]: "203.0.113.0/24" is not a single IPv4 or IPv6 address, e.g. "203.0.113.7" or "2001:db8::7" (a block is not accepted here); give each server address to check',
        ],
        ["an audit host that is a /32", edit((c) => (c.firewalls.web.audit = { hosts: ["203.0.113.9/32"] })), "(a block is not accepted here)"],
        ["a deployer address that is a name", edit((c) => (c.deployerAddress = "me.example.net")), 'deployerAddress: "me.example.net" is not a single IPv4 or IPv6 address'],
        ["a trace URL with credentials", edit((c) => (c.traceUrl = "https://u:p@www.cloudflare.com/cdn-cgi/trace")), 'traceUrl: "https://u:p@www.cloudflare.com/cdn-cgi/trace" is refused: the URL carries credentials; none are needed'],
        [
            "a rule without a description, in our words",
            edit((c) => (c.firewalls.web.rules = [{ port: 9000, sources: ["203.0.113.7"] }])),
            'firewalls.web.rules[0].description: missing; every rule needs a description saying what it admits, e.g. description: "Grafana from the office"',
        ],
        ["a description that is not text", edit((c) => (c.firewalls.web.rules = [{ description: 5, port: 9000, sources: ["203.0.113.7"] }])), "firewalls.web.rules[0].description: 5 must be text; every rule needs a description"],
        ["no ssh block, in our words", edit((c) => delete c.firewalls.web.ssh), "firewalls.web.ssh: missing; give a map of settings (key: value); see the README's config reference"],
        ["a yes/no setting given as text", edit((c) => (c.firewalls.web.allowPing = "yes")), 'firewalls.web.allowPing: "yes" must be true or false'],
        ["an edge without its zone id", edit((c) => (c.firewalls.web.edge = {})), "firewalls.web.edge.zoneId: missing; must be the zone's id: 32 hex digits"],
        ["a ranges URL with credentials", edit((c) => (c.cloudflareUrl = "http://u@127.0.0.1:1/ips")), 'cloudflareUrl: "http://u@127.0.0.1:1/ips" is refused: the URL carries credentials; none are needed'],
    ])("%s", (_name, raw, message) => {
        expect(() => parseStackConfig(raw)).toThrow(message);
    });

    test("the program and the offline tools read a stack's values with one function", () => {
        const all = { "cloudflare-origin-firewall:firewalls": '{"web":{}}', "cloudflare-origin-firewall:lockoutGuard": "warn", "cloudflare-origin-firewall:n": "42", "hcloud:token": "secret" };
        expect(projectConfigValues("cloudflare-origin-firewall", all)).toEqual({ firewalls: { web: {} }, lockoutGuard: "warn", n: 42 });
        // The stack file, as the plan reads it, goes through the same function.
        const loaded = loadStackConfig("hetzner-web");
        expect(projectConfigOf(loaded)).toEqual(projectConfigValues(loaded.project, loaded.config));
        expect(Object.keys(projectConfigOf(loaded))).toContain("firewalls");
    });
});

describe("scheduled refresh workflow", () => {
    const wf = parse(fs.readFileSync(path.join(ROOT, ".github/workflows/refresh-cloudflare-ranges.yml"), "utf8"));

    test("runs every 6 hours and on manual dispatch", () => {
        expect(wf.on.schedule).toEqual([{ cron: "17 */6 * * *" }]);
        expect(wf.on).toHaveProperty("workflow_dispatch");
    });

    // The drift-first order and the per-stack secrets: test/workflow.test.ts (issue 21).
    const stackWf = parse(fs.readFileSync(path.join(ROOT, ".github/workflows/refresh-stack.yml"), "utf8"));
    const steps = stackWf.jobs.stack.steps;

    test("a job per stack in stacks/, one deployment per stack at a time", () => {
        const stackJobs = Object.entries<any>(wf.jobs).filter(([, job]) => job.uses === "./.github/workflows/refresh-stack.yml");
        expect(stackJobs.map(([, job]) => job.with.stack).sort()).toEqual(listStacks());
        expect(stackWf.jobs.stack.concurrency).toEqual({ group: "pulumi-${{ inputs.stack }}", "cancel-in-progress": false });
        expect(steps.map((s: any) => s.run).filter(Boolean)).toContain("npm ci");
        expect(stackWf.jobs.stack.env).toBeUndefined();
    });

    test("after up, the audit scans each stack's servers (no secrets), and every stack declares them", () => {
        const up = steps.findIndex((s: any) => s.with?.command === "up");
        const audit = steps.findIndex((s: any) => String(s.run ?? "").includes('npm run audit -- --stack "$STACK"'));
        expect(audit).toBeGreaterThan(up);
        expect(up).toBeGreaterThan(-1);
        expect(JSON.stringify(steps[audit])).not.toContain("secrets.");
        for (const stack of listStacks()) {
            const fws = parseStackConfig(JSON.parse(JSON.stringify({ firewalls: JSON.parse(loadStackConfig(stack).config["cloudflare-origin-firewall:firewalls"]) }))).firewalls;
            for (const fw of Object.values(fws)) expect(fw.audit?.hosts.length).toBeGreaterThan(0);
        }
    });

    test("up with refresh (restores drift), after a drift check that changes nothing", () => {
        const up = steps.find((s: any) => s.with?.command === "up");
        expect(up.with).toMatchObject({ command: "up", "stack-name": "${{ inputs.stack }}", refresh: true, upsert: true });
        expect(steps.find((s: any) => s.id === "drift").run).toContain("pulumi refresh --preview-only --expect-no-changes");
    });
});
