// The package as another Pulumi program imports it: by name, through `exports`,
// compiled JS with declarations (built by `npm run build`, which `npm ci` runs as prepare).
import * as fs from "fs";
import * as path from "path";

test("importable by name with typings, exposing the documented API", () => {
    const resolved = require.resolve("cloudflare-origin-firewall");
    expect(path.relative(path.join(__dirname, ".."), resolved)).toBe(path.join("dist", "components", "index.js"));
    expect(fs.existsSync(resolved.replace(/\.js$/, ".d.ts"))).toBe(true);
    const lib = require("cloudflare-origin-firewall");
    for (const name of [
        "fetchCloudflareRanges", "canonicalCidr", "validatePolicy", "renderPolicy",
        "HetznerOriginFirewall", "DigitalOceanOriginFirewall", "CloudflareOriginEdge", "parseStackConfig",
    ]) {
        expect(typeof lib[name]).toBe("function");
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(["@pulumi/cloudflare", "@pulumi/command", "@pulumi/digitalocean", "@pulumi/hcloud", "@pulumi/pulumi", "@pulumi/tls"]);
});
