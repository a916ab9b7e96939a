// The Pulumi program: reads the stack's config, validates it, fetches and
// validates Cloudflare's ranges, and only then creates the firewalls it declares
// (and their Cloudflare edge where a firewall has an `edge` block). Everything that
// can fail is awaited before the first resource, so a bad config or a rejected
// answer registers nothing at all: no firewall, no DNS record, no zone setting.
// Provider tokens are read by the providers themselves (hcloud:token / HCLOUD_TOKEN,
// digitalocean:token / DIGITALOCEAN_TOKEN, cloudflare:apiToken / CLOUDFLARE_API_TOKEN);
// this program never reads or logs them.
import * as pulumi from "@pulumi/pulumi";
import {
    CloudflareOriginEdge,
    DigitalOceanOriginFirewall,
    fetchCloudflareRanges,
    HetznerOriginFirewall,
    parseStackConfig,
} from "./components";

/** This project's config keys (without the "project:" prefix), values parsed as Pulumi stores them. */
function projectConfig(): Record<string, unknown> {
    const project = pulumi.getProject();
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

export = async () => {
    const config = parseStackConfig(projectConfig());

    // One fetch per run, shared by every firewall, awaited before anything is
    // registered: a rejected answer fails the run with nothing changed.
    const ranges = await fetchCloudflareRanges(config.cloudflareUrl ? { url: config.cloudflareUrl } : undefined);

    const created = Object.entries(config.firewalls).map(([name, fw]) => {
        const args = { ...fw, cloudflare: { ...fw.cloudflare, ranges } };
        const component = fw.provider === "hetzner" ? new HetznerOriginFirewall(name, args) : new DigitalOceanOriginFirewall(name, args);
        const edge = fw.edge ? new CloudflareOriginEdge(`${name}-edge`, fw.edge) : undefined;
        return [
            name,
            {
                provider: fw.provider,
                id: component.firewallId,
                cloudflareEtag: component.cloudflareRanges.apply((r) => r.etag ?? ""),
                ruleCount: component.ruleCount,
                edgeRecords: edge ? Object.keys(edge.records) : [],
                ...(edge?.originPullCaPem ? { originPullCaPem: edge.originPullCaPem } : {}),
            },
        ] as const;
    });

    /** Per firewall: provider, id, the Cloudflare etag applied, the rule count and its proxied DNS records. */
    return { firewalls: Object.fromEntries(created) };
};
