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
    checkOriginPullRotation,
    CloudflareOriginEdge,
    DigitalOceanOriginFirewall,
    fetchCloudflareRanges,
    fetchZoneOriginPullCertificates,
    originPullGenerations,
    resolvePolicyNames,
    HetznerOriginFirewall,
    hostFirewallCloudInit,
    HostFirewallOverSsh,
    parseStackConfig,
    projectConfigValues,
    renderNftables,
} from "./components";
import { checkDeployment } from "./components/gate";
import { checkFirewallsPerServer } from "./components/hetzner-rules";
import { hostDeliveryResourceName } from "./components/host-firewall";
import { checkLockout, LockoutError, lockoutGuardMode } from "./components/lockout";
import { summarizeAdmitted } from "./components/policy";
import { fetchPublicAddress, isLoopbackUrl } from "./components/trace";

/** This machine's public addresses (IPv4 and IPv6 where it has them), or why none could be learned. */
async function deployerAddresses(url: string | undefined): Promise<{ addresses: string[]; problem?: string }> {
    const asks = url && isLoopbackUrl(url) ? [fetchPublicAddress({ url })] : ([4, 6] as const).map((family) => fetchPublicAddress({ url, family }));
    const settled = await Promise.allSettled(asks);
    const addresses = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const problem = [...new Set(settled.flatMap((r) => (r.status === "rejected" ? [(r.reason as Error).message] : [])))].join("; ");
    return { addresses: [...new Set(addresses)], problem: problem || undefined };
}

export = async () => {
    const config = parseStackConfig(projectConfigValues(pulumi.getProject(), pulumi.runtime.allConfig()));
    const guard = lockoutGuardMode(config.lockoutGuard);
    // Hetzner's 5 firewalls per server, across the whole program (server ids only).
    const perServer = checkFirewallsPerServer(Object.entries(config.firewalls).flatMap(([name, fw]) => (fw.provider === "hetzner" ? [{ owner: `firewalls.${name}`, serverIds: fw.applyTo?.serverIds ?? [] }] : [])));
    perServer.forEach((w) => pulumi.log.warn(w));

    // Everything that can fail is awaited before the first resource: one Cloudflare
    // fetch shared by every firewall, the DNS names among the sources, and this
    // machine's address for the lockout guard. Any failure ends the run with nothing
    // changed.
    const [ranges, resolved, deployer] = await Promise.all([
        fetchCloudflareRanges(config.cloudflareUrl ? { url: config.cloudflareUrl } : undefined),
        Promise.all(Object.values(config.firewalls).map((fw) => resolvePolicyNames(fw, { dnsServers: config.dnsServers }))),
        guard === "off" ? { addresses: [] } : config.deployerAddress ? { addresses: [config.deployerAddress] } : deployerAddresses(config.traceUrl),
        // An edge that keeps one certificate generation may delete older ones: only once
        // Cloudflare reports the kept one active (asked only when generations are given).
        Promise.all(
            Object.entries(config.firewalls).map(async ([name, fw]) => {
                const aop = fw.edge?.authenticatedOriginPulls;
                if (!fw.edge || typeof aop !== "object") return;
                try {
                    checkOriginPullRotation(`${name}-edge`, originPullGenerations(aop), await fetchZoneOriginPullCertificates(fw.edge.zoneId));
                } catch (e) {
                    throw new Error(`firewalls.${name}.edge.${(e as Error).message}`);
                }
            }),
        ),
    ]);
    const firewalls = Object.keys(config.firewalls).map((name, i) => [name, resolved[i].args, resolved[i].names] as const);

    // The gate: every check on the real answer and the resolved names, across all
    // firewalls, before the first resource. Then no firewall may lock the deployer out.
    const checked = checkDeployment(Object.fromEntries(firewalls.map(([name, fw]) => [name, fw])), ranges);
    for (const [name] of firewalls) {
        const verdict = checkLockout(name, checked.get(name)!.admitted, deployer.addresses, guard, "problem" in deployer ? deployer.problem : undefined);
        if (verdict.level === "error") throw new LockoutError(verdict.message);
        if (verdict.level === "warn" || verdict.level === "unchecked") pulumi.log.warn(verdict.message);
    }

    const created = firewalls.map(([name, fw, names]) => {
        const args = { ...fw, cloudflare: { ...fw.cloudflare, ranges } };
        const component = fw.provider === "hetzner" ? new HetznerOriginFirewall(name, args) : new DigitalOceanOriginFirewall(name, args);
        const edge = fw.edge ? new CloudflareOriginEdge(`${name}-edge`, fw.edge) : undefined;
        // The same policy as a host firewall: always an output (and cloud-init user
        // data for new servers); delivered over SSH where the stack asks for it.
        const hostRuleset = renderNftables(checked.get(name)!.policy, ranges, fw.hostFirewall);
        const ssh = fw.hostFirewall?.overSsh;
        if (ssh && process.env.CI && ssh.deliverInCi !== true) {
            pulumi.log.warn(
                `firewalls.${name}.hostFirewall: not delivered over SSH because CI is set (a CI runner is not a trusted SSH source); ` +
                    "deploy from a trusted machine, or set hostFirewall.overSsh.deliverInCi: true on a self-hosted runner at a trusted address",
            );
        } else if (ssh) {
            for (const host of ssh.hosts) {
                new HostFirewallOverSsh(hostDeliveryResourceName(name, host), {
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
                resolvedNames: Object.fromEntries(names.map((n) => [n.name, n.addresses])),
                // What each (protocol, port) admits, all rules together: the object every check read.
                admitted: summarizeAdmitted(checked.get(name)!.admitted),
            },
        ] as const;
    });

    /** Per firewall: provider, id, the Cloudflare etag applied, the rule count and its proxied DNS records. */
    return { firewalls: Object.fromEntries(created) };
};
