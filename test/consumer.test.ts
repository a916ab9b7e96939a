// Issue 13: the consumer's path, for real. `npm pack`, install the tarball into a
// temporary program with only @pulumi/pulumi and @pulumi/hcloud (from npm's cache),
// compile the README's example strictly, and run a consumer program under mocks.
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";

const ROOT = path.join(__dirname, "..");
const run = promisify(execFile);
const version = (name: string) => JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")).version;

let dir: string;
let tarball: string;
let packed: { path: string }[];

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "cof-consumer-"));
    const pack = JSON.parse((await run("npm", ["pack", "--json", "--pack-destination", dir], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 })).stdout);
    tarball = path.join(dir, pack[0].filename);
    packed = pack[0].files;
    const app = path.join(dir, "app");
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "consumer", private: true }));
    // Exactly the versions this repo locks, so npm's cache (filled by npm ci) serves them.
    await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball, `@pulumi/pulumi@${version("@pulumi/pulumi")}`, `@pulumi/hcloud@${version("@pulumi/hcloud")}`], { cwd: app, maxBuffer: 16 * 1024 * 1024 });
}, 240_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("the package ships the compiled library, the host script and the license; no source maps pointing at missing files", () => {
    const files = packed.map((f) => f.path).sort();
    expect(files).toEqual(expect.arrayContaining(["LICENSE", "README.md", "package.json", "host/cof-host.sh", "dist/components/index.js", "dist/components/entries/hetzner.js", "dist/components/entries/hetzner.d.ts", "dist/components/core.js"]));
    expect(files.filter((f) => f.endsWith(".map"))).toEqual([]);
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    for (const f of files.filter((x) => x.endsWith(".js"))) expect(fs.readFileSync(path.join(ROOT, f), "utf8")).not.toContain("sourceMappingURL");
});

test("the license file matches the declared license", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    expect(pkg.license).toBe("Apache-2.0");
    expect(fs.readFileSync(path.join(ROOT, "LICENSE"), "utf8")).toContain("Apache License\n                           Version 2.0, January 2004");
    expect(pkg.repository.url).toMatch(/^git\+https:\/\/.+\.git$/);
    for (const peer of ["@pulumi/hcloud", "@pulumi/digitalocean", "@pulumi/cloudflare", "@pulumi/tls", "@pulumi/command"]) expect(pkg.peerDependenciesMeta[peer]).toEqual({ optional: true });
    expect(pkg.peerDependenciesMeta["@pulumi/pulumi"]).toBeUndefined();
});

test("only @pulumi/pulumi and @pulumi/hcloud were installed next to it", () => {
    const scoped = fs.readdirSync(path.join(dir, "app", "node_modules", "@pulumi")).sort();
    expect(scoped).toEqual(["hcloud", "pulumi"]);
});

/** The first ```ts block after `heading` in the README. */
function readmeExample(heading: string): string {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    expect(readme).toContain(heading);
    return /```ts\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf(heading)))![1];
}

// node16 honours the package's "exports" (the subpaths) as Node does; "node" (node10,
// Pulumi's TypeScript template: module commonjs) finds the subpaths' types through "typesVersions".
const RESOLUTIONS = {
    node16: { module: "node16", moduleResolution: "node16" },
    node: { module: "commonjs", moduleResolution: "node" },
} as const;

function tsc(app: string, project: string): string {
    try {
        return execFileSync(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", project], { cwd: app, encoding: "utf8" });
    } catch (e: any) {
        throw new Error(`tsc: ${e.stdout}`); // tsc reports on stdout
    }
}

const tsconfig = (resolution: keyof typeof RESOLUTIONS, files: string[]) => JSON.stringify({ compilerOptions: { strict: true, noUnusedLocals: true, ...RESOLUTIONS[resolution], target: "ES2022", types: [], skipLibCheck: true, noEmit: true }, files });

test.each(Object.keys(RESOLUTIONS) as (keyof typeof RESOLUTIONS)[])("a Hetzner-only program with the README's examples (the firewall, cloud-init) compiles strictly, moduleResolution %s", (resolution) => {
    const app = path.join(dir, "app");
    fs.writeFileSync(path.join(app, "index.ts"), readmeExample("## Using the components from another program"));
    fs.writeFileSync(path.join(app, "cloud-init.ts"), readmeExample("### Delivery: cloud-init, at first boot"));
    fs.writeFileSync(path.join(app, `tsconfig.${resolution}.json`), tsconfig(resolution, ["index.ts", "cloud-init.ts"]));
    expect(() => tsc(app, `tsconfig.${resolution}.json`)).not.toThrow();
    // Control: the same check refuses an unused local, so the pass above means something.
    fs.writeFileSync(path.join(app, "unused.ts"), fs.readFileSync(path.join(app, "cloud-init.ts"), "utf8") + "\nconst unused = 1;\n");
    fs.writeFileSync(path.join(app, `tsconfig.${resolution}.unused.json`), tsconfig(resolution, ["unused.ts"]));
    expect(() => tsc(app, `tsconfig.${resolution}.unused.json`)).toThrow(/'unused' is declared but its value is never read/);
});

test('control: without "typesVersions", moduleResolution node cannot see the subpaths (what the field is for)', () => {
    const app = path.join(dir, "app");
    const pkgFile = path.join(app, "node_modules", "cloudflare-origin-firewall", "package.json");
    const original = fs.readFileSync(pkgFile, "utf8");
    try {
        const { typesVersions, ...rest } = JSON.parse(original);
        expect(typesVersions).toBeDefined();
        fs.writeFileSync(pkgFile, JSON.stringify(rest));
        fs.writeFileSync(path.join(app, "tsconfig.node.bare.json"), tsconfig("node", ["cloud-init.ts"]));
        expect(() => tsc(app, "tsconfig.node.bare.json")).toThrow(/Cannot find module 'cloudflare-origin-firewall\/hetzner'/);
    } finally {
        fs.writeFileSync(pkgFile, original);
    }
});

test("a Hetzner-only program runs under mocks, offline, with a saved Cloudflare answer", async () => {
    const app = path.join(dir, "app");
    fs.copyFileSync(path.join(ROOT, "samples", "cloudflare-ips-2026-11.json"), path.join(app, "cloudflare-ips.json"));
    fs.writeFileSync(
        path.join(app, "run.js"),
        `const pulumi = require("@pulumi/pulumi");
const seen = [];
pulumi.runtime.setMocks({ newResource: (a) => { seen.push({ type: a.type, name: a.name, inputs: a.inputs }); return { id: a.name + "-id", state: a.inputs }; }, call: (a) => a.inputs }, "consumer", "dev", false);
const { HetznerOriginFirewall } = require("cloudflare-origin-firewall/hetzner");
const fw = new HetznerOriginFirewall("web", { ssh: { sources: ["203.0.113.10"] }, cloudflare: { ranges: require("./cloudflare-ips.json") }, applyTo: { labelSelectors: ["role=web"] } });
fw.firewallId.apply(() => setTimeout(() => console.log(JSON.stringify(seen)), 100));
let rootImport = "loaded";
try { require("cloudflare-origin-firewall"); } catch (e) { rootImport = e.message.split("\\n")[0]; }
console.error(rootImport);
`,
    );
    const r = await run(process.execPath, ["run.js"], { cwd: app });
    const seen = JSON.parse(r.stdout);
    const firewall = seen.find((x: any) => x.type === "hcloud:index/firewall:Firewall");
    expect(firewall.inputs.rules.map((x: any) => [x.port, x.sourceIps.length])).toEqual([
        ["22", 1],
        ["443", 22],
    ]);
    expect(firewall.inputs.applyTos).toEqual([{ labelSelector: "role=web" }]);
    // The root import needs every provider; that is what the subpaths are for.
    expect(r.stderr).toContain("Cannot find module '@pulumi/");
}, 60_000);
