/**
 * npm run bench: measures the invariants that make this package cheap and safe to
 * run on a schedule, prints a table and writes bench/results.json.
 * BENCH_QUICK=1 shrinks sizes and repetitions (used by the test that checks the
 * script runs); the README quotes a full run.
 */
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as ipaddr from "ipaddr.js";
import * as http from "http";
import { AddressInfo } from "net";
import * as path from "path";
import { installMocks, valueOf } from "../scripts/mock-runtime";

const resources = installMocks({ stack: "bench" });
// Loaded after the mocks, as a program would be.
import {
    clearCloudflareRangesCache,
    DigitalOceanOriginFirewall,
    fetchCloudflareRanges,
    HetznerOriginFirewall,
    renderNftables,
    renderPolicy,
    toDigitalOceanRules,
    toHetznerRules,
    validateCloudflareRanges,
    validateEgress,
    validatePolicy,
} from "../components";

const QUICK = process.env.BENCH_QUICK === "1";
const RUNS = QUICK ? 1 : 5;
const SAMPLE = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "samples", "cloudflare-ips-2026-11.json"), "utf8"));

interface Figure {
    metric: string;
    value: number;
    unit: string;
    target: string;
    ok: boolean;
}
const figures: Figure[] = [];
const record = (metric: string, value: number, unit: string, target: string, ok: boolean) => figures.push({ metric, value, unit, target, ok });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

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

async function requestsPerRun() {
    for (const n of [1, 10, 100]) {
        clearCloudflareRangesCache();
        const s = await serve(() => SAMPLE);
        // Each firewall asks for the ranges itself: the worst case for the memo.
        const fws = Array.from({ length: n }, (_, i) => new HetznerOriginFirewall(`req-${n}-${i}`, { ssh: ssh(i), applyTo: { labelSelectors: ["app=web"] }, cloudflare: { ranges: fetchCloudflareRanges({ url: s.url }) } }));
        await Promise.all(fws.map((f) => valueOf(f.firewall.urn)));
        record(`Cloudflare requests, ${n} firewall(s)`, s.requests(), "requests", "1", s.requests() === 1);
        s.close();
    }
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
    record(`distinct resource inputs from ${n} re-spelled answers`, distinct.size, "sets", "1", distinct.size === 1);
}

async function componentOverhead() {
    const ranges = { ipv4: SAMPLE.result.ipv4_cidrs, ipv6: SAMPLE.result.ipv6_cidrs };
    // The raw baseline gets its rules precomputed, as if written out by hand.
    const canonical = validateCloudflareRanges(ranges);
    const maxN = QUICK ? 50 : 500;
    const rawRules = Array.from({ length: maxN }, (_, i) => toHetznerRules(renderPolicy(validatePolicy({ ssh: ssh(i) }), canonical)));
    let seq = 0;
    const timeComponents = async (n: number) => {
        const t0 = process.hrtime.bigint();
        const fws = Array.from({ length: n }, (_, i) => new HetznerOriginFirewall(`c${seq++}`, { ssh: ssh(i), applyTo: { labelSelectors: ["app=web"] }, cloudflare: { ranges } }));
        await Promise.all(fws.map((f) => valueOf(f.firewall.urn)));
        return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const timeRaw = async (n: number) => {
        const t0 = process.hrtime.bigint();
        const fws = Array.from({ length: n }, (_, i) => new hcloud.Firewall(`r${seq++}`, { name: `r${seq}`, rules: rawRules[i], applyTos: [{ labelSelector: "app=web" }] }));
        await Promise.all(fws.map((f) => valueOf(f.urn)));
        return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    // The structural floor: an empty component around the same raw firewall. Under
    // the mock engine a component is itself a registration, which no wrapper avoids.
    class BareWrapper extends pulumi.ComponentResource {
        readonly firewall: hcloud.Firewall;
        constructor(name: string, rules: ReturnType<typeof toHetznerRules>) {
            super("bench:index:BareWrapper", name, {}, {});
            this.firewall = new hcloud.Firewall(name, { name, rules, applyTos: [{ labelSelector: "app=web" }] }, { parent: this });
            this.registerOutputs({ firewallId: this.firewall.id });
        }
    }
    const timeWrapped = async (n: number) => {
        const t0 = process.hrtime.bigint();
        const fws = Array.from({ length: n }, (_, i) => new BareWrapper(`w${seq++}`, rawRules[i]));
        await Promise.all(fws.map((f) => valueOf(f.firewall.urn)));
        return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    for (const n of QUICK ? [20, 50] : [100, 500]) {
        const series = [timeComponents, timeRaw, timeWrapped];
        for (const f of series) await f(10); // warm-up
        const times: number[][] = [[], [], []];
        for (let r = 0; r < RUNS; r++) {
            // Interleaved, rotating which goes first.
            for (let k = 0; k < 3; k++) {
                const j = (r + k) % 3;
                times[j].push(await series[j](n));
            }
        }
        const [comp, raw, wrapped] = times.map(median);
        const ratio = comp / raw;
        record(`register ${n} HetznerOriginFirewall (median)`, Math.round(comp), "ms", "-", true);
        record(`register ${n} raw hcloud.Firewall (median)`, Math.round(raw), "ms", "-", true);
        record(`register ${n} empty wrapper + raw (median)`, Math.round(wrapped), "ms", "-", true);
        record(`component / raw ratio, N=${n}`, Number(ratio.toFixed(2)), "x", "<= 1.2", ratio <= 1.2);
        record(`component / empty-wrapper ratio, N=${n}`, Number((comp / wrapped).toFixed(2)), "x", "<= 1.2", comp / wrapped <= 1.2);
        // The component's own work (validate, render, translate), without the engine.
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) toHetznerRules(renderPolicy(validatePolicy({ ssh: ssh(i) }), validateCloudflareRanges(ranges)));
        record(`policy work per firewall, N=${n}`, Math.round(Number(process.hrtime.bigint() - t0) / 1e3 / n), "us", "-", true);
    }
}

async function boundedFailure() {
    const deadlineMs = QUICK ? 500 : 2000;
    const times: number[] = [];
    for (let r = 0; r < (QUICK ? 1 : 3); r++) {
        clearCloudflareRangesCache();
        const s = await serve(() => "hang");
        const t0 = Date.now();
        await fetchCloudflareRanges({ url: s.url, deadlineMs, timeoutMs: deadlineMs / 4 }).catch(() => undefined);
        times.push(Date.now() - t0);
        s.close();
    }
    const t = median(times);
    record(`time to reject, never-answering server, deadlineMs ${deadlineMs}`, t, "ms", `<= ${Math.round(deadlineMs * 1.1)}`, t <= deadlineMs * 1.1);
}

async function fleetScale() {
    const servers = 1000;
    const before = resources.length;
    const h = new HetznerOriginFirewall("fleet-hetzner", { ssh: { sources: ["203.0.113.7"] }, applyTo: { labelSelectors: ["fleet=web"] }, cloudflare: { ranges: { ipv4: SAMPLE.result.ipv4_cidrs, ipv6: SAMPLE.result.ipv6_cidrs } } });
    const d = new DigitalOceanOriginFirewall("fleet-do", { ssh: { sources: ["203.0.113.7"] }, tags: ["fleet-web"], cloudflare: { ranges: { ipv4: SAMPLE.result.ipv4_cidrs, ipv6: SAMPLE.result.ipv6_cidrs } } });
    await Promise.all([valueOf(h.firewall.urn), valueOf(d.firewall.urn)]);
    const added = resources.slice(before);
    const count = (prefix: string) => added.filter((r) => r.custom && r.type.startsWith(prefix)).length;
    record(`firewalls to protect ${servers} Hetzner servers by label selector`, count("hcloud:"), "firewalls", "1", count("hcloud:") === 1);
    record(`firewalls to protect ${servers} Droplets by tag`, count("digitalocean:"), "firewalls", "1", count("digitalocean:") === 1);
}

/** The host firewall in a network namespace: reload safety and load time (needs root, nft, ip). */
async function hostFirewall() {
    const { CLIENTS, Lab, netnsUnavailable, SERVER } = await import("../test/helpers/netns");
    const reason = netnsUnavailable();
    if (reason) {
        console.error(`host firewall figures skipped: ${reason}`);
        return;
    }
    const cf = { ipv4: SAMPLE.result.ipv4_cidrs, ipv6: SAMPLE.result.ipv6_cidrs };
    const today = renderNftables(validatePolicy({ ssh: { sources: ["203.0.113.10", "2001:db8::10"] } }), cf);
    // The largest policy a provider takes: DigitalOcean, 47 inbound rules of 1000 addresses + 3 egress = 50 rules.
    const block = (r: number) => Array.from({ length: 1000 }, (_, i) => `${45 + Math.floor(r / 4)}.${(r % 4) * 64 + Math.floor(i / 250)}.${(i % 250) + 1}.0/24`);
    const largestArgs = {
        ssh: { sources: block(0) },
        rules: Array.from({ length: 45 }, (_, r) => ({ description: `r${r}`, port: 10000 + r, sources: block(r + 1) })),
    };
    const largestPolicy = validatePolicy(largestArgs);
    const doRules = toDigitalOceanRules(renderPolicy(largestPolicy, cf), validateEgress(undefined));
    const largest = renderNftables(largestPolicy, cf);
    const lab = Lab.create([CLIENTS.cloudflare]);
    try {
        const loadMs = async (text: string) => {
            const times: number[] = [];
            for (let r = 0; r < RUNS; r++) {
                const t0 = process.hrtime.bigint();
                await lab.nft(lab.server, text);
                times.push(Number(process.hrtime.bigint() - t0) / 1e6);
            }
            return median(times);
        };
        record("host firewall: ruleset load time, today's ranges (median)", Math.round(await loadMs(today)), "ms", "-", true);
        const addresses = doRules.inboundRules.reduce((n, r) => n + r.sourceAddresses.length, 0);
        record(`host firewall: ruleset load time, largest provider policy (${doRules.inboundRules.length + doRules.outboundRules.length} DigitalOcean rules, ${addresses} addresses)`, Math.round(await loadMs(largest)), "ms", "-", true);
        // Reloads while a Cloudflare client connects again and again.
        await lab.nft(lab.server, today);
        await lab.listen(lab.server, [443]);
        const { spawn } = await import("child_process");
        const reloads = 20;
        const hammer = spawn("ip", ["netns", "exec", lab.clients.cloudflare, process.execPath, path.join(__dirname, "..", "test", "helpers", "hammer.js"), SERVER.v4, "443", "4000"], { stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        hammer.stdout!.on("data", (d) => (out += d));
        const done = new Promise<void>((r) => hammer.once("exit", () => r()));
        while (!out.includes("started")) await new Promise((r) => setTimeout(r, 10));
        for (let i = 0; i < reloads; i++) await lab.nft(lab.server, today);
        await done;
        const result = JSON.parse(out.split("\n")[1]);
        record(`host firewall: admitted connections failed during ${reloads} reloads (of ${result.attempts})`, result.failed, "failed", "0", result.failed === 0);
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
    const { CLIENTS, Lab, netnsUnavailable, SERVER } = await import("../test/helpers/netns");
    const { measureReloadStalls } = await import("../test/helpers/reload-stalls");
    if (netnsUnavailable()) return;
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
        for (const [label, text] of [["", today], [", delete-and-recreate form (before)", recreate]] as const) {
            await lab.exec(lab.server, ["nft", "flush", "ruleset"]);
            await lab.nft(lab.server, text);
            const r = await measureReloadStalls(lab.clients.cloudflare, SERVER.v4, 443, reloads, () => lab.nft(lab.server, text));
            record(`host firewall: reload stalls (500 ms connect timeout, ${reloads} reloads)${label}, of ${r.attempts} connections`, r.failed, "stalled", label ? "-" : "0", label ? true : r.failed === 0);
        }
        // A connection to 9000 held open, echoing every 10 ms; then an apply that no longer admits 9000.
        await lab.exec(lab.server, ["nft", "flush", "ruleset"]);
        await lab.nft(lab.server, today);
        await lab.start(lab.server, "echo.js", ["9000"]);
        const hold = spawn("ip", ["netns", "exec", lab.clients.trusted, process.execPath, path.join(__dirname, "..", "test", "helpers", "hold.js"), SERVER.v4, "9000"], { stdio: ["pipe", "pipe", "inherit"] });
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
            record("host firewall: flows cut after a narrowing apply (s)", Number(cut.toFixed(3)), "s", "<= 0.1", cut <= 0.1);
        } finally {
            hold.kill("SIGKILL");
        }
    } finally {
        lab.destroy();
    }
}

/** The audit's tuned scan next to a plain `nmap -p-` of the same drop-by-default target, side by side. */
async function auditSpeed() {
    const { CLIENTS, Lab, netnsUnavailable, SERVER } = await import("../test/helpers/netns");
    if (netnsUnavailable()) return;
    const { execFile } = await import("child_process");
    const { promisify } = await import("util");
    const run = promisify(execFile);
    const ports = QUICK ? "1-500" : "1-65535";
    const lab = Lab.create([CLIENTS.stranger]);
    try {
        await lab.listen(lab.server, [22, 443, 3000, 9000]);
        await lab.nft(lab.server, renderNftables(validatePolicy({ ssh: { sources: ["203.0.113.10"] } }), { ipv4: SAMPLE.result.ipv4_cidrs, ipv6: SAMPLE.result.ipv6_cidrs }));
        const root = path.join(__dirname, "..");
        const t0 = Date.now();
        await run("ip", ["netns", "exec", lab.clients.stranger, process.execPath, "-r", require.resolve("ts-node/register/transpile-only"), path.join(root, "scripts", "audit.ts"),
            "--stack", "hetzner-dashboard", "--host", SERVER.v4, "--source", CLIENTS.stranger.v4, "--ranges-file", path.join(root, "samples", "cloudflare-ips-2026-11.json"), "--ports", ports, "--json"], { timeout: 30 * 60_000 });
        const audit = Date.now() - t0;
        const t1 = Date.now();
        // Plain nmap takes about 20 ms a filtered port here: bounded at 15 minutes, and said so if it hits the bound.
        const limit = 900;
        await run("ip", ["netns", "exec", lab.clients.stranger, "nmap", "-n", "-Pn", "-p", ports, "--host-timeout", `${limit}s`, "-oX", "-", SERVER.v4], { timeout: (limit + 60) * 1000, maxBuffer: 64 * 1024 * 1024 });
        const plain = Date.now() - t1;
        record(`audit of TCP ${ports}, drop-by-default host (whole command)`, Math.round(audit / 100) / 10, "s", QUICK ? "-" : "<= 30", QUICK || audit <= 30_000);
        record(`plain nmap -p ${ports} of the same host${plain >= limit * 1000 ? ` (stopped at the ${limit} s bound)` : ""}`, Math.round(plain / 100) / 10, "s", "-", true);
        record(`plain nmap / audit time ratio, ${ports}`, Number((plain / audit).toFixed(1)), "x", "-", true);
    } finally {
        lab.destroy();
    }
}

async function main() {
    await hostFirewall();
    await hostFirewallReloadsAndRevocation();
    await auditSpeed();
    await requestsPerRun();
    await spuriousDiffs();
    await componentOverhead();
    await boundedFailure();
    await fleetScale();
    await pulumi.runtime.disconnect(); // let outstanding registrations (registerOutputs) finish
    const w = Math.max(...figures.map((f) => f.metric.length));
    console.log(`${"metric".padEnd(w)}  ${"value".padStart(8)}  unit       target   ok`);
    for (const f of figures) {
        console.log(`${f.metric.padEnd(w)}  ${String(f.value).padStart(8)}  ${f.unit.padEnd(9)}  ${f.target.padEnd(7)}  ${f.ok ? "yes" : "NO"}`);
    }
    const out = path.join(__dirname, "results.json");
    fs.writeFileSync(out, JSON.stringify({ quick: QUICK, runs: RUNS, node: process.version, figures }, null, 2) + "\n");
    console.log(`\nwritten: ${path.relative(process.cwd(), out)}`);
}

main().then(
    () => process.exit(0),
    (e) => {
        console.error(e);
        process.exit(1);
    },
);
