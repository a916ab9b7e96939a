/**
 * Delivery of the host firewall (see nftables.ts for the ruleset itself):
 * - `hostFirewallCloudInit`: user data for `hcloud.Server` / `digitalocean.Droplet`
 *   that installs nftables, writes the ruleset and loads it at every boot;
 * - `HostFirewallOverSsh`: applies it at every deploy over SSH with commit-confirm
 *   (host/cof-host.sh): a new ruleset that cuts the owner off rolls back by itself;
 *   a confirmed one is persisted and loaded at boot by the same unit as cloud-init's.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { PolicyError } from "./policy";
import { COMPONENT_TYPES, withPreviousType } from "./tokens";

/** Where the ruleset is kept on the host, loaded at boot. */
export const HOST_RULESET_PATH = "/etc/cloudflare-origin-firewall/ruleset.nft";
/** Where the commit-confirm script and the boot unit are kept on the host. */
export const HOST_STATE_DIR = "/var/lib/cloudflare-origin-firewall";
/** Where the commit-confirm script keeps its runtime state (lock, pending apply): gone after a reboot. */
export const HOST_RUN_DIR = "/run/cloudflare-origin-firewall";
/** The systemd unit that loads the persisted ruleset at boot, on every delivery path. */
export const HOST_UNIT_NAME = "cloudflare-origin-firewall.service";

function hostFile(name: string): string {
    // components/ in the repo, dist/components/ in the package: host/ is at the root of both.
    for (const root of [path.join(__dirname, ".."), path.join(__dirname, "..", "..")]) {
        const file = path.join(root, "host", name);
        if (fs.existsSync(file)) return fs.readFileSync(file, "utf8");
    }
    throw new Error(`host/${name} is missing from the package`);
}

/** The commit-confirm script, as shipped in the package (host/cof-host.sh). */
export function hostScript(): string {
    return hostFile("cof-host.sh");
}

/** The boot unit, as shipped in the package (host/cloudflare-origin-firewall.service); cloud-init and the SSH delivery install the same text. */
export function hostUnit(): string {
    return hostFile(HOST_UNIT_NAME);
}

const UNIT = hostUnit();

const indent = (text: string) => text.replace(/\n$/, "").split("\n").map((l) => `      ${l}`).join("\n");

/**
 * cloud-init user data that installs nftables, writes the ruleset and a unit that
 * loads it before the network comes up at every boot. Only our table is loaded
 * (no `flush ruleset`), so Docker's and the distribution's tables are left alone.
 */
export function hostFirewallCloudInit(ruleset: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.output(ruleset).apply((text) =>
        [
            "#cloud-config",
            "# cloudflare-origin-firewall: the host firewall, loaded at every boot.",
            "package_update: true",
            "packages:",
            "  - nftables",
            "write_files:",
            `  - path: ${HOST_RULESET_PATH}`,
            "    permissions: '0600'",
            "    content: |",
            indent(text),
            "  - path: /etc/systemd/system/cloudflare-origin-firewall.service",
            "    permissions: '0644'",
            "    content: |",
            indent(UNIT),
            `  - path: ${HOST_STATE_DIR}/cof-host.sh`,
            "    permissions: '0700'",
            "    content: |",
            indent(hostScript()),
            "runcmd:",
            "  - [systemctl, daemon-reload]",
            "  - [systemctl, enable, --now, cloudflare-origin-firewall.service]",
            "",
        ].join("\n"),
    );
}

/**
 * The shell command that installs the script and the boot unit next to it on the
 * host and applies the ruleset read from stdin (the confirm installs and enables the unit).
 */
export function remoteApplyCommand(rollbackSeconds: number, stateDir = HOST_STATE_DIR): string {
    return [
        "set -e",
        "umask 077",
        `export COF_STATE_DIR=${stateDir}`,
        `mkdir -p ${stateDir}`,
        `cat > ${stateDir}/cof-host.sh <<'COF_HOST_SCRIPT'`,
        hostScript().replace(/\n$/, ""),
        "COF_HOST_SCRIPT",
        `cat > ${stateDir}/${HOST_UNIT_NAME} <<'COF_HOST_UNIT'`,
        hostUnit().replace(/\n$/, ""),
        "COF_HOST_UNIT",
        `sh ${stateDir}/cof-host.sh apply ${rollbackSeconds}`,
    ].join("\n");
}

/** The shell command that confirms, run over a second, new SSH connection. */
export function remoteConfirmCommand(stateDir = HOST_STATE_DIR): string {
    return `COF_STATE_DIR=${stateDir} sh ${stateDir}/cof-host.sh confirm`;
}

/** How to reach the host over SSH. */
export interface HostSshConnection {
    /** Address or name of the host. */
    host: pulumi.Input<string>;
    /** SSH port; default 22. */
    port?: pulumi.Input<number>;
    /** User; default root (loading nftables needs it). */
    user?: pulumi.Input<string>;
    /** Private key (PEM or OpenSSH); a secret. Without it the SSH agent is used. */
    privateKey?: pulumi.Input<string>;
    /** SSH agent socket; default the SSH_AUTH_SOCK of the deploying machine. */
    agentSocketPath?: pulumi.Input<string>;
    /** The host's public key, to pin it. */
    hostKey?: pulumi.Input<string>;
}

/** Arguments of `HostFirewallOverSsh`. */
export interface HostFirewallOverSshArgs {
    /** The ruleset (`renderNftables`). */
    ruleset: pulumi.Input<string>;
    /** How to reach the host. */
    connection: HostSshConnection;
    /** Seconds the new ruleset has to be confirmed before it rolls back; default 60 (10 to 600). */
    rollbackSeconds?: number;
    /** Seconds one SSH dial may take; default 10. Two dials at most, so a filtered host fails fast. */
    dialTimeoutSeconds?: number;
}

/** Checks the delivery settings that can be checked before deployment. */
export function validateSshDelivery(args: Pick<HostFirewallOverSshArgs, "rollbackSeconds" | "dialTimeoutSeconds">): { rollbackSeconds: number; dialTimeoutSeconds: number } {
    const rollbackSeconds = args.rollbackSeconds ?? 60;
    if (!Number.isInteger(rollbackSeconds) || rollbackSeconds < 10 || rollbackSeconds > 600) {
        throw new PolicyError(`rollbackSeconds: ${JSON.stringify(args.rollbackSeconds)} must be a whole number from 10 to 600; it is how long a new ruleset waits for the confirming connection`);
    }
    const dialTimeoutSeconds = args.dialTimeoutSeconds ?? 10;
    if (!Number.isInteger(dialTimeoutSeconds) || dialTimeoutSeconds < 1 || dialTimeoutSeconds > 60) {
        throw new PolicyError(`dialTimeoutSeconds: ${JSON.stringify(args.dialTimeoutSeconds)} must be a whole number from 1 to 60`);
    }
    return { rollbackSeconds, dialTimeoutSeconds };
}

/** Two dials at most, each bounded: a filtered or refused SSH port fails the deployment quickly instead of hanging it. */
export const SSH_DIAL_ATTEMPTS = 2;

/**
 * Applies the host ruleset over SSH at every deploy where it changed, with
 * commit-confirm: `apply` (first connection) saves the running table, schedules a
 * rollback and loads the new ruleset; `confirm` (a second, new connection, which
 * only succeeds if the new rules still let the deployer in) cancels the rollback
 * and persists the ruleset, installing and enabling the boot unit.
 */
export class HostFirewallOverSsh extends pulumi.ComponentResource {
    /** The first connection: apply with a scheduled rollback. */
    public readonly apply: command.remote.Command;
    /** The second, new connection: confirm and persist. */
    public readonly confirm: command.remote.Command;
    /** Digest of the ruleset applied; a change re-runs both commands. */
    public readonly rulesetDigest: pulumi.Output<string>;

    constructor(name: string, args: HostFirewallOverSshArgs, opts?: pulumi.ComponentResourceOptions) {
        super(COMPONENT_TYPES.HostFirewallOverSsh.type, name, {}, withPreviousType(opts, COMPONENT_TYPES.HostFirewallOverSsh.previous));
        const { rollbackSeconds, dialTimeoutSeconds } = validateSshDelivery(args);
        const c = args.connection;
        const connection: command.types.input.remote.ConnectionArgs = {
            host: c.host,
            port: c.port ?? 22,
            user: c.user ?? "root",
            ...(c.privateKey === undefined ? {} : { privateKey: pulumi.secret(c.privateKey) }),
            ...(c.agentSocketPath === undefined ? {} : { agentSocketPath: c.agentSocketPath }),
            ...(c.hostKey === undefined ? {} : { hostKey: c.hostKey }),
            dialErrorLimit: SSH_DIAL_ATTEMPTS,
            perDialTimeout: dialTimeoutSeconds,
        };
        this.rulesetDigest = pulumi.output(args.ruleset).apply((r) => createHash("sha256").update(r).digest("hex"));
        this.apply = new command.remote.Command(
            `${name}-apply`,
            { connection, create: remoteApplyCommand(rollbackSeconds), stdin: args.ruleset, triggers: [this.rulesetDigest], logging: "stdoutAndStderr" },
            { parent: this },
        );
        this.confirm = new command.remote.Command(
            `${name}-confirm`,
            { connection, create: remoteConfirmCommand(), triggers: [this.rulesetDigest], logging: "stdoutAndStderr" },
            { parent: this, dependsOn: [this.apply] },
        );
        this.registerOutputs({ rulesetDigest: this.rulesetDigest });
    }
}
