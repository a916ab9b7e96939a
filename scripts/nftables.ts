/**
 * Prints the host firewall (nftables) of a stack's firewall, ready for `nft -f -`:
 *
 *   npm run nftables -- --stack hetzner-dashboard [--firewall dashboard] [--ranges-file samples/cloudflare-ips-2026-11.json]
 *
 * The same validated policy and ranges as the cloud firewall; a bad config or a
 * rejected answer is a clear error and a non-zero exit, like the plan.
 */
// The modules themselves, not the core barrel: no Pulumi, no provider.
import { renderNftables } from "../components/nftables";
import { validatePolicy } from "../components/policy";
import { EXIT, parseCli, runCli } from "./cli";
import { selectFirewall } from "./firewall-select";
import { loadRanges } from "./ranges";

const USAGE = "usage: npm run nftables -- --stack <name> [--firewall <key>] [--ranges-file <cloudflare-answer.json> | --cloudflare-url <url>]";

async function main(): Promise<number> {
    const values = parseCli({ options: { stack: { type: "string" }, firewall: { type: "string" }, "ranges-file": { type: "string" }, "cloudflare-url": { type: "string" } } }, USAGE);
    const selected = selectFirewall(values.stack!, values.firewall);
    const ranges = await loadRanges({ rangesFile: values["ranges-file"], cloudflareUrl: values["cloudflare-url"] ?? selected.config.cloudflareUrl });
    process.stdout.write(renderNftables(validatePolicy(selected.firewall), ranges, selected.firewall.hostFirewall));
    return EXIT.ok;
}

runCli(module, "nftables", main);
