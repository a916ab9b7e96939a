// The package as another Pulumi program imports it: by name, through `exports`,
// compiled JS with declarations (built by `npm run build`, which `npm ci` runs as prepare).
import * as fs from "fs";
import * as path from "path";

test("importable by name with typings, exposing the documented API", () => {
    const resolved = require.resolve("cloudflare-origin-firewall");
    expect(path.relative(path.join(__dirname, ".."), resolved)).toBe(path.join("dist", "components", "index.js"));
    expect(fs.existsSync(resolved.replace(/\.js$/, ".d.ts"))).toBe(true);
    const lib = require("cloudflare-origin-firewall");
    for (const name of ["fetchCloudflareRanges", "canonicalCidr", "validatePolicy", "renderPolicy", "HetznerOriginFirewall", "DigitalOceanOriginFirewall", "CloudflareOriginEdge", "parseStackConfig"]) {
        expect(typeof lib[name]).toBe("function");
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(["@pulumi/cloudflare", "@pulumi/command", "@pulumi/digitalocean", "@pulumi/hcloud", "@pulumi/pulumi", "@pulumi/tls"]);
});

// The contract: what the root exports at run time, by name. A new export is a decision
// (add it here and to the README), not a side effect of `export *`.
const ROOT_CONTRACT = [
    // components
    "HetznerOriginFirewall",
    "DigitalOceanOriginFirewall",
    "CloudflareOriginEdge",
    "HostFirewallOverSsh",
    "OriginFirewallComponent",
    // the policy, Cloudflare's ranges, addresses
    "validatePolicy",
    "renderPolicy",
    "PolicyError",
    "fetchCloudflareRanges",
    "CloudflareRangesError",
    "canonicalCidr",
    "CidrError",
    "resolvePolicyNames",
    "NameResolutionError",
    // the host firewall
    "renderNftables",
    "hostFirewallCloudInit",
    "remoteApplyCommand",
    "remoteConfirmCommand",
    // the Cloudflare edge gates for programs of your own
    "checkOneEdgePerZone",
    "checkOriginPullRotation",
    "fetchZoneOriginPullCertificates",
    "originPullGenerations",
    // the stack config format
    "parseStackConfig",
    "projectConfigValues",
    "ConfigError",
];

test("the root exports the contract, and nothing else, at run time", () => {
    const lib = require("cloudflare-origin-firewall");
    expect(
        Object.keys(lib)
            .filter((k) => k !== "__esModule")
            .sort(),
    ).toEqual([...ROOT_CONTRACT].sort());
    // Each subpath is the core plus its own part: the core's names are in all of them.
    const core = Object.keys(require("cloudflare-origin-firewall/core")).filter((k) => k !== "__esModule");
    for (const sub of ["hetzner", "digitalocean", "cloudflare", "host"]) {
        const names = Object.keys(require(`cloudflare-origin-firewall/${sub}`));
        expect(names).toEqual(expect.arrayContaining(core));
        expect(names.filter((n) => n !== "__esModule" && !ROOT_CONTRACT.includes(n))).toEqual([]);
    }
});

test("helpers exported only for the tests (@internal) are not in the declarations", () => {
    const dir = path.join(__dirname, "..", "components");
    const internal = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".ts"))
        .flatMap((f) => [...fs.readFileSync(path.join(dir, f), "utf8").matchAll(/@internal[^\n]*(?:\n(?: \*[^\n]*| \*\/))*\n(?:\/\*\*[^\n]*\*\/\n)?export (?:async )?(?:function|const|class) (\w+)/g)].map((m) => m[1]));
    expect(internal).toEqual(expect.arrayContaining(["parseTrace", "hostScript", "buildNftRuleset"]));
    const dts = path.join(__dirname, "..", "dist", "components");
    const declarations = fs
        .readdirSync(dts)
        .filter((f) => f.endsWith(".d.ts"))
        .map((f) => fs.readFileSync(path.join(dts, f), "utf8"))
        .join("\n");
    for (const name of internal) expect(declarations).not.toMatch(new RegExp(`declare (?:function|const|class) ${name}\\b`));
    // Control: a public function is declared.
    expect(declarations).toMatch(/declare function hostFirewallCloudInit\b/);
});
