// The benchmark script runs (quick sizes), prints every row as measured, writes
// results.json, and its exit code says whether a row with a target missed it.
// No timing assertions here: targets are the bench's business.
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { compiled } from "./helpers/compiled";
import { inCi } from "./helpers/describe-netns";
import { NETNS_ENV } from "./helpers/netns";

test("npm run bench prints every row, writes results.json, exits 1 exactly when a target is missed", async () => {
    const root = path.join(__dirname, "..");
    const run = await new Promise<{ code: number; stdout: string }>((resolve) =>
        execFile(process.execPath, [compiled("bench/bench.ts")], { cwd: root, env: { ...process.env, BENCH_QUICK: "1" }, timeout: 200_000 }, (e: any, stdout) => resolve({ code: e ? e.code : 0, stdout })),
    );
    const results = JSON.parse(fs.readFileSync(path.join(root, "bench", "results.json"), "utf8"));
    expect(results.quick).toBe(true);
    const names: string[] = results.rows.map((r: any) => r.name);
    const expected = [
        "Cloudflare requests for 100 firewalls",
        "distinct resource inputs from 20 re-spelled answers",
        "time to reject a never-answering Cloudflare, deadlineMs 500",
        "policy work per firewall (validate, render, translate; 50 firewalls)",
        "audit verdict: 1000 open ports x a rule of 1000 sources",
    ];
    const realPackets = [
        "audit of TCP 1-2000, drop host (whole command)",
        "nmap -sS -p 1-2000 with the audit's flags, drop host",
        "audit / nmap with the same flags, TCP 1-2000, drop host",
        "audit / nmap with the same flags, TCP 1-2000, resetting host",
        "audit start-up: --ports 22, resetting host (whole command)",
        "audit start-up: CPU time used (user + sys), same runs",
        "host firewall: ruleset load time, today's ranges",
        "host firewall: ruleset load time, largest provider policy (50 DigitalOcean rules, 46022 addresses)",
        "host firewall: flows cut after a narrowing apply (s)",
    ];
    const namespaces = process.env[NETNS_ENV] === "";
    if (namespaces || inCi()) expected.push(...realPackets);
    else expect(results.skipped).toEqual(process.env[NETNS_ENV]);
    expect(names).toEqual(expect.arrayContaining(expected));
    expect(names.some((n) => n.startsWith("host firewall: reload stalls (500 ms connect timeout, 25 reloads), of "))).toBe(namespaces || inCi());
    for (const r of results.rows) {
        // Printed as measured, with min / median / max when repeated.
        expect(run.stdout).toContain(`  ${r.name}: ${r.samples.length === 1 ? r.median : `${r.min} / ${r.median} / ${r.max}`} ${r.unit}`);
        expect([r.min, r.median, r.max]).toEqual([Math.min(...r.samples), r.median, Math.max(...r.samples)]);
        expect(r.min <= r.median && r.median <= r.max).toBe(true);
    }
    // Counts, not timings: these are invariants.
    const byName = Object.fromEntries(results.rows.map((r: any) => [r.name, r]));
    expect(byName["Cloudflare requests for 100 firewalls"].samples).toEqual([1]);
    expect(byName["distinct resource inputs from 20 re-spelled answers"].samples).toEqual([1]);
    const missed = results.rows.filter((r: any) => r.ok === false);
    expect(run.code).toBe(missed.length > 0 ? 1 : 0);
}, 240_000);
