// Issue 15: the host firewall. Pure rendering and cross-renderer properties, the
// command, cloud-init, the SSH delivery component under mocks, and real packets:
// namespaces, veth pairs, nft and TCP connections (see helpers/netns.ts).
import { execFile, execFileSync } from "child_process";
import * as fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { parse } from "yaml";
import { installMocks, valueOf } from "../scripts/mock-runtime";
import { CF_SOURCES, SAMPLE_RANGES } from "./helpers/fixtures";
import { describeNetns } from "./helpers/describe-netns";
import { CLIENTS, CONTAINER, Lab, SERVER } from "./helpers/netns";
import { policyArb } from "./helpers/policy-arb";
import { SAMPLE_ANSWER_PATH } from "./helpers/server";

const resources = installMocks();
import { HostFirewallOverSsh, hostFirewallCloudInit, remoteApplyCommand, remoteConfirmCommand, renderNftables, renderPolicy, validatePolicy } from "../components";
import { coverage, mergeCidrs, toCidr } from "../components/cidr";
import { toDigitalOceanRules, validateEgress } from "../components/digitalocean-rules";
import { toHetznerRules } from "../components/hetzner-rules";
import { HOST_NFTABLES_DROPIN_PATH, hostNftablesDropIn, hostUnit } from "../components/host-firewall";
import { buildNftRuleset, NFT_TABLE, validateNftHostOptions } from "../components/nftables";
import { compiled } from "./helpers/compiled";

const ROOT = path.join(__dirname, "..");
const HOST_SCRIPT = path.join(ROOT, "host", "cof-host.sh");

async function nftablesCmd(...args: string[]) {
    return promisify(execFile)(process.execPath, [compiled("scripts/nftables.ts"), ...args], { cwd: ROOT }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
    );
}
const rulesets = new Map<string, Promise<string>>();
/** The stack's ruleset from `npm run nftables` (once per stack). */
const rulesetOf = (stack: string): Promise<string> => {
    if (!rulesets.has(stack)) {
        rulesets.set(
            stack,
            nftablesCmd("--stack", stack, "--ranges-file", SAMPLE_ANSWER_PATH).then((r) => (r.code === 0 ? r.stdout : Promise.reject(new Error(r.stderr)))),
        );
    }
    return rulesets.get(stack)!;
};
// The policy of stacks/Pulumi.hetzner-dashboard.yaml.
const dashboard = { ssh: { sources: ["203.0.113.10", "2001:db8::10"] }, rules: [{ description: "Trading dashboard from trusted addresses", port: 9000, sources: ["203.0.113.10", "2001:db8::10"] }] };

describe("rendering (pure)", () => {
    test("one table of ours, sets for Cloudflare and each source list, policy drop, the basics, then the policy", () => {
        const text = renderNftables(validatePolicy(dashboard), SAMPLE_RANGES);
        const lines = text.split("\n").map((l) => l.trim());
        // One table: declared with its sets and chains (so the flushes cannot fail), its rules and
        // set elements flushed, then refilled, in one transaction; never deleted and re-created.
        expect(lines.slice(5, 19)).toEqual([
            `table inet ${NFT_TABLE} {`,
            "set ssh_v4 { type ipv4_addr; flags interval; }",
            "set ssh_v6 { type ipv6_addr; flags interval; }",
            "set cloudflare_v4 { type ipv4_addr; flags interval; }",
            "set cloudflare_v6 { type ipv6_addr; flags interval; }",
            "chain input { type filter hook input priority filter; policy drop; }",
            "chain forward { type filter hook forward priority filter; policy drop; }",
            "chain published { }",
            "}",
            `flush table inet ${NFT_TABLE}`,
            `flush set inet ${NFT_TABLE} ssh_v4`,
            `flush set inet ${NFT_TABLE} ssh_v6`,
            `flush set inet ${NFT_TABLE} cloudflare_v4`,
            `flush set inet ${NFT_TABLE} cloudflare_v6`,
        ]);
        // Forwarding fails closed: answers, published (DNAT'd, held to the policy) and containers' own traffic only.
        const forward = text.slice(text.indexOf("\tchain forward {\n"));
        expect(
            forward
                .slice(0, forward.indexOf("\t}\n"))
                .split("\n")
                .map((l) => l.trim())
                .slice(1, -1),
        ).toEqual([
            "type filter hook forward priority filter; policy drop;",
            'ct direction reply accept comment "answers to forwarded connections admitted below"',
            "ct state related accept",
            "ct status dnat ct direction original jump published",
            'ct status dnat accept comment "published: held to the policy above"',
            ...["ip saddr { 10.0.0.0/8, 100.64.0.0/10, 172.16.0.0/12, 192.168.0.0/16 }", "ip6 saddr { fc00::/7 }"].map((m) => `iifname { "br-*", "docker0" } ${m} fib saddr . iif oif exists accept comment "containers' own connections"`),
            'limit rate 5/second burst 10 packets log prefix "cof-drop forward: " level info',
            "counter drop",
        ]);
        expect(text.match(/^(delete |flush )?table /gm)).toEqual(["table ", "flush table ", "table "]);
        expect(text).not.toContain("delete ");
        expect(lines).toContain("type filter hook input priority filter; policy drop;");
        expect(lines).toContain('ct direction reply accept comment "replies to connections the host opened"');
        expect(lines).not.toContain("ct state established,related accept"); // inbound flows are checked on every packet
        expect(lines).toContain("ct state invalid drop");
        expect(lines).toContain('iif "lo" accept');
        expect(lines).toContain(`ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept comment "DHCPv6 replies to this host's client"`);
        expect(lines).toContain('iifname { "br-*", "docker0" } ip saddr { 10.0.0.0/8, 100.64.0.0/10, 172.16.0.0/12, 192.168.0.0/16 } fib saddr . iif oif exists accept comment "containers to the host (allowContainersToHost)"');
        expect(lines.find((l) => l.includes("icmpv6 type"))).toContain("nd-neighbor-solicit, nd-neighbor-advert");
        expect(lines.find((l) => l.includes("icmpv6 type"))).toContain("packet-too-big");
        expect(lines.find((l) => l.startsWith("meta l4proto icmp icmp type"))).toBe("meta l4proto icmp icmp type { destination-unreachable, time-exceeded, parameter-problem } accept");
        expect(text).not.toContain("echo-request"); // ping only with allowPing
        // Every drop is counted; the log is rate limited and carries a prefix to grep for.
        for (const chain of ["input", "published", "forward"]) expect(lines).toContain(`limit rate 5/second burst 10 packets log prefix "cof-drop ${chain}: " level info`);
        expect(lines.filter((l) => l === "counter drop")).toHaveLength(3);
        const rules = lines.filter((l) => /^tcp dport .* accept comment /.test(l));
        expect(rules).toEqual([
            'tcp dport 22 ip saddr @ssh_v4 accept comment "SSH (22) from trusted sources"',
            'tcp dport 22 ip6 saddr @ssh_v6 accept comment "SSH (22) from trusted sources"',
            'tcp dport 443 ip saddr @cloudflare_v4 accept comment "HTTPS (443) from Cloudflare only"',
            'tcp dport 443 ip6 saddr @cloudflare_v6 accept comment "HTTPS (443) from Cloudflare only"',
            'tcp dport 9000 ip saddr @ssh_v4 accept comment "Trading dashboard from trusted addresses"',
            'tcp dport 9000 ip6 saddr @ssh_v6 accept comment "Trading dashboard from trusted addresses"',
        ]);
        expect(lines.filter((l) => / return comment /.test(l))).toEqual(rules.map((r) => r.replace(/^tcp dport (\S+)/, "meta l4proto tcp ct original proto-dst $1").replace(" accept ", " return ")));
        expect(buildNftRuleset(validatePolicy(dashboard), SAMPLE_RANGES).sets.find((s) => s.name === "cloudflare_v4")!.elements).toEqual(SAMPLE_RANGES.ipv4);
    });

    test("the same policy gives the same bytes; re-spelled input too", () => {
        const a = renderNftables(validatePolicy(dashboard), SAMPLE_RANGES);
        const b = renderNftables(validatePolicy({ ...dashboard, ssh: { sources: ["2001:DB8:0::10", "203.0.113.10/32", "203.0.113.10"] } }), SAMPLE_RANGES);
        expect(b).toBe(a);
    });

    test("allowPing admits echo requests from anywhere, in both families, rate limited; no other ICMP type", () => {
        const lines = renderNftables(validatePolicy({ ...dashboard, allowPing: true }), SAMPLE_RANGES)
            .split("\n")
            .map((l) => l.trim());
        expect(lines).toContain('icmp type echo-request ip saddr @ping_v4 limit rate 10/second burst 20 packets accept comment "ICMP (ping) from anywhere"');
        expect(lines).toContain('icmpv6 type echo-request ip6 saddr @ping_v6 limit rate 10/second burst 20 packets accept comment "ICMP (ping) from anywhere"');
        expect(lines.filter((l) => /^meta l4proto (icmp|ipv6-icmp) ip6? saddr/.test(l))).toEqual([]);
    });

    test("host options: containers to the host can be closed, bridges named; bad values are refused with the field and the fix", () => {
        const closed = renderNftables(validatePolicy(dashboard), SAMPLE_RANGES, { allowContainersToHost: false, containerBridges: ["podman0", "docker0", "docker0"] });
        expect(closed).not.toContain("containers to the host");
        expect(closed).toContain('iifname { "docker0", "podman0" } ip saddr { 10.0.0.0/8, 100.64.0.0/10, 172.16.0.0/12, 192.168.0.0/16 } fib saddr . iif oif exists accept comment "containers\' own connections"');
        expect(() => renderNftables(validatePolicy(dashboard), SAMPLE_RANGES, { containerBridges: ['eth0" accept'] })).toThrow(
            'containerBridges[0]: "eth0\\" accept" is not an interface name; use up to 15 letters, digits, "_.:-", optionally ending in * (e.g. "br-*")',
        );
        expect(() => renderNftables(validatePolicy(dashboard), SAMPLE_RANGES, { containerBridges: [] })).toThrow("containerBridges: [] must be a non-empty list of interface names");
        // Patterns that could match the uplink: too short before the *, or an uplink's own name.
        for (const b of ["e*", "br*", "x*"]) expect(() => validateNftHostOptions({ containerBridges: ["docker0", b] })).toThrow(`containerBridges[1]: "${b}" is too wide a pattern`);
        for (const b of ["eth*", "eth0", "ens*", "ens3", "enp1s0", "wlan0", "bond0", "bond*", "ppp0", "lo"]) expect(() => validateNftHostOptions({ containerBridges: [b] })).toThrow(`containerBridges[0]: "${b}" names or matches an uplink`);
        for (const b of ["docker0", "br-*", "podman0", "virbr*", "cni0", "wg0"]) expect(() => validateNftHostOptions({ containerBridges: [b] })).not.toThrow();
        // A bridge is trusted only with a container network's source addresses, routed back through it.
        const lines = renderNftables(validatePolicy(dashboard), SAMPLE_RANGES)
            .split("\n")
            .map((l) => l.trim());
        expect(lines.filter((l) => l.startsWith("iifname"))).toEqual([
            'iifname { "br-*", "docker0" } ip saddr { 10.0.0.0/8, 100.64.0.0/10, 172.16.0.0/12, 192.168.0.0/16 } fib saddr . iif oif exists accept comment "containers to the host (allowContainersToHost)"',
            'iifname { "br-*", "docker0" } ip6 saddr { fc00::/7 } fib saddr . iif oif exists accept comment "containers to the host (allowContainersToHost)"',
            'iifname { "br-*", "docker0" } ip saddr { 10.0.0.0/8, 100.64.0.0/10, 172.16.0.0/12, 192.168.0.0/16 } fib saddr . iif oif exists accept comment "containers\' own connections"',
            'iifname { "br-*", "docker0" } ip6 saddr { fc00::/7 } fib saddr . iif oif exists accept comment "containers\' own connections"',
        ]);
        expect(() => renderNftables(validatePolicy(dashboard), SAMPLE_RANGES, { allowContainersToHost: "no" as any })).toThrow('allowContainersToHost: "no" must be true or false');
    });

    // What a renderer admits, per (protocol, port): the merged blocks of its sources.
    const admitted = (triples: [string, string, string][]) => {
        const by = new Map<string, string[]>();
        for (const [proto, port, src] of triples) by.set(`${proto} ${port}`, [...(by.get(`${proto} ${port}`) ?? []), src]);
        return Object.fromEntries([...by].map(([k, v]) => [k, mergeCidrs(v.map(toCidr)).map((c) => c.text)]).sort(([a], [b]) => (a < b ? -1 : 1)));
    };

    test("property: the host firewall admits exactly what the Hetzner and DigitalOcean firewalls admit", () => {
        fc.assert(
            fc.property(policyArb, (args) => {
                const policy = validatePolicy(args);
                const rendered = renderPolicy(policy, SAMPLE_RANGES);
                const model = buildNftRuleset(policy, SAMPLE_RANGES);
                const sets = Object.fromEntries(model.sets.map((s) => [s.name, s.elements]));
                const host = admitted(model.rules.flatMap((r) => sets[r.set].map((s): [string, string, string] => [r.protocol, r.port ?? "-", s])));
                const hetzner = admitted(toHetznerRules(rendered).flatMap((r) => r.sourceIps.map((s): [string, string, string] => [r.protocol, r.port ?? "-", s])));
                const digitalocean = admitted(toDigitalOceanRules(rendered, validateEgress("deny-all")).inboundRules.flatMap((r) => r.sourceAddresses.map((s): [string, string, string] => [r.protocol, r.portRange ?? "-", s])));
                expect(host).toEqual(hetzner);
                expect(host).toEqual(digitalocean);
                // Merging never widens: the same number of addresses either way.
                for (const k of Object.keys(host)) expect(coverage(host[k].map(toCidr))).toEqual(coverage(hetzner[k].map(toCidr)));
            }),
            { numRuns: 100 },
        );
    });
});

describe("npm run nftables", () => {
    test("prints the ruleset of the stack's firewall, byte-identical to the library's", async () => {
        const out = await rulesetOf("hetzner-dashboard");
        expect(out).toBe(renderNftables(validatePolicy(dashboard), SAMPLE_RANGES));
    });

    test.each<[string[], number, string]>([
        [["--stack", "hetzner-web", "--firewall", "nope", "--ranges-file", SAMPLE_ANSWER_PATH], 2, 'nftables failed: stack hetzner-web has no firewall "nope" (firewalls: web)'],
        [["--stack", "hetzner-web", "--ranges-file", "/nonexistent.json"], 2, "nftables failed: --ranges-file: /nonexistent.json does not exist"],
        [["--stack", "hetzner-web", "--ranges-file", "/tmp"], 2, "nftables failed: --ranges-file: /tmp is a directory"],
        [["--stack", "hetzner-web", "--bogus"], 2, "nftables failed: unknown flag --bogus\nusage: npm run nftables"],
        [["--stack", "hetzner-web", "--firewal", "web"], 2, "unknown flag --firewal; did you mean --firewall?"],
        [[], 2, "usage: npm run nftables -- --stack <name>"],
    ])("%j exits %d", async (args, code, message) => {
        const r = await nftablesCmd(...args);
        expect(r.code).toBe(code);
        expect(r.stdout).toBe("");
        expect(r.stderr).toContain(message);
    });

    test("a rejected saved answer names the file and prints nothing", async () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cof-")), "answer.json");
        fs.writeFileSync(file, JSON.stringify({ success: true, result: { ipv4_cidrs: ["0.0.0.0/1"], ipv6_cidrs: ["2400:cb00::/32"] } }));
        const r = await nftablesCmd("--stack", "hetzner-web", "--ranges-file", file);
        expect(r.code).toBe(2);
        expect(r.stdout).toBe("");
        expect(r.stderr).toContain(`nftables failed: Cloudflare IP ranges from ${file} rejected: result.ipv4_cidrs[0]: "0.0.0.0/1" is broader than /12`);
        expect(r.stderr).not.toContain("retry later");
    });
});

describe("delivery", () => {
    test("cloud-init installs nftables, writes the ruleset and a boot unit that loads only our table", async () => {
        const ruleset = renderNftables(validatePolicy(dashboard), SAMPLE_RANGES);
        const text = await valueOf(hostFirewallCloudInit(ruleset));
        expect(text.startsWith("#cloud-config\n")).toBe(true);
        const doc = parse(text);
        expect(doc.packages).toEqual(["nftables"]);
        const files = Object.fromEntries(doc.write_files.map((f: any) => [f.path, f]));
        expect(files["/etc/cloudflare-origin-firewall/ruleset.nft"].content).toBe(ruleset);
        expect(files["/etc/systemd/system/cloudflare-origin-firewall.service"].content).toContain("ExecStart=/usr/sbin/nft -f /etc/cloudflare-origin-firewall/ruleset.nft");
        expect(files["/etc/systemd/system/cloudflare-origin-firewall.service"].content).toContain("Before=network-pre.target");
        // The same unit the SSH delivery installs; after Debian's nftables.service, whose "flush ruleset" would remove our table.
        expect(files["/etc/systemd/system/cloudflare-origin-firewall.service"].content).toBe(hostUnit());
        expect(hostUnit()).toMatch(/^After=local-fs.target nftables.service$/m);
        expect(hostUnit()).toMatch(/^PartOf=nftables.service$/m);
        expect(files["/var/lib/cloudflare-origin-firewall/cof-host.sh"].content).toBe(fs.readFileSync(HOST_SCRIPT, "utf8"));
        expect(files[HOST_NFTABLES_DROPIN_PATH].content).toBe(hostNftablesDropIn());
        expect(doc.runcmd).toEqual([
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "--now", "cloudflare-origin-firewall.service"],
        ]);
        expect(text).not.toMatch(/^\s*flush ruleset/m); // only our table is ever touched
    });

    test("over SSH: apply then confirm on a second connection, re-run when the ruleset changes, bounded dials, key secret", async () => {
        const seen: Record<string, any> = {};
        const ruleset = renderNftables(validatePolicy(dashboard), SAMPLE_RANGES);
        const host = new HostFirewallOverSsh("web1", { ruleset, connection: { host: "203.0.113.20", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" }, rollbackSeconds: 45 }, { transformations: [(a) => ((seen[a.name] = a), undefined)] });
        await valueOf(host.confirm.urn);
        const apply = resources.find((r) => r.name === "web1-apply")!.inputs;
        const confirm = resources.find((r) => r.name === "web1-confirm")!.inputs;
        const digest = await valueOf(host.rulesetDigest);
        expect(apply.create).toBe(remoteApplyCommand(45));
        expect(apply.create.endsWith('sh "$COF_STATE_DIR/cof-host.sh" apply 45')).toBe(true);
        expect(apply.create).toContain("export COF_STATE_DIR='/var/lib/cloudflare-origin-firewall'");
        expect(apply.stdin).toBe(ruleset);
        expect(apply.triggers).toEqual([digest]);
        // The confirm names the ruleset it confirms, and carries it: with nothing of it pending (rolled back after a
        // failed or late confirm) it applies it again with the same rollback and fails, so the next deploy can confirm it.
        expect(confirm.create).toBe(remoteConfirmCommand(digest, undefined, 45));
        expect(confirm.create).toBe(`COF_STATE_DIR='/var/lib/cloudflare-origin-firewall' sh '/var/lib/cloudflare-origin-firewall'/cof-host.sh confirm ${digest} 45`);
        expect(confirm.stdin).toBe(ruleset);
        // The state directory reaches a shell: only plain absolute paths.
        for (const bad of ["/tmp/x; reboot", "relative", "/tmp/$(id)", "/a/../etc", "/tmp/a b"]) {
            expect(() => remoteApplyCommand(10, bad)).toThrow(/^stateDir: ".*" is not an absolute path of letters, digits and "_.\/-"/);
            expect(() => remoteConfirmCommand(undefined, bad)).toThrow(/^stateDir: /);
        }
        expect(() => remoteConfirmCommand("not-a-digest")).toThrow('digest: "not-a-digest" is not a sha256');
        expect(confirm.triggers).toEqual([digest]);
        // The connection carries the key, so the engine receives all of it as a secret.
        const unwrap = (c: any) => c.value ?? c;
        expect(apply.connection["4dabf18193072939515e22adb298388d"]).toBe("1b47061264138c4ac30d75fd1eb44270");
        for (const c of [unwrap(apply.connection), unwrap(confirm.connection)]) {
            expect(c).toMatchObject({ host: "203.0.113.20", port: 22, user: "root", dialErrorLimit: 2, perDialTimeout: 10 });
        }
        expect(seen["web1-confirm"].opts.dependsOn).toEqual([host.apply]);
        expect(unwrap(apply.connection).privateKey).toBe("-----BEGIN OPENSSH PRIVATE KEY-----");
        expect(() => new HostFirewallOverSsh("bad", { ruleset, connection: { host: "h" }, rollbackSeconds: 3 })).toThrow("rollbackSeconds: 3 must be a whole number from 10 to 600");
    });
});

// Debian's nftables.service (nftables 1.0.6-2, debian/nftables.service): start and reload
// load /etc/nftables.conf, whose first command is "flush ruleset"; stop is "nft flush ruleset".
const DEBIAN_NFTABLES_SERVICE = `[Unit]
Description=nftables
Wants=network-pre.target
Before=network-pre.target shutdown.target
Conflicts=shutdown.target
DefaultDependencies=no

[Service]
Type=oneshot
RemainAfterExit=yes
StandardInput=null
ProtectSystem=full
ProtectHome=true
ExecStart=/usr/sbin/nft -f /etc/nftables.conf
ExecReload=/usr/sbin/nft -f /etc/nftables.conf
ExecStop=/usr/sbin/nft flush ruleset

[Install]
WantedBy=sysinit.target
`;
// Debian's /etc/nftables.conf (debian/nftables.conf), as `systemctl reload nftables` loads it.
const DEBIAN_NFTABLES_CONF = `#!/usr/sbin/nft -f

flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter;
	}
	chain forward {
		type filter hook forward priority filter;
	}
	chain output {
		type filter hook output priority filter;
	}
}
`;
/** The command lines a unit or drop-in gives for `key` (ExecReload, ...), in order. */
const execLines = (unit: string, key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1]);

describe("nftables.service start, reload and stop flush everything: the drop-in loads our table after each", () => {
    test("the drop-in adds (does not replace) a load of our ruleset after nftables.service's start, reload and stop", () => {
        const dropIn = hostNftablesDropIn();
        const load = "/usr/sbin/nft -f /etc/cloudflare-origin-firewall/ruleset.nft";
        // An empty "ExecReload=" would reset Debian's list; ours only appends.
        for (const key of ["ExecStartPost", "ExecReload", "ExecStopPost"]) expect(execLines(dropIn, key)).toEqual([load]);
        expect(dropIn).toMatch(/^\[Service\]$/m);
        expect(HOST_NFTABLES_DROPIN_PATH).toBe("/etc/systemd/system/nftables.service.d/cloudflare-origin-firewall.conf");
        expect(execLines(hostUnit(), "ExecReload")).toEqual([load]);
        expect(hostUnit()).toMatch(/^ReloadPropagatedFrom=nftables.service$/m);
    });

    const analyze = (() => {
        try {
            execFileSync("systemd-analyze", ["--version"], { stdio: "ignore" });
            return true;
        } catch {
            return false;
        }
    })();
    (analyze ? test : test.skip)("systemd-analyze verify: our unit and Debian's nftables.service with the drop-in, no warning", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cof-units-"));
        try {
            fs.mkdirSync(path.join(dir, "nftables.service.d"));
            fs.writeFileSync(path.join(dir, "nftables.service"), DEBIAN_NFTABLES_SERVICE);
            fs.writeFileSync(path.join(dir, "cloudflare-origin-firewall.service"), hostUnit());
            fs.writeFileSync(path.join(dir, "nftables.service.d", "cloudflare-origin-firewall.conf"), hostNftablesDropIn());
            const out = execFileSync("sh", ["-c", 'systemd-analyze verify --man=no "$@" 2>&1', "sh", ...["nftables.service", "cloudflare-origin-firewall.service"].map((u) => path.join(dir, u))], {
                env: { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` },
                encoding: "utf8",
                timeout: 30_000,
            });
            // Only complaints about our files count (the host's own units may warn about themselves).
            expect(out.split("\n").filter((l) => l.includes(dir))).toEqual([]);
            // The check bites: a typo in the drop-in is reported.
            fs.appendFileSync(path.join(dir, "nftables.service.d", "cloudflare-origin-firewall.conf"), "ExecReloadd=/bin/true\n");
            const bad = execFileSync("sh", ["-c", 'systemd-analyze verify --man=no "$1" 2>&1', "sh", path.join(dir, "nftables.service")], { env: { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` }, encoding: "utf8", timeout: 30_000 });
            expect(bad).toContain("Unknown key 'ExecReloadd'");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

// ---------------------------------------------------------------- real packets
const PORTS = [22, 80, 443, 2222, 3000, 9000];
const TRUSTED: Record<string, { key: string; v4: string; v6: string }> = {
    "hetzner-web": { key: "trusted", v4: "203.0.113.10", v6: "2001:db8::10" },
    "hetzner-dashboard": { key: "trusted", v4: "203.0.113.10", v6: "2001:db8::10" },
    "digitalocean-api": { key: "trusted", v4: "203.0.113.9", v6: "2001:db8::9" },
};
// Exactly the ports each client may reach, per stack and family, written out by hand from the stack files.
const EXPECTED: Record<string, Record<string, { v4: number[]; v6: number[] }>> = {
    "hetzner-web": { cloudflare: { v4: [443, 2222], v6: [443, 2222] }, trusted: { v4: [2222], v6: [2222] }, stranger: { v4: [2222], v6: [2222] } },
    "hetzner-dashboard": { cloudflare: { v4: [443], v6: [443] }, trusted: { v4: [22, 9000], v6: [22, 9000] }, stranger: { v4: [], v6: [] } },
    "digitalocean-api": { cloudflare: { v4: [80, 443], v6: [80, 443] }, trusted: { v4: [22], v6: [] }, stranger: { v4: [], v6: [] } },
};

describeNetns("real packets: each shipped stack's ruleset in a server namespace", () => {
    // Each stack in its own namespaces, side by side: a filtered port costs a probe its whole timeout.
    test.concurrent.each(Object.keys(EXPECTED))(
        "%s: exactly the admitted ports answer, over IPv4 and IPv6, from each client",
        async (stack) => {
            const ruleset = await rulesetOf(stack);
            const lab = Lab.create([CLIENTS.cloudflare, TRUSTED[stack], CLIENTS.stranger]);
            try {
                await lab.listen(lab.server, PORTS);
                // Control: with no firewall every listener answers, so a closed port below means filtered.
                expect(await lab.open(lab.clients.stranger, SERVER.v4, PORTS)).toEqual(PORTS);
                await lab.nft(lab.server, ruleset);
                const probes = Object.keys(EXPECTED[stack]).flatMap((client) => (["v4", "v6"] as const).map((family) => ({ client, family })));
                const seen = await Promise.all(probes.map(async ({ client, family }) => [client, family, await lab.open(lab.clients[client], SERVER[family], PORTS)]));
                expect(seen).toEqual(probes.map(({ client, family }) => [client, family, EXPECTED[stack][client][family]]));
            } finally {
                lab.destroy();
            }
        },
        60_000,
    );
});

describeNetns("real packets: Docker, the server's own traffic, reloads", () => {
    // A Docker-like setup: a nat table of its own (as Docker's) DNATs 3000 and 9000 to a container.
    const DOCKERLIKE = `table ip dockerlike {
        chain prerouting {
            type nat hook prerouting priority dstnat; policy accept;
            tcp dport { 3000, 9000 } dnat to ${CONTAINER.v4}:8080
        }
        chain postrouting {
            type nat hook postrouting priority srcnat; policy accept;
            ip saddr 172.17.0.0/16 oifname != "docker0" masquerade
        }
    }
`;

    test("a DNAT'd (published) port is held to the policy; containers, the server itself and loopback keep working", async () => {
        const trusted = TRUSTED["hetzner-dashboard"];
        const lab = Lab.create([CLIENTS.cloudflare, trusted, CLIENTS.stranger], { container: true });
        try {
            await lab.listen(lab.container!, [8080]);
            await lab.listen(lab.server, [22, 443, 3000]);
            await lab.listen(lab.clients.stranger, [8081]);
            await lab.nft(lab.server, DOCKERLIKE);
            // Control: without our table the published port is open to a stranger, as with ufw.
            expect(await lab.open(lab.clients.stranger, SERVER.v4, [3000, 9000])).toEqual([3000, 9000]);
            await lab.nft(lab.server, await rulesetOf("hetzner-dashboard"));
            // All at once (a filtered port costs a probe its whole timeout).
            const [stranger, trusted, cloudflare, container, serverV4, serverV6, loopV4, loopV6] = await Promise.all([
                lab.open(lab.clients.stranger, SERVER.v4, [3000, 9000]),
                lab.open(lab.clients.trusted, SERVER.v4, [3000, 9000]),
                lab.open(lab.clients.cloudflare, SERVER.v4, [3000, 9000]),
                // Traffic that containers start, the server's own outbound connections, loopback.
                lab.open(lab.container!, CLIENTS.stranger.v4, [8081]),
                lab.open(lab.server, CLIENTS.stranger.v4, [8081]),
                lab.open(lab.server, CLIENTS.stranger.v6, [8081]),
                lab.open(lab.server, "127.0.0.1", [3000, 22]),
                lab.open(lab.server, "::1", [3000]),
            ]);
            expect(stranger).toEqual([]);
            expect(trusted).toEqual([9000]); // 9000 is admitted from the trusted address
            expect(cloudflare).toEqual([]);
            expect(container).toEqual([8081]);
            expect(serverV4).toEqual([8081]);
            expect(serverV6).toEqual([8081]);
            expect(loopV4).toEqual([3000, 22]);
            expect(loopV6).toEqual([3000]);
            // Only our table was replaced: the Docker-like table is still there.
            expect(await lab.exec(lab.server, ["nft", "list", "tables"])).toBe(`table ip dockerlike\ntable inet ${NFT_TABLE}\n`);
        } finally {
            lab.destroy();
        }
    }, 60_000);
});

describeNetns("real packets: nftables.service reload and stop, then the drop-in", () => {
    test("Debian's reload (flush ruleset) and stop open the host; the drop-in's command closes it again to exactly the policy", async () => {
        const trusted = TRUSTED["hetzner-dashboard"];
        const lab = Lab.create([trusted, CLIENTS.stranger]);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cof-dropin-"));
        try {
            const ruleset = await rulesetOf("hetzner-dashboard");
            const rulesetFile = path.join(dir, "ruleset.nft");
            const conf = path.join(dir, "nftables.conf");
            fs.writeFileSync(rulesetFile, ruleset);
            fs.writeFileSync(conf, DEBIAN_NFTABLES_CONF);
            // The drop-in's own command lines, pointed at this test's copy of the ruleset.
            const ours = (key: string) => execLines(hostNftablesDropIn(), key).map((l) => l.replace("/etc/cloudflare-origin-firewall/ruleset.nft", rulesetFile).split(" "));
            const debian = (key: string) => execLines(DEBIAN_NFTABLES_SERVICE, key).map((l) => l.replace("/etc/nftables.conf", conf).split(" "));
            const run = async (cmds: string[][]) => {
                for (const c of cmds) await lab.exec(lab.server, c);
            };
            await lab.listen(lab.server, [22, 9000, 5432]);
            const expectPolicy = async () => {
                const [t, s] = await Promise.all([lab.open(lab.clients.trusted, SERVER.v4, [22, 9000, 5432]), lab.open(lab.clients.stranger, SERVER.v4, [22, 9000, 5432])]);
                expect([t, s]).toEqual([[22, 9000], []]);
            };
            for (const action of [
                ["ExecStart", "ExecStartPost"],
                ["ExecReload", "ExecReload"],
                ["ExecStop", "ExecStopPost"],
            ]) {
                await lab.nft(lab.server, ruleset);
                await expectPolicy();
                // What Debian's service runs alone: our table is gone and the host is open.
                await run(debian(action[0]));
                expect(await lab.exec(lab.server, ["nft", "list", "tables"])).not.toContain(NFT_TABLE);
                expect(await lab.open(lab.clients.stranger, SERVER.v4, [5432])).toEqual([5432]);
                // Then what the drop-in adds to the same job: the policy holds again.
                await run(ours(action[1]));
                await expectPolicy();
            }
        } finally {
            lab.destroy();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }, 60_000);
});

test("the Cloudflare client address used in the packet tests is inside Cloudflare's ranges, the others are not", () => {
    const inCf = (a: string) => CF_SOURCES.map(toCidr).some((c) => require("../components/cidr").cidrContains(c, toCidr(a)));
    expect(inCf(CLIENTS.cloudflare.v4) && inCf(CLIENTS.cloudflare.v6)).toBe(true);
    expect(inCf(CLIENTS.stranger.v4) || inCf(CLIENTS.stranger.v6)).toBe(false);
});

describe("the program: host firewall per stack", () => {
    const runProgram = async (config: object, env: NodeJS.ProcessEnv) => {
        const { startServer } = await import("./helpers/server");
        const server = await startServer();
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cof-")), "config.json");
        fs.writeFileSync(file, JSON.stringify(config));
        try {
            return await promisify(execFile)(process.execPath, [compiled("test/fixtures/run-program.ts"), file, server.url], { cwd: ROOT, env }).then(
                (r) => ({ code: 0, stderr: r.stderr, report: JSON.parse(r.stdout) }),
                (e) => ({ code: e.code as number, stderr: e.stderr as string, report: JSON.parse(e.stdout) }),
            );
        } finally {
            await server.close();
        }
    };
    const config = {
        firewalls: {
            dash: {
                provider: "hetzner",
                ssh: { sources: ["203.0.113.10"], port: 2222 },
                applyTo: { labelSelectors: ["app=dashboard"] },
                hostFirewall: { overSsh: { hosts: ["203.0.113.30", "2001:db8::30"] }, rollbackSeconds: 30 },
            },
        },
    };
    const withoutCi = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "CI"));

    test("over SSH from a trusted machine: apply and confirm per host, on the policy's SSH port; ruleset and cloud-init as outputs", async () => {
        const r = await runProgram(config, withoutCi());
        expect(r.code).toBe(0);
        const commands = r.report.resources.filter((x: any) => x.type === "command:remote:Command");
        expect(commands.map((x: any) => x.name).sort()).toEqual(["dash-host-2001:db8::30-apply", "dash-host-2001:db8::30-confirm", "dash-host-203.0.113.30-apply", "dash-host-203.0.113.30-confirm"]);
        const apply = commands.find((x: any) => x.name === "dash-host-203.0.113.30-apply").inputs;
        expect(apply.connection.value ?? apply.connection).toMatchObject({ host: "203.0.113.30", port: 2222, user: "root", dialErrorLimit: 2, perDialTimeout: 10 });
        expect(apply.create).toBe(remoteApplyCommand(30));
        const ruleset = renderNftables(validatePolicy(config.firewalls.dash), SAMPLE_RANGES);
        expect(apply.stdin).toBe(ruleset);
        expect(r.report.outputs.firewalls.dash.hostRuleset).toBe(ruleset);
        expect(parse(r.report.outputs.firewalls.dash.hostCloudInit).packages).toEqual(["nftables"]);
    }, 60_000);

    test("with CI set, nothing is delivered over SSH, and the log says why", async () => {
        const r = await runProgram(config, { ...withoutCi(), CI: "true" });
        expect(r.code).toBe(0);
        expect(r.report.types).not.toContain("command:remote:Command");
        expect(r.stderr).toContain("firewalls.dash.hostFirewall: not delivered over SSH because CI is set (a CI runner is not a trusted SSH source)");
    }, 60_000);

    test("deliverInCi: true delivers from a (self-hosted, trusted) runner", async () => {
        const ci = { firewalls: { dash: { ...config.firewalls.dash, hostFirewall: { overSsh: { hosts: ["203.0.113.30"], deliverInCi: true } } } } };
        const r = await runProgram(ci, { ...withoutCi(), CI: "true" });
        expect(r.report.types.filter((t: string) => t === "command:remote:Command")).toHaveLength(2);
    }, 60_000);
});
