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
import { PolicyError } from "./policy";
import { showText } from "./text";

/** Where the ruleset is kept on the host, loaded at boot. @internal Exported for the tests; not part of the package API. */
export const HOST_RULESET_PATH = "/etc/cloudflare-origin-firewall/ruleset.nft";
/** Where the commit-confirm script and the boot unit are kept on the host. */
const HOST_STATE_DIR = "/var/lib/cloudflare-origin-firewall";
/** The systemd unit that loads the persisted ruleset at boot, on every delivery path. @internal Exported for the tests; not part of the package API. */
export const HOST_UNIT_NAME = "cloudflare-origin-firewall.service";

function hostFile(name: string): string {
    // components/ in the repo, dist/components/ in the package: host/ is at the root of both.
    for (const root of [path.join(__dirname, ".."), path.join(__dirname, "..", "..")]) {
        const file = path.join(root, "host", name);
        if (fs.existsSync(file)) return fs.readFileSync(file, "utf8");
    }
    throw new Error(`host/${name} is missing from the package`);
}

/** The commit-confirm script, as shipped in the package (host/cof-host.sh). @internal Exported for the tests; not part of the package API. */
export function hostScript(): string {
    return hostFile("cof-host.sh");
}

/** The boot unit, as shipped in the package (host/cloudflare-origin-firewall.service); cloud-init and the SSH delivery install the same text. @internal Exported for the tests; not part of the package API. */
export function hostUnit(): string {
    return hostFile(HOST_UNIT_NAME);
}

/** Where the nftables.service drop-in goes: it reloads our table after that service's start, reload and stop, each of which flushes the whole ruleset on Debian. @internal Exported for the tests; not part of the package API. */
export const HOST_NFTABLES_DROPIN_PATH = "/etc/systemd/system/nftables.service.d/cloudflare-origin-firewall.conf";

/** The nftables.service drop-in, as shipped in the package (host/nftables-dropin.conf); cloud-init and the SSH delivery install the same text. @internal Exported for the tests; not part of the package API. */
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

/** A state directory for the shell: an absolute path of plain characters, single-quoted. */
function shellDir(stateDir: string): string {
    if (typeof stateDir !== "string" || !/^\/[A-Za-z0-9_./-]*$/.test(stateDir) || stateDir.split("/").includes("..")) {
        throw new PolicyError(`stateDir: ${showText(stateDir)} is not an absolute path of letters, digits and "_./-" (no ".."); use e.g. "${HOST_STATE_DIR}"`);
    }
    return `'${stateDir}'`;
}

/**
 * The shell command that installs the script, the boot unit and the nftables.service
 * drop-in next to it on the host and applies the ruleset read from stdin (the confirm
 * installs and enables the unit and the drop-in). Each file is written to a temporary
 * name and renamed into place: a concurrent deploy's shell still reading the old
 * script keeps reading the old file, never one being rewritten.
 */
export function remoteApplyCommand(rollbackSeconds: number, stateDir = HOST_STATE_DIR): string {
    const dir = shellDir(stateDir);
    if (!Number.isInteger(rollbackSeconds) || rollbackSeconds < 0) throw new PolicyError(`rollbackSeconds: ${JSON.stringify(rollbackSeconds)} must be a whole number of seconds`);
    const put = (name: string, mode: string, marker: string, text: string) => [`put ${name} ${mode} <<'${marker}'`, text.replace(/\n$/, ""), marker];
    return [
        "set -e",
        "umask 077",
        `export COF_STATE_DIR=${dir}`,
        'mkdir -p "$COF_STATE_DIR"',
        // Whole file under a temporary name, then one rename.
        'put() { t=$(mktemp "$COF_STATE_DIR/.$1.XXXXXX") && cat > "$t" && chmod "$2" "$t" && mv -f "$t" "$COF_STATE_DIR/$1"; }',
        ...put("cof-host.sh", "700", "COF_HOST_SCRIPT", hostScript()),
        ...put(HOST_UNIT_NAME, "644", "COF_HOST_UNIT", hostUnit()),
        ...put("nftables-dropin.conf", "644", "COF_HOST_DROPIN", hostNftablesDropIn()),
        `sh "$COF_STATE_DIR/cof-host.sh" apply ${rollbackSeconds}`,
    ].join("\n");
}

/** The resource name of the delivery of a firewall's host ruleset to one host (the program's naming). */
export function hostDeliveryResourceName(firewall: string, host: string): string {
    return `${firewall}-host-${host}`;
}

/**
 * The shell command that confirms, run over a second, new SSH connection. With the
 * ruleset's sha256 (`HostFirewallOverSsh` passes it), it confirms only the apply of
 * that ruleset: a later deployment's pending apply is left to its own confirm. With
 * `reapplySeconds` too (and the ruleset on stdin), a confirm that finds nothing of
 * it pending (rolled back after a failed or late confirm) applies it again with that
 * rollback and fails, so the next deployment's confirm, over a new connection, can
 * persist it: the stack never stays stuck on "nothing to confirm".
 */
export function remoteConfirmCommand(digest?: string, stateDir = HOST_STATE_DIR, reapplySeconds?: number): string {
    if (digest !== undefined && !/^[0-9a-f]{64}$/.test(digest)) throw new PolicyError(`digest: ${showText(digest)} is not a sha256 in lower-case hex (64 digits)`);
    if (reapplySeconds !== undefined && (digest === undefined || !Number.isInteger(reapplySeconds) || reapplySeconds < 0)) {
        throw new PolicyError(`reapplySeconds: ${JSON.stringify(reapplySeconds)} must be a whole number of seconds, given with the digest`);
    }
    const dir = shellDir(stateDir);
    return `COF_STATE_DIR=${dir} sh ${dir}/cof-host.sh confirm${digest === undefined ? "" : ` ${digest}`}${reapplySeconds === undefined ? "" : ` ${reapplySeconds}`}`;
}
