// The Pulumi program: reads the stack's config, validates it before creating
// anything, and creates the firewalls it declares (and their Cloudflare edge where
// a firewall has an `edge` block). Provider tokens are read by the providers
// themselves (hcloud:token / HCLOUD_TOKEN, digitalocean:token / DIGITALOCEAN_TOKEN,
// cloudflare:apiToken / CLOUDFLARE_API_TOKEN); this program never reads or logs them.
import * as pulumi from "@pulumi/pulumi";
import {
    CloudflareOriginEdge,
    DigitalOceanOriginFirewall,
    fetchCloudflareRanges,
    HetznerOriginFirewall,
    parseStackConfig,
} from "./components";

const project = pulumi.getProject();

/** This project's config keys (without the "project:" prefix), values parsed as Pulumi stores them. */
function projectConfig(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (!key.startsWith(`${project}:`)) continue; // provider namespaces (hcloud:, digitalocean:) are theirs
        try {
            out[key.slice(project.length + 1)] = JSON.parse(value);
        } catch {
            out[key.slice(project.length + 1)] = value; // plain strings are stored unquoted
        }
    }
    return out;
}

const config = parseStackConfig(projectConfig());

// One fetch per run, shared by every firewall; a rejected answer fails them all
// before any firewall is created or changed.
const ranges = fetchCloudflareRanges(config.cloudflareUrl ? { url: config.cloudflareUrl } : undefined);

const withRanges = <T extends { cloudflare?: { ports?: number[] } }>(fw: T) => ({ ...fw, cloudflare: { ...fw.cloudflare, ranges } });

const created = Object.entries(config.firewalls).map(([name, fw]) => {
    const component =
        fw.provider === "hetzner"
            ? new HetznerOriginFirewall(name, withRanges(fw))
            : new DigitalOceanOriginFirewall(name, withRanges(fw));
    const edge = fw.edge ? new CloudflareOriginEdge(`${name}-edge`, fw.edge) : undefined;
    return [
        name,
        {
            provider: fw.provider,
            id: component.firewallId,
            cloudflareEtag: component.cloudflareRanges.apply((r) => r.etag ?? ""),
            ruleCount: component.ruleCount,
            edgeRecords: edge ? Object.keys(edge.records) : [],
        },
    ] as const;
});

/** Per firewall: provider, id, the Cloudflare etag applied, the rule count and its proxied DNS records. */
export const firewalls = Object.fromEntries(created);
