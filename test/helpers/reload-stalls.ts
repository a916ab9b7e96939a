/**
 * Reload safety, measured with real connections: a client in `clientNs` connects
 * to host:port one connection after another (each bounded by `timeoutMs`, under
 * TCP's 1 s SYN retransmit, so a single dropped SYN counts) while `reload` runs
 * `reloads` times; the client stops when told to, not after a fixed time.
 */
import { spawn } from "child_process";
import * as path from "path";
import { HELPERS } from "./netns";

export interface ReloadStalls {
    reloads: number;
    attempts: number;
    failed: number;
}

export async function measureReloadStalls(clientNs: string, host: string, port: number, reloads: number, reload: (i: number) => Promise<unknown>, timeoutMs = 500): Promise<ReloadStalls> {
    const client = spawn("ip", ["netns", "exec", clientNs, process.execPath, path.join(HELPERS, "connect-loop.js"), host, String(port), String(timeoutMs)], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    client.stdout!.on("data", (d) => (out += d));
    const exited = new Promise<void>((resolve) => client.once("exit", () => resolve()));
    try {
        const deadline = Date.now() + 10_000;
        while (!out.includes("started")) {
            if (Date.now() > deadline || client.exitCode !== null) throw new Error("the connecting client did not start within 10 s");
            await new Promise((r) => setTimeout(r, 10));
        }
        for (let i = 0; i < reloads; i++) await reload(i);
        client.stdin!.end("stop\n");
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, timeoutMs + 10_000)))]);
        clearTimeout(timer);
        const line = out.split("\n").find((l) => l.startsWith("{"));
        if (!line) throw new Error(`the connecting client did not report: ${JSON.stringify(out)}`);
        return { reloads, ...JSON.parse(line) };
    } finally {
        client.kill("SIGKILL");
    }
}
