/**
 * npm run bench: the figures that make this package cheap and safe to run on a
 * schedule. Each row is printed as it is measured (min / median / max over its
 * repeats), all are written to bench/results.json, and the command exits 1 when
 * a row with a target misses it. BENCH_QUICK=1 shrinks sizes and repeats (the
 * test that checks the script runs); targets sized for the full run are then not
 * judged. The real-packet sections need root, ip, nft and nmap; without them
 * they are skipped with one line saying why.
 *
 * Adding a figure: call `row(name, unit, samples, target?)` from a section, and
 * list the section in SECTIONS.
 */
import * as fs from "fs";
import * as http from "http";
import * as ipaddr from "ipaddr.js";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { installMocks, valueOf } from "../scripts/mock-runtime";
import { ROOT } from "../scripts/stack-config";

installMocks({ stack: "bench" });
// Loaded after the mocks, as a program would be.
import * as pulumi from "@pulumi/pulumi";
import { fetchCloudflareRanges, HetznerOriginFirewall, PolicyRule, renderNftables, renderPolicy, validatePolicy } from "../components";
import { parseSingleAddress } from "../components/cidr";
import { clearCloudflareRangesCache, validateCloudflareRanges } from "../components/cloudflare";
import { toDigitalOceanRules, validateEgress } from "../components/digitalocean-rules";
import { toHetznerRules } from "../components/hetzner-rules";
import { admittedEntries } from "../components/policy";

const QUICK = process.env.BENCH_QUICK === "1";
const RUNS = QUICK ? 1 : 5;
const SAMPLE_PATH = path.join(ROOT, "samples", "cloudflare-ips-2026-11.json");
const SAMPLE = JSON.parse(fs.readFileSync(SAMPLE_PATH, "utf8"));

/** A bound a row is held to: its median at most `max` (or at least `min`). */
interface Target {
    max?: number;
    min?: number;
}

/** One figure: what, in which unit, every measured sample, and the target if any. */
interface Row {
    name: string;
    unit: string;
    samples: number[];
    min: number;
    median: number;
    max: number;
    target?: Target;
    ok?: boolean;
}

const rows: Row[] = [];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const round = (x: number) => Number(x.toPrecision(3));
const targetText = (t: Target) => [t.max !== undefined ? `<= ${t.max}` : "", t.min !== undefined ? `>= ${t.min}` : ""].filter(Boolean).join(", ");

/** Records a row and prints it at once. */
function row(name: string, unit: string, samples: number[], target?: Target): void {
    const sorted = [...samples].sort((a, b) => a - b);
    const r: Row = { name, unit, samples: samples.map(round), min: round(sorted[0]), median: round(median(sorted)), max: round(sorted[sorted.length - 1]) };
    if (target) {
        r.target = target;
        r.ok = (target.max === undefined || r.median <= target.max) && (target.min === undefined || r.median >= target.min);
    }
    rows.push(r);
    const value = samples.length === 1 ? `${r.median}` : `${r.min} / ${r.median} / ${r.max} (min / median / max of ${samples.length})`;
    console.log(`  ${name}: ${value} ${unit}${target ? `   target ${targetText(target)}: ${r.ok ? "ok" : "MISSED"}` : ""}`);
}

/** Milliseconds `f` takes. */
async function timed(f: () => Promise<unknown> | unknown): Promise<number> {
    const t0 = process.hrtime.bigint();
    await f();
    return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** A loopback server answering each request with `answer(i)` (or never, for "hang"). */
async function serve(answer: (i: number) => unknown | "hang") {
    let count = 0;
    const server = http.createServer((_, res) => {
        const a = answer(count++);
        if (a === "hang") return;
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(a));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4/ips`,
        requests: () => count,
        close: () => {
            server.closeAllConnections();
            server.close();
        },
    };
}

const ssh = (i: number) => ({ sources: [`45.${(i >> 8) & 255}.${i & 255}.1`] });

/** However many firewalls ask, one request to Cloudflare per run (the memo). */
async function requestsPerRun() {
    clearCloudflareRangesCache();
    const s = await serve(() => SAMPLE);
    const n = 100;
    // Each firewall asks for the ranges itself: the worst case for the memo.
    const fws = Array.from({ length: n }, (_, i) => new HetznerOriginFirewall(`req-${i}`, { ssh: ssh(i), applyTo: { labelSelectors: ["app=web"] }, cloudflare: { ranges: fetchCloudflareRanges({ url: s.url }) } }));
    await Promise.all(fws.map((f) => valueOf(f.firewall.urn)));
    row(`Cloudflare requests for ${n} firewalls`, "requests (count)", [s.requests()], { max: 1 });
    s.close();
}

function messy(i: number): unknown {
    // Same ranges: shuffled, duplicated, upper-cased and uncompressed IPv6.
    const rot = <T>(xs: T[], k: number) => xs.slice(k % xs.length).concat(xs.slice(0, k % xs.length));
    const v4: string[] = rot<string>(SAMPLE.result.ipv4_cidrs, i * 7);
    const v6: string[] = rot<string>(SAMPLE.result.ipv6_cidrs, i * 3).map((c: string, j: number) => {
        const [addr, len] = c.split("/");
        const full = ipaddr.IPv6.parse(addr).toNormalizedString(); // 2400:cb00:0:0:0:0:0:0
        return `${j % 2 ? full.toUpperCase() : addr}/${len}`;
    });
    return { ...SAMPLE, result: { ...SAMPLE.result, ipv4_cidrs: i % 2 ? [...v4, ...v4.slice(0, 3)] : v4, ipv6_cidrs: i % 3 ? [...v6].reverse() : v6 } };
}

/** Re-spelled answers (shuffled, duplicated, upper-case IPv6) give byte-identical resource inputs. */
async function spuriousDiffs() {
    const n = QUICK ? 20 : 100;
    const s = await serve((i) => messy(i));
    const policy = validatePolicy({ ssh: { sources: ["203.0.113.7", "2001:db8::1"] }, cloudflare: { ports: [80, 443] }, allowPing: true });
    const distinct = new Set<string>();
    for (let i = 0; i < n; i++) {
        clearCloudflareRangesCache();
        const ranges = await fetchCloudflareRanges({ url: s.url });
        const rules = renderPolicy(policy, ranges);
        distinct.add(JSON.stringify({ hetzner: toHetznerRules(rules), digitalocean: toDigitalOceanRules(rules, validateEgress(undefined)) }));
    }
    s.close();
    row(`distinct resource inputs from ${n} re-spelled answers`, "sets (count)", [distinct.size], { max: 1 });
}

/** A Cloudflare that never answers fails the deployment within its deadline. */
async function boundedFailure() {
    const deadlineMs = QUICK ? 500 : 2000;
    const times: number[] = [];
    for (let r = 0; r < (QUICK ? 1 : 3); r++) {
        clearCloudflareRangesCache();
        const s = await serve(() => "hang");
        times.push(await timed(() => fetchCloudflareRanges({ url: s.url, deadlineMs, timeoutMs: deadlineMs / 4 }).catch(() => undefined)));
        s.close();
    }
    row(`time to reject a never-answering Cloudflare, deadlineMs ${deadlineMs}`, "ms", times, { max: Math.round(deadlineMs * 1.1) });
}

/** The library's own work per firewall (validate, render, translate), without the engine. */
function policyWork() {
    const ranges = validateCloudflareRanges({ ipv4: SAMPLE.result.ipv4_cidrs, ipv6: SAMPLE.result.ipv6_cidrs });
    const n = QUICK ? 50 : 500;
    const samples: number[] = [];
    for (let r = 0; r < RUNS; r++) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) toHetznerRules(renderPolicy(validatePolicy({ ssh: ssh(i) }), ranges));
        samples.push(Number(process.hrtime.bigint() - t0) / 1e3 / n);
    }
    row(`policy work per firewall (validate, render, translate; ${n} firewalls)`, "us", samples);
}

/** The audit's verdict: 1000 open ports judged against a rule of 1000 sources (linear: each rule judged once). */
async function auditVerdict() {
    const { verdict } = await import("../scripts/audit");
    const sources = Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const rules: PolicyRule[] = [{ kind: "extra", index: 0, description: "wide", protocol: "tcp", port: "1-65535", sources }];
    const admitted = { entries: admittedEntries(rules) };
    const open = Array.from({ length: 1000 }, (_, i) => i + 1);
    const source = parseSingleAddress("198.51.100.7");
    const samples: number[] = [];
    for (let r = 0; r < RUNS; r++) samples.push(await timed(() => verdict(admitted, source, [[1, 65535]], open)));
    row("audit verdict: 1000 open ports x a rule of 1000 sources", "ms", samples, { max: 100 });
}

/** Runs a command inside a namespace; its exit code (0 or 1 expected) and stdout. */
async function inNs(ns: string, cmd: string[], timeoutMs = 15 * 60_000): Promise<{ code: number; stdout: string }> {
    const { execFile } = await import("child_process");
    return new Promise((resolve, reject) =>
        execFile("ip", ["netns", "exec", ns, ...cmd], { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 }, (e: any, stdout, stderr) =>
            !e || e.code === 1 ? resolve({ code: e ? 1 : 0, stdout }) : reject(new Error(`${cmd.join(" ")}: ${stderr || e.message}`)),
        ),
    );
}

/** The host firewall's ruleset load time, today's policy and the largest a provider takes. */
async function hostFirewallLoad() {
    const { CLIENTS, Lab } = await import("../test/helpers/netns");
    const cf = { ipv4: SAMPLE.result.ipv4_cidrs, ipv6: SAMPLE.result.ipv6_cidrs };
    const today = renderNftables(validatePolicy({ ssh: { sources: ["203.0.113.10", "2001:db8::10"] } }), cf);
    // The largest policy a provider takes: DigitalOcean, 47 inbound rules of 1000 addresses + 3 egress = 50 rules.
    const block = (r: number) => Array.from({ length: 1000 }, (_, i) => `${45 + Math.floor(r / 4)}.${(r % 4) * 64 + Math.floor(i / 250)}.${(i % 250) + 1}.0/24`);
    const largestPolicy = validatePolicy({ ssh: { sources: block(0) }, rules: Array.from({ length: 45 }, (_, r) => ({ description: `r${r}`, port: 10000 + r, sources: block(r + 1) })) });
    const doRules = toDigitalOceanRules(renderPolicy(largestPolicy, cf), validateEgress(undefined));
    const largest = renderNftables(largestPolicy, cf);
    const addresses = doRules.inboundRules.reduce((n, r) => n + r.sourceAddresses.length, 0);
    const lab = Lab.create([CLIENTS.cloudflare]);
    try {
        const loads = async (text: string) => {
            const times: number[] = [];
            for (let r = 0; r < RUNS; r++) times.push(await timed(() => lab.nft(lab.server, text)));
            return times;
        };
        row("host firewall: ruleset load time, today's ranges", "ms", await loads(today));
        row(`host firewall: ruleset load time, largest provider policy (${doRules.inboundRules.length + doRules.outboundRules.length} DigitalOcean rules, ${addresses} addresses)`, "ms", await loads(largest));
    } finally {
        lab.destroy();
    }
}

/**
 * The audit next to nmap run with exactly the audit's flags, on the same target in
 * the same minute (interleaved, alternating which goes first): on a host that drops
 * (the stack's firewall, scanned from a stranger) and on one that resets (no
 * firewall). And the audit's start-up: a one-port scan of the resetting host.
 */
async function auditVsNmap() {
    const { CLIENTS, Lab, SERVER } = await import("../test/helpers/netns");
    const { nmapArgs } = await import("../scripts/audit");
    const audit = path.join(__dirname, "..", "scripts", "audit.js");
    const ports = QUICK ? "1-2000" : "1-65535";
    const pairs = QUICK ? 1 : 3;
    const lab = Lab.create([CLIENTS.stranger]);
    const client = lab.clients.stranger;
    const auditCmd = (p: string) => [process.execPath, audit, "--stack", "hetzner-dashboard", "--host", SERVER.v4, "--source", CLIENTS.stranger.v4, "--ranges-file", SAMPLE_PATH, "--ports", p, "--json"];
    const nmapCmd = (p: string) => ["nmap", ...nmapArgs(SERVER.v4, p, true)];
    const sideBySide = async (what: string, p: string, target?: Target) => {
        const [a, n, ratio]: number[][] = [[], [], []];
        for (let r = 0; r < pairs; r++) {
            const runAudit = async () => a.push((await timed(() => inNs(client, auditCmd(p)))) / 1000);
            const runNmap = async () => n.push((await timed(() => inNs(client, nmapCmd(p)))) / 1000);
            if (r % 2 === 0) await runAudit().then(runNmap);
            else await runNmap().then(runAudit);
            ratio.push(a[r] / n[r]);
        }
        row(`audit of TCP ${p}, ${what} (whole command)`, "s", a);
        row(`nmap -sS -p ${p} with the audit's flags, ${what}`, "s", n);
        row(`audit / nmap with the same flags, TCP ${p}, ${what}`, "x", ratio, target);
    };
    try {
        await lab.listen(lab.server, [22, 443, 3000, 9000]);
        const { stdout: ruleset } = await inNs(lab.server, [process.execPath, path.join(__dirname, "..", "scripts", "nftables.js"), "--stack", "hetzner-dashboard", "--ranges-file", SAMPLE_PATH]);
        await lab.nft(lab.server, ruleset);
        await sideBySide("drop host", ports, QUICK ? undefined : { max: 1.05 });
        await lab.exec(lab.server, ["nft", "flush", "ruleset"]);
        await sideBySide("resetting host", ports);
        // Wall time, and the CPU time it used (user + sys, nmap included): on a shared
        // machine the wall time grows with the load, the CPU time hardly.
        const [startup, cpu]: number[][] = [[], []];
        const quoted = auditCmd("22")
            .map((a) => `'${a}'`)
            .join(" ");
        for (let r = 0; r < RUNS; r++) {
            let out = "";
            startup.push((await timed(async () => (out = (await inNs(client, ["bash", "-c", `TIMEFORMAT='%U %S'; { time ${quoted} >/dev/null 2>&1; } 2>&1`])).stdout))) / 1000);
            const [user, sys] = out.trim().split(/\s+/).map(Number);
            cpu.push(user + sys);
        }
        row("audit start-up: --ports 22, resetting host (whole command)", "s", startup, { max: 0.5 });
        row("audit start-up: CPU time used (user + sys), same runs", "s", cpu);
    } finally {
        lab.destroy();
    }
}

/**
 * Issue 20: reload stalls and revocation, real packets in namespaces (needs root, nft, ip).
 * Stalls: a Cloudflare client connects again and again, each connection bounded by
 * 500 ms (under TCP's 1 s SYN retransmit, so one dropped SYN counts), while the
 * ruleset is reloaded; the delete-and-recreate form it replaced is measured alongside.
 * Revocation: a held connection to a port the next apply no longer admits.
 */
async function hostFirewallReloadsAndRevocation() {
    const { CLIENTS, Lab, SERVER } = await import("../test/helpers/netns");
    const { measureReloadStalls } = await import("../test/helpers/reload-stalls");
    const { spawn } = await import("child_process");
    const cf = { ipv4: SAMPLE.result.ipv4_cidrs, ipv6: SAMPLE.result.ipv6_cidrs };
    const trusted = ["203.0.113.10", "2001:db8::10"];
    const today = renderNftables(validatePolicy({ ssh: { sources: trusted }, rules: [{ description: "dashboard", port: 9000, sources: trusted }] }), cf);
    const narrowed = renderNftables(validatePolicy({ ssh: { sources: trusted } }), cf);
    // The form before issue 20: the table deleted and re-created in the transaction.
    const recreate = `table inet cloudflare_origin_firewall\ndelete table inet cloudflare_origin_firewall\n${today.slice(today.indexOf("\n\ntable inet ") + 2)}`;
    const reloads = QUICK ? 25 : 250;
    const lab = Lab.create([CLIENTS.cloudflare, { key: "trusted", v4: trusted[0], v6: trusted[1] }]);
    try {
        await lab.listen(lab.server, [443]);
        for (const [label, text] of [
            ["", today],
            [", delete-and-recreate form (before)", recreate],
        ] as const) {
            await lab.exec(lab.server, ["nft", "flush", "ruleset"]);
            await lab.nft(lab.server, text);
            const r = await measureReloadStalls(lab.clients.cloudflare, SERVER.v4, 443, reloads, () => lab.nft(lab.server, text));
            row(`host firewall: reload stalls (500 ms connect timeout, ${reloads} reloads)${label}, of ${r.attempts} connections`, "stalled (count)", [r.failed], label ? undefined : { max: 0 });
        }
        // A connection to 9000 held open, echoing every 10 ms; then an apply that no longer admits 9000.
        await lab.exec(lab.server, ["nft", "flush", "ruleset"]);
        await lab.nft(lab.server, today);
        await lab.start(lab.server, "echo.js", ["9000"]);
        const hold = spawn("ip", ["netns", "exec", lab.clients.trusted, process.execPath, path.join(ROOT, "test", "helpers", "hold.js"), SERVER.v4, "9000"], { stdio: ["pipe", "pipe", "inherit"] });
        try {
            let out = "";
            hold.stdout!.on("data", (d) => (out += d));
            const until = async (what: string, ok: () => boolean) => {
                const deadline = Date.now() + 10_000;
                while (!ok()) {
                    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
                    await new Promise((r) => setTimeout(r, 10));
                }
            };
            const status = async (): Promise<{ echoes: number; lastEcho: number }> => {
                const seen = out.length;
                hold.stdin!.write("\n");
                await until("a status line", () => out.slice(seen).includes("}\n"));
                return JSON.parse(out.slice(seen).split("\n")[0]);
            };
            await until("the held connection", () => out.includes("connected"));
            const started = Date.now();
            while ((await status()).echoes === 0) {
                if (Date.now() - started > 10_000) throw new Error("bench: no echo on the held connection within 10 s");
                await new Promise((r) => setTimeout(r, 10));
            }
            await lab.nft(lab.server, narrowed);
            const applied = Date.now();
            // Cut = no echo for 1 s (bounded at 5 s: "not cut" is reported as 5).
            let last = (await status()).lastEcho;
            while (Date.now() - last < 1000 && Date.now() - applied < 5000) {
                await new Promise((r) => setTimeout(r, 20));
                last = (await status()).lastEcho;
            }
            const cut = Date.now() - last >= 1000 ? Math.max(0, last - applied) / 1000 : 5;
            row("host firewall: flows cut after a narrowing apply (s)", "s", [Number(cut.toFixed(3))], { max: 0.1 });
        } finally {
            hold.kill("SIGKILL");
        }
    } finally {
        lab.destroy();
    }
}

/** In order; `netns` sections need root, ip, nft and nmap. */
const SECTIONS: { title: string; netns?: boolean; run: () => Promise<void> | void }[] = [
    { title: "audit (real packets)", netns: true, run: auditVsNmap },
    { title: "host firewall (real packets)", netns: true, run: hostFirewallLoad },
    { title: "host firewall reloads and revocation (real packets)", netns: true, run: hostFirewallReloadsAndRevocation },
    { title: "Cloudflare's ranges", run: async () => (await requestsPerRun(), await spuriousDiffs(), await boundedFailure()) },
    { title: "policy and verdict", run: async () => (policyWork(), await auditVerdict()) },
];

async function main(): Promise<number> {
    const started = Date.now();
    const load = [os.loadavg()[0]];
    const { netnsSkipLine, netnsUnavailable } = await import("../test/helpers/netns");
    const unavailable = netnsUnavailable();
    if (unavailable) console.log(netnsSkipLine(unavailable, false));
    console.log(`bench${QUICK ? " (quick)" : ""}: ${os.cpus().length} CPUs, load average ${load[0].toFixed(1)}`);
    for (const s of SECTIONS) {
        if (s.netns && unavailable) continue;
        const t0 = Date.now();
        console.log(`${s.title}`);
        await s.run();
        console.log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
    await pulumi.runtime.disconnect(); // let outstanding registrations (registerOutputs) finish
    load.push(os.loadavg()[0]);
    const missed = rows.filter((r) => r.ok === false);
    const out = path.join(ROOT, "bench", "results.json");
    const seconds = (Date.now() - started) / 1000;
    fs.writeFileSync(out, JSON.stringify({ quick: QUICK, runs: RUNS, node: process.version, date: new Date().toISOString(), seconds, loadAverage: load, skipped: unavailable ?? null, rows }, null, 2) + "\n");
    console.log(`\n${rows.length} rows in ${seconds.toFixed(0)} s, ${rows.filter((r) => r.target).length} with a target: ${missed.length === 0 ? "all met" : `MISSED: ${missed.map((r) => r.name).join("; ")}`}`);
    console.log(`written: ${path.relative(process.cwd(), out)}`);
    return missed.length === 0 ? 0 : 1;
}

main().then(
    (code) => process.exit(code),
    (e) => {
        console.error(e);
        process.exit(2);
    },
);
