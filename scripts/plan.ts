/**
 * Offline plan: runs the real program under the Pulumi mock runtime with a
 * stack's config and prints each firewall's rules and attachment. No
 * credentials, no Pulumi CLI.
 *
 *   npm run plan -- --stack hetzner-web [--ranges-file samples/cloudflare-ips-2026-11.json] [--json]
 *   (--cloudflare-url <url> points the live fetch elsewhere, e.g. a local test server)
 *
 * Ranges are fetched live unless --ranges-file names a saved Cloudflare answer;
 * that file is served on 127.0.0.1 to the program, so it passes exactly the
 * validation a live answer would.
 */
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as path from "path";
import { parseArgs } from "util";
import { MockRunError, RegisteredResource, runUnderMocks } from "./mock-runtime";
import { loadStackConfig, ROOT } from "./stack-config";

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
    return resources.flatMap((r) => {
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
    }).sort();
}

function table(rules: PlannedRule[]): string {
    const rows: string[][] = [["DIRECTION", "PROTOCOL", "PORT", "SOURCES / DESTINATIONS", "DESCRIPTION"]];
    for (const r of rules) {
        r.sources.forEach((s, i) => rows.push(i === 0 ? [r.direction, r.protocol, r.port, s, r.description ?? ""] : ["", "", "", s, ""]));
    }
    const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
    return rows.map((row) => "  " + row.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd()).join("\n");
}

function serveFile(file: string): Promise<{ url: string; close(): void }> {
    const body = fs.readFileSync(file);
    const server = http.createServer((_, res) => res.writeHead(200, { "content-type": "application/json" }).end(body));
    return new Promise((resolve) =>
        server.listen(0, "127.0.0.1", () =>
            resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4/ips`, close: () => server.close() }),
        ),
    );
}

async function main(): Promise<number> {
    const { values } = parseArgs({
        options: {
            stack: { type: "string" },
            "ranges-file": { type: "string" },
            "cloudflare-url": { type: "string" },
            json: { type: "boolean", default: false },
        },
    });
    if (!values.stack) {
        console.error("usage: npm run plan -- --stack <name> [--ranges-file <cloudflare-answer.json> | --cloudflare-url <url>] [--json]");
        return 2;
    }
    const loaded = loadStackConfig(values.stack);
    if (values["cloudflare-url"]) loaded.config[`${loaded.project}:cloudflareUrl`] = values["cloudflare-url"];
    let served: { url: string; close(): void } | undefined;
    if (values["ranges-file"]) {
        const file = path.resolve(process.env.INIT_CWD ?? process.cwd(), values["ranges-file"]);
        if (!fs.existsSync(file)) throw new Error(`--ranges-file: ${file} does not exist`);
        served = await serveFile(file);
        loaded.config[`${loaded.project}:cloudflareUrl`] = served.url;
    }
    try {
        const run = await runUnderMocks(() => require(path.join(ROOT, "index")), loaded);
        const outputs = run.outputs.firewalls as Record<string, { cloudflareEtag: string }>;
        const firewalls = plannedFirewalls(run.resources).map((f) => ({ ...f, cloudflareEtag: outputs[f.key]?.cloudflareEtag ?? "" }));
        const edge = plannedEdge(run.resources);
        if (values.json) {
            console.log(JSON.stringify({ stack: loaded.stack, rangesFrom: values["ranges-file"] ?? "live", firewalls, edge }, null, 2));
        } else {
            console.log(`Stack ${loaded.stack}: ${firewalls.length} firewall(s); Cloudflare ranges ${values["ranges-file"] ? `from ${values["ranges-file"]}` : "fetched live"}\n`);
            for (const f of firewalls) {
                console.log(`Firewall ${f.key} (${f.provider}, name "${f.name}")`);
                console.log(`  attached to: ${f.attachment.length ? f.attachment.join(", ") : "nothing yet (attach servers before it protects anything)"}`);
                console.log(`  Cloudflare etag: ${f.cloudflareEtag || "(none)"}`);
                console.log(table(f.rules) + "\n");
            }
            if (edge.length > 0) console.log(`Cloudflare edge\n${edge.map((l) => `  ${l}`).join("\n")}\n`);
        }
        return 0;
    } finally {
        served?.close();
    }
}

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (e) => {
            console.error(`plan failed: ${e instanceof MockRunError ? e.message : (e as Error).message}`);
            process.exit(1);
        },
    );
}
