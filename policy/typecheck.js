// `npm run typecheck` checks the pack against @pulumi/policy when policy/'s own
// dependencies are installed (`npm ci --prefix policy`, as CI does). Without them it
// says so in one loud line and skips; under CI=true that is a failure.
const { spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

if (!fs.existsSync(path.join(__dirname, "node_modules", "@pulumi", "policy"))) {
    console.error("policy/: @pulumi/policy is not installed, the pack's entry is NOT typechecked; run `npm ci --prefix policy`");
    process.exit(process.env.CI === "true" ? 1 : 0);
}
const tsc = require.resolve("typescript/bin/tsc", { paths: [path.join(__dirname, "..")] });
const r = spawnSync(process.execPath, [tsc, "--noEmit", "-p", path.join(__dirname, "tsconfig.json")], { stdio: "inherit" });
process.exit(r.status ?? 1);
