import { CloudflareRanges } from "../../components";

/** The November 2026 answer in canonical order. */
export const SAMPLE_RANGES: CloudflareRanges = {
    ipv4: [
        "103.21.244.0/22",
        "103.22.200.0/22",
        "103.31.4.0/22",
        "104.16.0.0/13",
        "104.24.0.0/14",
        "108.162.192.0/18",
        "131.0.72.0/22",
        "141.101.64.0/18",
        "162.158.0.0/15",
        "172.64.0.0/13",
        "173.245.48.0/20",
        "188.114.96.0/20",
        "190.93.240.0/20",
        "197.234.240.0/22",
        "198.41.128.0/17",
    ],
    ipv6: ["2400:cb00::/32", "2405:8100::/32", "2405:b500::/32", "2606:4700::/32", "2803:f800::/32", "2a06:98c0::/29", "2c0f:f248::/32"],
    etag: "38f79d050aa027e3be3865e495dcc9bc",
};
export const CF_SOURCES = [...SAMPLE_RANGES.ipv4, ...SAMPLE_RANGES.ipv6];

/** `n` distinct public IPv4 host addresses, in sorted order. */
export function hosts(n: number): string[] {
    return Array.from({ length: n }, (_, i) => `45.${Math.floor(i / 250)}.${(i % 250) + 1}.1/32`);
}
