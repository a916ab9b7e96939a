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
    hostFirewallCloudInit,
    HostFirewallOverSsh,
    parseStackConfig,
    renderNftables,
    validatePolicy,
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
        // The same policy as a host firewall: always an output (and cloud-init user
        // data for new servers); delivered over SSH where the stack asks for it.
        const hostRuleset = renderNftables(validatePolicy(fw), ranges);
        const ssh = fw.hostFirewall?.overSsh;
        if (ssh && process.env.CI && ssh.deliverInCi !== true) {
            pulumi.log.warn(
                `firewalls.${name}.hostFirewall: not delivered over SSH because CI is set (a CI runner is not a trusted SSH source); ` +
                    "deploy from a trusted machine, or set hostFirewall.overSsh.deliverInCi: true on a self-hosted runner at a trusted address",
            );
        } else if (ssh) {
            for (const host of ssh.hosts) {
                new HostFirewallOverSsh(`${name}-host-${host}`, {
                    ruleset: hostRuleset,
                    connection: {
                        host,
                        user: ssh.user,
                        port: ssh.port ?? fw.ssh.port ?? 22,
                        ...(config.sshPrivateKey ? { privateKey: pulumi.secret(config.sshPrivateKey) } : { agentSocketPath: process.env.SSH_AUTH_SOCK }),
                    },
                    rollbackSeconds: fw.hostFirewall?.rollbackSeconds,
                });
            }
        }
        return [
            name,
            {
                provider: fw.provider,
                id: component.firewallId,
                cloudflareEtag: component.cloudflareRanges.apply((r) => r.etag ?? ""),
                ruleCount: component.ruleCount,
                edgeRecords: edge ? Object.keys(edge.records) : [],
                ...(edge?.originPullCaPem ? { originPullCaPem: edge.originPullCaPem } : {}),
                hostRuleset,
                hostCloudInit: hostFirewallCloudInit(hostRuleset),
            },
        ] as const;
    });

    /** Per firewall: provider, id, the Cloudflare etag applied, the rule count and its proxied DNS records. */
    return { firewalls: Object.fromEntries(created) };
};
