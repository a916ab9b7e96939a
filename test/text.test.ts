// Issue 19: text from config and from the network never changes what we emit.
// Validators (components/text.ts) at the config and the component boundary, the one
// nftables quoting function, cloud-init user data parsed back, the one escaping
// function. No test relies on one spelling: tables over every character class and
// fast-check properties. (Loading with `nft -c` and the CLIs: text-emit.test.ts.)
import Ajv2020 from "ajv/dist/2020";
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { installMocks, valueOf } from "../scripts/mock-runtime";
import { SAMPLE_RANGES } from "./helpers/fixtures";

installMocks();
import { CloudflareOriginEdge, ConfigError, DigitalOceanOriginFirewall, HetznerOriginFirewall, hostFirewallCloudInit, HostFirewallOverSsh, parseStackConfig, PolicyError, renderNftables, renderPolicy, validatePolicy } from "../components";
import { validateEdge } from "../components/cloudflare-edge-rules";
import { validateDigitalOceanPlacement } from "../components/digitalocean-rules";
import { toHetznerApplyTos, validateHetznerNaming } from "../components/hetzner-rules";
import { hostNftablesDropIn, hostUnit, HOST_RULESET_PATH, hostScript } from "../components/host-firewall";
import { validateSshDelivery } from "../components/host-ssh";
import { formatNftRuleset, nftComment } from "../components/nftables";
import { splitRules } from "../components/policy";
import { descriptionProblem, escapeText, MAX_DESCRIPTION_BYTES, truncateUtf8 } from "../components/text";

// ---------------------------------------------------------------- the characters
/**
 * Every kind of character we refuse, with its U+ name: C0, DEL, C1, separators, bidi and other format characters, a lone surrogate,
 * noncharacters (U+FFFE/U+FFFF make PyYAML refuse the user data: "unacceptable character #xfffe"), the invisible fillers.
 */
export const UNPRINTABLE: readonly string[] = [
    "\x00",
    "\x07",
    "\x08",
    "\t",
    "\n",
    "\x0b",
    "\x0c",
    "\r",
    "\x1b",
    "\x1f",
    "\x7f",
    "\x80",
    "\x85",
    "\x9b",
    "\x9f",
    "\u2028",
    "\u2029",
    "\u061c",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u200e",
    "\u200f",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2060",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\ufeff",
    "\u{e0001}",
    "\u{e0041}",
    "\ud800",
    "\udfff",
    "\ufffe",
    "\uffff",
    "\ufdd0",
    "\ufdef",
    "\u{1fffe}",
    "\u{10ffff}",
    "\u115f",
    "\u1160",
    "\u3164",
    "\uffa0",
    "\u2800",
];
const uName = (ch: string) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
const unprintable = fc.constantFrom(...UNPRINTABLE);
/** Printable text of every width in UTF-8: ASCII (quotes and backslash too), Latin-1, a combining accent, CJK, emoji. */
const printableChar = fc.oneof(
    fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    fc.constantFrom("ä", "ö", "ü", "ß", "é", "e\u0301", "€", "日", "本", "語", "ア", "😀", "👍🏽", "\u00a0", "\u3000"),
);
const printable = (maxLength: number) => fc.array(printableChar, { minLength: 1, maxLength }).map((a) => a.join(""));
/** Printable text with one refused character somewhere in it. */
const injected = fc.tuple(printable(30), unprintable, printable(30)).map(([a, bad, b]) => ({ text: `x${a}${bad}${b}`, bad }));

/** The reviewer's payloads: a top-level cloud-init key after each kind of line break, a terminal rewrite, a bidi reorder. */
const PAYLOADS = [
    ...["\r", "\n", "\u2028", "\u2029", "\u0085"].map((nl) => [`Dashboard${nl}bootcmd:${nl}  - [sh, -c, 'id > /root/pwned']`, nl] as const),
    ["Dashboard\x1b[2K\r 0.0.0.0/0 shows as 203.0.113.10\x1b[8m", "\x1b"] as const,
    ["Dashboard \u202e01.311.0.302\u202c", "\u202e"] as const,
];

/** No refused character survives in `text` (the message itself is inert). */
const inertText = (text: string) => expect([...text].filter((c) => UNPRINTABLE.includes(c)).map(uName)).toEqual([]);

const thrown = (f: () => unknown): Error => {
    try {
        f();
    } catch (e) {
        return e as Error;
    }
    throw new Error("did not throw");
};

// ---------------------------------------------------------------- descriptions
const base = { ssh: { sources: ["203.0.113.10"] } };
const withDescription = (description: string) => ({ ...base, rules: [{ description, port: 9000, sources: ["203.0.113.10"] }] });
const stack = (fw: Record<string, unknown>) => ({ firewalls: { web: { provider: "hetzner", ssh: { sources: ["203.0.113.10"] }, ...fw } } });

describe("descriptions: printable only", () => {
    test.each(PAYLOADS)("the payload %j is refused by the policy and by the config, naming the field, the character and the fix", (payload, bad) => {
        const e = thrown(() => validatePolicy(withDescription(payload)));
        expect(e).toBeInstanceOf(PolicyError);
        expect(e.message).toMatch(new RegExp(`^rules\\[0\\]\\.description: ".*" contains ${uName(bad).replace("+", "\\+")} \\(.*\\) at character \\d+; .*use printable text only: remove it$`));
        inertText(e.message);
        const c = thrown(() => parseStackConfig(stack({ rules: [{ description: payload, port: 9000, sources: ["203.0.113.10"] }] })));
        expect(c).toBeInstanceOf(ConfigError);
        expect(c.message).toContain(`firewalls.web.rules[0].description: `);
        expect(c.message).toContain(`contains ${uName(bad)}`);
        inertText(c.message);
    });

    test("property: any refused character anywhere is refused at both boundaries, by its U+ name and position", () => {
        fc.assert(
            fc.property(injected, ({ text, bad }) => {
                const e = thrown(() => validatePolicy(withDescription(text)));
                const position = [...text].indexOf(bad) + 1;
                expect(e.message).toContain(`contains ${uName(bad)} (`);
                expect(e.message).toContain(`at character ${position};`);
                inertText(e.message);
                const c = thrown(() => parseStackConfig(stack({ rules: [{ description: text, port: 9000, sources: ["203.0.113.10"] }] })));
                expect(c.message).toContain(`contains ${uName(bad)} (`);
                inertText(c.message);
            }),
            { numRuns: 300 },
        );
    });

    test("the components refuse them too, before anything is registered", () => {
        for (const [payload] of PAYLOADS) {
            const args = withDescription(payload);
            expect(() => new HetznerOriginFirewall("h", { ...args, cloudflare: { ranges: SAMPLE_RANGES } })).toThrow(/rules\[0\]\.description: .* contains U\+/);
            expect(() => new DigitalOceanOriginFirewall("do-fw", { ...args, cloudflare: { ranges: SAMPLE_RANGES } })).toThrow(/rules\[0\]\.description: .* contains U\+/);
        }
    });
});

// The limit: nftables src/parser_bison.y (netfilter nftables v1.0.6), comment_spec:
// `if (strlen($2) > NFTNL_UDATA_COMMENT_MAXLEN)` -> "comment too long"; libnftnl
// include/libnftnl/udata.h (libnftnl-1.2.4): `#define NFTNL_UDATA_COMMENT_MAXLEN 128`.
// strlen counts bytes. Loading at the boundary is checked with nft itself in text-emit.test.ts.
describe("descriptions: at most 128 bytes of UTF-8", () => {
    const JAPANESE_71 = "本番環境の管理画面へのアクセスは東京本社と大阪支社の固定アドレスからのみ許可し、監視サーバーと運用チームの踏み台サーバからの接続も許可します。";
    const GERMAN_84 = "Zugang zu Überwachungsoberfläche nur aus den Büros in Köln und Düsseldorf für Prüfer";

    test("a 71-character Japanese description is refused with its byte count; an 84-character German one fits", () => {
        expect([[...JAPANESE_71].length, [...GERMAN_84].length]).toEqual([71, 84]);
        expect(() => validatePolicy(withDescription(JAPANESE_71))).toThrow(
            "is 213 bytes in UTF-8 (71 characters); a description may take at most 128 bytes, the size of an nftables comment on the host firewall (letters outside ASCII take 2 to 4 bytes each): shorten it by 85 bytes",
        );
        expect(() => parseStackConfig(stack({ rules: [{ description: JAPANESE_71, port: 9000, sources: ["203.0.113.10"] }] }))).toThrow("firewalls.web.rules[0].description: ");
        expect(validatePolicy(withDescription(GERMAN_84)).rules[0].description).toBe(GERMAN_84);
        expect(validatePolicy(withDescription(GERMAN_84.normalize("NFD"))).rules[0].description).toBe(GERMAN_84.normalize("NFD"));
    });

    test("property: a printable description is accepted exactly when it is at most 128 bytes, and kept byte for byte", () => {
        fc.assert(
            fc.property(printable(140), (text) => {
                const d = text.trim();
                fc.pre(d !== "");
                const bytes = Buffer.byteLength(d);
                if (bytes <= MAX_DESCRIPTION_BYTES) {
                    expect(descriptionProblem(text)).toBeUndefined();
                    expect(validatePolicy(withDescription(text)).rules[0].description).toBe(d);
                } else {
                    expect(descriptionProblem(text)).toContain(`is ${bytes} bytes in UTF-8`);
                }
            }),
            { numRuns: 500 },
        );
    });

    // Hetzner: the vendored cloud.spec.json gives rules[].description "maxLength": 255
    // (test/provider-schemas/hcloud-firewall.schema.json, [spec-keyword]). The longest
    // description with the longest part suffix we add (50 rules at most) still fits,
    // even counted in bytes (47 parts + SSH + HTTPS: Hetzner's 50 rules). DigitalOcean firewall rules carry no description
    // (do-firewall.schema.json: inbound_rules items have no such property).
    test("the longest description with the longest part suffix fits Hetzner's schema, counted in characters or bytes", () => {
        const schema = JSON.parse(fs.readFileSync(path.join(__dirname, "provider-schemas", "hcloud-firewall.schema.json"), "utf8"));
        const validate = new Ajv2020({ strict: false, validateFormats: false }).compile(schema);
        expect(schema.properties.rules.items.properties.description.maxLength).toBe(255);
        const doRule = JSON.parse(fs.readFileSync(path.join(__dirname, "provider-schemas", "do-firewall.schema.json"), "utf8")).properties.inbound_rules.items;
        expect(Object.keys(doRule.properties)).toEqual(["protocol", "ports", "sources"]);
        for (const d of ["x".repeat(128), "é".repeat(64), "日".repeat(42), "😀".repeat(32)]) {
            const policy = validatePolicy({ ...base, rules: [{ description: d, port: 9000, sources: Array.from({ length: 4700 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`) }] });
            const split = splitRules(renderPolicy(policy, SAMPLE_RANGES), 100);
            expect(split.map((r) => r.description)).toContain(`${d} (part 47 of 47)`);
            const longest = split.map((r) => r.description).sort((a, b) => Buffer.byteLength(b) - Buffer.byteLength(a))[0];
            expect(Buffer.byteLength(longest)).toBeLessThanOrEqual(255);
            const body = { name: "fw", rules: split.map((r) => ({ direction: "in", protocol: r.protocol, port: r.port, source_ips: r.sources.slice(0, 1), destination_ips: [], description: r.description })) };
            expect([validate(body), validate.errors]).toEqual([true, null]);
        }
    });
});

// ---------------------------------------------------------------- other kinds of text
describe("names, labels, selectors, hostnames, SSH hosts and users", () => {
    // [what, component check, config that carries it, field named in the config error]
    const cases: [string, (bad: string) => unknown, (bad: string) => unknown, string][] = [
        ["Hetzner firewall name", (b) => validateHetznerNaming(`web${b}`, {}), (b) => stack({ firewallName: `web${b}` }), "firewalls.web.firewallName: "],
        ["Hetzner label key", (b) => validateHetznerNaming("web", { [`app${b}`]: "x" }), (b) => stack({ labels: { [`app${b}`]: "x" } }), "firewalls.web.labels: key "],
        ["Hetzner label value", (b) => validateHetznerNaming("web", { app: `x${b}` }), (b) => stack({ labels: { app: `x${b}` } }), "firewalls.web.labels.app: "],
        ["Hetzner label selector", (b) => toHetznerApplyTos({ labelSelectors: [`app=web${b}`] }), (b) => stack({ applyTo: { labelSelectors: [`app=web${b}`] } }), "firewalls.web.applyTo.labelSelectors[0]: "],
        ["DigitalOcean firewall name", (b) => validateDigitalOceanPlacement({}, `api${b}`), (b) => ({ firewalls: { api: { provider: "digitalocean", ssh: { sources: ["203.0.113.10"] }, firewallName: `api${b}` } } }), "firewalls.api.firewallName: "],
        ["DigitalOcean tag", (b) => validateDigitalOceanPlacement({ tags: [`api${b}`] }, "api"), (b) => ({ firewalls: { api: { provider: "digitalocean", ssh: { sources: ["203.0.113.10"] }, tags: [`api${b}`] } } }), "firewalls.api.tags[0]: "],
        [
            "edge hostname",
            (b) => validateEdge({ zoneId: "0123456789abcdef0123456789abcdef", records: { [`www${b}.example.com`]: { ipv4: "203.0.113.20" } } }),
            (b) => stack({ edge: { zoneId: "0123456789abcdef0123456789abcdef", records: { [`www${b}.example.com`]: { ipv4: "203.0.113.20" } } } }),
            "firewalls.web.edge.records: ",
        ],
        ["SSH host", (b) => validateSshDelivery({ connection: { host: `203.0.113.30${b}` } }), (b) => stack({ hostFirewall: { overSsh: { hosts: [`203.0.113.30${b}`] } } }), "firewalls.web.hostFirewall.overSsh.hosts[0]: "],
        ["SSH host name", (b) => validateSshDelivery({ connection: { host: `web1${b}.example.com` } }), (b) => stack({ hostFirewall: { overSsh: { hosts: [`web1${b}.example.com`] } } }), "firewalls.web.hostFirewall.overSsh.hosts[0]: "],
        ["SSH user", (b) => validateSshDelivery({ connection: { host: "203.0.113.30", user: `deploy${b}` } }), (b) => stack({ hostFirewall: { overSsh: { hosts: ["203.0.113.30"], user: `deploy${b}` } } }), "firewalls.web.hostFirewall.overSsh.user: "],
    ];

    test.each(cases)("%s: every refused character is refused by the component check and the config, in inert words", (_what, component, config, field) => {
        for (const bad of UNPRINTABLE) {
            const e = thrown(() => component(bad));
            expect(e).toBeInstanceOf(PolicyError);
            inertText(e.message);
            const c = thrown(() => parseStackConfig(config(bad) as Record<string, unknown>));
            expect([bad, c.message.startsWith(field)]).toEqual([bad, true]);
            inertText(c.message);
        }
    });

    test.each(cases)("%s: a plain value passes both", (_what, component, config) => {
        expect(() => component("")).not.toThrow();
        expect(() => parseStackConfig(config("") as Record<string, unknown>)).not.toThrow();
    });

    test("the delivery component refuses a bad host or user before registering anything", () => {
        expect(() => new HostFirewallOverSsh("x", { ruleset: "", connection: { host: "203.0.113.30\r\nProxyCommand sh" } })).toThrow('connection.host: "203.0.113.30\\x0d\\x0aProxyCommand sh" is not an address or hostname');
        expect(() => new HostFirewallOverSsh("x", { ruleset: "", connection: { host: "203.0.113.30", user: "root\u202e" } })).toThrow('connection.user: "root\\u202e" is not a user name');
        expect(() => new CloudflareOriginEdge("e", { zoneId: "0123456789abcdef0123456789abcdef", records: { "www\u2028.example.com": { ipv4: "203.0.113.20" } } })).toThrow('records: "www\\u2028.example.com" is not a hostname');
    });

    test("ordinary values of each kind are accepted", () => {
        expect(() => validateSshDelivery({ connection: { host: "2001:db8::30", user: "deploy_user-1" } })).not.toThrow();
        expect(() => validateSshDelivery({ connection: { host: "web-1.example.com", user: "_svc" } })).not.toThrow();
        expect(() => validateSshDelivery({ connection: { host: "203.0.113.0/24" } })).toThrow("is not an address or hostname");
        expect(toHetznerApplyTos({ labelSelectors: ["env!=dev,tier in (web, api)", "!legacy"] })).toHaveLength(2);
        expect(() => validateHetznerNaming("Dashboard (prod) – Köln", { "example.com/app": "web-1" })).not.toThrow();
    });
});

// ---------------------------------------------------------------- the one escaping function
describe("escapeText", () => {
    test("each refused character becomes visible; printable text is unchanged", () => {
        expect(escapeText("a\x1b[2Kb\rc\u202ed\u2028e\x85f\ud800g\u{e0001}")).toBe("a\\x1b[2Kb\\x0dc\\u202ed\\u2028e\\x85f\\ud800g\\u{e0001}");
        expect(escapeText("two\nlines\r", { keepNewlines: true })).toBe("two\nlines\\x0d");
        expect(escapeText("a\ufffeb\uffff\u3164\u2800")).toBe("a\\ufffeb\\uffff\\u3164\\u2800");
    });

    test("a typed backslash is doubled: the text \\x1b cannot pass for an escaped ESC, and escaping is one-to-one", () => {
        expect(escapeText("\\x1b[2K")).toBe("\\\\x1b[2K");
        expect(escapeText("\x1b[2K")).toBe("\\x1b[2K");
        fc.assert(
            fc.property(fc.string({ unit: "binary", maxLength: 30 }), fc.string({ unit: "binary", maxLength: 30 }), (a, b) => {
                if (a !== b) expect(escapeText(a)).not.toBe(escapeText(b));
            }),
            { numRuns: 500 },
        );
        fc.assert(
            fc.property(printable(60), (text) => expect(escapeText(text)).toBe(text.replace(/\\/g, "\\\\"))),
            { numRuns: 200 },
        );
        fc.assert(
            fc.property(fc.string({ unit: "binary", maxLength: 60 }), injected, (any, { text }) => {
                inertText(escapeText(any));
                inertText(escapeText(text));
            }),
            { numRuns: 300 },
        );
    });
});

// ---------------------------------------------------------------- nftables strings
describe("nftComment: the one way text enters the ruleset", () => {
    test("property: any text becomes one nft quoted string of at most 128 bytes, cut at a character boundary", () => {
        fc.assert(
            fc.property(
                fc.oneof(
                    fc.string({ unit: "binary", maxLength: 200 }),
                    printable(200),
                    injected.map((i) => i.text),
                ),
                (text) => {
                    const q = nftComment(text);
                    expect(q).toMatch(/^"[^"]*"$/s); // nft's scanner: quotedstring \"[^"]*\" (src/scanner.l), no escapes
                    const inner = q.slice(1, -1);
                    expect(Buffer.byteLength(inner)).toBeLessThanOrEqual(128);
                    inertText(inner);
                    expect(Buffer.from(inner, "utf8").toString("utf8")).toBe(inner); // no broken character
                },
            ),
            { numRuns: 500 },
        );
    });

    test("a validated description passes unchanged, quotes become apostrophes", () => {
        fc.assert(
            fc.property(printable(128), (text) => {
                fc.pre(descriptionProblem(text) === undefined && !text.includes('"'));
                expect(nftComment(text.trim())).toBe(`"${text.trim()}"`);
            }),
            { numRuns: 300 },
        );
        expect(nftComment('Grafana "prod" \\ backslash')).toBe(`"Grafana 'prod' \\ backslash"`);
    });

    test("truncateUtf8 never splits a character or a grapheme", () => {
        expect(truncateUtf8("ab😀", 5)).toBe("ab");
        expect(truncateUtf8("ae\u0301", 3)).toBe("a");
        expect(truncateUtf8("👍🏽x", 7)).toBe("");
        fc.assert(
            fc.property(printable(80), fc.integer({ min: 0, max: 200 }), (text, max) => {
                const cut = truncateUtf8(text, max);
                expect(text.startsWith(cut)).toBe(true);
                expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(max);
                if (Buffer.byteLength(text) <= max) expect(cut).toBe(text);
                const graphemes = [...new Intl.Segmenter("en", { granularity: "grapheme" }).segment(text)].map((s) => s.segment);
                expect(graphemes.some((_, i) => graphemes.slice(0, i).join("") === cut) || cut === text).toBe(true);
            }),
            { numRuns: 300 },
        );
    });

    test("a hand-built model with injected comments renders one line per rule, nothing else", () => {
        for (const [payload] of PAYLOADS) {
            const text = formatNftRuleset({ sets: [{ name: "ssh_v4", family: 4, elements: ["203.0.113.10/32"] }], rules: [{ comment: payload, protocol: "tcp", port: "22", family: 4, set: "ssh_v4" }] });
            const lines = text.split("\n").filter((l) => l.includes("@ssh_v4"));
            expect(lines).toHaveLength(2); // the input and the published chain
            expect(text.split("\n").filter((l) => l.includes("Dashboard"))).toEqual(payload.startsWith("Dashboard") ? lines : []);
            for (const l of lines) expect(l).toMatch(/ comment "[^"\n]*"$/);
            inertText(text.replace(/[\t\n]/g, ""));
        }
    });
});

// ---------------------------------------------------------------- cloud-init
const HAS_PYYAML = (() => {
    try {
        execFileSync("python3", ["-c", "import yaml"], { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
})();
if (!HAS_PYYAML) console.warn("SKIPPED: cloud-init user data is not parsed with PyYAML (cloud-init's own parser): python3 with the yaml module is not installed");

/**
 * The user data as cloud-init reads it: PyYAML's safe_load (YAML 1.1), as JSON. One
 * python3 for the whole file (one per document cost the suite a minute): a line of
 * base64 UTF-8 in, a line of JSON out.
 */
const PYYAML_LOOP = `import sys, json, yaml, base64
for line in sys.stdin:
    try:
        print(json.dumps({"doc": yaml.safe_load(base64.b64decode(line).decode("utf-8"))}), flush=True)
    except Exception as e:
        print(json.dumps({"error": repr(e)}), flush=True)`;
let pyyamlProcess: ChildProcess | undefined;
const pyyamlWaiting: ((line: string) => void)[] = [];
function pyyaml(text: string): Promise<unknown> {
    if (!pyyamlProcess) {
        const child = spawn("python3", ["-c", PYYAML_LOOP], { stdio: ["pipe", "pipe", "inherit"] });
        let buffered = "";
        child.stdout!.setEncoding("utf8").on("data", (d: string) => {
            buffered += d;
            for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
                pyyamlWaiting.shift()?.(buffered.slice(0, i));
                buffered = buffered.slice(i + 1);
            }
        });
        child.once("exit", (code) => pyyamlWaiting.splice(0).forEach((answer) => answer(JSON.stringify({ error: `python3 exited with ${code}` }))));
        pyyamlProcess = child;
    }
    return new Promise((resolve, reject) => {
        pyyamlWaiting.push((line) => {
            const r = JSON.parse(line);
            return "error" in r ? reject(new Error(`PyYAML: ${r.error}`)) : resolve(r.doc);
        });
        pyyamlProcess!.stdin!.write(Buffer.from(text, "utf8").toString("base64") + "\n");
    });
}
afterAll(() => pyyamlProcess?.stdin!.end());

/** The files as they land on disk: content, decoded when sent as base64. */
const filesOf = (doc: any) => doc.write_files.map((f: any) => ({ ...f, content: f.encoding === "b64" ? Buffer.from(f.content, "base64").toString("utf8") : f.content, encoding: undefined }));

describe("cloud-init user data: built from the yaml document model, parsed back", () => {
    const expectExact = async (text: string, ruleset: string) => {
        expect(text.split("\n")[0]).toBe("#cloud-config");
        for (const doc of [parse(text), parse(text, { version: "1.1" }), ...(HAS_PYYAML ? [await pyyaml(text)] : [])] as any[]) {
            expect(Object.keys(doc)).toEqual(["package_update", "packages", "write_files", "runcmd"]);
            expect(doc.package_update).toBe(true);
            expect(doc.packages).toEqual(["nftables"]);
            expect(doc.runcmd).toEqual([
                ["systemctl", "daemon-reload"],
                ["systemctl", "enable", "--now", "cloudflare-origin-firewall.service"],
            ]);
            for (const f of doc.write_files) expect(Object.keys(f).sort()).toEqual(f.encoding ? ["content", "encoding", "path", "permissions"] : ["content", "path", "permissions"]);
            expect(filesOf(doc)).toEqual([
                // As UTF-8: only a lone surrogate (not text at all) differs, as U+FFFD.
                { path: HOST_RULESET_PATH, permissions: "0600", content: Buffer.from(ruleset, "utf8").toString("utf8"), encoding: undefined },
                { path: "/etc/systemd/system/cloudflare-origin-firewall.service", permissions: "0644", content: hostUnit(), encoding: undefined },
                { path: "/etc/systemd/system/nftables.service.d/cloudflare-origin-firewall.conf", permissions: "0644", content: hostNftablesDropIn(), encoding: undefined },
                { path: "/var/lib/cloudflare-origin-firewall/cof-host.sh", permissions: "0700", content: hostScript(), encoding: undefined },
            ]);
        }
    };

    test("a rendered ruleset: exactly the keys meant; ruleset, unit and script byte for byte, as block scalars", async () => {
        const ruleset = renderNftables(validatePolicy({ ...base, rules: [{ description: 'Grafana "prod" – Köln 日本 😀 # not: a key', port: 9000, sources: ["203.0.113.10"] }] }), SAMPLE_RANGES);
        const text = await valueOf(hostFirewallCloudInit(ruleset));
        await expectExact(text, ruleset);
        expect(text).toContain("    content: |\n      #!/usr/sbin/nft -f\n");
        expect(text).not.toContain("encoding: b64");
    });

    test.each(PAYLOADS)("a ruleset carrying %j cannot add a key or change a file", async (payload) => {
        const ruleset = `table inet t {\n\tchain c {\n\t\ttcp dport 22 accept comment "${payload}"\n\t}\n}\n`;
        await expectExact(await valueOf(hostFirewallCloudInit(ruleset)), ruleset);
    });

    // PyYAML refused the whole user data ("unacceptable character #xfffe"); a block of spaces alone read back empty.
    test.each(["x\ufffe", "x\uffff\n", "  ", "a\n  ", "\u{10ffff}", "x\u0085y"])("a ruleset holding %j reaches the host exactly, through PyYAML too", async (ruleset) => {
        expect(HAS_PYYAML || process.env.CI !== "true").toBe(true);
        expectExact(await valueOf(hostFirewallCloudInit(ruleset)), ruleset);
    });

    test("property: any ruleset text is written byte for byte and adds no key", async () => {
        await fc.assert(
            fc.asyncProperty(
                fc.oneof(
                    fc.string({ unit: "binary", maxLength: 80 }).filter((s) => Buffer.from(s, "utf8").toString("utf8") === s), // well-formed UTF-16
                    fc.array(fc.oneof(printable(20), fc.constantFrom("\n", "\t", "  ", "\n\n", "- a: b", "#", "'", '"', "|", ">", "---", "...", "%YAML")), { maxLength: 15 }).map((a) => a.join("")),
                    injected.map((i) => i.text),
                ),
                async (ruleset) => expectExact(await valueOf(hostFirewallCloudInit(ruleset)), ruleset),
            ),
            { numRuns: HAS_PYYAML ? 60 : 200 },
        );
    });
});
