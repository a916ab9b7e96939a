/**
 * The lockout guard: before anything changes, is the deploying machine still
 * admitted to SSH by the new policy? "You can very quickly lock yourself out."
 * Pure: the addresses are learned elsewhere (trace.ts) and handed in.
 */
import { toCidr } from "./cidr";
import { AdmittedSet, admittingContributions } from "./policy";

/** error: stop the deployment; warn: log and go on; off: do not check. */
export type LockoutGuardMode = "error" | "warn" | "off";

/** The lockout guard refused a deployment (its message says which firewall, which address and the fix). */
export class LockoutError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "LockoutError";
    }
}

/** What the guard concluded for one firewall. */
export interface LockoutVerdict {
    /** ok: admitted; warn/error: a message to log or throw; unchecked: no address was learned. */
    level: "ok" | "warn" | "error" | "unchecked";
    message: string;
}

/** The mode in force: the stack's, else warn when CI is set (a runner is never a trusted source), else error. */
export function lockoutGuardMode(configured: LockoutGuardMode | undefined, env: NodeJS.ProcessEnv = process.env): LockoutGuardMode {
    return configured ?? (env.CI ? "warn" : "error");
}

/**
 * Checks the deployer's addresses against what the admitted set lets reach the SSH
 * port (the union of every rule there, not only the SSH rule).
 * Locked out means no learned address is admitted; an address of the other family
 * that is not admitted only warns (you still get in over the one that is).
 */
export function checkLockout(firewall: string, admitted: AdmittedSet, deployers: readonly string[], mode: LockoutGuardMode, detectionProblem?: string): LockoutVerdict {
    const sshPort = admitted.sshPort;
    if (mode === "off") return { level: "ok", message: "lockout guard is off" };
    if (deployers.length === 0) {
        return {
            level: "unchecked",
            message: `lockout guard: ${detectionProblem ?? "could not learn this machine's public address"}; SSH access to firewall ${firewall} was NOT checked`,
        };
    }
    const refused = deployers.filter((a) => admittingContributions(admitted, "tcp", sshPort, toCidr(a)).length === 0);
    if (refused.length === 0) return { level: "ok", message: `lockout guard: ${deployers.join(" and ")} may reach SSH (tcp ${sshPort}) through firewall ${firewall}` };
    if (refused.length < deployers.length) {
        return {
            level: "warn",
            message: `lockout guard: firewall ${firewall} admits this machine to SSH only over ${deployers.filter((a) => !refused.includes(a)).join(", ")}; from ${refused.join(", ")} SSH (tcp ${sshPort}) would be refused`,
        };
    }
    const fix = refused.map((a) => `"${a}"`).join(" or ");
    const message =
        `lockout guard: this deployment would lock you out of firewall ${firewall}: SSH (tcp ${sshPort}) does not admit this machine's address ${refused.join(" / ")}. ` +
        `Add ${fix} (or your network, or a dynamic-DNS name) to firewalls.${firewall}.ssh.sources, or set lockoutGuard: warn (or off) for this stack if you reach the server another way`;
    return { level: mode === "error" ? "error" : "warn", message };
}
