/**
 * Exposure audit: scans what really answers on a server (nmap) and compares it with
 * what the stack's policy admits FROM WHERE THE SCAN RUNS.
 *
 *   npm run audit -- --stack <stack> --firewall <key> --host <address> [--source <address>]
 *                    [--ranges-file <file>] [--ports <list>] [--json]
 *
 * Exit 0: every port that answers is admitted from the source. Exit 1: some port
 * answers that the policy does not admit from there (each is named, with what the
 * policy says about it). Exit 2: usage, config or tool errors. Admitted ports that
 * do not answer are reported, not failed. Without --host, every address in the
 * firewall's `audit.hosts` is scanned.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { XMLParser } from "fast-xml-parser";
// The modules themselves, not the core barrel: the audit loads neither Pulumi nor a provider.
import { cidrContains, parseSingleAddress, SingleAddress } from "../components/cidr";
import { AdmittedEntry, AdmittedSet, admittedAt, admittedSet, Contribution, formatPorts, PolicyRule, validatePolicy } from "../components/policy";
import { escapeText } from "../components/text";
import { fetchPublicAddress } from "../components/trace";
import { EXIT, inert, parseCli, runCli, UsageError } from "./cli";
import { selectFirewall } from "./firewall-select";
import { loadRanges } from "./ranges";

const USAGE = "usage: npm run audit -- --stack <stack> --firewall <key> --host <address> [--source <address>] [--ranges-file <file>] [--ports <list>] [--json]";

function isExecutable(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

/** A usage, config or tool error: exit 2. */
class AuditError extends UsageError {}

/** Parses the port list forms nmap takes that we can reason about: 22, 1-1000, 8000-, -1024, -, and comma lists. */
export function parsePorts(spec: string): [number, number][] {
    const out: [number, number][] = [];
    for (const part of spec.split(",")) {
        const m = /^(\d*)(-?)(\d*)$/.exec(part.trim());
        if (!m || (m[2] === "" && m[1] === "")) throw new AuditError(`--ports: "${part}" is not a port or range; use nmap's syntax such as 1-65535 or 22,443`);
        const low = m[1] === "" ? 1 : Number(m[1]);
        const high = m[2] === "" ? low : m[3] === "" ? 65535 : Number(m[3]);
        if (low < 1 || high > 65535 || low > high) throw new AuditError(`--ports: "${part}" is outside 1-65535 or runs backwards`);
        out.push([low, high]);
    }
    return out;
}

/** The open TCP ports in nmap's XML output (-oX -). */
export function openPortsFromXml(xml: string): number[] {
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (name) => ["host", "port"].includes(name) }).parse(xml);
    if (!doc.nmaprun) throw new AuditError("nmap did not produce XML output");
    const ports: any[] = (doc.nmaprun.host ?? []).flatMap((h: any) => h.ports?.port ?? []);
    return ports
        .filter((p) => p.protocol === "tcp" && p.state?.state === "open")
        .map((p) => Number(p.portid))
        .sort((a, b) => a - b);
}

/** The nmap command for a host: SYN scan as root, connect scan otherwise; tuned to finish a drop-by-default host quickly. */
export function nmapArgs(host: string, ports: string, root: boolean): string[] {
    return ["-n", "-Pn", root ? "-sS" : "-sT", "-p", ports, "--min-rate", "10000", "--max-retries", "1", "--host-timeout", "300s", "-oX", "-", ...(host.includes(":") ? ["-6"] : []), host];
}

function describeRules(contributions: readonly Contribution[]): string {
    return contributions
        .map(({ rule: r }) => {
            const cf = r.kind === "cloudflare";
            const who = cf ? "Cloudflare's ranges" : r.sources.length > 4 ? `${r.sources.slice(0, 4).join(", ")} and ${r.sources.length - 4} more` : r.sources.join(", ");
            return `"${r.description}" admits only ${who}`;
        })
        .join("; ");
}

/** What the open ports mean for a scan from `source`. */
export interface Verdict {
    /** Open ports that the policy does not admit from the source, with what it says about each. */
    unexpected: { port: number; policy: string }[];
    /** Port intervals admitted from the source, inside the scanned ranges, where nothing answers. */
    admittedNotAnswering: string[];
}

/**
 * Judges the open ports of a scan from `source` against the admitted set (the
 * union of every rule on each port). Linear: whether a rule admits the source is
 * decided once per rule, not once per open port.
 */
export function verdict(admitted: Pick<AdmittedSet, "entries">, source: SingleAddress, scanned: [number, number][], open: number[]): Verdict {
    const decided = new Map<PolicyRule, boolean>();
    const admits = (c: Contribution) =>
        decided.get(c.rule) ??
        decided
            .set(
                c.rule,
                c.sources.some((s) => cidrContains(s, source)),
            )
            .get(c.rule)!;
    const described = new Map<AdmittedEntry, string>();
    const unexpected = open.flatMap((port) => {
        const entry = admittedAt(admitted, "tcp", port);
        if (entry?.contributions.some(admits)) return [];
        if (!entry) return [{ port, policy: `port ${port} is in no rule of the policy` }];
        if (!described.has(entry)) described.set(entry, `${describeRules(entry.contributions)}; ${source.address} is not among them`);
        return [{ port, policy: described.get(entry)! }];
    });
    // Port intervals admitted from this source (the same union across each interval).
    const admittedNotAnswering = admitted.entries
        .filter((e) => e.protocol === "tcp" && e.contributions.some(admits))
        .map((e) => e.ports!)
        .filter(([low, high]) => scanned.some(([a, b]) => a <= high && low <= b) && !open.some((p) => p >= low && p <= high))
        .map(formatPorts);
    return { unexpected, admittedNotAnswering };
}

export interface HostReport {
    host: string;
    source: string;
    sourceFrom: "--source" | "trace";
    scanner: string;
    durationMs: number;
    open: number[];
    unexpected: { port: number; policy: string }[];
    admittedNotAnswering: string[];
}

/** One address given on the command line, or a usage error naming the flag. */
function singleAddress(value: string, flag: string): SingleAddress {
    try {
        return parseSingleAddress(value);
    } catch (e) {
        throw new AuditError(`${flag}: ${(e as Error).message}`);
    }
}

async function auditHost(host: string, sourceFlag: string | undefined, admitted: AdmittedSet, ports: string, traceUrl?: string): Promise<HostReport> {
    const target = singleAddress(host, "--host");
    let source: string;
    if (sourceFlag) {
        source = singleAddress(sourceFlag, "--source").address;
    } else {
        try {
            source = await fetchPublicAddress({ family: target.family, url: traceUrl });
        } catch (e) {
            throw new AuditError(`${(e as Error).message}; give the address the scan comes from with --source`);
        }
    }
    const src = parseSingleAddress(source);
    if (src.family !== target.family) throw new AuditError(`--source ${source} is IPv${src.family} but --host ${host} is IPv${target.family}; the scan's source address must be of the host's family`);
    const root = process.getuid?.() === 0;
    const args = nmapArgs(host, ports, root);
    const t0 = Date.now();
    const xml = await new Promise<string>((resolve, reject) =>
        execFile("nmap", args, { timeout: 15 * 60_000, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new AuditError(`nmap failed: ${(stderr || err.message).trim()}`)) : resolve(stdout))),
    );
    const durationMs = Date.now() - t0;
    const open = openPortsFromXml(xml);
    const { unexpected, admittedNotAnswering } = verdict(admitted, src, parsePorts(ports), open);
    return { host, source, sourceFrom: sourceFlag ? "--source" : "trace", scanner: `nmap ${args.join(" ")}`, durationMs, open, unexpected, admittedNotAnswering };
}

function table(stack: string, key: string, reports: HostReport[]): string {
    const out: string[] = [];
    for (const r of reports) {
        out.push(inert`Audit of ${r.host} (stack ${stack}, firewall ${key}) from ${r.source} (${r.sourceFrom === "trace" ? "this machine's public address" : "--source"}), ${(r.durationMs / 1000).toFixed(1)} s`);
        const rows = [["PORT", "ANSWERS", "FROM THIS SOURCE", "VERDICT"]];
        for (const p of r.open) {
            const bad = r.unexpected.find((u) => u.port === p);
            rows.push([String(p), "open", bad ? "not admitted" : "admitted", bad ? `EXPOSED: ${bad.policy}` : "ok"]);
        }
        for (const spec of r.admittedNotAnswering) rows.push([spec, "no", "admitted", "admitted but nothing answers (reported, not failed)"]);
        if (rows.length === 1) rows.push(["-", "none", "-", "nothing answers"]);
        // Escaped before the widths are taken: descriptions and addresses are the user's text.
        for (const row of rows) row.forEach((cell, c) => (row[c] = escapeText(cell)));
        const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
        out.push(...rows.map((row) => "  " + row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]))).join("  ")));
        out.push(
            r.unexpected.length === 0
                ? "  PASS: every port that answers is admitted from this source\n"
                : inert`  FAIL: ${r.unexpected.length} port(s) answer that the policy does not admit from ${r.source}: ${r.unexpected.map((u) => u.port).join(", ")}` + "\n",
        );
    }
    return out.join("\n");
}

async function main(): Promise<number> {
    const values = parseCli(
        {
            options: {
                stack: { type: "string" },
                firewall: { type: "string" },
                host: { type: "string" },
                source: { type: "string" },
                "ranges-file": { type: "string" },
                "cloudflare-url": { type: "string" },
                "trace-url": { type: "string" },
                ports: { type: "string", default: "1-65535" },
                json: { type: "boolean", default: false },
            },
        },
        USAGE,
    );
    parsePorts(values.ports!);
    // Looked up on PATH rather than run: one process less before the scan.
    const onPath = (tool: string) => (process.env.PATH ?? "").split(path.delimiter).some((dir) => dir !== "" && isExecutable(path.join(dir, tool)));
    if (!onPath("nmap")) throw new AuditError("nmap not found: install it (Debian/Ubuntu: sudo apt-get install nmap; macOS: brew install nmap)");
    let selected, ranges;
    try {
        selected = selectFirewall(values.stack!, values.firewall);
        ranges = await loadRanges({ rangesFile: values["ranges-file"], cloudflareUrl: values["cloudflare-url"] ?? selected.config.cloudflareUrl, log: values.json ? () => undefined : undefined });
    } catch (e) {
        throw new AuditError((e as Error).message);
    }
    const hosts = values.host ? [values.host] : (selected.firewall.audit?.hosts ?? []);
    if (hosts.length === 0) throw new AuditError(`give --host, or list the servers under firewalls.${selected.key}.audit.hosts in the stack\n${USAGE}`);
    const admitted = admittedSet(validatePolicy(selected.firewall), ranges);
    const reports: HostReport[] = [];
    for (const host of hosts) reports.push(await auditHost(host, values.source, admitted, values.ports!, values["trace-url"]));
    const exposed = reports.some((r) => r.unexpected.length > 0);
    if (values.json) console.log(JSON.stringify({ stack: values.stack, firewall: selected.key, ports: values.ports, exposed, hosts: reports }, null, 2));
    else console.log(table(values.stack!, selected.key, reports));
    return exposed ? EXIT.finding : EXIT.ok;
}

// Usage, config and tool errors alike exit 2; 1 is "exposed" (main's own answer).
runCli(module, "audit", main);
