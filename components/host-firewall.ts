/**
 * Delivery of the host firewall (see nftables.ts for the ruleset
 * itself), provider-free: no @pulumi/command, so a Hetzner- or DigitalOcean-only
 * program can use the cloud-init user data:
 * - `hostFirewallCloudInit`: user data for `hcloud.Server` / `digitalocean.Droplet`
 *   that installs nftables, writes the ruleset and loads it at every boot;
 * - the commands that `HostFirewallOverSsh` (host-ssh.ts) runs over SSH with commit-confirm
 *   (host/cof-host.sh): a new ruleset that cuts the owner off rolls back by itself;
 *   a confirmed one is persisted and loaded at boot by the same unit as cloud-init's.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { Document, isMap, isSeq, parse, Scalar, YAMLMap, YAMLSeq } from "yaml";

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

/** Where the nftables.service drop-in goes: it reloads our table after that service's start, reload and stop, each of which flushes the whole ruleset on Debian. */
export const HOST_NFTABLES_DROPIN_PATH = "/etc/systemd/system/nftables.service.d/cloudflare-origin-firewall.conf";

/** The nftables.service drop-in, as shipped in the package (host/nftables-dropin.conf); cloud-init and the SSH delivery install the same text. */
export function hostNftablesDropIn(): string {
    return hostFile("nftables-dropin.conf");
}

const UNIT = hostUnit();

/** One file for cloud-init's write_files. */
interface UserDataFile {
    path: string;
    permissions: string;
    content: string;
}

// Text a YAML block scalar carries byte for byte: PyYAML's printable set (reader.py
// NON_PRINTABLE, what cloud-init parses with) minus U+0085, a line break to YAML 1.1,
// and without U+2028/U+2029 (line breaks too), U+FEFF (a byte-order mark) or CR.
// Whatever is not in it (U+FFFE, U+FFFF, controls, lone surrogates) is sent as base64.
const BLOCK_SAFE = /^[\t\n\x20-\x7E\xA0-\u2027\u202A-\uD7FF\uE000-\uFEFE\uFF00-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
// And only when the block reads back exactly (a block of spaces alone, for one, does not).
const blockSafe = (text: string) => {
    if (!BLOCK_SAFE.test(text)) return false;
    const probe = new Document({ content: text }, { version: "1.1" });
    (probe.get("content", true) as Scalar).type = Scalar.BLOCK_LITERAL;
    return (parse(probe.toString({ lineWidth: 0 }), { version: "1.1" }) as { content?: unknown }).content === text;
};

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
                blockSafe(f.content) ? { path: f.path, permissions: f.permissions, content: f.content } : { path: f.path, permissions: f.permissions, encoding: "b64", content: Buffer.from(f.content, "utf8").toString("base64") },
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
            { path: HOST_NFTABLES_DROPIN_PATH, permissions: "0644", content: hostNftablesDropIn() },
            { path: `${HOST_STATE_DIR}/cof-host.sh`, permissions: "0700", content: hostScript() },
        ]),
    );
}

/**
 * The shell command that installs the script, the boot unit and the nftables.service
 * drop-in next to it on the host and applies the ruleset read from stdin (the confirm
 * installs and enables the unit and the drop-in).
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
        `cat > ${stateDir}/nftables-dropin.conf <<'COF_HOST_DROPIN'`,
        hostNftablesDropIn().replace(/\n$/, ""),
        "COF_HOST_DROPIN",
        `sh ${stateDir}/cof-host.sh apply ${rollbackSeconds}`,
    ].join("\n");
}

/** The resource name of the delivery of a firewall's host ruleset to one host (the program's naming). */
export function hostDeliveryResourceName(firewall: string, host: string): string {
    return `${firewall}-host-${host}`;
}

/** The shell command that confirms, run over a second, new SSH connection. */
export function remoteConfirmCommand(stateDir = HOST_STATE_DIR): string {
    return `COF_STATE_DIR=${stateDir} sh ${stateDir}/cof-host.sh confirm`;
}
