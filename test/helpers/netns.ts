/**
 * Real packets between test hosts: network namespaces joined by veth pairs. A
 * server namespace and client namespaces whose addresses (a Cloudflare-range
 * address, documentation addresses) exist only inside the namespaces made here;
 * traffic goes only between them. Unique names per run, every wait bounded, and
 * `destroy()` removes everything (call it in a `finally`). Creating a namespace
 * that fails throws with the reason: a test never passes without its network.
 */
import { ChildProcess, execFile, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";

const run = promisify(execFile);
// The plain-JS helpers (listen.js, probe.js, ...) sit next to the source, also when this runs compiled from dist/.
export const HELPERS = [__dirname, path.join(__dirname, "..", "..", "..", "test", "helpers")].find((d) => fs.existsSync(path.join(d, "listen.js")))!;

/** A client of the server: its addresses in both families. */
export interface ClientSpec {
    key: string;
    v4: string;
    v6: string;
}

/** The server's addresses (on every link to a client). */
export const SERVER = { v4: "192.0.2.1", v6: "2001:db8:ffff::1" } as const;
/** A Docker-like container behind the server (DNAT target). */
export const CONTAINER = { v4: "172.17.0.2", gateway: "172.17.0.1" } as const;

let counter = 0;

function ip(...args: string[]): void {
    execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
}

/** Why namespaces cannot be made here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
    if (process.getuid?.() !== 0) return `not root (uid ${process.getuid?.()})`;
    const missing = [
        ["ip", "iproute2"],
        ["nft", "nftables"],
        ["nmap", "nmap"],
    ].filter(([tool]) => {
        try {
            execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
            return false;
        } catch {
            return true;
        }
    });
    if (missing.length > 0) return `${missing.map(([tool, pkg]) => `${tool} not found (Debian package ${pkg})`).join(", ")}`;
    const probe = `cofprobe${process.pid}`;
    try {
        ip("netns", "add", probe);
        ip("netns", "del", probe);
        return undefined;
    } catch (e) {
        return `cannot create a network namespace: ${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim()}`;
    }
}

/** Jest's global setup checks once per run and hands the answer to the workers: the reason, or "" when namespaces work. */
export const NETNS_ENV = "COF_NETNS_UNAVAILABLE";

/** How to run the namespace suites; part of every message about skipping them. */
export const NETNS_HOW = "run the tests as root with iproute2, nftables and nmap installed (bash .ci/run installs them)";

/** The one loud line of a run that cannot make namespaces: its real-packet suites are skipped, or with CI set fail. */
export function netnsSkipLine(reason: string, ci: boolean): string {
    return `*** real-packet suites (network namespaces: host firewall, audit, bench) ${ci ? "FAIL (CI is set)" : "SKIPPED"}: ${reason}; to run them, ${NETNS_HOW} ***`;
}

export class Lab {
    readonly server: string;
    readonly clients: Record<string, string> = {};
    container?: string;
    private readonly all: string[] = [];
    private readonly procs: ChildProcess[] = [];

    private constructor(readonly id: string) {
        this.server = `cof${id}s`;
    }

    /** Makes the server and one namespace per client, each linked to the server by its own veth pair. */
    static create(clients: ClientSpec[], options: { container?: boolean } = {}): Lab {
        const reason = process.env[NETNS_ENV] === "" ? undefined : netnsUnavailable();
        if (reason) throw new Error(`${reason}; ${NETNS_HOW}`);
        const lab = new Lab(`${process.pid % 100000}x${counter++}`);
        try {
            lab.addNs(lab.server);
            lab.sysctl(lab.server, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1");
            clients.forEach((c, i) => {
                const ns = `cof${lab.id}c${i}`;
                lab.addNs(ns);
                lab.clients[c.key] = ns;
                const [vs, vc] = [`vs${i}`, `vc${i}`];
                ip("link", "add", vs, "netns", lab.server, "type", "veth", "peer", "name", vc, "netns", ns);
                ip("-n", lab.server, "addr", "add", `${SERVER.v4}/32`, "dev", vs);
                ip("-n", lab.server, "addr", "add", `${SERVER.v6}/128`, "dev", vs, "nodad");
                ip("-n", ns, "addr", "add", `${c.v4}/32`, "dev", vc);
                ip("-n", ns, "addr", "add", `${c.v6}/128`, "dev", vc, "nodad");
                ip("-n", lab.server, "link", "set", vs, "up");
                ip("-n", ns, "link", "set", vc, "up");
                ip("-n", lab.server, "route", "add", `${c.v4}/32`, "dev", vs);
                ip("-n", lab.server, "-6", "route", "add", `${c.v6}/128`, "dev", vs);
                ip("-n", ns, "route", "add", `${SERVER.v4}/32`, "dev", vc);
                ip("-n", ns, "-6", "route", "add", `${SERVER.v6}/128`, "dev", vc);
            });
            if (options.container) {
                const ns = `cof${lab.id}k`;
                lab.addNs(ns);
                lab.container = ns;
                ip("link", "add", "docker0", "netns", lab.server, "type", "veth", "peer", "name", "eth0", "netns", ns);
                ip("-n", lab.server, "addr", "add", `${CONTAINER.gateway}/16`, "dev", "docker0");
                ip("-n", ns, "addr", "add", `${CONTAINER.v4}/16`, "dev", "eth0");
                ip("-n", lab.server, "link", "set", "docker0", "up");
                ip("-n", ns, "link", "set", "eth0", "up");
                ip("-n", ns, "route", "add", "default", "via", CONTAINER.gateway);
            }
            return lab;
        } catch (e) {
            lab.destroy();
            throw new Error(`could not build the test network: ${(e as Error).message}`);
        }
    }

    private addNs(ns: string): void {
        ip("netns", "add", ns);
        this.all.push(ns);
        ip("-n", ns, "link", "set", "lo", "up");
        // No duplicate address detection: addresses are usable at once.
        this.sysctl(ns, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0");
    }

    private sysctl(ns: string, ...settings: string[]): void {
        execFileSync("ip", ["netns", "exec", ns, "sysctl", "-q", "-w", ...settings], { stdio: "ignore", timeout: 10_000 });
    }

    /** Runs a command in a namespace (bounded), returning stdout; throws with stderr on failure. */
    async exec(ns: string, cmd: string[], options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
        const p = run("ip", ["netns", "exec", ns, ...cmd], { timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, env: options.env ?? process.env });
        if (options.input !== undefined) {
            p.child.stdin!.on("error", () => undefined); // the command exited without reading it: its exit status says why
            p.child.stdin!.end(options.input);
        }
        try {
            return (await p).stdout;
        } catch (e: any) {
            throw new Error(`${cmd.join(" ")} in ${ns} failed: ${e.stderr || e.message}`);
        }
    }

    /** Loads an nftables script into a namespace. */
    nft(ns: string, script: string): Promise<string> {
        return this.exec(ns, ["nft", "-f", "-"], { input: script });
    }

    /** Starts TCP listeners on `ports` in a namespace; resolves once they listen. */
    async listen(ns: string, ports: number[]): Promise<void> {
        const child = spawn("ip", ["netns", "exec", ns, process.execPath, path.join(HELPERS, "listen.js"), ...ports.map(String)], { stdio: ["ignore", "pipe", "inherit"] });
        this.procs.push(child);
        await new Promise<void>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`listeners in ${ns} did not start within 30 s`)), 30_000);
            child.stdout!.once("data", () => (clearTimeout(t), resolve()));
            child.once("exit", (code) => (clearTimeout(t), reject(new Error(`listener in ${ns} exited with ${code}`))));
        });
    }

    /** Starts a helper script in a namespace and resolves with its first line of output. */
    async start(ns: string, script: string, args: string[]): Promise<string> {
        const child = spawn("ip", ["netns", "exec", ns, process.execPath, path.join(HELPERS, script), ...args], { stdio: ["ignore", "pipe", "inherit"] });
        this.procs.push(child);
        return new Promise<string>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`${script} in ${ns} did not start within 30 s`)), 30_000);
            child.stdout!.once("data", (d) => (clearTimeout(t), resolve(String(d).trim())));
            child.once("exit", (code) => (clearTimeout(t), reject(new Error(`${script} in ${ns} exited with ${code}`))));
        });
    }

    /** Which of `ports` on `host` answer from namespace `ns` (each connection bounded). */
    async probe(ns: string, host: string, ports: number[], timeoutMs = 1500): Promise<Record<number, boolean>> {
        return JSON.parse(await this.exec(ns, [process.execPath, path.join(HELPERS, "probe.js"), host, ports.join(","), String(timeoutMs)], { timeoutMs: timeoutMs + 10_000 }));
    }

    /** The ports among `ports` that answer. */
    async open(ns: string, host: string, ports: number[]): Promise<number[]> {
        const r = await this.probe(ns, host, ports);
        return ports.filter((p) => r[p]);
    }

    /** Kills what was started and removes every namespace; safe to call twice. */
    destroy(): void {
        for (const p of this.procs) p.kill("SIGKILL");
        for (const ns of this.all.splice(0)) {
            try {
                // Anything still running inside (a pending rollback, a listener) goes with it.
                execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" })
                    .split("\n")
                    .filter(Boolean)
                    .forEach((pid) => {
                        try {
                            process.kill(Number(pid), "SIGKILL");
                        } catch {
                            /* already gone */
                        }
                    });
                ip("netns", "del", ns);
            } catch {
                /* already gone */
            }
        }
    }
}

/** The test clients every stack is probed from. */
export const CLIENTS = {
    cloudflare: { key: "cloudflare", v4: "104.16.0.5", v6: "2400:cb00::5" },
    stranger: { key: "stranger", v4: "198.51.100.99", v6: "2001:db8:dead::99" },
} as const;
