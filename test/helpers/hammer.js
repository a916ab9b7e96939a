// Connects to host:port again and again for `durationMs`, one connection after
// another, each bounded by a timeout, then prints {"attempts": n, "failed": n} as
// JSON. Runs in a client namespace.
const net = require("net");
const [host, port, durationMs, timeoutMs = "2000"] = process.argv.slice(2);
let failed = 0;
let attempts = 0;
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
    const end = Date.now() + Number(durationMs);
    while (Date.now() < end) await once();
    process.stdout.write(JSON.stringify({ attempts, failed }) + "\n");
})();
