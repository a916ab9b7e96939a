// The benchmark script runs and prints every figure (no timing assertions here).
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { compiled } from "./helpers/compiled";

test("npm run bench prints every figure and writes results.json", async () => {
    const root = path.join(__dirname, "..");
    const { stdout } = await promisify(execFile)(process.execPath, [compiled("bench/bench.ts")], {
        cwd: root,
        env: { ...process.env, BENCH_QUICK: "1" },
    });
    const metrics = [
        "Cloudflare requests, 1 firewall(s)",
        "Cloudflare requests, 10 firewall(s)",
        "Cloudflare requests, 100 firewall(s)",
        "distinct resource inputs from 20 re-spelled answers",
        "component / raw ratio, N=20",
        "component / raw ratio, N=50",
        "policy work per firewall, N=50",
        "time to reject, never-answering server, deadlineMs 500",
        "firewalls to protect 1000 Hetzner servers by label selector",
        "firewalls to protect 1000 Droplets by tag",
        "host firewall: ruleset load time, today's ranges (median)",
        "host firewall: ruleset load time, largest provider policy (50 DigitalOcean rules, 46022 addresses)",
        "host firewall: admitted connections failed during 20 reloads",
        "host firewall: reload stalls (500 ms connect timeout, 25 reloads), of ",
        "host firewall: reload stalls (500 ms connect timeout, 25 reloads), delete-and-recreate form (before), of ",
        "host firewall: flows cut after a narrowing apply (s)",
        "audit of TCP 1-500, drop-by-default host (whole command)",
        "plain nmap -p 1-500 of the same host",
        "plain nmap / audit time ratio, 1-500",
    ];
    for (const m of metrics) expect(stdout).toContain(m);
    const results = JSON.parse(fs.readFileSync(path.join(root, "bench", "results.json"), "utf8"));
    expect(results.quick).toBe(true);
    const byMetric = Object.fromEntries(results.figures.map((f: any) => [f.metric, f.value]));
    // Counts, not timings: these are invariants.
    expect(byMetric["Cloudflare requests, 100 firewall(s)"]).toBe(1);
    expect(byMetric["distinct resource inputs from 20 re-spelled answers"]).toBe(1);
    expect(byMetric["firewalls to protect 1000 Hetzner servers by label selector"]).toBe(1);
    expect(byMetric["firewalls to protect 1000 Droplets by tag"]).toBe(1);
    const reloads = results.figures.find((f: any) => f.metric.startsWith("host firewall: admitted connections failed during 20 reloads"));
    expect(reloads.value).toBe(0);
}, 240000);
