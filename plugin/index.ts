// The plugin entry (`pulumi package add`): serves the components to every Pulumi
// language. Only the library is loaded here, never the stack program (../index.ts).
// The host is started explicitly, with this directory's package.json and
// tsconfig.json, so the schema is inferred from ./components and not from the
// repository root's entry points.
import { componentProviderHost } from "@pulumi/pulumi/provider/experimental";
import { HostFirewallOverSsh } from "../components/host-ssh";
import { CloudflareOriginEdge, DigitalOceanOriginFirewall, HetznerOriginFirewall } from "./components";

export { CloudflareOriginEdge, DigitalOceanOriginFirewall, HetznerOriginFirewall, HostFirewallOverSsh };

/** The components served, in schema order. */
export const COMPONENTS = [HetznerOriginFirewall, DigitalOceanOriginFirewall, CloudflareOriginEdge, HostFirewallOverSsh];

/** The package name, and so every type token's prefix (cloudflare-origin-firewall:index:…). */
export const PACKAGE_NAME = "cloudflare-origin-firewall";

// Imported by the schema test and script, this module only declares; run as the
// plugin (by Pulumi's run-plugin, or node), it serves.
if (process.env.COF_PLUGIN_NO_HOST !== "1") {
    void componentProviderHost({ name: PACKAGE_NAME, components: COMPONENTS, dirname: __dirname });
}
