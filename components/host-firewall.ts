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
import { Document, isMap, isSeq, Scalar, YAMLMap, YAMLSeq } from "yaml";
import { PolicyError } from "./policy";
import { COMPONENT_TYPES, withPreviousType } from "./tokens";
import { hostAddressProblem, showText, usernameProblem } from "./text";

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

/** One file for cloud-init's write_files. */
interface UserDataFile {
    path: string;
    permissions: string;
    content: string;
}

// Text a YAML block scalar carries byte for byte, in YAML 1.1 (cloud-init's PyYAML)
// as in 1.2: no control characters but tab and line feed, no U+0085/U+2028/U+2029
// (line breaks to YAML 1.1), no format characters. Anything else is sent as base64.
const BLOCK_SAFE = /^[^\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]*$/u;
const blockSafe = (text: string) => BLOCK_SAFE.test(text.replace(/[\t\n]/g, ""));

/**
 * The user data as a YAML document built from its model (never by concatenation):
 * file contents as literal block scalars, or base64 (`encoding: b64`) when they hold
 * characters a block scalar cannot carry exactly. Written for YAML 1.1, so every
 * string that 1.1 would read as something else (0600, yes, on) is quoted.
 */
function userData(files: UserDataFile[]): string {
    const doc = new Document(
        {
            package_update: true,
            packages: ["nftables"],
            write_files: files.map((f) =>
                blockSafe(f.content)
                    ? { path: f.path, permissions: f.permissions, content: f.content }
                    : { path: f.path, permissions: f.permissions, encoding: "b64", content: Buffer.from(f.content, "utf8").toString("base64") },
            ),
            runcmd: [
                ["systemctl", "daemon-reload"],
                ["systemctl", "enable", "--now", "cloudflare-origin-firewall.service"],
            ],
        },
        { version: "1.1" },
    );
    const writeFiles = doc.get("write_files") as YAMLSeq<YAMLMap>;
    for (const file of writeFiles.items) {
        const content = file.get("content", true) as Scalar;
        if (!file.has("encoding")) content.type = Scalar.BLOCK_LITERAL;
    }
    const runcmd = doc.get("runcmd");
    if (isSeq(runcmd)) for (const c of runcmd.items) if (isSeq(c) || isMap(c)) c.flow = true;
    doc.commentBefore = "cloud-config\n cloudflare-origin-firewall: the host firewall, loaded at every boot.";
    return doc.toString({ lineWidth: 0, directives: false });
}

/**
 * cloud-init user data that installs nftables, writes the ruleset and a unit that
 * loads it before the network comes up at every boot. Only our table is loaded
 * (no `flush ruleset`), so Docker's and the distribution's tables are left alone.
 * Serialised with the `yaml` library: whatever the ruleset holds, it is written
 * byte for byte and cannot add or change a key.
 */
export function hostFirewallCloudInit(ruleset: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.output(ruleset).apply((text) =>
        userData([
            { path: HOST_RULESET_PATH, permissions: "0600", content: text },
            { path: "/etc/systemd/system/cloudflare-origin-firewall.service", permissions: "0644", content: UNIT },
            { path: `${HOST_STATE_DIR}/cof-host.sh`, permissions: "0700", content: hostScript() },
        ]),
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

/**
 * Checks the delivery settings that can be checked before deployment: the timings,
 * and the host and user when they are plain strings (they reach the SSH client
 * and the plan's output, so they must be an address or hostname and a user name).
 */
export function validateSshDelivery(
    args: Pick<HostFirewallOverSshArgs, "rollbackSeconds" | "dialTimeoutSeconds"> & { connection?: Pick<HostSshConnection, "host" | "user"> },
): { rollbackSeconds: number; dialTimeoutSeconds: number } {
    const host = args.connection?.host;
    const hostProblem = typeof host === "string" ? hostAddressProblem(host) : undefined;
    if (hostProblem) throw new PolicyError(`connection.host: ${showText(host)} ${hostProblem}`);
    const user = args.connection?.user;
    const userProblem = typeof user === "string" ? usernameProblem(user) : undefined;
    if (userProblem) throw new PolicyError(`connection.user: ${showText(user)} ${userProblem}`);
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
