// The tools that need no engine (nftables, audit) start fast because they load
// neither the Pulumi SDK nor a provider, nor axios unless they fetch: a barrel
// import (components, components/core) would bring them back. The bench times the
// start-up itself; this checks what is loaded.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { compiled } from "./helpers/compiled";
import { SAMPLE_ANSWER_PATH } from "./helpers/server";

const ROOT = path.join(__dirname, "..");

/** Runs a compiled tool with a hook that reports every @pulumi/* and axios module it loads. */
function loadedBy(script: string, args: string[]): Promise<{ code: number; loaded: string[] }> {
    const hook = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cof-startup-")), "hook.js");
    fs.writeFileSync(
        hook,
        `const Module = require("module");
const load = Module._load;
const seen = new Set();
Module._load = function (request) {
    if (/^(@pulumi\\/|axios)/.test(request)) seen.add(request.split("/").slice(0, request.startsWith("@") ? 2 : 1).join("/"));
    return load.apply(this, arguments);
};
process.on("exit", () => process.stderr.write("LOADED " + JSON.stringify([...seen].sort()) + "\\n"));
`,
    );
    return new Promise((resolve) =>
        execFile(process.execPath, ["-r", hook, compiled(script), ...args], { cwd: ROOT }, (e: any, _stdout, stderr) => {
            const line = stderr.split("\n").find((l) => l.startsWith("LOADED "));
            resolve({ code: e ? e.code : 0, loaded: line ? JSON.parse(line.slice("LOADED ".length)) : ["(no report)"] });
        }),
    );
}

test("npm run nftables loads no Pulumi package and no axios", async () => {
    expect(await loadedBy("scripts/nftables.ts", ["--stack", "hetzner-dashboard", "--ranges-file", SAMPLE_ANSWER_PATH])).toEqual({ code: 0, loaded: [] });
});

test("npm run audit loads no Pulumi package and no axios (a run stopped by a bad --ports, after every import)", async () => {
    expect(await loadedBy("scripts/audit.ts", ["--stack", "hetzner-dashboard", "--host", "192.0.2.1", "--source", "198.51.100.9", "--ranges-file", SAMPLE_ANSWER_PATH, "--ports", "http"])).toEqual({ code: 2, loaded: [] });
});

test("the hook sees what a tool loads: the plan runs the program, so it loads Pulumi", async () => {
    const r = await loadedBy("scripts/plan.ts", ["--stack", "hetzner-dashboard", "--ranges-file", SAMPLE_ANSWER_PATH]);
    expect(r.loaded).toEqual(expect.arrayContaining(["@pulumi/pulumi", "@pulumi/hcloud"]));
});
