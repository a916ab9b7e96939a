/**
 * Text from config and from the network is data: it must never change what we
 * emit (cloud-init YAML, nftables, provider requests, the terminal). One validator
 * per kind of text, each returning why a value is refused (or undefined), so the
 * config schema and the components give the same answer; and one escaping
 * function for everything printed to a terminal.
 *
 * Validators return the problem without the field or value; callers write
 * `${field}: ${showText(value)} ${problem}`.
 */
import { toCidr } from "./cidr";

/**
 * Characters that are never accepted in text we emit: controls (C0, DEL, C1 such as
 * U+0085 NEXT LINE), invisible format characters (bidi overrides such as U+202E,
 * zero-width characters, U+FEFF), the line and paragraph separators U+2028/U+2029
 * (line breaks to YAML 1.1, which cloud-init's PyYAML speaks), lone surrogates,
 * noncharacters (U+FFFE and U+FFFF make PyYAML refuse the whole user data; U+FDD0–U+FDEF
 * and the last two of every plane are never text either) and the blank "letters" that
 * render as nothing: the Hangul fillers U+115F, U+1160, U+3164, U+FFA0 and the braille blank U+2800.
 */
const REFUSED = String.raw`\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Noncharacter_Code_Point}\u115F\u1160\u3164\uFFA0\u2800`;
const UNPRINTABLE = new RegExp(`[${REFUSED}]`, "u");
// What escapeText rewrites: the refused characters and the backslash, so that a typed
// "\x1b" reads "\\x1b" and cannot pass for an escaped ESC.
const ESCAPED_ALL = new RegExp(`[${REFUSED}\\\\]`, "gu");

/**
 * The longest description, in bytes of UTF-8: an nftables comment holds at most 128
 * bytes (nftables src/parser_bison.y `comment_spec` refuses `strlen > NFTNL_UDATA_COMMENT_MAXLEN`,
 * 128 in libnftnl include/libnftnl/udata.h). The strictest target: Hetzner takes 255
 * characters with our " (part i of n)" suffix, DigitalOcean rules carry no description.
 */
export const MAX_DESCRIPTION_BYTES = 128;

/** The bytes of `text` in UTF-8. */
function utf8Length(text: string): number {
    return Buffer.byteLength(text, "utf8");
}

const hex = (cp: number, width: number) => cp.toString(16).toUpperCase().padStart(width, "0");

/** `U+202E` for a code point. */
function codePointName(cp: number): string {
    return `U+${hex(cp, 4)}`;
}

function kindOf(ch: string): string {
    if (/\p{Cc}/u.test(ch)) return "a control character";
    if (/[\p{Zl}\p{Zp}]/u.test(ch)) return "a line or paragraph separator";
    if (/\p{Cs}/u.test(ch)) return "half of a surrogate pair, not a character";
    if (/\p{Noncharacter_Code_Point}/u.test(ch)) return "a noncharacter, never text; cloud-init's YAML parser refuses U+FFFE and U+FFFF";
    if (/[\u115F\u1160\u3164\uFFA0\u2800]/u.test(ch)) return "an invisible filler: a Hangul filler or the braille blank, shown as empty space";
    return "an invisible format character (bidi override, zero-width or byte-order mark)";
}

/**
 * The first character of `value` we never emit, as "U+XXXX (what it is) at
 * character N", or undefined when the text is printable.
 */
function unprintableIn(value: string): string | undefined {
    let i = 0;
    for (const ch of value) {
        i++;
        if (UNPRINTABLE.test(ch)) return `${codePointName(ch.codePointAt(0)!)} (${kindOf(ch)}) at character ${i}`;
    }
    return undefined;
}

/**
 * Makes text inert for a terminal: every character `unprintableIn` refuses becomes
 * visible (`\x1b`, `\u202e`), and a backslash is doubled so that typed text such as
 * "\x1b" cannot pass for an escape; with `keepNewlines`, "\n" stays a line break (for
 * multi-line messages); with `keepBackslashes` (an nftables comment, where a validated
 * description must pass unchanged), a backslash stays one. Other printable text is unchanged.
 * The one escaping function of the command-line tools.
 */
export function escapeText(text: string, options: { keepNewlines?: boolean; keepBackslashes?: boolean } = {}): string {
    return String(text).replace(ESCAPED_ALL, (ch) => {
        if (ch === "\n" && options.keepNewlines) return ch;
        if (ch === "\\") return options.keepBackslashes ? ch : "\\\\";
        const cp = ch.codePointAt(0)!;
        return cp <= 0xff ? `\\x${hex(cp, 2).toLowerCase()}` : cp <= 0xffff ? `\\u${hex(cp, 4).toLowerCase()}` : `\\u{${cp.toString(16)}}`;
    });
}

/** A value quoted for an error message: escaped, and cut after 200 characters. */
export function showText(value: unknown): string {
    if (typeof value !== "string") return escapeText(JSON.stringify(value) ?? String(value));
    const chars = [...value];
    return `"${escapeText(chars.length > 200 ? `${chars.slice(0, 200).join("")}…` : value)}"`;
}

/**
 * Cuts `text` to at most `maxBytes` bytes of UTF-8 at a character boundary (a whole
 * grapheme: a letter with its accents, an emoji with its modifiers), never inside one.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
    if (utf8Length(text) <= maxBytes) return text;
    let out = "";
    let bytes = 0;
    for (const { segment } of new Intl.Segmenter("en", { granularity: "grapheme" }).segment(text)) {
        const n = utf8Length(segment);
        if (bytes + n > maxBytes) break;
        out += segment;
        bytes += n;
    }
    return out;
}

const FIX_PRINTABLE = "use printable text only: remove it";

/**
 * A rule description: printable text, not empty, at most `MAX_DESCRIPTION_BYTES`
 * bytes of UTF-8 once leading and trailing spaces are removed (they are).
 */
export function descriptionProblem(value: unknown): string | undefined {
    if (typeof value !== "string" || value.trim() === "") return "is empty; every rule needs a description saying what it admits";
    const bad = unprintableIn(value);
    if (bad) return `contains ${bad}; a description is shown in provider consoles, nftables and cloud-init, so ${FIX_PRINTABLE}`;
    const bytes = utf8Length(value.trim());
    if (bytes > MAX_DESCRIPTION_BYTES) {
        return (
            `is ${bytes} bytes in UTF-8 (${[...value.trim()].length} characters); a description may take at most ${MAX_DESCRIPTION_BYTES} bytes, ` +
            `the size of an nftables comment on the host firewall (letters outside ASCII take 2 to 4 bytes each): shorten it by ${bytes - MAX_DESCRIPTION_BYTES} bytes`
        );
    }
    return undefined;
}

/**
 * A name shown at a provider and in the plan (a firewall name): printable, no
 * leading or trailing spaces, 1 to `max` characters.
 */
export function nameProblem(value: unknown, max: number): string | undefined {
    if (typeof value !== "string" || value === "") return `is empty; give a name of 1 to ${max} characters`;
    const bad = unprintableIn(value);
    if (bad) return `contains ${bad}; ${FIX_PRINTABLE}`;
    if (value.trim() !== value) return "starts or ends with a space; remove it";
    if (value.length > max) return `is ${value.length} characters; use 1 to ${max}`;
    return undefined;
}

/** Hetzner's label key rule, as hcloud-go implements it (hcloud/labels.go). */
export const LABEL_KEY = /^([a-z0-9A-Z]((?:[\-_.]|[a-z0-9A-Z]){0,253}[a-z0-9A-Z])?\/)?[a-z0-9A-Z]((?:[\-_.]|[a-z0-9A-Z]|){0,61}[a-z0-9A-Z])?$/;
/** Hetzner's label value rule (hcloud/labels.go). */
export const LABEL_VALUE = /^(([a-z0-9A-Z](?:[\-_.]|[a-z0-9A-Z]){0,61})?[a-z0-9A-Z]$|$)/;

/** A Hetzner label key: letters, digits, "-", "_", "." (up to 63), optionally after "prefix/"; not "hetzner.cloud/". */
export function labelKeyProblem(key: unknown): string | undefined {
    if (typeof key !== "string" || !LABEL_KEY.test(key) || key.startsWith("hetzner.cloud/")) {
        return `is not a Hetzner label key; use letters, digits, "-", "_" and "." (up to 63), optionally after "prefix/", and not the reserved "hetzner.cloud/"`;
    }
    return undefined;
}

/** A Hetzner label value: up to 63 letters, digits, "-", "_" or ".", starting and ending alphanumeric (or empty). */
export function labelValueProblem(value: unknown): string | undefined {
    if (typeof value !== "string" || !LABEL_VALUE.test(value)) {
        return `is not a Hetzner label value; use up to 63 letters, digits, "-", "_" or ".", starting and ending alphanumeric`;
    }
    return undefined;
}

/**
 * A Hetzner label selector ("app=dashboard", "env!=dev,tier in (web,api)"): the
 * characters of label keys and values and of the selector grammar only.
 */
export function labelSelectorProblem(value: unknown): string | undefined {
    if (typeof value !== "string" || value.trim() === "") return `is empty; write a selector such as "app=dashboard"`;
    const bad = unprintableIn(value);
    if (bad) return `contains ${bad}; ${FIX_PRINTABLE}`;
    const other = /[^A-Za-z0-9\-_./=!,() ]/.exec(value);
    if (other) return `contains "${other[0]}"; a label selector takes label keys and values with =, !=, "in (…)", "notin (…)", "!" and commas, e.g. "app=dashboard"`;
    return undefined;
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A DNS hostname in lower case ("app.example.com"): labels of letters, digits and
 * "-", at most 63 each and 253 in all; with `wildcard`, "*." may lead.
 */
export function hostnameProblem(value: unknown, options: { wildcard?: boolean } = {}): string | undefined {
    const name = typeof value === "string" && options.wildcard ? value.replace(/^\*\./, "") : value;
    if (typeof name !== "string" || !HOSTNAME.test(name)) return `is not a hostname; use lower-case names such as "app.example.com"`;
    return undefined;
}

/** A login name on a Linux host: lower-case letters, digits, "_", "-" and ".", starting with a letter or "_", at most 32. */
export function usernameProblem(value: unknown): string | undefined {
    if (typeof value !== "string" || !/^[a-z_][a-z0-9_.-]{0,31}$/.test(value)) {
        return `is not a user name; use up to 32 lower-case letters, digits, "_", "-" or ".", starting with a letter or "_" (e.g. "root" or "deploy")`;
    }
    return undefined;
}

/** An SSH host: one IPv4 or IPv6 address, or a lower-case hostname. */
export function hostAddressProblem(value: unknown): string | undefined {
    const message = `is not an address or hostname; give one IPv4 or IPv6 address (e.g. "203.0.113.20") or a lower-case hostname`;
    if (typeof value !== "string") return message;
    if (value.includes(":") || /^[0-9.]+$/.test(value)) {
        try {
            const c = toCidr(value);
            return !value.includes("/") && c.prefix === (c.family === 4 ? 32 : 128) ? undefined : message;
        } catch {
            return message;
        }
    }
    return hostnameProblem(value) && message;
}
