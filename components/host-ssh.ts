/**
 * The host firewall delivered over SSH at every deploy, with commit-confirm
 * (host/cof-host.sh, the commands in host-firewall.ts): a new ruleset that cuts the
 * owner off rolls back by itself. The only module that needs @pulumi/command.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { remoteApplyCommand, remoteConfirmCommand } from "./host-firewall";
import { PolicyError } from "./policy";
import { hostAddressProblem, showText, usernameProblem } from "./text";
import { COMPONENT_TYPES, withPreviousType } from "./tokens";

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
 * @internal Exported for the tests; not part of the package API.
 */
export function validateSshDelivery(args: Pick<HostFirewallOverSshArgs, "rollbackSeconds" | "dialTimeoutSeconds"> & { connection?: Pick<HostSshConnection, "host" | "user"> }): { rollbackSeconds: number; dialTimeoutSeconds: number } {
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
const SSH_DIAL_ATTEMPTS = 2;

/**
 * Applies the host ruleset over SSH at every deploy where it changed, with
 * commit-confirm: `apply` (first connection) saves the running table, schedules a
 * rollback and loads the new ruleset; `confirm` (a second, new connection, which
 * only succeeds if the new rules still let the deployer in) cancels the rollback
 * and persists the ruleset, installing and enabling the boot unit; it names the
 * ruleset's sha256, so it never confirms another deployment's apply.
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
        this.apply = new command.remote.Command(`${name}-apply`, { connection, create: remoteApplyCommand(rollbackSeconds), stdin: args.ruleset, triggers: [this.rulesetDigest], logging: "stdoutAndStderr" }, { parent: this });
        this.confirm = new command.remote.Command(
            `${name}-confirm`,
            { connection, create: this.rulesetDigest.apply((d) => remoteConfirmCommand(d, undefined, rollbackSeconds)), stdin: args.ruleset, triggers: [this.rulesetDigest], logging: "stdoutAndStderr" },
            { parent: this, dependsOn: [this.apply] },
        );
        this.registerOutputs({ rulesetDigest: this.rulesetDigest });
    }
}
