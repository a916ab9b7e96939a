// Connects to host:port again and again, one connection after another, each
// bounded by `timeoutMs` (keep it under TCP's 1 s SYN retransmit, so one dropped
// SYN counts as a failure), until a line arrives on stdin (or stdin closes). Prints
// "started" at once, then {"attempts": n, "failed": n} as JSON. Runs in a client namespace.
const net = require("net");
const [host, port, timeoutMs = "500"] = process.argv.slice(2);
let failed = 0;
let attempts = 0;
let stop = false;
process.stdin.on("data", () => (stop = true));
process.stdin.on("end", () => (stop = true));
const once = () =>
    new Promise((resolve) => {
        attempts++;
        const s = net.connect({ host, port: Number(port) });
        const done = (ok) => {
            clearTimeout(t);
            s.destroy();
            if (!ok) failed++;
            resolve();
        };
        const t = setTimeout(() => done(false), Number(timeoutMs));
        s.once("data", (d) => done(String(d).startsWith("open ")));
        s.once("error", () => done(false));
    });
(async () => {
    process.stdout.write("started\n");
    while (!stop) await once();
    process.stdout.write(JSON.stringify({ attempts, failed }) + "\n");
    process.exit(0);
})();
