/** Picks one firewall of a stack for the tools that work on one (nftables, audit). */
import { FirewallConfig, parseStackConfig, StackConfig } from "../components/config";
import { loadStackConfig, projectConfigOf } from "./stack-config";

export interface SelectedFirewall {
    stack: string;
    key: string;
    firewall: FirewallConfig;
    config: StackConfig;
}

/** Loads and validates the stack's config and returns the firewall `key` (or the only one). */
export function selectFirewall(stack: string, key: string | undefined): SelectedFirewall {
    const config = parseStackConfig(projectConfigOf(loadStackConfig(stack)));
    const keys = Object.keys(config.firewalls);
    if (key === undefined) {
        if (keys.length > 1) throw new Error(`stack ${stack} has ${keys.length} firewalls (${keys.join(", ")}); pick one with --firewall`);
        key = keys[0];
    }
    const firewall = config.firewalls[key];
    if (!firewall) throw new Error(`stack ${stack} has no firewall "${key}" (firewalls: ${keys.join(", ")})`);
    return { stack, key, firewall, config };
}
