/**
 * Offline plan: runs the real program under the Pulumi mock runtime with a
 * stack's config and prints each firewall's rules and attachment. No
 * credentials, no Pulumi CLI.
 *
 *   npm run plan -- --stack hetzner-web [--ranges-file samples/cloudflare-ips-2026-11.json]
 *                   [--deployer-address <addr>] [--timeout <s>] [--deadline <s>] [--json]
 *   (--cloudflare-url <url> points the live fetch elsewhere, e.g. a local test server;
 *    --config-file <file> reads the stack's config from another file, as pulumi up --config-file does)
 *
 * Ranges are fetched live (saying so, and each retry) unless --ranges-file names a
 * saved Cloudflare answer, validated with errors naming the file; either way they
 * are then served on 127.0.0.1 to the program, which validates them again.
 */
import * as http from "http";
import { AddressInfo } from "net";
import * as path from "path";
import { MockRunError, RegisteredResource, runUnderMocks } from "./mock-runtime";
import { CloudflareRanges, parseStackConfig } from "../components";
import { LockoutError } from "../components/lockout";
import { AdmittedSummary } from "../components/policy";
import { escapeText } from "../components/text";
import { EXIT, inert, parseCli, runCli, UsageError } from "./cli";
import { loadRanges, userPath } from "./ranges";
import { loadStackConfig, projectConfigOf, ROOT } from "./stack-config";

/** One rule of a planned firewall, provider-independent. */
export interface PlannedRule {
    direction: "in" | "out";
    protocol: string;
    port: string;
    sources: string[];
    description?: string;
}

/** One planned firewall. */
export interface PlannedFirewall {
    key: string;
    provider: "hetzner" | "digitalocean";
    name: string;
    attachment: string[];
    rules: PlannedRule[];
}

/** Reads the planned firewalls out of the registrations. */
export function plannedFirewalls(resources: RegisteredResource[]): PlannedFirewall[] {
    const out: PlannedFirewall[] = [];
    for (const r of resources) {
        const i = r.inputs;
        if (r.type === "hcloud:index/firewall:Firewall") {
            out.push({
                key: r.name,
                provider: "hetzner",
                name: i.name,
                attachment: (i.applyTos ?? []).map((a: any) => (a.labelSelector !== undefined ? `label selector ${a.labelSelector}` : `server ${a.server}`)),
                rules: (i.rules ?? []).map((x: any) => ({ direction: x.direction, protocol: x.protocol, port: x.port ?? "-", sources: x.sourceIps ?? [], description: x.description })),
            });
        } else if (r.type === "digitalocean:index/firewall:Firewall") {
            out.push({
                key: r.name,
                provider: "digitalocean",
                name: i.name,
                attachment: [...(i.tags ?? []).map((t: string) => `tag ${t}`), ...(i.dropletIds ?? []).map((d: number) => `droplet ${d}`)],
                rules: [
                    ...(i.inboundRules ?? []).map((x: any) => ({ direction: "in", protocol: x.protocol, port: x.portRange ?? "-", sources: x.sourceAddresses ?? [] })),
                    ...(i.outboundRules ?? []).map((x: any) => ({ direction: "out", protocol: x.protocol, port: x.portRange ?? "-", sources: x.destinationAddresses ?? [] })),
                ],
            });
        }
    }
    return out;
}

/** One line per Cloudflare edge resource (DNS, Authenticated Origin Pulls, SSL mode, blocks). */
export function plannedEdge(resources: RegisteredResource[]): string[] {
    return resources
        .flatMap((r) => {
            const i = r.inputs;
            switch (r.type) {
                case "cloudflare:index/dnsRecord:DnsRecord":
                    return [`DNS ${i.type} ${i.name} -> ${i.content}${i.proxied ? " (proxied)" : ""}`];
                case "cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings":
                    return [`Authenticated Origin Pulls ${i.enabled ? "on" : "off"} (after the certificate upload)`];
                case "cloudflare:index/authenticatedOriginPullsCertificate:AuthenticatedOriginPullsCertificate":
                    return [`Authenticated Origin Pulls certificate of the zone's own uploaded (${r.name})`];
                case "tls:index/selfSignedCert:SelfSignedCert":
                    return [`origin-pull CA generated (${r.name}): its PEM is the originPullCaPem output`];
                case "cloudflare:index/zoneSetting:ZoneSetting":
                    return [`zone setting ${i.settingId} = ${i.value}`];
                case "cloudflare:index/accessRule:AccessRule":
                    return [`${i.mode} ${i.configuration.target} ${i.configuration.value}`];
                default:
                    return [];
            }
        })
        .sort();
}

function table(rules: PlannedRule[]): string {
    const rows: string[][] = [["DIRECTION", "PROTOCOL", "PORT", "SOURCES / DESTINATIONS", "DESCRIPTION"]];
    for (const r of rules) {
        r.sources.forEach((s, i) => rows.push(i === 0 ? [r.direction, r.protocol, r.port, s, r.description ?? ""] : ["", "", "", s, ""]));
    }
    // Escaped before the widths are taken, so what is measured is what is shown.
    for (const row of rows) row.forEach((cell, c) => (row[c] = escapeText(cell)));
    const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
    return rows
        .map(
            (row) =>
                "  " +
                row
                    .map((cell, c) => cell.padEnd(widths[c]))
                    .join("  ")
                    .trimEnd(),
        )
        .join("\n");
}

/** Serves validated ranges as a Cloudflare answer on 127.0.0.1, for the program run under mocks. */
function serveRanges(ranges: CloudflareRanges): Promise<{ url: string; close(): void }> {
    const body = JSON.stringify({ success: true, errors: [], messages: [], result: { ipv4_cidrs: ranges.ipv4, ipv6_cidrs: ranges.ipv6, etag: ranges.etag } });
    const server = http.createServer((_, res) => res.writeHead(200, { "content-type": "application/json" }).end(body));
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4/ips`, close: () => server.close() })));
}

const USAGE = "usage: npm run plan -- --stack <name> [--ranges-file <cloudflare-answer.json> | --cloudflare-url <url>] [--config-file <stack.yaml>] [--deployer-address <address>] [--timeout <seconds>] [--deadline <seconds>] [--json]";

function seconds(value: string | undefined, flag: string): number | undefined {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > 600) throw new UsageError(`${flag}: "${value}" is not a number of seconds from 1 to 600`);
    return Math.round(n * 1000);
}

async function main(): Promise<number> {
    const values = parseCli(
        {
            options: {
                stack: { type: "string" },
                "ranges-file": { type: "string" },
                "cloudflare-url": { type: "string" },
                "config-file": { type: "string" },
                "deployer-address": { type: "string" },
                timeout: { type: "string" },
                deadline: { type: "string" },
                json: { type: "boolean", default: false },
            },
        },
        USAGE,
    );
    const timeoutMs = seconds(values.timeout, "--timeout");
    const deadlineMs = seconds(values.deadline, "--deadline");
    const loaded = loadStackConfig(values.stack!, ROOT, values["config-file"] === undefined ? undefined : userPath(values["config-file"]));
    const key = (k: string) => `${loaded.project}:${k}`;
    // Config errors first, in our words, before anything is fetched.
    const config = parseStackConfig(projectConfigOf(loaded));
    // The ranges are obtained here (a file, named in any error, or a live fetch that
    // says what it is doing), then handed to the real program on 127.0.0.1, where they
    // pass the same validation again.
    const ranges = await loadRanges({ rangesFile: values["ranges-file"], cloudflareUrl: values["cloudflare-url"] ?? config.cloudflareUrl, timeoutMs, deadlineMs });
    const served = await serveRanges(ranges);
    loaded.config[key("cloudflareUrl")] = served.url;
    // The lockout guard checks the address given; without one the plan does not detect it, and says so.
    const deployer = values["deployer-address"];
    if (deployer) {
        loaded.config[key("deployerAddress")] = deployer;
        loaded.config[key("lockoutGuard")] = "error";
    } else {
        loaded.config[key("lockoutGuard")] = "off";
    }
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- the program is loaded under the mocks, as Pulumi loads it
        const run = await runUnderMocks(() => require(path.join(__dirname, "..", "index")), loaded);
        const outputs = run.outputs.firewalls as Record<string, { cloudflareEtag: string; resolvedNames: Record<string, string[]>; admitted: AdmittedSummary[] }>;
        const firewalls = plannedFirewalls(run.resources).map((f) => ({
            ...f,
            cloudflareEtag: outputs[f.key]?.cloudflareEtag ?? "",
            resolvedNames: outputs[f.key]?.resolvedNames ?? {},
            admitted: outputs[f.key]?.admitted ?? [],
        }));
        const edge = plannedEdge(run.resources);
        const host = plannedHostDelivery(run.resources);
        const lockoutGuard = deployer ? `checked: ${deployer} may reach SSH` : "not checked (give --deployer-address <your public address> to check; pulumi up checks this machine's address)";
        if (values.json) {
            console.log(JSON.stringify({ stack: loaded.stack, rangesFrom: values["ranges-file"] ?? "live", lockoutGuard, firewalls, edge, hostFirewall: host }, null, 2));
        } else {
            console.log(inert`Stack ${loaded.stack}: ${firewalls.length} firewall(s); Cloudflare ranges ${values["ranges-file"] ? `from ${values["ranges-file"]}` : "fetched live"}`);
            console.log(inert`Lockout guard: ${lockoutGuard}` + "\n");
            for (const f of firewalls) {
                console.log(inert`Firewall ${f.key} (${f.provider}, name "${f.name}")`);
                console.log(inert`  attached to: ${f.attachment.length ? f.attachment.join(", ") : "nothing yet (attach servers before it protects anything)"}`);
                console.log(inert`  Cloudflare etag: ${f.cloudflareEtag || "(none)"}`);
                for (const [name, addresses] of Object.entries(f.resolvedNames)) console.log(inert`  source name ${name} -> ${addresses.join(", ")}`);
                console.log(table(f.rules));
                // The admitted set the program's checks read: per port, every rule together.
                console.log("  admitted, all rules together:");
                for (const a of f.admitted) console.log(inert`    ${a.protocol} ${a.ports}: ${a.amount}, from ${a.from.join(" + ")}`);
                console.log("");
            }
            if (edge.length > 0) console.log(`Cloudflare edge\n${edge.map((l) => inert`  ${l}`).join("\n")}\n`);
            if (host.length > 0) console.log(`Host firewall\n${host.map((l) => inert`  ${l}`).join("\n")}\n`);
        }
        return EXIT.ok;
    } finally {
        served.close();
    }
}

/** One line per host the host firewall is delivered to over SSH. */
export function plannedHostDelivery(resources: RegisteredResource[]): string[] {
    return resources
        .filter((r) => r.type === "command:remote:Command" && r.name.endsWith("-apply"))
        .map((r) => {
            const c = r.inputs.connection?.value ?? r.inputs.connection;
            return `nftables over SSH to ${c.user}@${c.host}:${c.port} (commit-confirm: ${/apply (\d+)$/.exec(r.inputs.create)?.[1]} s to confirm from a new connection)`;
        });
}

// A deployment the lockout guard refuses is the plan's finding (exit 1); anything that stops the plan exits 2.
runCli(module, "plan", main, (e) => e instanceof MockRunError && e.cause instanceof LockoutError);
